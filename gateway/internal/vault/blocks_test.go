package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

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
