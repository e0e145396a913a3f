package merkle

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

// TestRecordLeafHashVector pins the record leaf: SHA-256(0x00 ‖ salt ‖
// SHA-256(record)), computed independently (Python hashlib).
func TestRecordLeafHashVector(t *testing.T) {
	salt := make([]byte, SaltSize)
	for i := range salt {
		salt[i] = byte(i)
	}
	rh := Hash(sha256.Sum256([]byte(`{"category":"death_registration"}`)))
	if got, want := rh.String(), "49e9db6d36e7c3691963d6a5d3cdbf414cd71b0f1dbc39c7f6c2cd42e6ef256f"; got != want {
		t.Fatalf("record hash = %s, want %s", got, want)
	}
	if got, want := RecordLeafHash(salt, rh).String(), "a7401cb75211ae0b1420710fffae8da8d45bd2a30b4d3e75d0d975ba351fd1dc"; got != want {
		t.Errorf("RecordLeafHash = %s, want %s", got, want)
	}
	// No salt: the leaf of a record stored before salts, LeafHash(record hash).
	if got, want := RecordLeafHash(nil, rh), LeafHash(rh[:]); got != want {
		t.Errorf("RecordLeafHash(nil) = %s, want LeafHash = %s", got, want)
	}
	if got, want := RecordLeafHash(nil, rh).String(), "685f76faf15be5b8f7743ffddb41cda80b7a3b26a41c9f33e43fca7bfea7c8a8"; got != want {
		t.Errorf("RecordLeafHash(nil) = %s, want %s", got, want)
	}
}

// TestGuessedRecordNotConfirmableWithoutSalt: a batch of two guessable
// records (a death date in a month). Whoever reads the root and size on
// the ledger tries every pair of candidates, and whoever also holds one
// record's audit path tries every candidate against it: without the salts
// nothing matches. The holder of the record and its salt verifies it. The
// same attack on unsalted leaves finds the records at once.
func TestGuessedRecordNotConfirmableWithoutSalt(t *testing.T) {
	candidates := make([]Hash, 30)
	for d := range candidates {
		candidates[d] = sha256.Sum256(fmt.Appendf(nil, `{"category":"death_registration","death_date":"2026-09-%02d"}`, d+1))
	}
	held := []int{3, 17} // the records in the batch
	salts := make([][]byte, len(held))
	leaves := make([]Hash, len(held))
	for i, c := range held {
		salts[i] = make([]byte, SaltSize)
		rand.Read(salts[i])
		leaves[i] = RecordLeafHash(salts[i], candidates[c])
	}
	tree := NewFromLeafHashes(leaves)
	root, size := tree.Root(), tree.Size()
	path, err := tree.Proof(0)
	if err != nil {
		t.Fatal(err)
	}

	// attack tries the dictionary against a root: every pair of
	// candidates as the two leaves, and every candidate with the path of
	// leaf 0. It returns the matches.
	attack := func(root Hash, leaf func(Hash) Hash) (matches int) {
		for _, a := range candidates {
			if VerifyInclusionHash(leaf(a), 0, size, path, root) == nil {
				matches++
			}
			for _, b := range candidates {
				if NodeHash(leaf(a), leaf(b)) == root {
					matches++
				}
			}
		}
		return matches
	}
	unsalted := func(h Hash) Hash { return RecordLeafHash(nil, h) }
	if n := attack(root, unsalted); n != 0 {
		t.Fatalf("%d guesses confirmed against the salted root", n)
	}
	for i, c := range held {
		p, _ := tree.Proof(uint64(i))
		if err := VerifyRecordInclusion(salts[i], candidates[c], uint64(i), size, p, root); err != nil {
			t.Fatalf("record %d with its salt: %v", i, err)
		}
		if err := VerifyRecordInclusion(nil, candidates[c], uint64(i), size, p, root); !errors.Is(err, ErrRootMismatch) {
			t.Fatalf("record %d without its salt: %v, want %v", i, err, ErrRootMismatch)
		}
	}
	if err := VerifyRecordInclusion(salts[1], candidates[held[0]], 0, size, path, root); !errors.Is(err, ErrRootMismatch) {
		t.Fatalf("record with another record's salt: %v, want %v", err, ErrRootMismatch)
	}

	// The old leaves, SHA-256(0x00 ‖ record hash): the dictionary finds them.
	old := NewFromLeafHashes([]Hash{unsalted(candidates[held[0]]), unsalted(candidates[held[1]])})
	path, _ = old.Proof(0)
	if n := attack(old.Root(), unsalted); n != 2 {
		t.Fatalf("the attack on unsalted leaves confirmed %d guesses, want 2", n)
	}
}
