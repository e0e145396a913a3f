package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// RecordOptions are the inputs of `qc verify record`.
type RecordOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Category  string
	File      string // "-" is standard input
	BatchID   string
	Index     uint64
	IndexSet  bool
	ProofFile string
	Salt      string // the record's salt (hex), if the proof file does not carry it
}

// RecordResult is what `qc verify record` reports.
type RecordResult struct {
	RecordHash string `json:"record_hash"`
	Category   string `json:"category"`
	Valid      bool   `json:"valid"`
	Reason     string `json:"reason,omitempty"`
	// Ledger is the chaincode's answer (anchor:VerifyRecord or
	// anchor:VerifyProof).
	Ledger *model.Verification `json:"ledger"`
	// Local is the proof recomputed here against the batch root read from
	// the ledger; batch verification only.
	Local *LocalProof `json:"local,omitempty"`
}

// LocalProof is the outcome of recomputing a Merkle proof locally.
type LocalProof struct {
	BatchID   string `json:"batch_id"`
	LeafIndex uint64 `json:"leaf_index"`
	LeafCount int    `json:"leaf_count"`
	Root      string `json:"root"`
	Included  bool   `json:"included"`
	Error     string `json:"error,omitempty"`
}

// Reasons qc gives on top of the chaincode's codes.
const (
	ReasonCategoryMismatch = "CATEGORY_MISMATCH" // anchored under another category
	ReasonDisagreement     = "LOCAL_AND_LEDGER_DISAGREE"
)

// NewCmdRecord returns `qc verify record`.
func NewCmdRecord(f *cmdutil.Factory, runF func(*RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "record --category <code> --file <path> [--batch <id> --index <n> --proof-file <path>]",
		Short: "Verify a record file against its anchor or its Merkle batch",
		Long: `Hash the record file (SHA-256 of its exact bytes) and check it on the ledger.

Alone, the hash must be anchored on its own (anchor:VerifyRecord), under the
given category, and not revoked.

With --proof-file, the record's inclusion proof as the provider delivered
it: the proof object ({"batch_id", "leaf_index", "path", …}, alone or as the
"proof" of a delivered record), or a JSON list of hex hashes (the audit path
from the leaf up) with --batch and --index. qc reads the batch's root and
leaf count from the ledger (anchor:GetBatch), recomputes the RFC 6962
inclusion proof itself, and also asks the chaincode (anchor:VerifyProof):
both must find the record included, the batch must be of the given
category, and the record must not be revoked.`,
		Example: `  qc verify record --category housing_fund --file record.json
  qc verify record --category housing_fund --file record.json --proof-file proof.json
  qc verify record --category housing_fund --file record.json \
      --batch hf-2026-11 --index 21 --proof-file path.json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			if !model.ValidCategoryCode(opts.Category) {
				return cmdutil.UsageErrorf("--category %q: want a category code such as housing_fund", opts.Category)
			}
			if opts.File == "" {
				return cmdutil.UsageErrorf("--file is required (the record's bytes; - for standard input)")
			}
			opts.IndexSet = cmd.Flags().Changed("index")
			batch := cmd.Flags().Changed("batch")
			if (batch || opts.IndexSet) && opts.ProofFile == "" {
				return cmdutil.UsageErrorf("--batch and --index go together with --proof-file")
			}
			if batch && !model.ValidID(opts.BatchID) {
				return cmdutil.UsageErrorf("--batch %q is not a valid batch id", opts.BatchID)
			}
			if runF != nil {
				return runF(opts)
			}
			return recordRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Category, "category", "", "the record's data category (housing_fund, tax, …)")
	cmd.Flags().StringVar(&opts.File, "file", "", "the record file; - reads standard input")
	cmd.Flags().StringVar(&opts.BatchID, "batch", "", "the Merkle batch the record belongs to")
	cmd.Flags().Uint64Var(&opts.Index, "index", 0, "the record's leaf index in the batch")
	cmd.Flags().StringVar(&opts.ProofFile, "proof-file", "", "the inclusion proof: the provider's proof object (with the record's salt), or a JSON list of hex hashes")
	cmd.Flags().StringVar(&opts.Salt, "salt", "", "the record's salt (64 hex digits), delivered with it, when the proof file does not carry it")
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func recordRun(opts *RecordOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	sum, err := hashFile(opts.IO, opts.File)
	if err != nil {
		return err
	}
	var proof *batchProof
	if opts.ProofFile != "" {
		if proof, err = readProofFile(opts.ProofFile); err != nil {
			return err
		}
		if proof, err = proof.with(opts.BatchID, opts.Index, opts.IndexSet); err != nil {
			return err
		}
		if err := proof.withSalt(opts.Salt); err != nil {
			return err
		}
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	res := &RecordResult{RecordHash: hex.EncodeToString(sum[:]), Category: opts.Category}
	if proof == nil {
		if res.Ledger, err = lc.VerifyRecord(opts.Ctx, res.RecordHash); err != nil {
			return err
		}
		res.judge(opts.Category, categoryOf(res.Ledger))
	} else {
		if err := verifyInBatch(opts, lc, res, sum, proof); err != nil {
			return err
		}
	}
	if err := writeResult(opts.IO, format, res); err != nil {
		return err
	}
	if !res.Valid {
		return cmdutil.FailedCheckf("record %s is not valid: %s", res.RecordHash, res.Reason)
	}
	return nil
}

func verifyInBatch(opts *RecordOptions, lc *cmdutil.Ledger, res *RecordResult, sum [32]byte, proof *batchProof) error {
	b, err := checkInBatch(opts.Ctx, lc, sum, res.RecordHash, proof)
	if err != nil {
		return err
	}
	res.Local, res.Ledger = b.Local, b.Ledger
	res.judge(opts.Category, b.Batch.Category)
	// The chaincode reports anchored = the proof leads to the stored root.
	if res.Local.Included != res.Ledger.Anchored {
		res.Valid, res.Reason = false, ReasonDisagreement
	}
	return nil
}

// judge sets Valid and Reason from the ledger's answer and the category.
func (r *RecordResult) judge(wantCategory, gotCategory string) {
	r.Valid, r.Reason = r.Ledger.Valid, r.Ledger.Reason
	if r.Valid && gotCategory != wantCategory {
		r.Valid, r.Reason = false, ReasonCategoryMismatch
	}
	if r.Local != nil && r.Valid && !r.Local.Included {
		r.Valid, r.Reason = false, string(model.CodeProofInvalid)
	}
}

func categoryOf(v *model.Verification) string {
	switch {
	case v.Anchor != nil:
		return v.Anchor.Category
	case v.Batch != nil:
		return v.Batch.Category
	}
	return ""
}

func hashFile(ios *cmdutil.IOStreams, path string) ([32]byte, error) {
	var r io.Reader
	if path == "-" {
		r = ios.In
	} else {
		f, err := os.Open(path)
		if err != nil {
			return [32]byte{}, cmdutil.UsageErrorf("--file: %v", err)
		}
		defer f.Close()
		r = f
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return [32]byte{}, fmt.Errorf("read %s: %w", path, err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

func writeResult(ios *cmdutil.IOStreams, format cmdutil.Format, r *RecordResult) error {
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(ios.Out, r)
	}
	t := cmdutil.NewTable(ios.Out)
	t.Row("record hash", r.RecordHash)
	t.Row("category", r.Category)
	writeLedger(t, r.Ledger)
	if l := r.Local; l != nil {
		t.Row("batch", fmt.Sprintf("%s (%d leaves, root %s)", l.BatchID, l.LeafCount, l.Root))
		t.Row("leaf index", strconv.FormatUint(l.LeafIndex, 10))
		t.Row("local proof", map[bool]string{true: "included", false: "NOT included: " + l.Error}[l.Included])
		t.Row("chaincode proof", map[bool]string{true: "included", false: "NOT included"}[r.Ledger.Anchored])
	}
	t.Row("result", verdict(r.Valid, r.Reason))
	return t.Flush()
}

func writeLedger(t *cmdutil.Table, v *model.Verification) {
	if a := v.Anchor; a != nil {
		t.Row("anchored", fmt.Sprintf("%s by %s at %s (tx %s)", a.Category, a.Provider, a.AnchoredAt, a.TxID))
	} else if v.Batch == nil {
		t.Row("anchored", "no")
	}
	if rv := v.Revocation; rv != nil {
		t.Row("revoked", fmt.Sprintf("%s by %s at %s (tx %s)", rv.Reason, rv.Provider, rv.RevokedAt, rv.TxID))
	} else {
		t.Row("revoked", "no")
	}
}

func verdict(valid bool, reason string) string {
	if valid {
		return "VALID"
	}
	return "NOT VALID (" + reason + ")"
}
