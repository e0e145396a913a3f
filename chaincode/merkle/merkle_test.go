package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

// The leaves of the Certificate Transparency reference tree, as published
// with the RFC 6962 test vectors (certificate-transparency, and
// transparency-dev/merkle).
var ctLeaves = [][]byte{
	mustHex(""),
	mustHex("00"),
	mustHex("10"),
	mustHex("2021"),
	mustHex("3031"),
	mustHex("40414243"),
	mustHex("5051525354555657"),
	mustHex("606162636465666768696a6b6c6d6e6f"),
}

// ctRoots[n] is the root of the tree over the first n reference leaves.
var ctRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

// ctProofs are the published audit paths over the reference leaves. The
// published vectors number leaves from 1; the indices here are 0-based.
var ctProofs = []struct {
	index, size uint64
	proof       []string
}{
	{0, 1, nil},
	{0, 8, []string{
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	}},
	{5, 8, []string{
		"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	}},
	{2, 3, []string{
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	}},
	{1, 5, []string{
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	}},
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func mustHash(t testing.TB, s string) Hash {
	t.Helper()
	h, err := ParseHash(s)
	if err != nil {
		t.Fatalf("ParseHash(%q): %v", s, err)
	}
	return h
}

func mustProof(t testing.TB, hashes []string) []Hash {
	t.Helper()
	p, err := ParseProof(hashes)
	if err != nil {
		t.Fatalf("ParseProof: %v", err)
	}
	return p
}

// testLeaves returns n distinct leaves of varying length.
func testLeaves(n int) [][]byte {
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = fmt.Appendf(nil, "record-%d%s", i, strings.Repeat("x", i%5))
	}
	return leaves
}

// refRoot is MTH of RFC 6962 §2.1, written as the recursive definition.
func refRoot(leaves [][]byte) Hash {
	switch n := len(leaves); n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	default:
		k := largestPowerOfTwoBelow(n)
		l, r := refRoot(leaves[:k]), refRoot(leaves[k:])
		return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
}

// refPath is PATH of RFC 6962 §2.1.1, written as the recursive definition.
func refPath(m int, leaves [][]byte) []Hash {
	n := len(leaves)
	if n <= 1 {
		return nil
	}
	k := largestPowerOfTwoBelow(n)
	if m < k {
		return append(refPath(m, leaves[:k]), refRoot(leaves[k:]))
	}
	return append(refPath(m-k, leaves[k:]), refRoot(leaves[:k]))
}

func largestPowerOfTwoBelow(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func TestHashFunctions(t *testing.T) {
	// The leaf hash of the empty string is the published root of size 1,
	// and the node over the first two leaves the root of size 2.
	if got, want := LeafHash(nil), mustHash(t, ctRoots[1]); got != want {
		t.Errorf("LeafHash(nil) = %s, want %s", got, want)
	}
	if got, want := NodeHash(LeafHash(ctLeaves[0]), LeafHash(ctLeaves[1])), mustHash(t, ctRoots[2]); got != want {
		t.Errorf("NodeHash(leaf 0, leaf 1) = %s, want %s", got, want)
	}
	data := []byte("abc")
	if got, want := LeafHash(data), Hash(sha256.Sum256([]byte("\x00abc"))); got != want {
		t.Errorf("LeafHash(abc) = %s, want SHA-256(0x00 ‖ abc) = %s", got, want)
	}
}

func TestRootRFC6962Vectors(t *testing.T) {
	for n := 0; n <= len(ctLeaves); n++ {
		t.Run(fmt.Sprintf("size=%d", n), func(t *testing.T) {
			want := mustHash(t, ctRoots[n])
			leafHashes := make([]Hash, n)
			for i := range leafHashes {
				leafHashes[i] = LeafHash(ctLeaves[i])
			}
			for name, got := range map[string]Hash{
				"Root":              Root(ctLeaves[:n]),
				"New":               New(ctLeaves[:n]).Root(),
				"NewFromLeafHashes": NewFromLeafHashes(leafHashes).Root(),
			} {
				if got != want {
					t.Errorf("%s = %s, want %s", name, got, want)
				}
			}
			if got := New(ctLeaves[:n]).Size(); got != uint64(n) {
				t.Errorf("Size() = %d, want %d", got, n)
			}
		})
	}
}

func TestProofRFC6962Vectors(t *testing.T) {
	for _, tc := range ctProofs {
		t.Run(fmt.Sprintf("index=%d/size=%d", tc.index, tc.size), func(t *testing.T) {
			tree := New(ctLeaves[:tc.size])
			want := mustProof(t, tc.proof)
			got, err := tree.Proof(tc.index)
			if err != nil {
				t.Fatalf("Proof: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("Proof has %d hashes, want %d: %v", len(got), len(want), got)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("proof[%d] = %s, want %s", i, got[i], want[i])
				}
			}
			root := mustHash(t, ctRoots[tc.size])
			if err := VerifyInclusion(ctLeaves[tc.index], tc.index, tc.size, want, root); err != nil {
				t.Errorf("VerifyInclusion of the published proof: %v", err)
			}
		})
	}
}

// TestMatchesRecursiveDefinition checks the level-by-level construction
// against the RFC's recursive definitions, for every shape up to 100 leaves.
func TestMatchesRecursiveDefinition(t *testing.T) {
	leaves := testLeaves(100)
	for n := 0; n <= len(leaves); n++ {
		tree := New(leaves[:n])
		want := refRoot(leaves[:n])
		if got := tree.Root(); got != want {
			t.Fatalf("size %d: Tree.Root = %s, want %s", n, got, want)
		}
		if got := Root(leaves[:n]); got != want {
			t.Fatalf("size %d: Root = %s, want %s", n, got, want)
		}
		for m := 0; m < n; m++ {
			got, err := tree.Proof(uint64(m))
			if err != nil {
				t.Fatalf("size %d: Proof(%d): %v", n, m, err)
			}
			wantPath := refPath(m, leaves[:n])
			if fmt.Sprint(got) != fmt.Sprint(wantPath) {
				t.Fatalf("size %d: Proof(%d) = %v, want %v", n, m, got, wantPath)
			}
			if l, err := ProofLength(uint64(m), uint64(n)); err != nil || l != len(wantPath) {
				t.Fatalf("size %d: ProofLength(%d) = %d, %v, want %d", n, m, l, err, len(wantPath))
			}
		}
	}
}

// TestEveryProofVerifiesAndNoCorruptionDoes builds every tree of 1 to 70
// leaves, proves every leaf, and checks that the proof verifies and that
// each way of getting it wrong fails with the right error.
func TestEveryProofVerifiesAndNoCorruptionDoes(t *testing.T) {
	leaves := testLeaves(70)
	for n := 1; n <= len(leaves); n++ {
		tree := New(leaves[:n])
		size, root := uint64(n), tree.Root()
		for i := range n {
			index := uint64(i)
			proof, err := tree.Proof(index)
			if err != nil {
				t.Fatalf("size %d: Proof(%d): %v", n, i, err)
			}
			check := func(what string, err, want error) {
				t.Helper()
				if !errors.Is(err, want) {
					t.Fatalf("size %d, index %d, %s: got %v, want %v", n, i, what, err, want)
				}
			}
			check("the real proof", VerifyInclusion(leaves[i], index, size, proof, root), nil)
			check("the real proof by leaf hash", VerifyInclusionHash(LeafHash(leaves[i]), index, size, proof, root), nil)

			for j := range proof {
				for _, bit := range []int{0, 77, 255} {
					bad := append([]Hash(nil), proof...)
					bad[j][bit/8] ^= 1 << (bit % 8)
					check(fmt.Sprintf("proof[%d] bit %d flipped", j, bit), VerifyInclusion(leaves[i], index, size, bad, root), ErrRootMismatch)
				}
			}
			leaf := append([]byte(nil), leaves[i]...)
			leaf[len(leaf)-1] ^= 0x01
			check("leaf bit flipped", VerifyInclusion(leaf, index, size, proof, root), ErrRootMismatch)
			check("leaf data as leaf hash", VerifyInclusionHash(Hash(sha256.Sum256(leaves[i])), index, size, proof, root), ErrRootMismatch)
			badRoot := root
			badRoot[31] ^= 0x80
			check("root bit flipped", VerifyInclusion(leaves[i], index, size, proof, badRoot), ErrRootMismatch)

			// The path to a leaf is unique in a tree of a given size: no
			// other index accepts it.
			for j := range n {
				if j != i {
					if err := VerifyInclusion(leaves[i], uint64(j), size, proof, root); err == nil {
						t.Fatalf("size %d: proof of %d verified as index %d", n, i, j)
					} else if !errors.Is(err, ErrRootMismatch) && !errors.Is(err, ErrProofLength) {
						t.Fatalf("size %d: proof of %d as index %d: unexpected error %v", n, i, j, err)
					}
				}
			}
			check("index = size", VerifyInclusion(leaves[i], size, size, proof, root), ErrIndexOutOfRange)
			check("size doubled", VerifyInclusion(leaves[i], index, 2*size, proof, root), ErrProofLength)
			if half := size / 2; index < half {
				if err := VerifyInclusion(leaves[i], index, half, proof, root); !errors.Is(err, ErrProofLength) && !errors.Is(err, ErrRootMismatch) {
					t.Fatalf("size %d, index %d, size halved: got %v", n, i, err)
				}
			} else {
				check("size halved", VerifyInclusion(leaves[i], index, half, proof, root), ErrIndexOutOfRange)
			}

			check("hash appended", VerifyInclusion(leaves[i], index, size, append(proof[:len(proof):len(proof)], root), root), ErrProofLength)
			check("hash prepended", VerifyInclusion(leaves[i], index, size, append([]Hash{root}, proof...), root), ErrProofLength)
			if len(proof) > 0 {
				check("last hash removed", VerifyInclusion(leaves[i], index, size, proof[:len(proof)-1], root), ErrProofLength)
				check("first hash removed", VerifyInclusion(leaves[i], index, size, proof[1:], root), ErrProofLength)
			}
		}
	}
}

func TestVerifyInclusionEdgeCases(t *testing.T) {
	var someHash Hash
	for i := range someHash {
		someHash[i] = byte(i)
	}
	otherHash := LeafHash([]byte("other"))
	long := make([]Hash, MaxProofLength+10)
	tests := []struct {
		name        string
		index, size uint64
		proof       []Hash
		want        error
	}{
		{"empty tree", 0, 0, nil, ErrIndexOutOfRange},
		{"empty tree, large index", math.MaxUint64, 0, nil, ErrIndexOutOfRange},
		{"index equals size", 1, 1, nil, ErrIndexOutOfRange},
		{"index beyond size", 7, 3, []Hash{someHash, someHash}, ErrIndexOutOfRange},
		{"largest index, largest size", math.MaxUint64, math.MaxUint64, nil, ErrIndexOutOfRange},
		{"one leaf, nil proof, wrong root", 0, 1, nil, ErrRootMismatch},
		{"one leaf, extra hash", 0, 1, []Hash{someHash}, ErrProofLength},
		{"two leaves, nil proof", 0, 2, nil, ErrProofLength},
		{"huge tree, nil proof", 12345, math.MaxUint64, nil, ErrProofLength},
		{"huge tree, last leaf", math.MaxUint64 - 1, math.MaxUint64, make([]Hash, MaxProofLength-1), ErrRootMismatch},
		{"huge tree, last leaf, one hash too many", math.MaxUint64 - 1, math.MaxUint64, make([]Hash, MaxProofLength), ErrProofLength},
		{"huge tree, first leaf", 0, math.MaxUint64, make([]Hash, MaxProofLength), ErrRootMismatch},
		{"2^63 leaves, last leaf", 1<<63 - 1, 1 << 63, make([]Hash, 63), ErrRootMismatch},
		{"over-long proof", 3, 10, long, ErrProofLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyInclusionHash(someHash, tc.index, tc.size, tc.proof, otherHash)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifyInclusionHash: got %v, want %v", err, tc.want)
			}
			err = VerifyInclusion(nil, tc.index, tc.size, tc.proof, otherHash)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifyInclusion: got %v, want %v", err, tc.want)
			}
		})
	}

	// In a one-leaf tree the root is the leaf hash and the proof is empty.
	leaf := []byte("only")
	if err := VerifyInclusion(leaf, 0, 1, nil, LeafHash(leaf)); err != nil {
		t.Errorf("one-leaf tree: %v", err)
	}
	if err := VerifyInclusion(leaf, 0, 1, []Hash{}, LeafHash(leaf)); err != nil {
		t.Errorf("one-leaf tree, empty non-nil proof: %v", err)
	}
}

func TestProofLength(t *testing.T) {
	tests := []struct {
		index, size uint64
		want        int
	}{
		{0, 1, 0},
		{0, 2, 1},
		{2, 3, 1},
		{0, 8, 3},
		{4, 5, 1},
		{1, 5, 3},
		{0, math.MaxUint64, 64},
		{math.MaxUint64 - 1, math.MaxUint64, 63},
		{1 << 62, math.MaxUint64, 64},
		{1<<63 - 1, 1 << 63, 63},
		{1 << 63, 1<<63 + 1, 1},
	}
	for _, tc := range tests {
		got, err := ProofLength(tc.index, tc.size)
		if err != nil || got != tc.want {
			t.Errorf("ProofLength(%d, %d) = %d, %v, want %d", tc.index, tc.size, got, err, tc.want)
		}
	}
	if _, err := ProofLength(5, 5); !errors.Is(err, ErrIndexOutOfRange) {
		t.Errorf("ProofLength(5, 5): got %v, want ErrIndexOutOfRange", err)
	}
}

func TestTreeAccessors(t *testing.T) {
	for name, tree := range map[string]*Tree{
		"zero value":          {},
		"nil":                 nil,
		"New(nil)":            New(nil),
		"NewFromLeafHashes()": NewFromLeafHashes(nil),
	} {
		t.Run(name, func(t *testing.T) {
			if tree.Size() != 0 {
				t.Errorf("Size() = %d, want 0", tree.Size())
			}
			if got, want := tree.Root(), mustHash(t, ctRoots[0]); got != want {
				t.Errorf("Root() = %s, want %s", got, want)
			}
			if _, err := tree.Proof(0); !errors.Is(err, ErrIndexOutOfRange) {
				t.Errorf("Proof(0): got %v, want ErrIndexOutOfRange", err)
			}
			if _, err := tree.LeafHash(0); !errors.Is(err, ErrIndexOutOfRange) {
				t.Errorf("LeafHash(0): got %v, want ErrIndexOutOfRange", err)
			}
		})
	}

	tree := New(ctLeaves)
	for i, leaf := range ctLeaves {
		got, err := tree.LeafHash(uint64(i))
		if err != nil || got != LeafHash(leaf) {
			t.Errorf("LeafHash(%d) = %s, %v, want %s", i, got, err, LeafHash(leaf))
		}
	}
	if _, err := tree.Proof(8); !errors.Is(err, ErrIndexOutOfRange) {
		t.Errorf("Proof(8) of 8: got %v, want ErrIndexOutOfRange", err)
	}
	if _, err := tree.Proof(math.MaxUint64); !errors.Is(err, ErrIndexOutOfRange) {
		t.Errorf("Proof(MaxUint64): got %v, want ErrIndexOutOfRange", err)
	}
}

func TestTreeDoesNotAliasInputs(t *testing.T) {
	hashes := []Hash{LeafHash([]byte("a")), LeafHash([]byte("b")), LeafHash([]byte("c"))}
	tree := NewFromLeafHashes(hashes)
	root := tree.Root()
	hashes[0][0] ^= 0xff
	if tree.Root() != root {
		t.Error("changing the caller's slice changed the tree's root")
	}
	if h, _ := tree.LeafHash(0); h != LeafHash([]byte("a")) {
		t.Error("changing the caller's slice changed the tree's leaf")
	}

	leaves := [][]byte{[]byte("a"), []byte("b")}
	tree = New(leaves)
	root = tree.Root()
	leaves[1][0] = 'z'
	if tree.Root() != root {
		t.Error("changing the caller's leaf data changed the tree's root")
	}
}

func TestTreeConcurrentUse(t *testing.T) {
	leaves := testLeaves(1000)
	tree := New(leaves)
	root := tree.Root()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(leaves); i += 8 {
				proof, err := tree.Proof(uint64(i))
				if err == nil {
					err = VerifyInclusion(leaves[i], uint64(i), tree.Size(), proof, root)
				}
				if err != nil {
					errs <- fmt.Errorf("leaf %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParseHash(t *testing.T) {
	const lower = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"lower case", lower, false},
		{"upper case", strings.ToUpper(lower), false},
		{"mixed case", strings.ToUpper(lower[:32]) + lower[32:], false},
		{"empty", "", true},
		{"too short", lower[:62], true},
		{"odd length", lower[:63], true},
		{"too long", lower + "00", true},
		{"0x prefix", "0x" + lower[2:], true},
		{"leading space", " " + lower[1:], true},
		{"trailing newline", lower[:63] + "\n", true},
		{"non-hex letter", "g" + lower[1:], true},
		{"base64 instead of hex", "XcnaeacGWamtVZy3Ad7Zoqudgjqt", true},
		{"multi-byte character", "é" + lower[2:], true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseHash(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidHash) {
					t.Fatalf("ParseHash(%q): got %v, want ErrInvalidHash", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHash(%q): %v", tc.in, err)
			}
			if h.String() != lower {
				t.Errorf("String() = %s, want %s", h, lower)
			}
		})
	}
}

func TestParseProof(t *testing.T) {
	got, err := ParseProof(ctProofs[1].proof)
	if err != nil || len(got) != 3 || got[2].String() != ctProofs[1].proof[2] {
		t.Errorf("ParseProof = %v, %v", got, err)
	}
	if got, err := ParseProof(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseProof(nil) = %v, %v, want an empty proof", got, err)
	}
	_, err = ParseProof([]string{ctRoots[0], "zz"})
	if !errors.Is(err, ErrInvalidHash) || !strings.Contains(err.Error(), "proof[1]") {
		t.Errorf("ParseProof with a bad hash: got %v, want ErrInvalidHash naming proof[1]", err)
	}
	_, err = ParseProof(make([]string, MaxProofLength+1))
	if !errors.Is(err, ErrProofLength) {
		t.Errorf("ParseProof of %d hashes: got %v, want ErrProofLength", MaxProofLength+1, err)
	}
}

func TestHashJSON(t *testing.T) {
	type doc struct {
		Root  Hash   `json:"root"`
		Proof []Hash `json:"proof"`
	}
	in := doc{Root: mustHash(t, ctRoots[8]), Proof: mustProof(t, ctProofs[1].proof)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"root":"` + ctRoots[8] + `","proof":["` + strings.Join(ctProofs[1].proof, `","`) + `"]}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out) != fmt.Sprint(in) {
		t.Errorf("round trip: got %v, want %v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"root":"abc"}`), &out); !errors.Is(err, ErrInvalidHash) {
		t.Errorf("Unmarshal of a short hash: got %v, want ErrInvalidHash", err)
	}
}

func BenchmarkNewRoot100k(b *testing.B) {
	leaves := testLeaves(100_000)
	b.ReportAllocs()
	for b.Loop() {
		_ = New(leaves).Root()
	}
}

func BenchmarkRoot100k(b *testing.B) {
	leaves := testLeaves(100_000)
	b.ReportAllocs()
	for b.Loop() {
		_ = Root(leaves)
	}
}

func BenchmarkProof100k(b *testing.B) {
	tree := New(testLeaves(100_000))
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		if _, err := tree.Proof(i % tree.Size()); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

func BenchmarkVerifyInclusion100k(b *testing.B) {
	leaves := testLeaves(100_000)
	tree := New(leaves)
	const index = 77_777
	proof, err := tree.Proof(index)
	if err != nil {
		b.Fatal(err)
	}
	root := tree.Root()
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyInclusion(leaves[index], index, tree.Size(), proof, root); err != nil {
			b.Fatal(err)
		}
	}
}
