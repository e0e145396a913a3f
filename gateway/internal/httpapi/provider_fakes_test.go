package httpapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/ledger"
)

// xchain is the ledger's state, shared by every organisation's view.
type xchain struct {
	mu           sync.Mutex
	now          time.Time
	auths        map[string]*model.Authorization
	institutions map[string]*model.Institution
	anchors      map[string]*model.RecordAnchor
	batches      map[string]*model.BatchAnchor
	revocations  map[string]*model.Revocation
	accesses     map[string]*model.Access
	submitted    []string
	tx           int
}

func newXChain() *xchain {
	c := &xchain{now: now, auths: map[string]*model.Authorization{}, institutions: map[string]*model.Institution{},
		anchors: map[string]*model.RecordAnchor{}, batches: map[string]*model.BatchAnchor{},
		revocations: map[string]*model.Revocation{}, accesses: map[string]*model.Access{}}
	for msp, kind := range map[string]model.InstitutionKind{"BureauMSP": model.KindProvider, "BankMSP": model.KindBank, "InsurerMSP": model.KindInsurer} {
		c.institutions[msp] = &model.Institution{MSPID: msp, Kind: kind, Status: model.StatusActive}
	}
	return c
}

func (c *xchain) nextTx() string { c.tx++; return fmt.Sprintf("tx-%04d", c.tx) }

func ledgerErr(code model.Code, format string, args ...any) error {
	return &ledger.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// accessCount is the number of accesses recorded.
func (c *xchain) accessCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.accesses)
}

func (c *xchain) writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.submitted)
}

// accessSubmits are the RecordAccess submissions, whatever their outcome.
func (c *xchain) accessSubmits() []string {
	return slices.DeleteFunc(c.writes(), func(s string) bool { return !strings.HasPrefix(s, "RecordAccess:") })
}

func (c *xchain) auth(id string) model.Authorization {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.auths[id]
}

func (c *xchain) setAuth(id string, edit func(a *model.Authorization)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	edit(c.auths[id])
}

func (c *xchain) revoke(hash, category string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revocations[hash] = &model.Revocation{RecordHash: hash, Category: category, Provider: "BureauMSP", Reason: "WITHDRAWN", TxID: c.nextTx()}
}

// xview is one organisation's view of the ledger: what its gateway's
// *ledger.Ledger would answer.
type xview struct {
	c   *xchain
	msp string
}

// The Ledger interface of the core routes (unused by these tests).
func (v xview) Ping(context.Context) error { return nil }
func (v xview) GetPurpose(context.Context, string) (*model.Purpose, error) {
	return nil, ledgerErr(model.CodePurposeNotFound, "no purposes here")
}
func (v xview) GetCategory(context.Context, string) (*model.Category, error) {
	return nil, ledgerErr(model.CodeCategoryNotFound, "no categories here")
}
func (v xview) RequestAuthorization(context.Context, model.AuthorizationRequest) (*model.Authorization, error) {
	return nil, ledgerErr(model.CodeForbiddenMSP, "not in these tests")
}
func (v xview) ListAuthorizationsByRequester(context.Context, string, ledger.ListQuery) (*model.Page[model.Authorization], error) {
	return &model.Page[model.Authorization]{}, nil
}
func (v xview) Withdraw(context.Context, string) (*model.Authorization, error) {
	return nil, ledgerErr(model.CodeForbiddenMSP, "not in these tests")
}

func (v xview) GetAuthorization(_ context.Context, id string) (*model.Authorization, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	a, ok := v.c.auths[id]
	if !ok {
		return nil, ledgerErr(model.CodeAuthNotFound, "authorisation %s not found", id)
	}
	cp := *a
	cp.Categories = slices.Clone(a.Categories)
	return &cp, nil
}

func (v xview) GetInstitution(_ context.Context, msp string) (*model.Institution, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	i, ok := v.c.institutions[msp]
	if !ok {
		return nil, ledgerErr(model.CodeInstitutionNotFound, "institution %s not found", msp)
	}
	cp := *i
	return &cp, nil
}

func (v xview) SetEncryptionKey(_ context.Context, key string) error {
	if _, err := envelope.ParsePublicKey(key); err != nil {
		return ledgerErr(model.CodeInvalidKey, "not a key")
	}
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	v.c.submitted = append(v.c.submitted, "SetEncryptionKey:"+v.msp)
	v.c.institutions[v.msp].EncryptionKey = key
	return nil
}

// RecordAccess follows access:RecordAccess: the caller provides the
// categories, the authorisation names the requester, is usable and covers
// them; the access id is new.
func (v xview) RecordAccess(_ context.Context, req model.AccessRequest) (*model.Access, error) {
	c := v.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.submitted = append(c.submitted, "RecordAccess:"+req.ID)
	if v.msp != "BureauMSP" {
		return nil, ledgerErr(model.CodeForbiddenMSP, "%s provides none of these categories", v.msp)
	}
	if _, dup := c.accesses[req.ID]; dup {
		return nil, ledgerErr(model.CodeAlreadyExists, "access %s is already recorded", req.ID)
	}
	a, ok := c.auths[req.AuthorizationID]
	if !ok {
		return nil, ledgerErr(model.CodeAuthNotFound, "authorisation not found")
	}
	if a.Requester != req.Requester {
		return nil, ledgerErr(model.CodeRequesterMismatch, "not granted to %s", req.Requester)
	}
	if err := a.Usable(c.institutions[a.Requester], c.now); err != nil {
		var me *model.Error
		if errors.As(err, &me) {
			return nil, ledgerErr(me.Code, "%s", me.Message)
		}
		return nil, err
	}
	if !a.Covers(req.Categories) {
		return nil, ledgerErr(model.CodeCategoryOutOfScope, "authorisation %s does not cover every requested category", a.ID)
	}
	a.Uses++
	if a.Uses >= a.MaxUses {
		a.Status = model.AuthExhausted
	}
	acc := &model.Access{ID: req.ID, AuthorizationID: a.ID, CitizenRef: a.CitizenRef, Requester: a.Requester,
		Provider: v.msp, Purpose: a.Purpose, Categories: slices.Clone(req.Categories), Mode: req.Mode,
		Predicate: req.Predicate, Digest: req.Digest, RecordCount: req.RecordCount, UseNumber: a.Uses,
		AccessedAt: model.FormatTime(c.now), TxID: c.nextTx()}
	c.accesses[req.ID] = acc
	cp := *acc
	return &cp, nil
}

func (v xview) GetAccess(_ context.Context, id string) (*model.Access, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	a, ok := v.c.accesses[id]
	if !ok {
		return nil, ledgerErr(model.CodeAccessNotFound, "access %s not found", id)
	}
	cp := *a
	return &cp, nil
}

func (v xview) GetBatch(_ context.Context, id string) (*model.BatchAnchor, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	b, ok := v.c.batches[id]
	if !ok {
		return nil, ledgerErr(model.CodeBatchNotFound, "batch %s not found", id)
	}
	cp := *b
	return &cp, nil
}

// AnchorBatch is the provider's anchoring, for the importer.
func (v xview) AnchorBatch(_ context.Context, batchID, category, root string, leafCount int) (string, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	if b, ok := v.c.batches[batchID]; ok {
		return b.TxID, nil
	}
	b := &model.BatchAnchor{BatchID: batchID, Category: category, Provider: v.msp, Root: root, LeafCount: leafCount,
		AnchoredAt: model.FormatTime(v.c.now), TxID: v.c.nextTx()}
	v.c.batches[batchID] = b
	return b.TxID, nil
}

func (v xview) anchorRecord(hash, category string) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	v.c.anchors[hash] = &model.RecordAnchor{RecordHash: hash, Category: category, Provider: v.msp,
		AnchoredAt: model.FormatTime(v.c.now), TxID: v.c.nextTx()}
}

func (v xview) VerifyRecord(_ context.Context, hash string) (*model.Verification, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	var out model.Verification
	if a, ok := v.c.anchors[hash]; ok {
		cp := *a
		out.Anchored, out.Anchor = true, &cp
	}
	v.revocation(hash, &out)
	switch {
	case !out.Anchored:
		out.Reason = string(model.CodeAnchorNotFound)
	case out.Revoked:
		out.Reason = string(model.CodeRecordRevoked)
	default:
		out.Valid = true
	}
	return &out, nil
}

// VerifyProof follows anchor:VerifyProof.
func (v xview) VerifyProof(_ context.Context, p model.ProofRequest) (*model.Verification, error) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	b, ok := v.c.batches[p.BatchID]
	if !ok {
		return nil, ledgerErr(model.CodeBatchNotFound, "batch %s not found", p.BatchID)
	}
	path, err := merkle.ParseProof(p.Proof)
	leaf, err2 := merkle.ParseHash(p.RecordHash)
	root, _ := merkle.ParseHash(b.Root)
	if err != nil || err2 != nil {
		return nil, ledgerErr(model.CodeInvalidArgument, "malformed proof")
	}
	cp := *b
	out := model.Verification{Batch: &cp}
	if merkle.VerifyInclusion(leaf[:], p.LeafIndex, uint64(b.LeafCount), path, root) != nil {
		out.Reason = string(model.CodeProofInvalid)
	} else {
		out.Anchored = true
	}
	v.revocation(p.RecordHash, &out)
	if out.Anchored && out.Revoked {
		out.Reason = string(model.CodeRecordRevoked)
	}
	out.Valid = out.Anchored && !out.Revoked
	return &out, nil
}

func (v xview) revocation(hash string, out *model.Verification) {
	if r, ok := v.c.revocations[hash]; ok {
		cp := *r
		out.Revoked, out.Revocation = true, &cp
	}
}
