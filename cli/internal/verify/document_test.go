package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/root"
	"github.com/quanchain/quanchain/cli/internal/verify"
	chaincodetest "github.com/quanchain/quanchain/ledger/ledgertest"
)

// auditor evaluates on the in-process chaincode as the auditor's peer.
type auditor struct{ net *chaincodetest.Network }

func (a auditor) Evaluate(ctx context.Context, _, _, name string, args ...string) ([]byte, error) {
	return a.net.Evaluate(ctx, "AuditMSP", name, args...)
}

// batchFixture anchors six e-licences as one Merkle batch with the real
// chaincode, anchors one more on its own, and revokes licence 4.
type batchFixture struct {
	net      *chaincodetest.Network
	docs     [][]byte
	tree     *merkle.Tree
	anchorTx string
}

const batchID = "el-2026-11"

func newBatchFixture(t *testing.T) *batchFixture {
	t.Helper()
	clock := func() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC) }
	net := chaincodetest.NewDemo(t, clock)
	ctx := context.Background()
	f := &batchFixture{net: net}
	var leaves [][]byte
	for i := range 6 {
		doc := fmt.Appendf(nil, "%%PDF e-licence %d", i)
		f.docs = append(f.docs, doc)
		leaves = append(leaves, sum(doc))
	}
	f.tree = merkle.New(leaves)
	b, err := net.Ledger("BureauMSP").AnchorBatch(ctx, model.BatchAnchorRequest{BatchID: batchID, Category: "e_licence",
		Root: f.tree.Root().String(), LeafCount: 6})
	if err != nil {
		t.Fatal(err)
	}
	f.anchorTx = b.TxID
	if _, err := net.Submit(ctx, "BureauMSP", "anchor:RevokeRecord", "e_licence", hex.EncodeToString(sum(f.docs[4])), "WITHDRAWN"); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Submit(ctx, "BureauMSP", "anchor:AnchorRecord", "e_licence", hex.EncodeToString(sum([]byte("single")))); err != nil {
		t.Fatal(err)
	}
	return f
}

func sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// proofJSON is licence i's proof as the provider's gateway delivers it.
func (f *batchFixture) proofJSON(t *testing.T, i uint64) []byte {
	t.Helper()
	path, err := f.tree.Proof(i)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"batch_id": batchID, "leaf_index": i, "leaf_count": 6, "path": path,
		"root": f.tree.Root(), "anchor_tx_id": f.anchorTx})
	return b
}

func (f *batchFixture) path(t *testing.T, i uint64) string {
	p, _ := f.tree.Proof(i)
	s := make([]string, len(p))
	for j, h := range p {
		s[j] = h.String()
	}
	return strings.Join(s, ",")
}

// run runs `qc verify document` against the fixture's ledger and returns
// the exit status, the output and the JSON result (with --json).
func (f *batchFixture) run(t *testing.T, args ...string) (int, string, verify.DocumentResult) {
	t.Helper()
	ios, in, out, _ := cmdutil.Test()
	in.Write(f.docs[2])
	fac := cmdutil.NewFactory(ios)
	fac.Ledger = func(context.Context) (*cmdutil.Ledger, error) {
		return cmdutil.NewLedger(auditor{f.net}, chaincodetest.Channel, chaincodetest.Chaincode, "AuditMSP"), nil
	}
	cmd := verify.NewCmdDocument(fac, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	code := root.ExitCode(cmd.ExecuteContext(context.Background()))
	var res verify.DocumentResult
	if strings.Contains(strings.Join(args, " "), "--json") {
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("exit %d, output %q: %v", code, out, err)
		}
	}
	return code, out.String(), res
}

func write(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "proof.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDocumentInBatch(t *testing.T) {
	f := newBatchFixture(t)
	h := func(i int) string { return hex.EncodeToString(sum(f.docs[i])) }

	t.Run("genuine document with the provider's proof", func(t *testing.T) {
		code, out, _ := f.run(t, "--sha256", h(2), "--proof-file", write(t, f.proofJSON(t, 2)))
		if code != root.ExitOK {
			t.Fatalf("exit %d\n%s", code, out)
		}
		for _, want := range []string{"batch            el-2026-11: e_licence by BureauMSP", "6 leaves, root " + f.tree.Root().String(),
			"leaf index       2", "local proof      included", "chaincode proof  included", "revoked          no", "result           VALID"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("the document's file and its proof inside the delivered record", func(t *testing.T) {
		record := fmt.Appendf(nil, `{"category":"e_licence","record_hash":%q,"proof":%s}`, h(2), f.proofJSON(t, 2))
		code, out, res := f.run(t, "--file", "-", "--proof-file", write(t, record), "--json")
		if code != root.ExitOK || !res.Valid || res.SHA256 != h(2) || !res.Local.Included || !res.Ledger.Anchored {
			t.Fatalf("exit %d %s", code, out)
		}
	})
	t.Run("the audit path as a flag", func(t *testing.T) {
		code, out, _ := f.run(t, "--sha256", h(5), "--batch", batchID, "--index", "5", "--proof", f.path(t, 5))
		if code != root.ExitOK {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("the audit path as a list in a file", func(t *testing.T) {
		b, _ := json.Marshal(strings.Split(f.path(t, 1), ","))
		if code, out, _ := f.run(t, "--sha256", h(1), "--batch", batchID, "--index", "1", "--proof-file", write(t, b)); code != root.ExitOK {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		code, out, res := f.run(t, "--sha256", h(4), "--proof-file", write(t, f.proofJSON(t, 4)), "--json")
		if code != root.ExitFailedCheck || res.Valid || res.Reason != string(model.CodeRecordRevoked) || !res.Local.Included ||
			res.Ledger.Revocation == nil || res.Ledger.Revocation.Reason != "WITHDRAWN" {
			t.Fatalf("exit %d %s", code, out)
		}
		_, out, _ = f.run(t, "--sha256", h(4), "--proof-file", write(t, f.proofJSON(t, 4)))
		if !strings.Contains(out, "revoked          WITHDRAWN by BureauMSP") || !strings.Contains(out, "NOT VALID (RECORD_REVOKED)") {
			t.Fatalf("output:\n%s", out)
		}
	})
	t.Run("another document with a genuine proof", func(t *testing.T) {
		code, out, res := f.run(t, "--sha256", hex.EncodeToString(sum([]byte("forged"))), "--proof-file", write(t, f.proofJSON(t, 2)), "--json")
		if code != root.ExitFailedCheck || res.Reason != string(model.CodeProofInvalid) || res.Local.Included || res.Ledger.Anchored {
			t.Fatalf("exit %d %s", code, out)
		}
	})
	t.Run("a proof made for another root", func(t *testing.T) {
		var o map[string]any
		_ = json.Unmarshal(f.proofJSON(t, 3), &o)
		o["root"] = strings.Repeat("ab", 32)
		b, _ := json.Marshal(o)
		code, out, res := f.run(t, "--sha256", h(3), "--proof-file", write(t, b), "--json")
		if code != root.ExitOK || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "the proof was made for root abab") {
			t.Fatalf("exit %d %s", code, out)
		}
	})
	t.Run("batch not anchored", func(t *testing.T) {
		b := bytes.Replace(f.proofJSON(t, 2), []byte(batchID), []byte("el-2099-01"), 1)
		code, out, res := f.run(t, "--sha256", h(2), "--proof-file", write(t, b), "--json")
		if code != root.ExitNotFound || res.Valid || res.Reason != string(model.CodeBatchNotFound) || res.Ledger != nil {
			t.Fatalf("exit %d %s", code, out)
		}
		_, out, _ = f.run(t, "--sha256", h(2), "--proof-file", write(t, b))
		if !strings.Contains(out, "batch       el-2099-01: not on the ledger") || !strings.Contains(out, "NOT VALID (BATCH_NOT_FOUND)") {
			t.Fatalf("output:\n%s", out)
		}
	})
	t.Run("not anchored and no proof", func(t *testing.T) {
		code, out, _ := f.run(t, "--sha256", h(2))
		if code != root.ExitFailedCheck || !strings.Contains(out, "anchored  no") || !strings.Contains(out, "NOT VALID (ANCHOR_NOT_FOUND)") ||
			!strings.Contains(out, "give its proof (--proof-file)") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("anchored on its own", func(t *testing.T) {
		code, out, _ := f.run(t, "--sha256", hex.EncodeToString(sum([]byte("single"))))
		if code != root.ExitOK || !strings.Contains(out, "anchored  e_licence by BureauMSP") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sha256", h(2), "--file", "x"}, "exactly one of --sha256 and --file"},
		{[]string{"--sha256", h(2), "--proof", f.path(t, 2)}, "--proof goes with --batch and --index"},
		{[]string{"--sha256", h(2), "--batch", batchID, "--index", "2"}, "need the proof"},
		{[]string{"--sha256", h(2), "--batch", "el-other", "--proof-file", write(t, f.proofJSON(t, 2))}, "the proof is for batch el-2026-11"},
		{[]string{"--sha256", h(2), "--index", "3", "--proof-file", write(t, f.proofJSON(t, 2))}, "the proof is for leaf 2"},
		{[]string{"--sha256", h(2), "--proof-file", write(t, []byte(`["zz"]`))}, "--proof-file"},
		{[]string{"--sha256", h(2), "--proof-file", write(t, []byte(`{"batch_id":"b-1"}`))}, "needs batch_id, leaf_index and path"},
	} {
		t.Run("usage: "+tc.want, func(t *testing.T) {
			ios, _, _, errOut := cmdutil.Test()
			fac := cmdutil.NewFactory(ios)
			cmd := verify.NewCmdDocument(fac, nil)
			cmd.SetArgs(tc.args)
			cmd.SetOut(errOut)
			cmd.SetErr(errOut)
			err := cmd.ExecuteContext(context.Background())
			if root.ExitCode(err) != root.ExitUsage || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v; want usage error with %q", err, tc.want)
			}
		})
	}
}
