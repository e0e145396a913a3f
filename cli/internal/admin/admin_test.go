package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/operator"
)

func fakeGateway(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/v1/oauth/token":
			io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":300}`)
		case "/admin/v1/clients":
			var q struct {
				Org    string   `json:"org_msp"`
				Scopes []string `json:"scopes"`
			}
			json.NewDecoder(r.Body).Decode(&q)
			if q.Org != "BureauMSP" || r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(422)
				io.WriteString(w, `{"error":{"code":"ORG_NOT_SERVED","message":"this gateway serves BureauMSP only"}}`)
				return
			}
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(operator.Client{ClientID: "client-new", ClientSecret: "shh", OrgMSP: q.Org, Scopes: q.Scopes,
				CreatedAt: "2026-11-28T09:00:00Z"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	f := cmdutil.NewFactory(ios)
	cmd := NewCmdAdmin(f)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestClientsCreateFlags(t *testing.T) {
	ios, _, _, _ := cmdutil.Test()
	var got *ClientsCreateOptions
	cmd := NewCmdClientsCreate(cmdutil.NewFactory(ios), func(o *ClientsCreateOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--org", "BureauMSP", "--scope", "Institution", "--scope", "admin,institution", "--gateway", "http://gw",
		"--client-id", "a", "--client-secret", "b", "--json"})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Org != "BureauMSP" || strings.Join(got.Scopes, ",") != "institution,admin" || got.Flags.Gateway != "http://gw" ||
		got.Flags.ClientID != "a" || !got.Output.JSON {
		t.Fatalf("options %+v", got)
	}
}

func TestClientsCreate(t *testing.T) {
	srv := fakeGateway(t)
	creds := []string{"--gateway", srv.URL, "--client-id", "adm", "--client-secret", "s"}
	out, errOut, err := run(t, append([]string{"clients", "create", "--org", "BureauMSP", "--scope", "institution"}, creds...)...)
	if err != nil || !strings.Contains(out, "client-new") || !strings.Contains(out, "shh") || !strings.Contains(errOut, "shown this once") {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	out, _, err = run(t, append([]string{"clients", "create", "--org", "BureauMSP", "--scope", "institution", "--json"}, creds...)...)
	var c operator.Client
	if err != nil || json.Unmarshal([]byte(out), &c) != nil || c.ClientID != "client-new" || c.Scopes[0] != "institution" {
		t.Fatalf("%v\n%s", err, out)
	}
	_, _, err = run(t, append([]string{"clients", "create", "--org", "BankMSP", "--scope", "institution"}, creds...)...)
	var ae *operator.APIError
	if !errors.As(err, &ae) || ae.Code != "ORG_NOT_SERVED" || !strings.Contains(err.Error(), "422 ORG_NOT_SERVED") {
		t.Fatalf("err %v", err)
	}
}
