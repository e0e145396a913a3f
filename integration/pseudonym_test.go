package integration

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pseudonymCall asks the operator's pseudonym service, on its mutual-TLS
// listener, with the TLS identity in dir (a directory holding
// client.crt/key or server.crt/key), and returns the status and the body.
func pseudonymCall(t *testing.T, certFile, keyFile string, body any) (int, []byte) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		// The server is the operator's gateway on loopback; what is under
		// test is whom it answers, not who it is.
		InsecureSkipVerify: true, //nolint:gosec
	}}}
	b, _ := json.Marshal(body)
	resp, err := hc.Post("https://127.0.0.1:7090/internal/v1/pseudonyms", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("pseudonym service: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// TestPseudonymServiceOnTheNetwork: the operator's pseudonym service
// answers a bank's gateway identity for a stated purpose and authorisation,
// and the citizen sees that lookup in their tracker; it refuses the bank's
// peer's TLS certificate and a lookup without a purpose.
func TestPseudonymServiceOnTheNetwork(t *testing.T) {
	person := demoCitizens(t)[1]
	crypto := filepath.Join(testNet.StateDir(), "crypto", "peerOrganizations", "bank.quanchain.local")
	user := filepath.Join(crypto, "users", "User1@bank.quanchain.local", "tls")
	peer := filepath.Join(crypto, "peers", "peer0.bank.quanchain.local", "tls")
	authID := id("lookup")

	code, raw := pseudonymCall(t, filepath.Join(peer, "server.crt"), filepath.Join(peer, "server.key"),
		map[string]string{"id_number": person.IDNumber, "purpose": "CREDIT_ASSESSMENT", "authorization_id": authID})
	if code != http.StatusForbidden || errorCode(raw) != "GATEWAY_IDENTITY_REQUIRED" {
		t.Errorf("the bank's peer certificate: %d %s", code, raw)
	}
	code, raw = pseudonymCall(t, filepath.Join(user, "client.crt"), filepath.Join(user, "client.key"),
		map[string]string{"id_number": person.IDNumber})
	if code != http.StatusBadRequest || errorCode(raw) != "PURPOSE_REQUIRED" {
		t.Errorf("a lookup without a purpose: %d %s", code, raw)
	}
	if bytes.Contains(raw, []byte(person.IDNumber)) {
		t.Errorf("the refusal repeats the ID number: %s", raw)
	}
	code, raw = pseudonymCall(t, filepath.Join(user, "client.crt"), filepath.Join(user, "client.key"),
		map[string]string{"id_number": person.IDNumber, "purpose": "CREDIT_ASSESSMENT", "authorization_id": authID})
	var got struct {
		CitizenRef string `json:"citizen_ref"`
	}
	if code != http.StatusOK || json.Unmarshal(raw, &got) != nil || len(got.CitizenRef) != 64 {
		t.Fatalf("the bank's gateway identity: %d %s", code, raw)
	}

	citizen := citizenLogin(t, person)
	var lookups struct {
		Items []struct {
			Requester       string `json:"requester"`
			Purpose         string `json:"purpose"`
			AuthorizationID string `json:"authorization_id"`
		} `json:"items"`
	}
	citizen.must("GET", "/citizen/v1/lookups", nil, &lookups, 200)
	found := false
	for _, l := range lookups.Items {
		found = found || (l.Requester == "BankMSP" && l.Purpose == "CREDIT_ASSESSMENT" && l.AuthorizationID == authID)
	}
	if !found {
		t.Fatalf("the citizen's tracker does not show the bank's lookup for %s: %+v", authID, lookups.Items)
	}
	for _, l := range lookups.Items {
		if l.AuthorizationID == authID && strings.Contains(l.Requester, "Bureau") {
			t.Errorf("a refused lookup was recorded: %+v", l)
		}
	}
}
