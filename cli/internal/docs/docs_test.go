package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/docs"
	"github.com/quanchain/quanchain/cli/internal/root"
)

func generate(t *testing.T, args ...string) string {
	t.Helper()
	ios, _, out, errOut := cmdutil.Test()
	if code := root.Run(context.Background(), ios, append([]string{"docs"}, args...)); code != 0 {
		t.Fatalf("qc docs: exit %d: %s", code, errOut)
	}
	return out.String()
}

func TestMarkdownCoversEveryCommand(t *testing.T) {
	md := generate(t)
	for _, want := range []string{
		"## Audit walkthrough", "| 3 | a verification failed, or the report has findings |",
		"### qc config", "### qc ledger info", "### qc ledger block", "### qc ledger tx", "### qc ledger verify",
		"### qc audit authorizations", "### qc audit accesses", "### qc audit history", "### qc audit report",
		"### qc verify record", "### qc verify document", "### qc docs",
		"- [`qc ledger verify`](#qc-ledger-verify)", "--block-store string", "--profile string",
		"### qc admin clients create", "### qc admin webhooks deliveries", "### qc admin webhooks retry", "### qc data import", "--citizen <18-character ID number>",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("documentation lacks %q", want)
		}
	}
}

// TestCommittedDocsAreCurrent keeps docs/cli.md in step with the commands.
func TestCommittedDocsAreCurrent(t *testing.T) {
	committed, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, []byte(generate(t))) {
		t.Fatal("docs/cli.md is out of date: run `go run ./cli/cmd/qc docs --out docs/cli.md`")
	}
}

func TestJSONTree(t *testing.T) {
	var tree docs.Command
	if err := json.Unmarshal([]byte(generate(t, "--json")), &tree); err != nil {
		t.Fatal(err)
	}
	paths := map[string]docs.Command{}
	var walk func(c docs.Command)
	walk = func(c docs.Command) {
		paths[c.Path] = c
		for _, s := range c.Subcommands {
			walk(s)
		}
	}
	walk(tree)
	if len(paths) != 32 {
		t.Errorf("%d commands in the tree", len(paths))
	}
	found := false
	for _, f := range paths["qc ledger verify"].Flags {
		found = found || f.Name == "peers"
	}
	if !found || len(paths["qc"].Flags) != 2 {
		t.Errorf("flags: %+v %+v", paths["qc ledger verify"].Flags, paths["qc"].Flags)
	}
}

func TestOutFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cli.md")
	ios, _, stdout, stderr := cmdutil.Test()
	if code := root.Run(context.Background(), ios, []string{"docs", "--out", out}); code != 0 || stdout.Len() != 0 ||
		!strings.Contains(stderr.String(), "wrote "+out) {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.HasPrefix(b, []byte("<!-- Generated")) {
		t.Fatalf("%v", err)
	}
}
