package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// A record of a batch kept in leaf blocks has the proof RFC 6962 gives it
// in the whole batch's tree.
func TestBlockProofsAreTreeProofs(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	v := New(st)
	for _, n := range []int{1, 255, 256, 257, 700, 1024, 1025} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			recs := make([]store.Record, n)
			leaves := make([]merkle.Hash, n)
			for i := range recs {
				body := fmt.Appendf(nil, `{"category":"tax","n":%d,"size":%d}`, i, n)
				sum := sha256.Sum256(body)
				salt := sha256.Sum256(body[1:])
				recs[i] = store.Record{CitizenRef: hex.EncodeToString(salt[:]), Category: "tax", RecordDate: "2026-01-01",
					Body: body, Hash: hex.EncodeToString(sum[:]), Salt: salt[:]}
				leaves[i] = merkle.RecordLeafHash(salt[:], sum)
			}
			b, err := st.InsertBatch(ctx, "tax", recs, func(root string) string { return BatchID("tax", root) })
			if err != nil {
				t.Fatalf("InsertBatch: %v", err)
			}
			whole := merkle.NewFromLeafHashes(leaves)
			stored, err := st.RecordsFor(ctx, recs[0].CitizenRef, nil, "", "")
			if err != nil || len(stored) != 1 {
				t.Fatalf("RecordsFor: %d, %v", len(stored), err)
			}
			all := make([]store.Record, 0, n)
			for _, r := range recs {
				got, err := st.RecordByHash(ctx, r.Hash)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, got)
			}
			proofs, err := v.Proofs(ctx, all)
			if err != nil {
				t.Fatalf("Proofs: %v", err)
			}
			for i, p := range proofs {
				want, _ := whole.Proof(uint64(i))
				if p.Root != whole.Root() || p.Root.String() != b.Root || p.LeafCount != uint64(n) || !slices.Equal(p.Path, want) {
					t.Fatalf("leaf %d of %d: path %v root %s, want the tree's %v %s", i, n, p.Path, p.Root, want, whole.Root())
				}
				if err := p.Verify(RecordHash(all[i].Body)); err != nil {
					t.Fatalf("leaf %d of %d: Verify: %v", i, n, err)
				}
			}
		})
	}
}

// countingStore counts a prover's reads of the store.
type countingStore struct {
	proofStore
	sources, batches, blocks, leaves int
}

func (c *countingStore) ProofSources(ctx context.Context, refs []store.LeafBlockRef) (map[string]store.ProofSource, error) {
	c.sources++
	return c.proofStore.ProofSources(ctx, refs)
}

func (c *countingStore) GetBatch(ctx context.Context, id string) (store.Batch, error) {
	c.batches++
	return c.proofStore.GetBatch(ctx, id)
}

func (c *countingStore) LeafBlocks(ctx context.Context, batchID string, k int) ([]merkle.Hash, []merkle.Hash, error) {
	c.blocks++
	return c.proofStore.LeafBlocks(ctx, batchID, k)
}

func (c *countingStore) BatchLeaves(ctx context.Context, batchID string) ([]merkle.Hash, error) {
	c.leaves++
	return c.proofStore.BatchLeaves(ctx, batchID)
}

// A delivery whose records lie in several batches, and in several blocks
// of one batch, reads them all at once (one ProofSources, two queries),
// not batch after batch; only a batch kept one row a leaf is read on its
// own. Its proofs are those of the whole batches' trees.
func TestDeliveryReadsItsBatchesAtOnce(t *testing.T) {
	st := openStore(t, sqliteDSN(t))
	const citizen = "c1"
	trees := map[string]*merkle.Tree{}
	var mine []store.Record // the citizen's records: what RecordsFor returns
	newRecords := func(cat string, n int, own func(i int) bool) []store.Record {
		recs := make([]store.Record, n)
		for i := range recs {
			who := "other"
			if own(i) {
				who = citizen
			}
			body := fmt.Appendf(nil, `{"category":%q,"record_date":"2026-01-01","who":%q,"n":%d,"batch":%d}`, cat, who, i, len(trees))
			sum := sha256.Sum256(body)
			salt := sha256.Sum256(body[1:])
			ref := sha256.Sum256([]byte(who))
			recs[i] = store.Record{CitizenRef: hex.EncodeToString(ref[:]), Category: cat, RecordDate: "2026-01-01",
				Body: body, Hash: hex.EncodeToString(sum[:]), Salt: salt[:]}
		}
		return recs
	}
	keep := func(b store.Batch, recs []store.Record, own func(i int) bool) {
		leaves := make([]merkle.Hash, len(recs))
		for i, r := range recs {
			sum := sha256.Sum256(r.Body)
			leaves[i] = merkle.RecordLeafHash(r.Salt, sum)
			if own(i) {
				got, err := st.RecordByHash(ctx, r.Hash)
				if err != nil {
					t.Fatal(err)
				}
				mine = append(mine, got)
			}
		}
		trees[b.ID] = merkle.NewFromLeafHashes(leaves)
		if err := st.MarkBatchAnchored(ctx, b.ID, "tx-"+b.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{1, 300, 256, 1025, 700} {
		own := func(i int) bool { return i%333 == n%7 } // up to four records a batch, in different blocks
		recs := newRecords("tax", n, own)
		b, err := st.InsertBatch(ctx, "tax", recs, func(root string) string { return BatchID("tax", root) })
		if err != nil {
			t.Fatalf("InsertBatch(%d): %v", n, err)
		}
		keep(b, recs, own)
	}
	// A batch sealed by CreateBatch keeps one row a leaf.
	own := func(i int) bool { return i == 2 }
	recs := newRecords("housing_fund", 5, own)
	if _, err := st.InsertRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	hashes := make([]string, len(recs))
	leaves := make([]merkle.Hash, len(recs))
	for i, r := range recs {
		hashes[i] = r.Hash
		sum := sha256.Sum256(r.Body)
		leaves[i] = merkle.RecordLeafHash(r.Salt, sum)
	}
	root := merkle.NewFromLeafHashes(leaves).Root().String()
	old, err := st.CreateBatch(ctx, store.Batch{ID: BatchID("housing_fund", root), Category: "housing_fund", Root: root, LeafCount: len(recs)}, hashes)
	if err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	keep(old, recs, own)
	if len(mine) < 10 {
		t.Fatalf("the citizen has %d records, want at least 10", len(mine))
	}

	reads := &countingStore{proofStore: st}
	v := &Vault{st: st, proofs: reads}
	h := DeliveryHeader{AccessID: "acc", AuthorizationID: "auth", Requester: "BankMSP", Categories: []string{"tax", "housing_fund"}}
	d, err := v.BuildDelivery(ctx, h, NewDigestSalt(), mine)
	if err != nil {
		t.Fatalf("BuildDelivery: %v", err)
	}
	if *reads != (countingStore{proofStore: st, sources: 1, leaves: 1}) {
		t.Errorf("a delivery of %d records in %d batches read ProofSources %d times, GetBatch %d, LeafBlocks %d, BatchLeaves %d; "+
			"want ProofSources once and BatchLeaves once (the batch kept one row a leaf)",
			len(mine), len(trees), reads.sources, reads.batches, reads.blocks, reads.leaves)
	}
	var body DeliveryBody
	if err := json.Unmarshal(d.Body, &body); err != nil || len(body.Records) != len(mine) {
		t.Fatalf("delivery body: %d records, %v", len(body.Records), err)
	}
	for i, r := range body.Records {
		tree := trees[mine[i].BatchID]
		want, _ := tree.Proof(uint64(mine[i].LeafIndex))
		if r.Proof.BatchID != mine[i].BatchID || r.Proof.Root != tree.Root() || r.Proof.LeafCount != tree.Size() || !slices.Equal(r.Proof.Path, want) {
			t.Errorf("record %d (leaf %d of %d): proof is not the whole tree's", i, mine[i].LeafIndex, tree.Size())
		}
		// Proved alone, without the delivery's reads at once, it is the same.
		alone, err := New(st).Proof(ctx, mine[i].Hash)
		if err != nil || !reflect.DeepEqual(alone, r.Proof) {
			t.Errorf("record %d: proof alone %+v, %v; want the delivery's %+v", i, alone, err, r.Proof)
		}
	}
}
