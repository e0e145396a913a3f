package verify

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
)

// DocumentOptions are the inputs of `qc verify document`.
type DocumentOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	SHA256    string
	File      string // the document itself, hashed here; "-" is standard input
	BatchID   string
	Index     uint64
	IndexSet  bool
	ProofFile string
	Proof     []string // the audit path as a flag
	Salt      string   // the leaf's salt (hex), for a record of the digital safe
}

// DocumentResult is what `qc verify document` reports.
type DocumentResult struct {
	SHA256 string `json:"sha256"`
	Valid  bool   `json:"valid"`
	// Reason says why the document is not valid: ANCHOR_NOT_FOUND (no
	// anchor of its own, and no proof given), BATCH_NOT_FOUND,
	// PROOF_INVALID, RECORD_REVOKED or LOCAL_AND_LEDGER_DISAGREE.
	Reason string `json:"reason,omitempty"`
	// Ledger is the chaincode's answer (anchor:VerifyRecord, or
	// anchor:VerifyProof with a proof); absent for BATCH_NOT_FOUND.
	Ledger *model.Verification `json:"ledger,omitempty"`
	// Local is the proof recomputed here against the batch root read from
	// the ledger; with a proof only.
	Local *LocalProof `json:"local,omitempty"`
	Notes []string    `json:"notes,omitempty"`
}

// NewCmdDocument returns `qc verify document`.
func NewCmdDocument(f *cmdutil.Factory, runF func(*DocumentOptions) error) *cobra.Command {
	opts := &DocumentOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "document (--sha256 <hash> | --file <path>) [--proof-file <path> | --batch <id> --index <n> --proof <hashes>]",
		Short: "Verify a document by its SHA-256 against its anchor or its Merkle batch",
		Long: `Check a document (an e-licence, a certificate) by its SHA-256 hash, as printed
on it or computed by whoever holds it (--sha256), or hash the document's file
here (--file). The document itself never leaves your machine.

Without a proof, the hash must be anchored on its own (anchor:VerifyRecord)
and not revoked. A document anchored in a Merkle batch has no anchor of its
own: give its inclusion proof, as the provider delivered it with the
document. --proof-file takes either the provider's proof object
({"batch_id", "leaf_index", "leaf_count", "path", "root", "anchor_tx_id"},
alone or as the "proof" of a delivered record) or a JSON list of hex hashes
(the audit path from the leaf up) with --batch and --index; --proof takes
the audit path as comma-separated hex hashes, with --batch and --index.

With a proof, qc reads the batch's root and leaf count from the ledger
(anchor:GetBatch), never from the proof, recomputes the RFC 6962 inclusion
proof itself, and asks the chaincode too (anchor:VerifyProof), which also
says whether the document is revoked. Both must find it included.

Answers (result, then exit status):
  VALID                                  anchored (alone or in the batch), not revoked     0
  NOT VALID (RECORD_REVOKED)             anchored, then revoked: the revocation is shown   3
  NOT VALID (ANCHOR_NOT_FOUND)           no anchor of its own and no proof given           3
  NOT VALID (PROOF_INVALID)              the proof does not lead to the batch's root       3
  NOT VALID (LOCAL_AND_LEDGER_DISAGREE)  qc and the chaincode disagree on the proof        3
  NOT VALID (BATCH_NOT_FOUND)            the proof's batch is not on the ledger            4`,
		Example: `  qc verify document --sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  qc verify document --file licence.pdf --proof-file licence.proof.json
  qc verify document --sha256 <hash> --batch el-2026-11 --index 3 --proof <h1>,<h2>,<h3>`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Ctx = cmd.Context()
			opts.IndexSet = cmd.Flags().Changed("index")
			if err := opts.validate(cmd.Flags().Changed("proof")); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return documentRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.SHA256, "sha256", "", "the document's SHA-256, 64 hex characters")
	cmd.Flags().StringVar(&opts.File, "file", "", "the document's file, hashed here (- reads standard input)")
	cmd.Flags().StringVar(&opts.ProofFile, "proof-file", "", "the document's inclusion proof: the provider's proof object, or a JSON list of hex hashes")
	cmd.Flags().StringVar(&opts.BatchID, "batch", "", "the Merkle batch the document belongs to")
	cmd.Flags().Uint64Var(&opts.Index, "index", 0, "the document's leaf index in the batch")
	cmd.Flags().StringSliceVar(&opts.Proof, "proof", nil, "the audit path, leaf to root: comma-separated hex hashes")
	cmd.Flags().StringVar(&opts.Salt, "salt", "", "the leaf's salt (64 hex digits), for a record delivered from the digital safe")
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func (o *DocumentOptions) validate(proofSet bool) error {
	switch {
	case (o.SHA256 == "") == (o.File == ""):
		return cmdutil.UsageErrorf("give exactly one of --sha256 and --file")
	case o.SHA256 != "":
		h, err := cmdutil.ParseHash("--sha256", o.SHA256)
		if err != nil {
			return err
		}
		o.SHA256 = h
	}
	if o.ProofFile != "" && proofSet {
		return cmdutil.UsageErrorf("give the proof with --proof-file or --proof, not both")
	}
	if o.BatchID != "" && !model.ValidID(o.BatchID) {
		return cmdutil.UsageErrorf("--batch %q is not a valid batch id", o.BatchID)
	}
	if o.ProofFile == "" && !proofSet && (o.BatchID != "" || o.IndexSet) {
		return cmdutil.UsageErrorf("--batch and --index need the proof: --proof-file or --proof")
	}
	if proofSet && (o.BatchID == "" || !o.IndexSet) {
		return cmdutil.UsageErrorf("--proof goes with --batch and --index")
	}
	return nil
}

// proof assembles the proof from the flags and the proof file; nil if
// none was given.
func (o *DocumentOptions) proof() (*batchProof, error) {
	var p *batchProof
	switch {
	case o.ProofFile != "":
		var err error
		if p, err = readProofFile(o.ProofFile); err != nil {
			return nil, err
		}
	case o.Proof != nil:
		var err error
		if p, err = pathOf("--proof", &batchProof{}, o.Proof); err != nil {
			return nil, cmdutil.UsageErrorf("%v", err)
		}
	default:
		return nil, nil
	}
	p, err := p.with(o.BatchID, o.Index, o.IndexSet)
	if err != nil {
		return nil, err
	}
	if err := p.withSalt(o.Salt); err != nil {
		return nil, err
	}
	return p, nil
}

func documentRun(opts *DocumentOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	var sum [32]byte
	if opts.File != "" {
		if sum, err = hashFile(opts.IO, opts.File); err != nil {
			return err
		}
		opts.SHA256 = hex.EncodeToString(sum[:])
	} else {
		h, _ := merkle.ParseHash(opts.SHA256) // validated as 64 hex digits
		sum = h
	}
	proof, err := opts.proof()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	res := &DocumentResult{SHA256: opts.SHA256}
	var notFound error
	if proof == nil {
		if res.Ledger, err = lc.VerifyRecord(opts.Ctx, opts.SHA256); err != nil {
			return err
		}
		res.Valid, res.Reason = res.Ledger.Valid, res.Ledger.Reason
		if res.Reason == string(model.CodeAnchorNotFound) {
			res.Notes = append(res.Notes, "no anchor of its own: if the document was anchored in a Merkle batch, give its proof (--proof-file)")
		}
	} else {
		b, err := checkInBatch(opts.Ctx, lc, sum, opts.SHA256, proof)
		switch {
		case cmdutil.IsNotFound(err):
			notFound = err
			res.Reason = string(model.CodeBatchNotFound)
			res.Local = &LocalProof{BatchID: proof.BatchID, LeafIndex: proof.Index, Error: "batch not on the ledger"}
		case err != nil:
			return err
		default:
			res.Ledger, res.Local, res.Notes = b.Ledger, b.Local, b.Notes
			res.Valid, res.Reason = b.verdict()
		}
	}
	if format == cmdutil.FormatJSON {
		err = cmdutil.WriteJSON(opts.IO.Out, res)
	} else {
		err = writeDocument(opts.IO, res)
	}
	if err != nil {
		return err
	}
	switch {
	case notFound != nil:
		return &cmdutil.NotFoundError{Err: fmt.Errorf("document %s is not valid: %w", res.SHA256, notFound)}
	case !res.Valid:
		return cmdutil.FailedCheckf("document %s is not valid: %s", res.SHA256, res.Reason)
	}
	return nil
}

func writeDocument(ios *cmdutil.IOStreams, r *DocumentResult) error {
	t := cmdutil.NewTable(ios.Out)
	t.Row("sha256", r.SHA256)
	if l := r.Local; l != nil {
		if r.Ledger != nil && r.Ledger.Batch != nil {
			b := r.Ledger.Batch
			t.Row("batch", fmt.Sprintf("%s: %s by %s at %s (tx %s), %d leaves, root %s", b.BatchID, b.Category, b.Provider, b.AnchoredAt, b.TxID, b.LeafCount, b.Root))
		} else {
			t.Row("batch", l.BatchID+": not on the ledger")
		}
		t.Row("leaf index", strconv.FormatUint(l.LeafIndex, 10))
		if r.Ledger != nil {
			t.Row("local proof", map[bool]string{true: "included", false: "NOT included: " + l.Error}[l.Included])
			t.Row("chaincode proof", map[bool]string{true: "included", false: "NOT included"}[r.Ledger.Anchored])
		}
	}
	if r.Ledger != nil {
		writeLedger(t, r.Ledger)
	}
	for _, n := range r.Notes {
		t.Row("note", n)
	}
	t.Row("result", verdict(r.Valid, r.Reason))
	return t.Flush()
}
