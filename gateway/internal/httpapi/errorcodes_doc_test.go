package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
)

// errorCodeConstants finds every error code constant in the gateway's code
// and in the packages whose codes pass through it (the ledger client, the
// chaincode's model): a constant named Code… or code… whose value is a
// string literal in upper snake case. It returns the code and where it is
// declared.
func errorCodeConstants(t *testing.T) map[string]string {
	t.Helper()
	codes := map[string]string{}
	fset := token.NewFileSet()
	name := regexp.MustCompile(`^[cC]ode[A-Z]`)
	value := regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
	for _, root := range []string{"../..", "../../../ledger", "../../../chaincode/model"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
				strings.Contains(path, "test/") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if !name.MatchString(n.Name) || i >= len(vs.Values) {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						v, _ := strconv.Unquote(lit.Value)
						if value.MatchString(v) {
							codes[v] = path + ": " + n.Name
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return codes
}

// documentedCodes reads docs/api.md's table of error codes: the rows of
// the section "## Error codes" whose first cell is a code in backticks and
// whose second is an HTTP status (or "—" for a code no API answers with).
func documentedCodes(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Error codes\n")
	if !ok {
		t.Fatal(`docs/api.md has no section "## Error codes"`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	row := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]+)` \\| ([0-9]{3}|—) \\|")
	out := map[string]string{}
	for _, l := range strings.Split(section, "\n") {
		if m := row.FindStringSubmatch(l); m != nil {
			if _, dup := out[m[1]]; dup {
				t.Errorf("docs/api.md lists %s twice", m[1])
			}
			out[m[1]] = m[2]
		}
	}
	return out
}

// TestErrorCodesDocumented: every error code constant of the gateway (and
// of the ledger client and the chaincode, whose codes pass through) is in
// docs/api.md's table, with the status the error renderer gives it where
// the renderer maps it; and the table names no code the code does not
// have.
func TestErrorCodesDocumented(t *testing.T) {
	codes := errorCodeConstants(t)
	if len(codes) < 50 {
		t.Fatalf("found only %d error codes: the search is broken", len(codes))
	}
	doc := documentedCodes(t)
	var missing []string
	for c, where := range codes {
		if _, ok := doc[c]; !ok {
			missing = append(missing, c+" ("+where+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("docs/api.md, ## Error codes: %s is missing", m)
	}
	for c := range doc {
		if _, ok := codes[c]; !ok {
			t.Errorf("docs/api.md lists %s, which no code declares", c)
		}
	}
	// The exchange's codes reach the client as they are; a ledger code
	// with a 5xx status reaches it as INTERNAL (classify), so the table
	// may give it its status or —.
	want := map[string]string{}
	for c, st := range exchangeStatus {
		want[c] = strconv.Itoa(st)
	}
	for c, st := range ledgerStatus {
		if st < 500 || c == model.CodeInternal || c == ledger.CodeUnavailable {
			want[string(c)] = strconv.Itoa(st)
		} else if got := doc[string(c)]; got != "—" && got != strconv.Itoa(st) {
			t.Errorf("docs/api.md gives %s status %s; the gateway answers %d (as INTERNAL)", c, got, st)
		}
	}
	for c, st := range want {
		if got, ok := doc[c]; ok && got != st {
			t.Errorf("docs/api.md gives %s status %s; the gateway answers %s", c, got, st)
		}
	}
}
