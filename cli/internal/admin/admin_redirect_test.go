package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/cli/internal/operator"
)

// TestClientsCreateWithRedirectURIs: each --redirect-uri is sent in
// redirect_uris, in order, and shown back.
func TestClientsCreateWithRedirectURIs(t *testing.T) {
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/v1/oauth/token":
			io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":300}`)
		case "/admin/v1/clients":
			var q struct {
				Org          string   `json:"org_msp"`
				Scopes       []string `json:"scopes"`
				RedirectURIs []string `json:"redirect_uris"`
			}
			json.NewDecoder(r.Body).Decode(&q)
			sent = q.RedirectURIs
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(operator.Client{ClientID: "client-web", ClientSecret: "sekrit-sekrit-sekrit", OrgMSP: q.Org,
				Scopes: q.Scopes, RedirectURIs: q.RedirectURIs, CreatedAt: "2026-11-29T02:00:00Z"})
		}
	}))
	t.Cleanup(srv.Close)
	uris := []string{"https://app.bank.example/loan/back", "http://127.0.0.1:9000/cb"}
	out, errOut, err := run(t, "clients", "create", "--org", "BankMSP", "--scope", "institution",
		"--redirect-uri", uris[0], "--redirect-uri", uris[1], "--gateway", srv.URL, "--client-id", "adm", "--client-secret", "s")
	if err != nil || !strings.Contains(out, "redirect_uris") || !strings.Contains(out, uris[1]) {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	if !slices.Equal(sent, uris) {
		t.Fatalf("sent redirect_uris %q, want %q", sent, uris)
	}
}
