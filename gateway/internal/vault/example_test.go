package vault_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// The provider's path of a record: import and anchor, deliver with proofs,
// and the requester's verification against the anchors it reads from its
// own peer.
func Example() {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://:memory:")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	// The ledger, reduced to a map of anchored batches.
	ledger := map[string]store.Batch{}
	anchorer := vault.AnchorerFunc(func(_ context.Context, id, category, root string, n int) (string, error) {
		ledger[id] = store.Batch{ID: id, Category: category, Root: root, LeafCount: n}
		return "tx-" + id, nil
	})
	pseudonymiser, err := vault.NewPseudonymiser(bytes.Repeat([]byte("k"), 32)) // a real key is random
	if err != nil {
		fmt.Println(err)
		return
	}
	im := &vault.Importer{Store: st, Pseudonymiser: pseudonymiser, Anchorer: anchorer, BatchSize: 4}

	// One citizen's tax records for half a year, as JSON Lines.
	citizen := synth.Citizens(2026, 2)[1]
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	records, _ := synth.Records(2026, []synth.Citizen{citizen}, []string{synth.Tax}, from, to)
	var jsonl bytes.Buffer
	synth.WriteJSONL(&jsonl, records)

	res, err := im.Import(ctx, synth.Tax, &jsonl)
	fmt.Println("imported", res.Inserted, "in", len(res.Batches), "batches, anchored", res.Anchored, err)

	// Deliver the records of the second quarter, under a fresh salt: the
	// ledger records SHA-256(salt ‖ body), and the requester receives
	// d.Plaintext(), the salt and the body, sealed to its key.
	ref, _ := pseudonymiser.Ref(citizen.IDNumber)
	recs, _ := st.RecordsFor(ctx, ref, []string{synth.Tax}, "2026-04-01", "2026-06-30")
	d, err := vault.New(st).BuildDelivery(ctx, vault.DeliveryHeader{
		AccessID: "acc-1", AuthorizationID: "auth-1", Requester: "BankMSP",
		Categories: []string{synth.Tax}, DataFrom: "2026-04-01", DataTo: "2026-06-30",
	}, vault.NewDigestSalt(), recs)
	fmt.Println("delivered", d.RecordCount, "records", err)

	// The requester checks every record against the anchors.
	lookup := func(_ context.Context, id string) (string, int, error) {
		b, ok := ledger[id]
		if !ok {
			return "", 0, fmt.Errorf("BATCH_NOT_FOUND")
		}
		return b.Root, b.LeafCount, nil
	}
	got, err := vault.VerifyDelivery(ctx, d.Body, lookup)
	fmt.Println("verified", len(got.Records), "records", err)
	// Output:
	// imported 6 in 2 batches, anchored 2 <nil>
	// delivered 3 records <nil>
	// verified 3 records <nil>
}
