package citizens_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/citizens"
	"github.com/quanchain/quanchain/internal/identitytest"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// TestKeysAcrossCollections: a key enrolled once is in every requester's
// collection, under the ref that requester knows the citizen by; revoked
// in any, it is revoked.
func TestKeysAcrossCollections(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	net := ledgertest.NewDemo(t, func() time.Time { return now })
	operator := net.Ledger("BureauMSP")
	refFor := func(requester, ref string) string {
		h := sha256.Sum256([]byte(requester + ref))
		return hex.EncodeToString(h[:])
	}
	var sent []model.CitizenKeyInput
	add := func(ctx context.Context, in model.CitizenKeyInput) (string, error) {
		sent = append(sent, in)
		return citizens.LedgerAddKey(operator)(ctx, in)
	}
	c := citizens.New(operator, refFor, time.Minute, add)
	ctx := context.Background()
	ref := strings.Repeat("ab", 32)
	reqs, err := c.Requesters(ctx)
	if err != nil || len(reqs) < 2 {
		t.Fatalf("requesters %v, %v; want two or more", reqs, err)
	}

	dev, err := ledgertest.NewDevice(ref)
	if err != nil {
		t.Fatal(err)
	}
	kid := sig.Thumbprint(&dev.Key.PublicKey)
	proof := idTokenProof(t, net, dev)
	added, err := c.Enrol(ctx, ref, citizens.NewKey{JWK: dev.JWK, Name: "iPhone", Kind: model.KeyWebCrypto, Proof: proof})
	if err != nil || !added {
		t.Fatalf("Enrol = %v, %v", added, err)
	}
	if len(sent) != len(reqs) {
		t.Fatalf("%d enrolments sent, want one per requester (%d)", len(sent), len(reqs))
	}
	for i, in := range sent {
		if in.Requester != reqs[i] || in.CitizenRef != refFor(reqs[i], ref) || in.Proof != proof || in.Kind != model.KeyWebCrypto {
			t.Errorf("enrolment %d: %+v", i, in)
		}
	}
	for _, req := range reqs {
		cit, err := operator.GetCitizen(ctx, req, refFor(req, ref))
		if err != nil || len(cit.Keys) != 1 || cit.Keys[0].KeyID != kid || cit.Keys[0].Proof != model.ProofIDToken ||
			cit.Keys[0].Kind != model.KeyWebCrypto {
			t.Fatalf("%s's collection: %+v, %v", req, cit, err)
		}
	}
	if again, err := c.Enrol(ctx, ref, citizens.NewKey{JWK: dev.JWK, Name: "iPhone", Kind: model.KeyWebCrypto, Proof: proof}); again || err != nil {
		t.Fatalf("Enrol again = %v, %v; want false: enrolled everywhere already", again, err)
	}

	if err := operator.RevokeCitizenKey(ctx, reqs[0], refFor(reqs[0], ref), kid); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, ref)
	if err != nil || len(keys) != 1 || keys[0].Status != model.StatusRevoked {
		t.Fatalf("Keys = %+v, %v; want the one key, revoked", keys, err)
	}
	if err := c.RevokeKey(ctx, ref, kid); err != nil {
		t.Fatalf("RevokeKey where some collections still hold it: %v", err)
	}
	if err := c.RevokeKey(ctx, ref, kid); ledger.CodeOf(err) != model.CodeKeyRevoked {
		t.Fatalf("RevokeKey of a revoked key: %v", err)
	}
	if err := citizens.New(noRequesters{}, nil, time.Minute, nil).RevokeKey(ctx, ref, kid); !errors.Is(err, citizens.ErrNoKey) {
		t.Fatalf("RevokeKey with no collection: %v, want ErrNoKey", err)
	}
}

// idTokenProof is the proof of an enrolment of the key of dev: an ID
// token of the provider the Network's identity policy trusts, for the
// citizen's ID number, whose nonce names the key.
func idTokenProof(t *testing.T, net *ledgertest.Network, dev *ledgertest.Device) *model.EnrolmentProof {
	t.Helper()
	nonce := model.EnrolmentNonce(sig.Thumbprint(&dev.Key.PublicKey), "citizens-test")
	tok, err := net.Provider().MintIDToken(dev.IDNumber, nonce, identitytest.ACR, identitytest.Overrides{Now: net.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return identitytest.IDTokenProof(tok)
}

type noRequesters struct{ citizens.Ledger }

func (noRequesters) Requesters(context.Context) ([]string, error) { return nil, nil }

// TestEnrolPartialFailure: a collection that fails after others took the
// key is reported with the ones done; the same enrolment again completes
// it, and a refusal at the first collection writes nothing.
func TestEnrolPartialFailure(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	net := ledgertest.NewDemo(t, func() time.Time { return now })
	operator := net.Ledger("BureauMSP")
	ctx := context.Background()
	reqs, err := operator.Requesters(ctx)
	if err != nil || len(reqs) < 2 {
		t.Fatalf("requesters %v, %v", reqs, err)
	}
	down := errors.New("peer unreachable")
	failAt := reqs[1]
	add := func(ctx context.Context, in model.CitizenKeyInput) (string, error) {
		if in.Requester == failAt {
			return "", down
		}
		return citizens.LedgerAddKey(operator)(ctx, in)
	}
	c := citizens.New(operator, nil, time.Minute, add)
	ref := strings.Repeat("cd", 32)
	dev, err := ledgertest.NewDevice(ref)
	if err != nil {
		t.Fatal(err)
	}
	k := citizens.NewKey{JWK: dev.JWK, Kind: model.KeyWebCrypto, Proof: idTokenProof(t, net, dev)}
	_, err = c.Enrol(ctx, ref, k)
	var ee *citizens.EnrolError
	if !errors.As(err, &ee) || !errors.Is(err, down) || ee.Failed != failAt || len(ee.Done) != 1 || ee.Done[0] != reqs[0] {
		t.Fatalf("Enrol with the second collection down: %v", err)
	}
	failAt = ""
	if added, err := c.Enrol(ctx, ref, k); err != nil || !added {
		t.Fatalf("Enrol again = %v, %v; want it to complete", added, err)
	}
	for _, req := range reqs {
		if cit, err := operator.GetCitizen(ctx, req, ref); err != nil || len(cit.Keys) != 1 {
			t.Fatalf("%s: %+v, %v", req, cit, err)
		}
	}
	failAt = reqs[0]
	other, _ := ledgertest.NewDevice(ref)
	if _, err := c.Enrol(ctx, ref, citizens.NewKey{JWK: other.JWK, Kind: model.KeyWebCrypto}); !errors.Is(err, down) || errors.As(err, &ee) {
		t.Fatalf("Enrol refused at the first collection: %v; want the error alone", err)
	}
}
