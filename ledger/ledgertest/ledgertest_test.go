package ledgertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/stubtest"
	"github.com/quanchain/quanchain/ledger"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func fixed() time.Time { return t0 }

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// loan is a bank's request within the demo registry's CREDIT_ASSESSMENT
// ceilings.
func loan(id, ref string, maxUses int) model.AuthorizationRequest {
	return model.AuthorizationRequest{ID: id, CitizenRef: ref, Purpose: "CREDIT_ASSESSMENT",
		Categories: []string{"tax", "housing_fund"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: t0.Add(7 * 24 * time.Hour).Format(time.RFC3339), MaxUses: maxUses, ReferenceHash: hash("LOAN-1"),
		Subject: SubjectFor("BankMSP", ref)}
}

func TestDemoRegistry(t *testing.T) {
	n := NewDemo(t, fixed)
	ctx := t.Context()
	bank := n.Ledger("BankMSP")
	inst, err := bank.GetInstitution(ctx, "BankMSP")
	if err != nil || inst.Kind != model.KindBank || inst.Status != model.StatusActive {
		t.Fatalf("BankMSP: %+v, %v", inst, err)
	}
	p, err := bank.GetPurpose(ctx, "CREDIT_ASSESSMENT")
	if err != nil || p.MaxUses != 3 {
		t.Fatalf("CREDIT_ASSESSMENT: %+v, %v", p, err)
	}
	cfg, err := bank.GetConfig(ctx)
	if err != nil || cfg.OperatorMSP != "BureauMSP" || cfg.BootstrappedAt != model.FormatTime(t0) {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	if got := n.Calls(); len(got) != 3 {
		t.Fatalf("calls after the bootstrap: %d, want the test's 3", len(got))
	}
}

// TestRefusalsAsAFabricClientSeesThem: the chaincode's code and message
// reach the typed client; a submit's refusal names its transaction, an
// evaluation's does not; nothing refused is committed.
func TestRefusalsAsAFabricClientSeesThem(t *testing.T) {
	n := NewDemo(t, fixed)
	ctx := t.Context()
	height := n.State().Height()
	_, err := n.Ledger("AuditMSP").RequestAuthorization(ctx, loan("auth-1", hash("c1"), 1))
	var le *ledger.Error
	if !errors.As(err, &le) || le.Code != model.CodeForbiddenMSP || le.TxID == "" || !strings.Contains(le.Message, "AuditMSP") {
		t.Fatalf("auditor's request: %#v", err)
	}
	// The client reads the operator once, to name the endorsers.
	if calls := n.Calls(); len(calls) != 2 || calls[0].Name != "registry:GetConfig" || calls[1].TxID != le.TxID ||
		!calls[1].Submit || calls[1].Org != "AuditMSP" || strings.Join(calls[1].Endorsers, ",") != "BureauMSP,AuditMSP" {
		t.Fatalf("calls %+v", calls)
	}
	_, err = n.Ledger("BankMSP").GetAuthorization(ctx, "auth-1")
	if !errors.As(err, &le) || le.Code != model.CodeAuthNotFound || le.TxID != "" || !le.NotFound() {
		t.Fatalf("unknown authorisation: %#v", err)
	}
	if n.State().Height() != height {
		t.Fatal("a refused transaction was committed")
	}
}

// TestDecisionsAndDeliveries: a citizen's signed decisions and a
// provider's deliveries go through the contracts and commit.
func TestDecisionsAndDeliveries(t *testing.T) {
	n := NewDemo(t, fixed)
	ctx := t.Context()
	ref := hash("citizen-1")
	if _, err := n.Ledger("BankMSP").RequestAuthorization(ctx, loan("auth-1", ref, 2)); err != nil {
		t.Fatal(err)
	}
	dev, err := n.Enrol(ctx, ref, nil)
	if err != nil || len(dev.KeyID) != 43 {
		t.Fatalf("enrol: %+v, %v", dev, err)
	}
	a, err := n.Decide(ctx, dev, "auth-1", model.ActionGrant)
	if err != nil || a.Status != model.AuthGranted || a.LastDecision == nil || a.LastDecision.KeyID != dev.KeyID {
		t.Fatalf("grant: %+v, %v", a, err)
	}
	acc, err := n.Ledger("BureauMSP").RecordAccess(ctx, model.AccessRequest{ID: "acc-1", AuthorizationID: "auth-1",
		Requester: "BankMSP", Categories: []string{"tax"}, Mode: model.ModeRecords, Digest: hash("d1"), RecordCount: 3})
	if err != nil || acc.UseNumber != 1 || acc.Provider != "BureauMSP" {
		t.Fatalf("access: %+v, %v", acc, err)
	}
	if _, err := n.Decide(ctx, dev, "auth-1", model.ActionRevoke); err != nil {
		t.Fatal(err)
	}
	_, err = n.Ledger("BureauMSP").RecordAccess(ctx, model.AccessRequest{ID: "acc-2", AuthorizationID: "auth-1",
		Requester: "BankMSP", Categories: []string{"tax"}, Mode: model.ModeRecords, Digest: hash("d2"), RecordCount: 3})
	if ledger.CodeOf(err) != model.CodeAuthRevoked {
		t.Fatalf("delivery after the revocation: %v", err)
	}
}

// TestConcurrentDeliveries: deliveries racing for the uses of one
// authorisation conflict at commit like on a peer; the ledger client
// endorses the losers again, so each gets the chaincode's answer.
func TestConcurrentDeliveries(t *testing.T) {
	n := NewDemo(t, fixed)
	ctx := t.Context()
	ref := hash("citizen-2")
	if _, err := n.Ledger("BankMSP").RequestAuthorization(ctx, loan("auth-2", ref, 3)); err != nil {
		t.Fatal(err)
	}
	dev, err := n.Enrol(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Decide(ctx, dev, "auth-2", model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	provider := n.Ledger("BureauMSP")
	const racers = 6
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = provider.RecordAccess(ctx, model.AccessRequest{ID: fmt.Sprintf("acc-%d", i), AuthorizationID: "auth-2",
				Requester: "BankMSP", Categories: []string{"tax"}, Mode: model.ModeRecords, Digest: hash(fmt.Sprint(i)), RecordCount: 1})
		})
	}
	wg.Wait()
	ok, exhausted := 0, 0
	for _, err := range errs {
		switch ledger.CodeOf(err) {
		case "":
			ok++
		case model.CodeAuthExhausted:
			exhausted++
		default:
			t.Errorf("delivery: %v", err)
		}
	}
	if ok != 3 || exhausted != racers-3 {
		t.Fatalf("%d delivered, %d refused as exhausted", ok, exhausted)
	}
}

func TestCommitConflictReadsAsTxConflict(t *testing.T) {
	err := ledger.MapError("access:RecordAccess", commitFailure("tx-9", fmt.Errorf("txid [tx-9]: %w", stubtest.ErrMVCCReadConflict)))
	var le *ledger.Error
	if !errors.As(err, &le) || le.Code != ledger.CodeTxConflict || le.TxID != "tx-9" || !strings.Contains(err.Error(), "tx-9") {
		t.Fatalf("%#v", err)
	}
}

func TestFaults(t *testing.T) {
	n := NewDemo(t, fixed)
	ctx := t.Context()
	n.SetFault(func(c Call) error {
		if c.Submit {
			return ErrUnavailable
		}
		return nil
	})
	err := n.Ledger("BankMSP").SetEncryptionKey(ctx, "x")
	if !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("submit with the peer down: %v", err)
	}
	if _, err := n.Ledger("BankMSP").GetInstitution(ctx, "BankMSP"); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	n.SetFault(nil)
	if err := n.Ledger("BankMSP").SetEncryptionKey(ctx, "x"); ledger.CodeOf(err) != model.CodeInvalidKey {
		t.Fatalf("the peer is back, the chaincode answers: %v", err)
	}
	calls := n.Calls()
	if len(calls) != 3 || !errors.Is(calls[0].Err, ErrUnavailable) || calls[1].Err != nil || calls[2].Name != "registry:SetEncryptionKey" {
		t.Fatalf("calls %+v", calls)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := n.Ledger("BankMSP").GetConfig(cancelled); !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestClock(t *testing.T) {
	at := t0
	var mu sync.Mutex
	n := NewDemo(t, func() time.Time { mu.Lock(); defer mu.Unlock(); return at })
	ctx := t.Context()
	bank := n.Ledger("BankMSP")
	if _, err := bank.RequestAuthorization(ctx, loan("auth-3", hash("c3"), 1)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	at = t0.Add(8 * 24 * time.Hour)
	mu.Unlock()
	a, err := bank.GetAuthorization(ctx, "auth-3")
	if err != nil || a.Status != model.AuthExpired {
		t.Fatalf("a week and a day later: %+v, %v", a, err)
	}
}

func TestRewrite(t *testing.T) {
	n := NewDemo(t, fixed)
	ctx := t.Context()
	bureau := n.Ledger("BureauMSP")
	if _, err := bureau.AnchorBatch(ctx, model.BatchAnchorRequest{BatchID: "tax-1", Category: "tax", Root: hash("root"), LeafCount: 2}); err != nil {
		t.Fatal(err)
	}
	n.ClearCalls()
	if err := Rewrite(n, "batch", "tax-1", func(b *model.BatchAnchor) { b.TxID = "tx-forged" }); err != nil {
		t.Fatal(err)
	}
	b, err := bureau.GetBatch(ctx, "tax-1")
	if err != nil || b.TxID != "tx-forged" || b.Root != hash("root") {
		t.Fatalf("batch %+v, %v", b, err)
	}
	if err := Rewrite(n, "batch", "tax-2", func(*model.BatchAnchor) {}); err == nil {
		t.Fatal("rewrote a batch that does not exist")
	}
	if calls := n.Calls(); len(calls) != 1 {
		t.Fatalf("calls %+v, want only the test's GetBatch", calls)
	}
}

// TestWaitForCommit: a client waits for another organisation's
// transaction on its own peer: at once if it has committed, until it
// commits if not; an invalid commit is TX_CONFLICT with its id; a wait
// its context ends, or a peer that cannot be reached, is
// LEDGER_UNAVAILABLE.
func TestWaitForCommit(t *testing.T) {
	n := NewDemo(t, fixed)
	ctx := t.Context()
	bank, op := n.Ledger("BankMSP"), n.Ledger("BureauMSP")
	if _, err := bank.RequestAuthorization(ctx, loan("auth-1", hash("c1"), 1)); err != nil {
		t.Fatal(err)
	}
	var committed string
	for _, c := range n.Calls() {
		if c.Submit {
			committed = c.TxID
		}
	}
	if err := op.WaitForCommit(ctx, committed); err != nil {
		t.Fatalf("a committed transaction: %v", err)
	}

	// The next transaction's id, waited for before it is submitted.
	n.mu.Lock()
	sum := sha256.Sum256(fmt.Appendf(nil, "ledgertest transaction %d", n.seq+1))
	n.mu.Unlock()
	next := hex.EncodeToString(sum[:])
	done := make(chan error, 1)
	go func() { done <- op.WaitForCommit(ctx, next) }()
	select {
	case err := <-done:
		t.Fatalf("the wait ended before the commit: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := n.Submit(ctx, "BureauMSP", "anchor:AnchorRecord", "tax", hash("e-licence 1")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a transaction committed while waited for: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait did not end at the commit")
	}

	// Two transactions read and write the same key; the second commits
	// invalid.
	a := n.State().NewTx("tx-a", t0, nil, "x")
	b := n.State().NewTx("tx-b", t0, nil, "x")
	for _, s := range []*stubtest.Stub{a, b} {
		if _, err := s.GetState("k"); err != nil {
			t.Fatal(err)
		}
		if err := s.PutState("k", []byte(s.GetTxID())); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); !errors.Is(err, stubtest.ErrMVCCReadConflict) {
		t.Fatalf("second commit: %v", err)
	}
	var le *ledger.Error
	if err := op.WaitForCommit(ctx, "tx-b"); !errors.As(err, &le) || le.Code != ledger.CodeTxConflict || le.TxID != "tx-b" {
		t.Fatalf("an invalid transaction: %#v", err)
	}

	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := op.WaitForCommit(wctx, "tx-never"); ledger.CodeOf(err) != ledger.CodeUnavailable {
		t.Fatalf("a transaction never committed: %v", err)
	}
	n.SetFault(func(c Call) error {
		if c.Name == CommitStatus && c.Org == "BureauMSP" && c.Args[0] == "tx-a" {
			return ErrUnavailable
		}
		return nil
	})
	if err := op.WaitForCommit(ctx, "tx-a"); ledger.CodeOf(err) != ledger.CodeUnavailable {
		t.Fatalf("an unreachable peer: %v", err)
	}
	if err := bank.WaitForCommit(ctx, "tx-a"); err != nil {
		t.Fatalf("another organisation's peer: %v", err)
	}
}
