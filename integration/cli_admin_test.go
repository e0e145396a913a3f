package integration

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/network/fabnet"
)

// citizenRefOf asks the operator's pseudonym service for a citizen's ref
// over mutual TLS, as the auditor organisation's TLS client.
func citizenRefOf(t *testing.T, idNumber string) string {
	t.Helper()
	crypto := filepath.Join(testNet.StateDir(), "crypto", "peerOrganizations")
	user := filepath.Join(crypto, "audit.quanchain.local", "users", "User1@audit.quanchain.local", "tls")
	cert, err := tls.LoadX509KeyPair(filepath.Join(user, "client.crt"), filepath.Join(user, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(crypto, "bureau.quanchain.local", "tlsca", "tlsca.bureau.quanchain.local-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("no BureauMSP TLS CA")
	}
	conf := &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		// The operator's certificate names no host: its chain is checked
		// against the BureauMSP TLS CA instead.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			return err
		},
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
	body, _ := json.Marshal(map[string]string{"id_number": idNumber, "purpose": "AUDIT", "for_requester": bank,
		"case_id": id("cli-audit")})
	resp, err := hc.Post("https://"+fabnet.OperatorPeerListen+"/internal/v1/pseudonyms", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		CitizenRef string `json:"citizen_ref"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.CitizenRef) != 64 {
		t.Fatalf("pseudonym service: status %d, %v", resp.StatusCode, err)
	}
	return out.CitizenRef
}

// TestCLICitizenIDNumber: --citizen with an ID number shows what the ref
// shows, and the ID number appears in no output.
func TestCLICitizenIDNumber(t *testing.T) {
	person := demoCitizens(t)[0]
	ref := citizenRefOf(t, person.IDNumber)
	for _, cmd := range []string{"authorizations", "accesses"} {
		byRef := mustQC(t, 0, "audit", cmd, "--citizen", ref, "--requester", bank, "--json")
		byID := mustQC(t, 0, "audit", cmd, "--citizen", person.IDNumber, "--requester", bank, "--json")
		if byRef.stdout != byID.stdout {
			t.Fatalf("audit %s: by ID number\n%s\nby ref\n%s", cmd, byID.stdout, byRef.stdout)
		}
		if strings.Contains(byID.stdout+byID.stderr, person.IDNumber) {
			t.Fatalf("audit %s prints the ID number", cmd)
		}
		t.Logf("audit %s: %d bytes for citizen %s…", cmd, len(byID.stdout), ref[:8])
	}
	table := mustQC(t, 0, "audit", "authorizations", "--citizen", strings.ToLower(person.IDNumber), "--requester", bank)
	if strings.Contains(table.stdout+table.stderr, person.IDNumber) {
		t.Fatal("the table prints the ID number")
	}

	// A wrong check character is a usage error before anything is sent.
	bad := person.IDNumber[:17] + map[bool]string{true: "1", false: "0"}[person.IDNumber[17] == '0']
	if r := mustQC(t, 2, "audit", "authorizations", "--citizen", bad); !strings.Contains(r.stderr, "check character") || strings.Contains(r.stderr, bad) {
		t.Fatalf("stderr %s", r.stderr)
	}
	// The operator unreachable: exit 1 and a message that says so.
	r := mustQC(t, 1, "audit", "authorizations", "--citizen", person.IDNumber, "--requester", bank, "--operator", "https://127.0.0.1:1")
	if !strings.Contains(r.stderr, "operator gateway unreachable") || strings.Contains(r.stderr, person.IDNumber) {
		t.Fatalf("stderr %s", r.stderr)
	}
}

// TestCLIAdminClients: qc admin clients create registers a client that can
// then get a token.
func TestCLIAdminClients(t *testing.T) {
	r := mustQC(t, 0, "admin", "clients", "create", "--org", "BureauMSP", "--scope", "institution", "--json")
	c := jsonOf[struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		OrgMSP       string   `json:"org_msp"`
		Scopes       []string `json:"scopes"`
	}](t, r)
	if c.ClientID == "" || c.ClientSecret == "" || c.OrgMSP != "BureauMSP" || strings.Join(c.Scopes, ",") != "institution" {
		t.Fatalf("client %+v", c)
	}
	hc := &httpClient{t: t, base: operatorURL}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	hc.must("POST", "/admin/v1/oauth/token", map[string]string{"grant_type": "client_credentials",
		"client_id": c.ClientID, "client_secret": c.ClientSecret}, &tok, 200)
	if tok.AccessToken == "" {
		t.Fatal("no token for the new client")
	}

	// The table form shows the secret once; the gateway's code comes
	// through on failure.
	if r := mustQC(t, 0, "admin", "clients", "create", "--org", "BureauMSP", "--scope", "institution"); !strings.Contains(r.stdout, "client_secret") {
		t.Fatalf("table %s", r.stdout)
	}
	if r := mustQC(t, 1, "admin", "clients", "create", "--org", "BankMSP", "--scope", "institution"); !strings.Contains(r.stderr, "ORG_NOT_SERVED") {
		t.Fatalf("stderr %s", r.stderr)
	}
	// A client without the admin scope cannot administer.
	r = mustQC(t, 1, "admin", "clients", "create", "--org", "BureauMSP", "--scope", "institution",
		"--client-id", c.ClientID, "--client-secret", c.ClientSecret)
	if !strings.Contains(r.stderr, "INSUFFICIENT_SCOPE") {
		t.Fatalf("stderr %s", r.stderr)
	}
	if r := mustQC(t, 1, "admin", "clients", "create", "--org", "BureauMSP", "--scope", "institution",
		"--client-id", c.ClientID, "--client-secret", "wrong"); !strings.Contains(r.stderr, "401") {
		t.Fatalf("stderr %s", r.stderr)
	}
}

// TestCLIDataImport: qc data import anchors two new tax records; importing
// the same file again inserts nothing.
func TestCLIDataImport(t *testing.T) {
	person := demoCitizens(t)[1]
	var b bytes.Buffer
	for i, month := range []string{"2026-09", "2026-10"} {
		fmt.Fprintf(&b, `{"category":"tax","citizen_id":%q,"deductions_fen":%d,"income_fen":%d,"month":%q,"record_date":"%s-25","tax_fen":0,"withholding_agent":"qc import %s"}`+"\n",
			person.IDNumber, 50000+i, 400000+i, month, month, runID)
	}
	file := filepath.Join(t.TempDir(), "tax.jsonl")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Category   string `json:"category"`
		Records    int    `json:"records"`
		Inserted   int    `json:"inserted"`
		Duplicates int    `json:"duplicates"`
		Batches    int    `json:"batches"`
		Anchored   []struct {
			BatchID   string `json:"batch_id"`
			Category  string `json:"category"`
			LeafCount int    `json:"leaf_count"`
			TxID      string `json:"tx_id"`
		} `json:"anchored"`
	}
	first := jsonOf[result](t, mustQC(t, 0, "data", "import", "--category", "tax", "--file", file, "--json"))
	if first.Records != 2 || first.Inserted != 2 || first.Duplicates != 0 || first.Batches < 1 || len(first.Anchored) == 0 {
		t.Fatalf("first import %+v", first)
	}
	leaves := 0
	for _, a := range first.Anchored {
		if a.Category != "tax" || a.TxID == "" || a.BatchID == "" {
			t.Fatalf("anchored %+v", a)
		}
		leaves += a.LeafCount
	}
	if leaves < 2 {
		t.Fatalf("anchored %d leaves", leaves)
	}
	// The anchor is on the ledger, as the auditor reads it.
	tx := mustQC(t, 0, "ledger", "tx", first.Anchored[0].TxID, "--json")
	if !strings.Contains(tx.stdout, "AnchorBatch") {
		t.Fatalf("anchor tx %s", tx.stdout)
	}

	again := mustQC(t, 0, "data", "import", "--category", "tax", "--file", file)
	if !strings.Contains(again.stdout, "2 record(s), 0 inserted, 2 already stored") {
		t.Fatalf("re-import:\n%s", again.stdout)
	}
	second := jsonOf[result](t, mustQC(t, 0, "data", "import", "--category", "tax", "--file", file, "--json"))
	if second.Inserted != 0 || second.Duplicates != 2 {
		t.Fatalf("re-import %+v", second)
	}

	// A bad line: the gateway's code, and nothing stored.
	badFile := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(badFile, []byte(`{"category":"tax","citizen_id":"x","record_date":"2026-10-25"}`+"\n"), 0o600)
	if r := mustQC(t, 1, "data", "import", "--category", "tax", "--file", badFile); !strings.Contains(r.stderr, "INVALID_RECORD") {
		t.Fatalf("stderr %s", r.stderr)
	}
}
