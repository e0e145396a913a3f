package stubtest_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"github.com/quanchain/quanchain/chaincode/stubtest"
)

func TestPrivateData(t *testing.T) {
	l := stubtest.NewLedger("ch")
	l.DefineCollection("c", "AMSP", "OpMSP")
	a := stubtest.MustIdentity("AMSP", "a").Creator()
	b := stubtest.MustIdentity("BMSP", "b").Creator()

	w := l.NewTx("tx1", t0, a, "fn")
	if err := w.PutPrivateData("c", "k", []byte("secret-value")); err != nil {
		t.Fatal(err)
	}
	if err := w.PutState("pub", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := l.GetPrivate("c", "k"); string(got) != "secret-value" {
		t.Fatalf("GetPrivate = %q", got)
	}
	if got := l.Keys(); !slices.Equal(got, []string{"pub"}) {
		t.Errorf("public keys %q, want only pub", got)
	}
	for _, bs := range l.AllBytes() {
		if bytes.Contains(bs, []byte("secret-value")) || bytes.Equal(bs, []byte("k")) {
			t.Errorf("the blocks or public state hold private data: %q", bs)
		}
	}
	tx := l.Transactions()[0]
	if len(tx.PrivateWrites) != 1 || tx.PrivateWrites[0].ValueHash != sha256.Sum256([]byte("secret-value")) ||
		tx.PrivateWrites[0].KeyHash != sha256.Sum256([]byte("k")) {
		t.Errorf("private trace %+v", tx.PrivateWrites)
	}
	if !containsBytes(l.PrivateBytes("AMSP"), "secret-value") || containsBytes(l.PrivateBytes("BMSP"), "secret-value") {
		t.Error("a member's private store lacks the value, or a non-member's holds it")
	}

	r := l.NewTx("tx2", t0, b, "fn")
	if _, err := r.GetPrivateData("c", "k"); !errors.Is(err, stubtest.ErrNotCollectionMember) {
		t.Errorf("non-member read: %v", err)
	}
	if err := r.PutPrivateData("c", "k2", []byte("x")); !errors.Is(err, stubtest.ErrNotCollectionMember) {
		t.Errorf("non-member write: %v", err)
	}
	if _, err := r.GetPrivateData("nope", "k"); !errors.Is(err, stubtest.ErrCollectionUnknown) {
		t.Errorf("unknown collection: %v", err)
	}
	if h, err := r.GetPrivateDataHash("c", "k"); err != nil || !bytes.Equal(h, sum("secret-value")) {
		t.Errorf("hash %x %v", h, err)
	}

	// Private reads are validated for MVCC.
	r1 := l.NewTx("tx3", t0, a, "fn")
	if _, err := r1.GetPrivateData("c", "k"); err != nil {
		t.Fatal(err)
	}
	_ = r1.PutState("pub", []byte("w"))
	w2 := l.NewTx("tx4", t0, a, "fn")
	_ = w2.PutPrivateData("c", "k", []byte("changed"))
	if err := w2.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := r1.Commit(); !errors.Is(err, stubtest.ErrMVCCReadConflict) {
		t.Errorf("stale private read committed: %v", err)
	}

	// Range queries over a collection see only its keys.
	q := l.NewTx("tx5", t0, a, "fn")
	it, err := q.GetPrivateDataByRange("c", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for it.HasNext() {
		kv, _ := it.Next()
		keys = append(keys, kv.Key)
	}
	if !slices.Equal(keys, []string{"k"}) {
		t.Errorf("private range %q", keys)
	}
}

func sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func containsBytes(all [][]byte, s string) bool {
	for _, b := range all {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}
