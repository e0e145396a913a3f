package artefact_test

import (
	"context"
	"errors"
	"testing"

	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/ledger/ledgertest"
	"github.com/quanchain/quanchain/ledger/ledgertest/artefacttest"
)

type blockOf uint64

func (b blockOf) TxBlock(context.Context, string) (uint64, error) { return uint64(b), nil }

func TestIssueProvesTheLastDecision(t *testing.T) {
	f := artefacttest.Granted(t, "auth-issue-1")
	x, err := artefact.NewIssuer(f.Net.Ledger(artefacttest.Requester), blockOf(42), f.Signer, ledgertest.Channel)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := x.Issue(t.Context(), f.Auth, f.Net.Now())
	if err != nil {
		t.Fatal(err)
	}
	v, err := artefact.Verify(tok)
	if err != nil || v.Artefact.Decision.Block != 42 || v.Artefact.DeviceKey.KeyID != f.Key.KeyID {
		t.Fatalf("issued artefact %+v, %v", v, err)
	}

	pending := *f.Auth
	pending.LastDecision = nil
	if _, err := x.Issue(t.Context(), &pending, f.Net.Now()); !errors.Is(err, artefact.ErrNotDecided) {
		t.Fatalf("no decision: %v, want ErrNotDecided", err)
	}
	strange := *f.Auth
	d := *f.Auth.LastDecision
	d.KeyID = "not-a-key-of-this-citizen"
	strange.LastDecision = &d
	var ae *artefact.Error
	if _, err := x.Issue(t.Context(), &strange, f.Net.Now()); !errors.As(err, &ae) || ae.Code != artefact.CodeNotProvable {
		t.Fatalf("an unknown device key: %v, want %s", err, artefact.CodeNotProvable)
	}
}
