package fabconn

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLoadProfile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadProfile(dir); err == nil {
		t.Fatal("a missing profile must fail")
	}
	const js = `{"channel":"quanchain","chaincode":"quanchain","orgs":[
	  {"name":"bureau","msp_id":"BureauMSP","peer_endpoint":"127.0.0.1:7051","peer_hostname":"peer0.bureau.quanchain.local",
	   "tls_root_cert":"crypto/ca.pem","users":{"User1":{"cert":"u.pem","key":"u_sk"}}},
	  {"name":"bank","msp_id":"BankMSP","peer_endpoint":"127.0.0.1:9051"}]}`
	if err := os.WriteFile(filepath.Join(dir, ProfileFile), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.MSPIDs(); !reflect.DeepEqual(got, []string{"BureauMSP", "BankMSP"}) {
		t.Errorf("MSPIDs() = %v", got)
	}
	for _, name := range []string{"BureauMSP", "bureaumsp", "bureau", "BUREAU"} {
		o, err := p.Org(name)
		if err != nil || o.PeerEndpoint != "127.0.0.1:7051" {
			t.Errorf("Org(%q) = %v, %v", name, o, err)
		}
	}
	if _, err := p.Org("nobody"); err == nil {
		t.Error("Org(nobody) must fail")
	}
	if got := abs(dir, "crypto/ca.pem"); got != filepath.Join(dir, "crypto/ca.pem") {
		t.Errorf("abs = %s", got)
	}
	if got := abs(dir, "/etc/x"); got != "/etc/x" {
		t.Errorf("abs kept absolute path as %s", got)
	}
}
