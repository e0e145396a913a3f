package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
)

func execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	return cmd.ExecuteContext(context.Background())
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestRecordSingle(t *testing.T) {
	record := []byte(`{"citizen":"ref","months":12}`)
	file := writeFile(t, "record.json", record)
	anchors := map[string]model.Verification{
		hashOf(record): {Valid: true, Anchored: true, Anchor: &model.RecordAnchor{RecordHash: hashOf(record), Category: "housing_fund",
			Provider: "BureauMSP", AnchoredAt: "2026-11-01T00:00:00.000Z", TxID: "tx-a"}},
	}
	fake := ledgertest.NewFake(nil)
	fake.On("anchor:VerifyRecord", func(args []string) (any, error) {
		if v, ok := anchors[args[0]]; ok {
			return v, nil
		}
		return model.Verification{Reason: string(model.CodeAnchorNotFound)}, nil
	})
	f, out, _ := ledgertest.NewFactory(fake)

	if err := execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", file); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"record hash  " + hashOf(record), "anchored     housing_fund by BureauMSP", "result       VALID"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out.Reset()
	err := execute(NewCmdRecord(f, nil), "--category", "tax", "--file", file, "--json")
	var fc *cmdutil.FailedCheckError
	var res RecordResult
	if !errors.As(err, &fc) || json.Unmarshal(out.Bytes(), &res) != nil || res.Valid || res.Reason != ReasonCategoryMismatch {
		t.Fatalf("other category: %v %s", err, out)
	}

	out.Reset()
	f.IOStreams.In = bytes.NewReader([]byte("something else"))
	err = execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", "-")
	if !errors.As(err, &fc) || !strings.Contains(out.String(), "NOT VALID (ANCHOR_NOT_FOUND)") || !strings.Contains(out.String(), hashOf([]byte("something else"))) {
		t.Fatalf("unanchored: %v\n%s", err, out)
	}
}

func TestRecordInBatch(t *testing.T) {
	var records [][]byte
	var leaves [][]byte
	for i := 0; i < 11; i++ {
		r := []byte(fmt.Sprintf(`{"record":%d}`, i))
		records = append(records, r)
		s := sha256.Sum256(r)
		leaves = append(leaves, s[:])
	}
	tree := merkle.New(leaves)
	batch := model.BatchAnchor{BatchID: "hf-1", Category: "housing_fund", Provider: "BureauMSP", Root: tree.Root().String(), LeafCount: 11}
	proofFile := func(t *testing.T, i uint64) string {
		p, _ := tree.Proof(i)
		hexes := make([]string, len(p))
		for j := range p {
			hexes[j] = p[j].String()
		}
		b, _ := json.Marshal(hexes)
		return writeFile(t, "proof.json", b)
	}
	chaincodeSays := func(anchored bool) func([]string) (any, error) {
		return func(args []string) (any, error) {
			var req model.ProofRequest
			if err := json.Unmarshal([]byte(args[0]), &req); err != nil {
				return nil, err
			}
			if req.BatchID != "hf-1" || len(req.Proof) == 0 {
				return nil, errors.New("bad proof request")
			}
			v := model.Verification{Batch: &batch, Anchored: anchored, Valid: anchored}
			if !anchored {
				v.Reason = string(model.CodeProofInvalid)
			}
			return v, nil
		}
	}
	setup := func(anchored bool) (*cmdutil.Factory, *bytes.Buffer) {
		fake := ledgertest.NewFake(nil)
		fake.On("anchor:GetBatch", func(args []string) (any, error) {
			if args[0] != "hf-1" {
				return nil, errors.New("chaincode response 500, BATCH_NOT_FOUND: batch " + args[0] + " is not anchored")
			}
			return batch, nil
		})
		fake.On("anchor:VerifyProof", chaincodeSays(anchored))
		f, out, _ := ledgertest.NewFactory(fake)
		return f, out
	}
	rec := writeFile(t, "rec.json", records[7])

	f, out := setup(true)
	if err := execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", rec, "--batch", "hf-1", "--index", "7", "--proof-file", proofFile(t, 7)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "local proof      included") || !strings.Contains(out.String(), "chaincode proof  included") {
		t.Fatalf("output:\n%s", out)
	}

	// The provider's proof object names the batch and the index itself.
	p7, _ := tree.Proof(7)
	obj, _ := json.Marshal(map[string]any{"batch_id": "hf-1", "leaf_index": 7, "leaf_count": 11, "path": p7, "root": tree.Root()})
	f, out = setup(true)
	if err := execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", rec, "--proof-file", writeFile(t, "proof-object.json", obj)); err != nil ||
		!strings.Contains(out.String(), "local proof      included") {
		t.Fatalf("proof object: %v\n%s", err, out)
	}
	var ue0 *cmdutil.UsageError
	if err := execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", rec, "--proof-file", proofFile(t, 7)); !errors.As(err, &ue0) ||
		!strings.Contains(err.Error(), "needs --batch and --index") {
		t.Fatalf("a list without --batch: %v", err)
	}

	// Wrong index: both find it not included.
	f, out = setup(false)
	err := execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", rec, "--batch", "hf-1", "--index", "6", "--proof-file", proofFile(t, 7), "--json")
	var res RecordResult
	if !errors.As(err, new(*cmdutil.FailedCheckError)) || json.Unmarshal(out.Bytes(), &res) != nil || res.Valid || res.Reason != "PROOF_INVALID" || res.Local.Included {
		t.Fatalf("wrong index: %v %s", err, out)
	}

	// The chaincode claims inclusion that the local computation refutes.
	f, out = setup(true)
	err = execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", rec, "--batch", "hf-1", "--index", "6", "--proof-file", proofFile(t, 7), "--json")
	if !errors.As(err, new(*cmdutil.FailedCheckError)) || json.Unmarshal(out.Bytes(), &res) != nil || res.Reason != ReasonDisagreement {
		t.Fatalf("disagreement: %v %s", err, out)
	}

	f, _ = setup(true)
	if err := execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", rec, "--batch", "hf-9", "--index", "7", "--proof-file", proofFile(t, 7)); !cmdutil.IsNotFound(err) {
		t.Fatalf("unknown batch: %v", err)
	}
	var ue *cmdutil.UsageError
	if err := execute(NewCmdRecord(f, nil), "--category", "housing_fund", "--file", rec, "--batch", "hf-1", "--index", "7", "--proof-file", writeFile(t, "p", []byte(`["zz"]`))); !errors.As(err, &ue) {
		t.Fatalf("malformed proof: %v", err)
	}
}

func TestDocument(t *testing.T) {
	h := strings.Repeat("9f", 32)
	fake := ledgertest.NewFake(nil)
	fake.On("anchor:VerifyRecord", func(args []string) (any, error) {
		return model.Verification{Anchored: true, Revoked: true, Reason: string(model.CodeRecordRevoked),
			Anchor:     &model.RecordAnchor{RecordHash: args[0], Category: "e_licence", Provider: "BureauMSP"},
			Revocation: &model.Revocation{Reason: "WITHDRAWN", Provider: "BureauMSP", RevokedAt: "2026-11-03T00:00:00.000Z", TxID: "tx-r"}}, nil
	})
	f, out, _ := ledgertest.NewFactory(fake)
	err := execute(NewCmdDocument(f, nil), "--sha256", strings.ToUpper(h))
	if !errors.As(err, new(*cmdutil.FailedCheckError)) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"sha256    " + h, "revoked   WITHDRAWN by BureauMSP", "result    NOT VALID (RECORD_REVOKED)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
