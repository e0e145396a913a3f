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
	"github.com/quanchain/quanchain/gateway/internal/citizens"
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
	c := citizens.New(operator, refFor, time.Minute)
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
	kid, err := c.Enrol(ctx, ref, dev.JWK, "iPhone")
	if err != nil || kid == "" {
		t.Fatalf("Enrol = %q, %v", kid, err)
	}
	for _, req := range reqs {
		cit, err := operator.GetCitizen(ctx, req, refFor(req, ref))
		if err != nil || len(cit.Keys) != 1 || cit.Keys[0].KeyID != kid {
			t.Fatalf("%s's collection: %+v, %v", req, cit, err)
		}
	}
	if again, err := c.Enrol(ctx, ref, dev.JWK, "iPhone"); again != "" || err != nil {
		t.Fatalf("Enrol again = %q, %v; want \"\": enrolled everywhere already", again, err)
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
	if err := citizens.New(noRequesters{}, nil, time.Minute).RevokeKey(ctx, ref, kid); !errors.Is(err, citizens.ErrNoKey) {
		t.Fatalf("RevokeKey with no collection: %v, want ErrNoKey", err)
	}
}

type noRequesters struct{ citizens.Ledger }

func (noRequesters) Requesters(context.Context) ([]string, error) { return nil, nil }
