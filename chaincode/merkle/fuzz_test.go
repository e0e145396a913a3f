package merkle

import (
	"errors"
	"testing"
)

// splitHashes cuts raw into whole hashes, dropping any remainder: the last
// one is used as the root, the others as the proof.
func splitHashes(raw []byte) (proof []Hash, root Hash) {
	for len(raw) >= HashSize {
		var h Hash
		copy(h[:], raw)
		proof = append(proof, h)
		raw = raw[HashSize:]
	}
	if len(proof) > 0 {
		root = proof[len(proof)-1]
		proof = proof[:len(proof)-1]
	}
	return proof, root
}

// stretch returns a proof of exactly n hashes, cycling through proof, or
// through hashes derived from seed if proof is empty. It lets small inputs
// reach the hashing loop of trees of any size without the fuzzer having to
// grow and minimise inputs of up to 64 hashes.
func stretch(proof []Hash, n int, seed []byte) []Hash {
	out := make([]Hash, n)
	for k := range out {
		if len(proof) > 0 {
			out[k] = proof[k%len(proof)]
		} else {
			out[k] = LeafHash(append([]byte{byte(k)}, seed...))
		}
	}
	return out
}

func isVerifyError(err error) bool {
	return errors.Is(err, ErrIndexOutOfRange) || errors.Is(err, ErrProofLength) || errors.Is(err, ErrRootMismatch)
}

// FuzzVerifyInclusion checks two things. With arbitrary inputs, verification
// never panics and fails only with the documented errors. With a tree built
// from the inputs, the real audit path of a leaf verifies, and the same path
// with one bit flipped, or presented for another index, does not.
func FuzzVerifyInclusion(f *testing.F) {
	// The published RFC 6962 audit path of leaf 5 in the 8-leaf reference
	// tree, followed by that tree's root: it verifies as is.
	var vector []byte
	for _, s := range ctProofs[2].proof {
		vector = append(vector, mustHex(s)...)
	}
	vector = append(vector, mustHex(ctRoots[8])...)
	f.Add(uint64(8), uint64(5), ctLeaves[5], vector, uint32(0))
	f.Add(uint64(0), uint64(0), []byte(nil), []byte(nil), uint32(0))
	f.Add(uint64(1), uint64(0), []byte("only"), make([]byte, HashSize), uint32(1))
	f.Add(^uint64(0), ^uint64(0)-1, []byte("huge"), make([]byte, 2*HashSize), uint32(12345))
	f.Add(uint64(70), uint64(69), []byte{0xff}, []byte("short"), uint32(1<<31))

	f.Fuzz(func(t *testing.T, size, index uint64, leaf, raw []byte, mutate uint32) {
		proof, root := splitHashes(raw)
		err := VerifyInclusion(leaf, index, size, proof, root)
		if err != nil && !isVerifyError(err) {
			t.Fatalf("VerifyInclusion(size %d, index %d, %d hashes): undocumented error %v", size, index, len(proof), err)
		}
		// The same, with a proof of the right length, so that the path is
		// walked for any index and size.
		if want, err := ProofLength(index, size); err == nil {
			err := VerifyInclusion(leaf, index, size, stretch(proof, want, leaf), root)
			if err != nil && !errors.Is(err, ErrRootMismatch) {
				t.Fatalf("VerifyInclusion(size %d, index %d, %d hashes): got %v, want nil or ErrRootMismatch", size, index, want, err)
			}
		} else if !errors.Is(err, ErrIndexOutOfRange) {
			t.Fatalf("ProofLength(%d, %d): undocumented error %v", index, size, err)
		}

		// Keep each execution cheap: at most 100 leaves of at most 64
		// bytes each.
		n := size%100 + 1
		i := index % n
		if len(leaf) > 64 {
			leaf = leaf[:64]
		}
		leaves := make([][]byte, n)
		for j := range leaves {
			leaves[j] = append(append([]byte(nil), leaf...), byte(j), byte(j>>8))
		}
		tree := New(leaves)
		root = tree.Root()
		proof, err = tree.Proof(i)
		if err != nil {
			t.Fatalf("Proof(%d) of %d: %v", i, n, err)
		}
		leafHash := LeafHash(leaves[i])
		if err := VerifyInclusionHash(leafHash, i, n, proof, root); err != nil {
			t.Fatalf("real proof of leaf %d of %d: %v", i, n, err)
		}

		// Flip one bit, chosen by mutate, in the proof or the leaf hash.
		bit := int(mutate % uint32((len(proof)+1)*HashSize*8))
		bad := append([]Hash(nil), proof...)
		badLeaf := leafHash
		if k := bit / (HashSize * 8); k < len(bad) {
			bad[k][bit/8%HashSize] ^= 1 << (bit % 8)
		} else {
			badLeaf[bit/8%HashSize] ^= 1 << (bit % 8)
		}
		if err := VerifyInclusionHash(badLeaf, i, n, bad, root); !errors.Is(err, ErrRootMismatch) {
			t.Fatalf("leaf %d of %d with bit %d flipped: got %v, want ErrRootMismatch", i, n, bit, err)
		}

		if n > 1 {
			j := (i + 1 + uint64(mutate)%(n-1)) % n
			if err := VerifyInclusionHash(leafHash, j, n, proof, root); err == nil {
				t.Fatalf("proof of leaf %d of %d verified as leaf %d", i, n, j)
			}
		}
	})
}
