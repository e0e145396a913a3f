package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
)

func TestOutputFlags(t *testing.T) {
	tests := []struct {
		csv    bool
		args   []string
		want   Format
		errMsg string
	}{
		{false, nil, FormatTable, ""},
		{false, []string{"--json"}, FormatJSON, ""},
		{true, []string{"--format", "CSV"}, FormatCSV, ""},
		{true, []string{"--json", "--format", "json"}, FormatJSON, ""},
		{true, []string{"--json", "--format", "csv"}, "", "contradict"},
		{true, []string{"--format", "xml"}, "", "must be one of table, json, csv"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var o OutputFlags
			cmd := &cobra.Command{Use: "x"}
			if tc.csv {
				AddFormatFlags(cmd, &o)
			} else {
				AddJSONFlag(cmd, &o)
			}
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := o.Resolve()
			var ue *UsageError
			switch {
			case tc.errMsg != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tc.errMsg)):
				t.Fatalf("err %v, want a usage error with %q", err, tc.errMsg)
			case tc.errMsg == "" && (err != nil || got != tc.want):
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseCitizen(t *testing.T) {
	ref := strings.Repeat("ab", 32)
	if got, err := ParseCitizen("--citizen", strings.ToUpper(ref)); err != nil || got.Ref != ref || got.IDNumber != "" {
		t.Fatalf("hex ref: %+v %v", got, err)
	}
	for in, want := range map[string]string{"37011520010603615X": "37011520010603615X", " 37011520010603615x ": "37011520010603615X",
		"370114196910259164": "370114196910259164"} {
		got, err := ParseCitizen("--citizen", in)
		if err != nil || got.IDNumber != want || got.Ref != "" || strings.Contains(got.String(), want) {
			t.Fatalf("%q: %+v %v", in, got, err)
		}
	}
	for id, msg := range map[string]string{
		"370115200106036151": "check character is wrong",
		"370102900307123":    "15-digit",
		"zhang":              "64 hex",
		"37011520010603615":  "18-character ID number",
		"3701152001060361Y5": "18-character ID number",
		// The gateway's rules (internal/resident), with right check characters.
		"990105194912310023": "region code is unknown", // no province 99
		"37000019900307123X": "region code is unknown", // a province, no city
		"370102199002301230": "date of birth",          // 30 February
		"37010220990307123X": "date of birth",          // in the future
		"440524188001010014": "date of birth",          // before 1900
	} {
		_, err := ParseCitizen("--citizen", id)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), msg) {
			t.Fatalf("%s: %v, want a usage error with %q", id, err, msg)
		}
		if strings.Contains(err.Error(), id) {
			t.Fatalf("the ID number is echoed: %v", err)
		}
	}
}

func TestResolveCitizen(t *testing.T) {
	ctx := context.Background()
	ref := strings.Repeat("cd", 32)
	called := false
	pseudonym := func(_ context.Context, id string) (string, error) {
		called = true
		if id != "37011520010603615X" {
			return "", errors.New("unexpected ID number")
		}
		return ref, nil
	}
	if got, err := ResolveCitizen(ctx, Citizen{Ref: ref}, pseudonym); err != nil || got != ref || called {
		t.Fatalf("a ref is not resolved: %q %v %v", got, err, called)
	}
	if got, err := ResolveCitizen(ctx, Citizen{IDNumber: "37011520010603615X"}, pseudonym); err != nil || got != ref {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := ResolveCitizen(ctx, Citizen{IDNumber: "37011520010603615X"}, nil); err == nil {
		t.Fatal("no pseudonym service, no error")
	}
}

// localProfile is the network.json `make up` writes, reduced to what the
// admin and operator clients read: the auditor's organisation and the
// gateways.
const localProfile = `{"channel":"quanchain","chaincode":"quanchain",
 "orgs":[{"name":"audit","msp_id":"AuditMSP"}],
 "gateways":[
  {"msp_id":"BureauMSP","roles":["provider"],"api":"http://127.0.0.1:7080","peer_api":"https://127.0.0.1:7090","data_dir":"gateway/bureau"},
  {"msp_id":"BankMSP","roles":["requester"],"api":"http://127.0.0.1:7081","data_dir":"gateway/bank"}]}`

func TestAdminCredentials(t *testing.T) {
	ios, _, _, _ := Test()
	f := NewFactory(ios)
	f.StateDir = t.TempDir()
	t.Setenv(EnvClientID, "")
	t.Setenv(EnvClientSecret, "")
	var ue *UsageError
	bare := NewFactory(ios)
	bare.StateDir = t.TempDir()
	if _, err := bare.AdminClient(AdminFlags{}); err == nil || !strings.Contains(err.Error(), "no network profile") ||
		!strings.Contains(err.Error(), "--gateway") {
		t.Fatalf("no profile, no --gateway: %v", err)
	}
	if err := os.WriteFile(filepath.Join(f.StateDir, "network.json"), []byte(localProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.AdminClient(AdminFlags{}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--client-id") {
		t.Fatalf("no credentials: %v", err)
	}
	if _, err := f.AdminClient(AdminFlags{ClientID: "x"}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "both") {
		t.Fatalf("half the credentials: %v", err)
	}
	if _, err := f.AdminClient(AdminFlags{Gateway: "ftp://x", ClientID: "a", ClientSecret: "b"}); !errors.As(err, &ue) {
		t.Fatalf("bad gateway: %v", err)
	}
	dir := filepath.Join(f.StateDir, "gateway", "bureau")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	demo := `[{"client_id":"inst","client_secret":"i","scopes":["institution"]},{"client_id":"adm","client_secret":"a","scopes":["institution","admin"]}]`
	if err := os.WriteFile(filepath.Join(dir, "demo-clients.json"), []byte(demo), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := f.AdminClient(AdminFlags{})
	if err != nil || a.ClientID != "adm" || a.ClientSecret != "a" || a.URL != "http://127.0.0.1:7080" {
		t.Fatalf("demo admin: %+v %v", a, err)
	}
	// The demo admin of the gateway --gateway names.
	bank := filepath.Join(f.StateDir, "gateway", "bank")
	if err := os.MkdirAll(bank, 0o755); err != nil {
		t.Fatal(err)
	}
	demo = `[{"client_id":"bank-app","client_secret":"i","scopes":["institution"]},{"client_id":"bank-admin","client_secret":"b","scopes":["institution","admin"]}]`
	if err := os.WriteFile(filepath.Join(bank, "demo-clients.json"), []byte(demo), 0o600); err != nil {
		t.Fatal(err)
	}
	if a, err = f.AdminClient(AdminFlags{Gateway: "http://127.0.0.1:7081/"}); err != nil || a.ClientID != "bank-admin" || a.ClientSecret != "b" {
		t.Fatalf("bank demo admin: %+v %v", a, err)
	}
	t.Setenv(EnvClientID, "env-id")
	t.Setenv(EnvClientSecret, "env-secret")
	if a, err = f.AdminClient(AdminFlags{Gateway: "http://gw:1/"}); err != nil || a.ClientID != "env-id" || a.URL != "http://gw:1" {
		t.Fatalf("env: %+v %v", a, err)
	}
	if a, err = f.AdminClient(AdminFlags{ClientID: "flag-id", ClientSecret: "flag-secret"}); err != nil || a.ClientID != "flag-id" {
		t.Fatalf("flags: %+v %v", a, err)
	}
}

func TestParseTimeRange(t *testing.T) {
	r, err := ParseTimeRange("2026-11-01", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	if r.SinceArg() != "2026-11-01T00:00:00.000Z" || r.UntilArg() != "2026-11-30T23:59:59.999Z" {
		t.Fatalf("bounds %s %s", r.SinceArg(), r.UntilArg())
	}
	if !r.Contains("2026-11-30T23:59:59.999Z") || r.Contains("2026-12-01T00:00:00.000Z") || !r.Contains("2026-11-01T00:00:00.000Z") {
		t.Fatal("Contains is not inclusive on both sides")
	}
	r, err = ParseTimeRange("2026-11-01T08:00:00+08:00", "")
	if err != nil || r.SinceArg() != "2026-11-01T00:00:00.000Z" || r.UntilArg() != "" || !r.Contains("2030-01-01T00:00:00Z") {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range [][2]string{{"yesterday", ""}, {"", "2026-13-01"}, {"2026-11-02", "2026-11-01"}} {
		var ue *UsageError
		if _, err := ParseTimeRange(bad[0], bad[1]); !errors.As(err, &ue) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestWriteCSVGuardsFormulas(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, []string{"a", "b"}, [][]string{{"=HYPERLINK(\"x\")", "plain, with comma"}, {"+1", "@x"}}); err != nil {
		t.Fatal(err)
	}
	want := "a,b\n\"'=HYPERLINK(\"\"x\"\")\",\"plain, with comma\"\n'+1,'@x\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, "ID", "STATUS")
	tb.Row("loan-1", "GRANTED")
	tb.Row("a\tb", "x\ny")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "ID      STATUS\nloan-1  GRANTED\na b     x y\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	if Short(strings.Repeat("ab", 32)) != "abababab…abab" || Short("short") != "short" {
		t.Fatal("Short")
	}
}

func TestIsNotFound(t *testing.T) {
	if !IsNotFound(NotFoundf("block %d", 3)) || IsNotFound(errors.New("x")) || IsNotFound(nil) {
		t.Fatal("IsNotFound")
	}
	if !IsNotFound(errors.Join(errors.New("wrapped"), notFoundMarker{})) {
		t.Fatal("NotFound() marker not recognised")
	}
}

func TestPeerDetails(t *testing.T) {
	details := []string{"BankMSP (127.0.0.1:9051): access denied"}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"no chaincode answer", fmt.Errorf("x: %w", &ledger.Error{Code: model.CodeInternal, Details: details}), 1},
		{"peer unreachable", &ledger.Error{Code: ledger.CodeUnavailable, Details: details}, 1},
		{"the chaincode's refusal says it all", &ledger.Error{Code: model.CodeAuthNotFound, Details: details}, 0},
		{"not a ledger error", errors.New("x"), 0},
	}
	for _, tt := range tests {
		if got := PeerDetails(tt.err); len(got) != tt.want {
			t.Errorf("%s: %q", tt.name, got)
		}
	}
}

type notFoundMarker struct{}

func (notFoundMarker) Error() string  { return "marked" }
func (notFoundMarker) NotFound() bool { return true }

func TestResolveStateDir(t *testing.T) {
	t.Setenv("QUANCHAIN_HOME", "/tmp/qc-home")
	if d, err := ResolveStateDir(""); err != nil || d != "/tmp/qc-home" {
		t.Fatalf("env: %q %v", d, err)
	}
	if d, err := ResolveStateDir("/tmp/flag"); err != nil || d != "/tmp/flag" {
		t.Fatalf("flag: %q %v", d, err)
	}
}

func TestMissingProfileSaysWhatToDo(t *testing.T) {
	ios, _, _, _ := Test()
	f := NewFactory(ios)
	f.StateDir = t.TempDir()
	_, _, err := f.NetworkProfile()
	if err == nil || !strings.Contains(err.Error(), "no network profile found in "+f.StateDir) || !strings.Contains(err.Error(), "run `make up` first") {
		t.Fatalf("err %v", err)
	}
}
