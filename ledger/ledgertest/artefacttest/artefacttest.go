// Package artefacttest makes real consent artefacts for tests: an
// authorisation requested by BankMSP and granted by a citizen's device on
// the in-process ledger (ledgertest), read back as the bank reads it.
package artefacttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/internal/jws"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// Requester is the institution whose authorisation Granted makes.
const Requester = "BankMSP"

// Fixture is a granted authorisation and what its artefact is made of.
type Fixture struct {
	Net    *ledgertest.Network
	Auth   *model.Authorization // as the requester reads it
	Terms  model.Terms
	Key    model.DeviceKey // the device key that signed the grant
	Device *ledgertest.Device
	Signer *jws.Signer // the requester gateway's artefact key
}

// Granted requests authorisation id for BankMSP and has a fresh device of
// the citizen grant it.
func Granted(t testing.TB, id string) *Fixture {
	t.Helper()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	net := ledgertest.NewDemo(t, func() time.Time { return now })
	ctx := context.Background()
	const ref = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	bank := net.Ledger(Requester)
	if _, err := bank.RequestAuthorization(ctx, model.AuthorizationRequest{ID: id, CitizenRef: ref,
		Purpose: "CREDIT_ASSESSMENT", Categories: []string{"housing_fund", "tax"}, DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: "2026-11-20T00:00:00Z", MaxUses: 2,
		ReferenceHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Subject:       ledgertest.SubjectFor(Requester, ref)}); err != nil {
		t.Fatal(err)
	}
	dev, err := net.Enrol(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Decide(ctx, dev, id, model.ActionGrant); err != nil {
		t.Fatal(err)
	}
	a, err := bank.GetAuthorization(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	terms, err := ledgertest.Terms(ctx, bank, a)
	if err != nil {
		t.Fatal(err)
	}
	c, err := bank.GetCitizen(ctx, Requester, ref)
	if err != nil {
		t.Fatal(err)
	}
	key, found, _ := c.ActiveKey(dev.KeyID)
	if !found {
		t.Fatalf("key %s not enrolled", dev.KeyID)
	}
	return &Fixture{Net: net, Auth: a, Terms: terms, Key: key, Device: dev, Signer: NewSigner(t)}
}

// NewSigner returns a fresh ES256 signer.
func NewSigner(t testing.TB) *jws.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Artefact returns the fixture's artefact, placing the decision in block.
func (f *Fixture) Artefact(t testing.TB, block uint64) *artefact.Artefact {
	t.Helper()
	a, err := artefact.New(ledgertest.Channel, f.Auth, f.Terms, f.Key, block, f.Net.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Sign signs a with the fixture's signer.
func (f *Fixture) Sign(t testing.TB, a *artefact.Artefact) string {
	t.Helper()
	tok, err := a.Sign(f.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
