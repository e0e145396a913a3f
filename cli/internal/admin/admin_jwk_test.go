package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/cli/internal/operator"
)

// TestClientsCreateWithKey: --jwk-file sends the key as jwk and shows no
// secret.
func TestClientsCreateWithKey(t *testing.T) {
	var sent json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/v1/oauth/token":
			io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":300}`)
		case "/admin/v1/clients":
			var q struct {
				Org    string          `json:"org_msp"`
				Scopes []string        `json:"scopes"`
				JWK    json.RawMessage `json:"jwk"`
			}
			json.NewDecoder(r.Body).Decode(&q)
			sent = q.JWK
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(operator.Client{ClientID: "client-keyed", TokenEndpointAuthMethod: "private_key_jwt",
				OrgMSP: q.Org, Scopes: q.Scopes, CreatedAt: "2026-11-28T09:00:00Z"})
		}
	}))
	t.Cleanup(srv.Close)
	key := filepath.Join(t.TempDir(), "client.pub.jwk")
	jwk := `{"kty":"EC","crv":"P-256","x":"AAAA","y":"BBBB"}`
	if err := os.WriteFile(key, []byte(jwk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, "clients", "create", "--org", "BureauMSP", "--scope", "institution", "--jwk-file", key,
		"--gateway", srv.URL, "--client-id", "adm", "--client-secret", "s")
	if err != nil || !strings.Contains(out, "client-keyed") || !strings.Contains(out, "private_key_jwt") ||
		strings.Contains(out, "client_secret") || strings.Contains(errOut, "shown this once") {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	var got, want map[string]string
	if json.Unmarshal(sent, &got) != nil || json.Unmarshal([]byte(jwk), &want) != nil || got["x"] != want["x"] || got["crv"] != "P-256" {
		t.Fatalf("sent jwk %s", sent)
	}
	if _, _, err := run(t, "clients", "create", "--org", "BureauMSP", "--scope", "institution", "--jwk-file", filepath.Join(t.TempDir(), "none"),
		"--gateway", srv.URL, "--client-id", "adm", "--client-secret", "s"); err == nil {
		t.Fatal("a missing key file was accepted")
	}
}
