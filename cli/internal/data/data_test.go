package data

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/operator"
)

func TestImport(t *testing.T) {
	var stored = map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/v1/oauth/token":
			io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":300}`)
		case "/admin/v1/datasets/tax/import":
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != "application/x-ndjson" || strings.Contains(string(b), "bad") {
				w.WriteHeader(400)
				io.WriteString(w, `{"error":{"code":"INVALID_RECORD","message":"line 2 is not a record"}}`)
				return
			}
			res := operator.ImportResult{Category: "tax"}
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				res.Records++
				if stored[l] {
					res.Duplicates++
				} else {
					stored[l] = true
					res.Inserted++
				}
			}
			if res.Inserted > 0 {
				res.Batches = 1
				res.Anchored = []operator.AnchoredBatch{{BatchID: "batch-1", Category: "tax", Root: strings.Repeat("ab", 32), LeafCount: res.Inserted, TxID: "tx-1"}}
			}
			json.NewEncoder(w).Encode(res)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "tax.jsonl")
	os.WriteFile(file, []byte("{\"a\":1}\n{\"a\":2}\n"), 0o600)
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"a\":1}\nbad\n"), 0o600)

	run := func(args ...string) (string, error) {
		ios, _, out, _ := cmdutil.Test()
		cmd := NewCmdData(cmdutil.NewFactory(ios))
		cmd.SetArgs(append(args, "--gateway", srv.URL, "--client-id", "adm", "--client-secret", "s"))
		cmd.SetOut(out)
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	out, err := run("import", "--category", "tax", "--file", file)
	if err != nil || !strings.Contains(out, "2 record(s), 2 inserted, 0 already stored") || !strings.Contains(out, "batch-1") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = run("import", "--category", "tax", "--file", file, "--json")
	var r operator.ImportResult
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Inserted != 0 || r.Duplicates != 2 || r.Anchored == nil {
		t.Fatalf("%v\n%s", err, out)
	}
	_, err = run("import", "--category", "tax", "--file", bad)
	var ae *operator.APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_RECORD" {
		t.Fatalf("err %v", err)
	}
	if _, err = run("import", "--category", "tax", "--file", filepath.Join(dir, "missing.jsonl")); err == nil || !strings.Contains(err.Error(), "--file") {
		t.Fatalf("err %v", err)
	}
}
