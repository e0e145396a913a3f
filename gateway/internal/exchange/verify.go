package exchange

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
)

// The checks a delivery must pass before this gateway hands it on; a
// failure names the check in the DELIVERY_UNVERIFIED message.
const (
	CheckResponse  = "response"  // the provider's answer is for this request
	CheckEnvelope  = "envelope"  // it opens with this institution's key, for this access id
	CheckDigest    = "digest"    // SHA-256 of the decrypted bytes (salt ‖ body) = the digest the ledger recorded
	CheckAccess    = "access"    // the access transaction is on this peer, for this requester, authorisation and terms
	CheckBody      = "body"      // the bytes are a delivery of exactly what was asked
	CheckRecords   = "records"   // every record's bytes give its hash, within the authorised categories and dates
	CheckAnchor    = "anchor"    // every proof's batch is anchored on the ledger, with that root and size
	CheckProof     = "proof"     // every proof verifies, locally and by the chaincode
	CheckRevoked   = "revoked"   // no record is revoked
	CheckPredicate = "predicate" // a predicate answer answers the question asked
)

func unverified(check, format string, args ...any) error {
	return refuse(CodeDeliveryUnverified, "the delivery failed the %s check: %s", check, fmt.Sprintf(format, args...))
}

// verify checks a delivery against this gateway's own peer and returns the
// answer for the institution. A failing check is DELIVERY_UNVERIFIED,
// logged; a ledger that cannot be read is its own error, not a verdict.
//
// A replay (replay true) of a delivery kept before providers signed
// deliveries passes without a signature; any signature present is checked.
func (r *Requester) verify(ctx context.Context, a *model.Authorization, req DeliveryRequest,
	terms Terms, resp *DeliveryResponse, replay bool) (*Result, error) {
	out, err := r.check(ctx, a, req, terms, resp, replay)
	var xe *Error
	if errors.As(err, &xe) && (xe.Code == CodeDeliveryUnverified || xe.Code == CodeDeliverySignatureInvalid) {
		r.cfg.Log.WarnContext(ctx, "delivery failed verification",
			slog.String("access_id", req.AccessID), slog.String("error", xe.Message))
	}
	return out, err
}

// check runs verify's checks.
func (r *Requester) check(ctx context.Context, a *model.Authorization, req DeliveryRequest,
	terms Terms, resp *DeliveryResponse, replay bool) (*Result, error) {
	msp, pred := r.cfg.MSPID, terms.predicate
	if resp.AccessID != req.AccessID || resp.Mode != req.Mode || !model.ValidHash(resp.Digest) || resp.Payload == nil {
		return nil, unverified(CheckResponse, "the provider answered for another access or mode")
	}
	if resp.TxID == "" {
		return nil, unverified(CheckResponse, "the provider named no access transaction")
	}
	plain, err := envelope.Open(r.cfg.Key, resp.Payload)
	if err != nil {
		return nil, unverified(CheckEnvelope, "the payload does not decrypt with this institution's key")
	}
	if aad, err := resp.Payload.AdditionalData(); err != nil || string(aad) != req.AccessID {
		return nil, unverified(CheckEnvelope, "the payload was sealed for another access")
	}
	sum := sha256.Sum256(plain)
	digest := hex.EncodeToString(sum[:])
	if digest != resp.Digest {
		return nil, unverified(CheckDigest, "the decrypted bytes do not give the digest the provider stated")
	}
	salt, body, err := vault.SplitPlaintext(plain)
	if err != nil {
		return nil, unverified(CheckBody, "the payload holds no salt and body")
	}
	acc, err := accessOnOwnPeer(ctx, r.cfg.Ledger, req.AccessID, resp.TxID, r.cfg.CommitWait)
	if ledger.CodeOf(err) == model.CodeAccessNotFound {
		return nil, unverified(CheckAccess, "access %s is not on this gateway's peer", req.AccessID)
	}
	if err != nil {
		return nil, err
	}
	if acc.Digest != digest {
		return nil, unverified(CheckDigest, "the ledger records another digest for access %s", acc.ID)
	}
	switch {
	case acc.TxID != resp.TxID:
		return nil, unverified(CheckAccess, "the access was recorded by another transaction than the provider stated")
	case acc.Requester != msp || acc.AuthorizationID != a.ID:
		return nil, unverified(CheckAccess, "the access was recorded for another requester or authorisation")
	case acc.Mode != req.Mode || acc.Predicate != pred.codeOrEmpty() || !slices.Equal(acc.Categories, req.Categories):
		return nil, unverified(CheckAccess, "the access was recorded with other terms than requested")
	case acc.RecordCount != resp.RecordCount:
		return nil, unverified(CheckAccess, "the access records %d records, the provider stated %d", acc.RecordCount, resp.RecordCount)
	}
	if err := r.checkSignature(ctx, resp.ProviderSignature, acc, replay); err != nil {
		return nil, err
	}
	out := &Result{
		AccessID: acc.ID, TxID: acc.TxID, AuthorizationID: a.ID, Mode: acc.Mode, Categories: acc.Categories,
		DataFrom: a.DataFrom, DataTo: a.DataTo, Digest: digest, DigestSalt: hex.EncodeToString(salt), Delivery: body,
		UseNumber: acc.UseNumber, AccessedAt: acc.AccessedAt, ProviderSignature: resp.ProviderSignature,
	}
	if pred != nil {
		answer, err := verifyPredicate(body, msp, a, req, pred)
		if err != nil {
			return nil, err
		}
		out.Predicate, out.Answer = &PredicateQuery{Code: pred.code, Params: pred.params}, &answer
	} else {
		records, err := r.verifyRecords(ctx, body, msp, a, req, acc)
		if err != nil {
			return nil, err
		}
		out.Records = &records
	}
	out.Verified = true
	return out, nil
}

// verifyPredicate checks a predicate answer's body.
func verifyPredicate(delivered []byte, msp string, a *model.Authorization, req DeliveryRequest, pred *predicate) (bool, error) {
	var ans vault.PredicateAnswer
	dec := json.NewDecoder(bytes.NewReader(delivered))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil || dec.More() || ans.Type != vault.PredicateType {
		return false, unverified(CheckBody, "the payload is not a predicate answer")
	}
	switch {
	case ans.AccessID != req.AccessID || ans.AuthorizationID != a.ID || ans.Requester != msp:
		return false, unverified(CheckBody, "the answer names another access, authorisation or requester")
	case ans.Predicate != pred.code || !maps.Equal(ans.Params, pred.params):
		return false, unverified(CheckPredicate, "the answer is to another question than asked")
	}
	return ans.Answer, nil
}

// verifyRecords checks a records delivery: its header, every record's
// bytes against its hash, every proof against the batch root anchored on
// this gateway's peer (locally with chaincode/merkle, then by the
// chaincode's VerifyProofs, all proofs in one evaluation, which also
// reports revocation).
func (r *Requester) verifyRecords(ctx context.Context, delivered []byte, msp string, a *model.Authorization,
	req DeliveryRequest, acc *model.Access) ([]vault.DeliveredRecord, error) {
	l := r.cfg.Ledger
	batches := map[string]*model.BatchAnchor{}
	var ledgerErr error
	lookup := func(ctx context.Context, id string) (string, int, error) {
		b, err := l.GetBatch(ctx, id)
		if err != nil {
			if ledger.CodeOf(err) != model.CodeBatchNotFound && ledgerErr == nil {
				ledgerErr = err
			}
			return "", 0, err
		}
		batches[id] = b
		return b.Root, b.LeafCount, nil
	}
	body, err := vault.VerifyDelivery(ctx, delivered, lookup)
	switch {
	case ledgerErr != nil:
		return nil, ledgerErr
	case errors.Is(err, vault.ErrDeliveryInvalid):
		return nil, unverified(CheckRecords, "%s", deliveryProblem(err))
	case err != nil:
		return nil, unverified(CheckRecords, "the payload is not a delivery")
	}
	switch {
	case body.AccessID != req.AccessID || body.AuthorizationID != a.ID || body.Requester != msp:
		return nil, unverified(CheckBody, "the delivery names another access, authorisation or requester")
	case !slices.Equal(body.Categories, req.Categories) || body.DataFrom != a.DataFrom || body.DataTo != a.DataTo:
		return nil, unverified(CheckBody, "the delivery is for other categories or dates than authorised")
	case len(body.Records) != acc.RecordCount:
		return nil, unverified(CheckAccess, "the delivery has %d records, the access records %d", len(body.Records), acc.RecordCount)
	}
	proofs := make([]model.ProofRequest, len(body.Records))
	for i, rec := range body.Records {
		b := batches[rec.Proof.BatchID]
		if b == nil || b.Category != rec.Category || rec.Proof.AnchorTxID != b.TxID {
			return nil, unverified(CheckAnchor, "record %d: its batch is not anchored for its category by the stated transaction", i)
		}
		if rec.Revoked {
			return nil, unverified(CheckRevoked, "record %d is marked revoked by the provider", i)
		}
		path := make([]string, len(rec.Proof.Path))
		for j, h := range rec.Proof.Path {
			path[j] = h.String()
		}
		proofs[i] = model.ProofRequest{BatchID: rec.Proof.BatchID, RecordHash: rec.RecordHash,
			Salt: rec.Proof.Salt, LeafIndex: rec.Proof.LeafIndex, Proof: path}
	}
	// One evaluation for the whole delivery (up to model.MaxProofs
	// records), whatever its size.
	vs, err := l.VerifyProofs(ctx, proofs)
	if err != nil {
		return nil, err
	}
	if len(vs) != len(proofs) {
		return nil, fmt.Errorf("exchange: the ledger answered %d verifications for %d proofs", len(vs), len(proofs))
	}
	for i, v := range vs {
		switch {
		case v.Revoked:
			return nil, unverified(CheckRevoked, "record %d is revoked on the ledger", i)
		case !v.Valid:
			return nil, unverified(CheckProof, "record %d: the chaincode does not verify its proof (%s)", i, v.Reason)
		}
	}
	if body.Records == nil {
		body.Records = []vault.DeliveredRecord{}
	}
	return body.Records, nil
}

// deliveryProblem is VerifyDelivery's reason without its package prefix.
func deliveryProblem(err error) string {
	msg := err.Error()
	if rest, ok := bytes.CutPrefix([]byte(msg), []byte(vault.ErrDeliveryInvalid.Error()+": ")); ok {
		return string(rest)
	}
	return msg
}

// DefaultCommitWait bounds how long the requester waits for the
// provider's access transaction to commit on its own peer.
const DefaultCommitWait = 5 * time.Second

// accessOnOwnPeer reads the access record from this gateway's own peer
// once the provider's access transaction txID has committed there. The
// provider's submit returns once the operator's peer has committed the
// block; every peer commits it on its own, a few milliseconds apart. So
// the requester waits for that transaction on its own peer (its commit
// status, which the peer answers as the block commits, not a poll) for up
// to wait, then reads the access once. A transaction that commits
// invalid, or not within the wait, fails the access check.
func accessOnOwnPeer(ctx context.Context, l RequesterLedger, accessID, txID string, wait time.Duration) (*model.Access, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	err := l.WaitForCommit(wctx, txID)
	timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	switch code := ledger.CodeOf(err); {
	case err == nil:
	case code == ledger.CodeTxConflict || code == ledger.CodeTxInvalid:
		return nil, unverified(CheckAccess, "access transaction %s did not commit valid on this gateway's peer (%s)", txID, code)
	case timedOut:
		return nil, unverified(CheckAccess, "access transaction %s did not commit on this gateway's peer within %s", txID, wait)
	default:
		return nil, err
	}
	return l.GetAccess(ctx, accessID)
}
