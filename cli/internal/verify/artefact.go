package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/internal/jws"
	"github.com/quanchain/quanchain/ledger"
)

// The ledger checks of `qc verify artefact --ledger`, by the code a
// failure reports.
const (
	ArtefactTxNotFound         = "LEDGER_TX_NOT_FOUND"        // the decision's transaction is not on the peer
	ArtefactTxInvalid          = "LEDGER_TX_INVALID"          // it is, but was not committed VALID
	ArtefactBlockMismatch      = "LEDGER_BLOCK_MISMATCH"      // it is in another block than stated
	ArtefactAuthNotFound       = "LEDGER_AUTH_NOT_FOUND"      // the peer holds no such authorisation
	ArtefactTermsMismatch      = "LEDGER_TERMS_MISMATCH"      // the authorisation's terms differ from the artefact's
	ArtefactDecisionSuperseded = "LEDGER_DECISION_SUPERSEDED" // the citizen decided again since
	ArtefactDecisionMismatch   = "LEDGER_DECISION_MISMATCH"   // the ledger's decision at that transaction differs
)

// ArtefactOptions are the inputs of `qc verify artefact`.
type ArtefactOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	File     string // the compact JWS; "-" is standard input
	OnLedger bool   // also check the decision on the ledger
}

// ArtefactResult is what `qc verify artefact` reports.
type ArtefactResult struct {
	Valid bool `json:"valid"`
	// Reason is the code of the first check that failed (artefact.Code…
	// offline, Artefact… on the ledger); Detail says why.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// SignerKeyID is the thumbprint of the key that signed the JWS: compare
	// it with the issuer's GET /v1/keys/artefact.
	SignerKeyID     string       `json:"signer_key_id,omitempty"`
	Issuer          string       `json:"issuer,omitempty"`
	IssuedAt        string       `json:"issued_at,omitempty"`
	AuthorizationID string       `json:"authorization_id,omitempty"`
	Action          model.Action `json:"action,omitempty"`
	DecidedAt       string       `json:"decided_at,omitempty"`
	DeviceKeyID     string       `json:"device_key_id,omitempty"`
	TxID            string       `json:"tx_id,omitempty"`
	Block           *uint64      `json:"block,omitempty"`
	// Checked lists the checks made, offline then on the ledger.
	Checked []string `json:"checked"`
	// Peer is the organisation whose peer answered the ledger checks.
	Peer string `json:"peer,omitempty"`
}

// NewCmdArtefact returns `qc verify artefact`.
func NewCmdArtefact(f *cmdutil.Factory, runF func(*ArtefactOptions) error) *cobra.Command {
	opts := &ArtefactOptions{IO: f.IOStreams, Ledger: f.Ledger}
	cmd := &cobra.Command{
		Use:   "artefact --file <jws> [--ledger]",
		Short: "Verify a consent artefact: the citizen's signed decision, offline and on the ledger",
		Long: `Verify a consent artefact, as an institution's gateway issues it at
GET /v1/authorizations/{id}/artefact: a compact JWS whose payload holds the
authorisation, the citizen's signed decision bytes and signature, the
device public key that signed them and the decision's transaction and block.

Offline, with nothing but the file (docs/api.md, "Consent artefact"):
the JWS is ES256 and verifies with the key in its header (whose kid is its
thumbprint: compare it with the issuer's GET /v1/keys/artefact); the
decision bytes are a canonical decision payload of the decision's action;
they name the artefact's channel and exactly its terms (the authorisation
at the seq signed, the licence, retention and schema versions); the device
key's RFC 7638 thumbprint is the decision's key id; and the citizen's
signature verifies with it.

With --ledger, also on this organisation's peer: the decision's
transaction is there, committed VALID, in the stated block; the
authorisation's terms are the artefact's; and its last decision is the
artefact's (LEDGER_DECISION_SUPERSEDED if the citizen decided again since:
the transaction still shows the decision was made, but it no longer
stands).

Answers (result, then exit status):
  VALID                      every check passed                          0
  NOT VALID (<code>)         a check failed: the code names it           3`,
		Example: `  curl -sf $BANK/v1/authorizations/$AUTH_ID/artefact -H "Authorization: Bearer $BANK_TOKEN" > consent.jws
  qc verify artefact --file consent.jws
  qc verify artefact --file consent.jws --ledger --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.File == "" {
				return cmdutil.UsageErrorf("--file is required")
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return artefactRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.File, "file", "", "the artefact, a compact JWS (- reads standard input)")
	cmd.Flags().BoolVar(&opts.OnLedger, "ledger", false, "also check the decision on this organisation's peer")
	cmdutil.AddJSONFlag(cmd, &opts.Output)
	return cmd
}

func artefactRun(opts *ArtefactOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	token, err := readArtefact(opts.IO, opts.File)
	if err != nil {
		return err
	}
	res := &ArtefactResult{Checked: []string{"offline"}}
	v, err := artefact.Verify(token)
	var ae *artefact.Error
	switch {
	case errors.As(err, &ae):
		res.Reason, res.Detail = ae.Code, ae.Message
	case err != nil:
		return err
	default:
		a := v.Artefact
		block := a.Decision.Block
		res.SignerKeyID, res.Issuer, res.IssuedAt = v.SignerKeyID, a.Issuer, a.IssuedAt
		res.AuthorizationID, res.Action, res.DecidedAt = a.Authorization.ID, a.Decision.Action, a.Decision.At
		res.DeviceKeyID, res.TxID, res.Block = a.Decision.KeyID, a.Decision.TxID, &block
		res.Valid = true
		if opts.OnLedger {
			lc, err := opts.Ledger(opts.Ctx)
			if err != nil {
				return err
			}
			res.Peer = lc.MSPID
			res.Checked = append(res.Checked, "ledger")
			code, detail, err := CheckArtefactOnLedger(opts.Ctx, lc, a)
			if err != nil {
				return err
			}
			if code != "" {
				res.Valid, res.Reason, res.Detail = false, code, detail
			}
		}
	}
	if format == cmdutil.FormatJSON {
		err = cmdutil.WriteJSON(opts.IO.Out, res)
	} else {
		err = writeArtefact(opts.IO, res)
	}
	if err != nil {
		return err
	}
	if !res.Valid {
		return cmdutil.FailedCheckf("the consent artefact is not valid: %s", res.Reason)
	}
	return nil
}

// readArtefact reads the compact JWS from path ("-": standard input).
func readArtefact(ios *cmdutil.IOStreams, path string) (string, error) {
	r := ios.In
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", cmdutil.UsageErrorf("--file: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, jws.MaxSize+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return string(b), nil
}

// CheckArtefactOnLedger checks an artefact that passed the offline checks
// on lc's peer: the decision's transaction is there, VALID, in the stated
// block; the authorisation's terms are the artefact's and its last
// decision is the artefact's. It returns the failed check's code and why
// ("" if all passed), or an error if the ledger could not be read.
func CheckArtefactOnLedger(ctx context.Context, lc *cmdutil.Ledger, a *artefact.Artefact) (code, detail string, err error) {
	d := a.Decision
	tx, err := lc.Blocks.Transaction(ctx, "", d.TxID)
	if cmdutil.IsNotFound(err) {
		return ArtefactTxNotFound, fmt.Sprintf("transaction %s is not on %s's peer", d.TxID, lc.MSPID), nil
	}
	if err != nil {
		return "", "", err
	}
	if vc := peer.TxValidationCode(tx.GetValidationCode()); vc != peer.TxValidationCode_VALID {
		return ArtefactTxInvalid, fmt.Sprintf("transaction %s was committed %s", d.TxID, vc), nil
	}
	blk, err := lc.Blocks.BlockByTxID(ctx, "", d.TxID)
	if err != nil {
		return "", "", err
	}
	if n := blk.GetHeader().GetNumber(); n != d.Block {
		return ArtefactBlockMismatch, fmt.Sprintf("transaction %s is in block %d, the artefact says %d", d.TxID, n, d.Block), nil
	}
	auth, err := lc.GetAuthorization(ctx, a.Authorization.ID)
	if ledger.CodeOf(err) == model.CodeAuthNotFound {
		return ArtefactAuthNotFound, fmt.Sprintf("no authorisation %s on %s's peer", a.Authorization.ID, lc.MSPID), nil
	}
	if err != nil {
		return "", "", err
	}
	if field := termsDiffer(auth, &a.Authorization); field != "" {
		return ArtefactTermsMismatch, fmt.Sprintf("the ledger's authorisation has another %s", field), nil
	}
	ld := auth.LastDecision
	switch {
	case ld == nil:
		return ArtefactDecisionMismatch, "the ledger's authorisation has no decision", nil
	case ld.TxID != d.TxID:
		return ArtefactDecisionSuperseded, fmt.Sprintf("the citizen decided %s at %s (transaction %s) since", ld.Action, ld.At, ld.TxID), nil
	case ld.Action != d.Action || ld.Reason != d.Reason || ld.KeyID != d.KeyID || ld.Payload != d.Payload ||
		ld.Signature != d.Signature || ld.At != d.At:
		return ArtefactDecisionMismatch, fmt.Sprintf("the ledger's decision at transaction %s is not the artefact's", d.TxID), nil
	}
	return "", "", nil
}

// termsDiffer names the first of the terms that never change on which two
// readings of an authorisation differ; "" if none.
func termsDiffer(x, y *model.Authorization) string {
	switch {
	case x.ID != y.ID || x.Requester != y.Requester:
		return "id or requester"
	case x.CitizenRef != y.CitizenRef:
		return "citizen_ref"
	case x.Purpose != y.Purpose:
		return "purpose"
	case !slices.Equal(x.Categories, y.Categories):
		return "categories"
	case x.DataFrom != y.DataFrom || x.DataTo != y.DataTo:
		return "data range"
	case x.ValidUntil != y.ValidUntil || x.MaxUses != y.MaxUses:
		return "validity or max_uses"
	case x.ReferenceHash != y.ReferenceHash:
		return "reference_hash"
	}
	return ""
}

func writeArtefact(ios *cmdutil.IOStreams, r *ArtefactResult) error {
	t := cmdutil.NewTable(ios.Out)
	if r.AuthorizationID != "" {
		t.Row("authorisation", r.AuthorizationID)
		t.Row("decision", fmt.Sprintf("%s at %s with device key %s", r.Action, r.DecidedAt, r.DeviceKeyID))
		t.Row("transaction", r.TxID+" in block "+strconv.FormatUint(*r.Block, 10))
		t.Row("issued by", fmt.Sprintf("%s at %s, signing key %s (compare with its GET /v1/keys/artefact)", r.Issuer, r.IssuedAt, r.SignerKeyID))
	}
	if r.Peer != "" {
		t.Row("ledger", r.Peer+"'s peer")
	}
	if r.Detail != "" {
		t.Row("detail", r.Detail)
	}
	t.Row("result", verdict(r.Valid, r.Reason))
	return t.Flush()
}
