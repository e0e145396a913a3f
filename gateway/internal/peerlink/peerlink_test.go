package peerlink_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/peerlink/peerlinktest"
)

// serve starts an HTTPS server with the link's server configuration that
// answers with the caller's organisation.
func serve(t *testing.T, l *peerlink.Link) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msp, err := l.RequestMSP(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, msp)
	}))
	srv.TLS = l.ServerConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, cfg *tls.Config) (string, error) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

func TestMutualTLS(t *testing.T) {
	pki := peerlinktest.New(t, "BureauMSP", "BankMSP", "InsurerMSP")
	rogue := peerlinktest.NewCA(t, "BankMSP") // same name, not the network's CA
	bureau := pki.Link("BureauMSP")
	srv := serve(t, bureau)

	bank := pki.Link("BankMSP")
	withCert := func(c tls.Certificate) *tls.Config {
		l, err := peerlink.New("BankMSP", c, append(pki.Orgs(), peerlink.Org{MSPID: "RogueMSP", TLSCA: rogue.Cert}))
		if err != nil {
			// The rogue certificate does not chain to BankMSP's CA: build the
			// client configuration by hand.
			return &tls.Config{Certificates: []tls.Certificate{c}, InsecureSkipVerify: true}
		}
		cfg, _ := l.ClientConfig("BureauMSP")
		return cfg
	}
	pinned, err := bank.ClientConfig("BureauMSP")
	if err != nil {
		t.Fatal(err)
	}
	wrongPin, _ := bank.ClientConfig("InsurerMSP")
	anyOrg, _ := bank.ClientConfig()
	noCert := pinned.Clone()
	noCert.Certificates = nil
	insurer, _ := pki.Link("InsurerMSP").ClientConfig("BureauMSP")

	for _, tc := range []struct {
		name    string
		cfg     *tls.Config
		want    string // the organisation the server sees; "" = refused
		errPart string
	}{
		{"bank", pinned, "BankMSP", ""},
		{"bank, any server org", anyOrg, "BankMSP", ""},
		{"insurer", insurer, "InsurerMSP", ""},
		{"no client certificate", noCert, "", "certificate required"},
		{"certificate from an unknown CA", withCert(rogue.Issue(t)), "", "unknown certificate authority"},
		{"expired certificate", withCert(pki.CAs["BankMSP"].Issue(t, peerlinktest.Expired)), "", "expired"},
		{"server-only certificate", withCert(pki.CAs["BankMSP"].Issue(t, peerlinktest.ServerOnly)), "", "certificate"},
		{"server of another organisation than pinned", wrongPin, "", "not from a known organisation"},
		{"system roots only", &tls.Config{Certificates: pinned.Certificates}, "", "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := get(t, srv.URL, tc.cfg)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("connection admitted: %q", got)
			}
			if !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("error %q does not mention %q", err, tc.errPart)
			}
		})
	}
}

func TestRequestMSPWithoutTLS(t *testing.T) {
	pki := peerlinktest.New(t, "BureauMSP")
	l := pki.Link("BureauMSP")
	r := httptest.NewRequest("POST", "/provider/v1/deliveries", nil)
	if _, err := l.RequestMSP(r); !errors.Is(err, peerlink.ErrNoPeerCertificate) {
		t.Fatalf("plain request: %v", err)
	}
	r.TLS = &tls.ConnectionState{} // TLS without a client certificate
	if _, err := l.RequestMSP(r); !errors.Is(err, peerlink.ErrNoPeerCertificate) {
		t.Fatalf("no client certificate: %v", err)
	}
	if _, err := l.PeerMSP(nil); !errors.Is(err, peerlink.ErrNoPeerCertificate) {
		t.Fatalf("nil state: %v", err)
	}
}

func TestNewRefusesBadMaterial(t *testing.T) {
	pki := peerlinktest.New(t, "BureauMSP", "BankMSP")
	bankCert := pki.CAs["BankMSP"].Issue(t)
	for _, tc := range []struct {
		name string
		self string
		cert tls.Certificate
		orgs []peerlink.Org
	}{
		{"own certificate of another org", "BureauMSP", bankCert, pki.Orgs()},
		{"own org not trusted", "BankMSP", bankCert, []peerlink.Org{{MSPID: "BureauMSP", TLSCA: pki.CAs["BureauMSP"].Cert}}},
		{"no key", "BankMSP", tls.Certificate{Certificate: bankCert.Certificate}, pki.Orgs()},
		{"shared CA", "BankMSP", bankCert, append(pki.Orgs(), peerlink.Org{MSPID: "OtherMSP", TLSCA: pki.CAs["BankMSP"].Cert})},
		{"duplicate org", "BankMSP", bankCert, append(pki.Orgs(), peerlink.Org{MSPID: "BankMSP", TLSCA: peerlinktest.NewCA(t, "X").Cert})},
		{"server-only certificate", "BankMSP", pki.CAs["BankMSP"].Issue(t, peerlinktest.ServerOnly), pki.Orgs()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := peerlink.New(tc.self, tc.cert, tc.orgs); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	l := pki.Link("BankMSP")
	if _, err := l.ClientConfig("NobodyMSP"); err == nil {
		t.Fatal("pinning an unknown organisation accepted")
	}
}

func TestLoadFromStateDir(t *testing.T) {
	pki := peerlinktest.New(t, "BureauMSP", "BankMSP", "InsurerMSP")
	dir := t.TempDir()
	pki.WriteState(dir)

	bureau, err := peerlink.Load(dir, "bureau") // short name
	if err != nil {
		t.Fatal(err)
	}
	if bureau.MSPID() != "BureauMSP" {
		t.Fatalf("MSPID %q", bureau.MSPID())
	}
	serverCfg, err := peerlink.ServerTLS(dir, "BureauMSP")
	if err != nil || serverCfg.ClientAuth != tls.RequireAndVerifyClientCert || serverCfg.MinVersion != tls.VersionTLS13 {
		t.Fatalf("ServerTLS: %v", err)
	}
	srv := serve(t, bureau)
	clientCfg, err := peerlink.ClientTLS(dir, "InsurerMSP")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get(t, srv.URL, clientCfg); err != nil || got != "InsurerMSP" {
		t.Fatalf("got %q, %v", got, err)
	}

	if _, err := peerlink.Load(dir, "AuditMSP"); err == nil {
		t.Fatal("unknown organisation accepted")
	}
	if _, err := peerlink.Load(t.TempDir(), "BankMSP"); err == nil {
		t.Fatal("missing profile accepted")
	}
	// A missing TLS key is an error, not a link without identity.
	matches, _ := filepath.Glob(filepath.Join(dir, "crypto", "peerOrganizations", "bank.*", "users", "*", "tls", "client.key"))
	if len(matches) != 1 {
		t.Fatalf("layout: %v", matches)
	}
	os.Remove(matches[0])
	if _, err := peerlink.Load(dir, "BankMSP"); err == nil {
		t.Fatal("missing TLS key accepted")
	}
}
