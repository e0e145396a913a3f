package vault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/internal/resident"
)

// lookupLog keeps the recorded lookups, or fails with err.
type lookupLog struct {
	got []store.PseudonymLookup
	err error
}

func (l *lookupLog) RecordPseudonymLookup(_ context.Context, r store.PseudonymLookup) (store.PseudonymLookup, error) {
	if l.err != nil {
		return store.PseudonymLookup{}, l.err
	}
	l.got = append(l.got, r)
	return r, nil
}

func TestIssueRefRecordsEveryAnswer(t *testing.T) {
	p, err := NewPseudonymiser(testKey)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	q := Lookup{Caller: "AuditMSP", ForRequester: "BankMSP", IDNumber: " 11010519491231002x", Purpose: "AUDIT",
		AuthorizationID: "case-1", At: at}
	log := &lookupLog{}
	ref, err := p.IssueRef(t.Context(), log, q)
	vaultRef, _ := p.Ref("11010519491231002X")
	if err != nil || ref != p.PairwiseRef("BankMSP", vaultRef) {
		t.Fatalf("IssueRef = %q, %v; want BankMSP's pairwise ref", ref, err)
	}
	want := store.PseudonymLookup{RequesterMSP: "AuditMSP", PairwiseRef: ref, VaultRef: vaultRef, Purpose: "AUDIT",
		AuthorizationID: "case-1", LookedUpAt: at}
	if len(log.got) != 1 || log.got[0] != want {
		t.Fatalf("recorded %+v, want %+v", log.got, want)
	}

	q.IDNumber = "110105194912310021"
	if _, err := p.IssueRef(t.Context(), log, q); !errors.Is(err, resident.ErrIDChecksum) || len(log.got) != 1 {
		t.Fatalf("an invalid number: %v, %d records", err, len(log.got))
	}
	q.IDNumber = "11010519491231002X"
	down := errors.New("database is locked")
	if ref, err := p.IssueRef(t.Context(), &lookupLog{err: down}, q); ref != "" || !errors.Is(err, ErrLookupNotRecorded) || !errors.Is(err, down) {
		t.Fatalf("an unrecorded lookup: %q, %v; want no ref", ref, err)
	}
}
