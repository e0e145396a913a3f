package root

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/ledger"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, ExitOK},
		{"plain failure", errors.New("connection refused"), ExitError},
		{"usage", cmdutil.UsageErrorf("bad flag"), ExitUsage},
		{"wrapped usage", fmt.Errorf("ctx: %w", cmdutil.UsageErrorf("bad flag")), ExitUsage},
		{"failed check", cmdutil.FailedCheckf("verification failed"), ExitFailedCheck},
		{"not found", cmdutil.NotFoundf("block 9"), ExitNotFound},
		{"ledger says not found", fmt.Errorf("x: %w", &ledger.Error{Code: "AUTH_NOT_FOUND"}), ExitNotFound},
		{"peer holds no such block", &ledger.Error{Code: ledger.CodeBlockNotFound}, ExitNotFound},
		{"ledger error", &ledger.Error{Code: "INVALID_ARGUMENT"}, ExitError},
		{"ledger unavailable", &ledger.Error{Code: ledger.CodeUnavailable}, ExitError},
		{"cancelled", context.Canceled, ExitError},
	}
	for _, tc := range tests {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	code := Run(context.Background(), ios, args)
	return code, out.String(), errOut.String()
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "qc"`},
		{[]string{"ledger", "blok", "1"}, `did you mean "block"?`},
		{[]string{"ledger", "info", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"ledger", "block"}, "takes a block number"},
		{[]string{"ledger", "block", "x1"}, "want a number"},
		{[]string{"ledger", "tx", "xyz"}, "64 hex"},
		{[]string{"ledger", "verify", "--from", "5", "--to", "2"}, "--to 2 is before --from 5"},
		{[]string{"audit", "authorizations"}, "exactly one of --citizen, --institution"},
		{[]string{"audit", "authorizations", "--citizen", "370102199003071234"}, "check character is wrong"},
		{[]string{"audit", "accesses", "--citizen", "370102900307123"}, "15-digit"},
		{[]string{"admin", "clients", "create", "--scope", "institution"}, "--org"},
		{[]string{"admin", "clients", "create", "--org", "BureauMSP"}, "--scope is required"},
		{[]string{"admin", "clients", "create", "--org", "BureauMSP", "--scope", "root"}, `--scope "root"`},
		{[]string{"admin", "client"}, `did you mean "clients"?`},
		{[]string{"admin", "webhooks", "retry"}, "exactly one of a delivery id, --subscription or --all-parked"},
		{[]string{"admin", "webhooks", "deliveries", "--state", "lost"}, `--state "lost"`},
		{[]string{"data", "import", "--category", "Tax", "--file", "x"}, "--category"},
		{[]string{"data", "import", "--category", "tax"}, "--file is required"},
		{[]string{"audit", "authorizations", "--institution", "BankMSP", "--status", "happy"}, "--status"},
		{[]string{"audit", "accesses", "--institution", "BankMSP", "--since", "last week"}, "--since"},
		{[]string{"audit", "history", "wallet", "x"}, "object type"},
		{[]string{"audit", "history", "auth"}, "takes an object type and an id"},
		{[]string{"audit", "report", "--format", "xml"}, "--format"},
		{[]string{"verify", "record", "--category", "tax"}, "--file is required"},
		{[]string{"verify", "record", "--category", "tax", "--file", "x", "--batch", "b-1"}, "go together with --proof-file"},
		{[]string{"verify", "document", "--sha256", "abc"}, "64 hex"},
		{[]string{"config", "--json", "extra"}, "takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tc.want)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"ledger"}, {"audit", "--help"}} {
		code, stdout, _ := run(t, args...)
		if code != ExitOK || !strings.Contains(stdout, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}

func TestRunWithoutNetwork(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := run(t, "--state-dir", dir, "ledger", "info")
	if code != ExitError || !strings.Contains(stderr, "no network profile found in "+dir+": run `make up` first") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// A profile naming no such organisation is a usage error.
	if err := os.WriteFile(filepath.Join(dir, "network.json"), []byte(`{"channel":"quanchain","chaincode":"quanchain","orgs":[{"name":"audit","msp_id":"AuditMSP"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "--state-dir", dir, "--profile", "nobody", "ledger", "info")
	if code != ExitUsage || !strings.Contains(stderr, `--profile "nobody"`) || !strings.Contains(stderr, "audit (AuditMSP)") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestDocsNeedNoNetwork(t *testing.T) {
	code, stdout, _ := run(t, "--state-dir", "/nonexistent", "docs")
	if code != ExitOK || !bytes.Contains([]byte(stdout), []byte("### qc ledger verify")) {
		t.Fatalf("exit %d", code)
	}
}
