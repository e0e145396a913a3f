// Package merkle implements the Merkle tree hashing of RFC 6962 (Certificate
// Transparency) with SHA-256: tree heads over a batch of records, audit paths
// (inclusion proofs) for single records, and their verification as specified
// in RFC 9162 §2.1.3.2.
//
// A data provider anchors a batch of records on the ledger by its tree head
// (the root) and its leaf count; the records themselves never leave the
// provider. Later it hands one record to an authorised requester together with
// the record's index and audit path, and anyone holding the anchored root and
// leaf count can check that the record was in the batch, without seeing any
// other record.
//
// # Hashing
//
// Leaves and interior nodes are hashed with distinct one-byte prefixes, so
// that a leaf can never be passed off as an interior node (RFC 6962 §2.1):
//
//	leaf:  SHA-256(0x00 ‖ data)
//	node:  SHA-256(0x01 ‖ left ‖ right)
//	empty: SHA-256("")
//
// A tree of n > 1 leaves is split into a left subtree of k leaves, k the
// largest power of two smaller than n, and a right subtree of the n−k others.
// Roots computed here are therefore interchangeable with those of any other
// RFC 6962 implementation.
//
// # Records
//
// A batch of records has one leaf per record, whose data is the record's
// salt followed by the record's hash, the salt being [SaltSize] random bytes
// drawn when the provider imported the record and kept next to it:
//
//	record leaf: SHA-256(0x00 ‖ salt ‖ SHA-256(record))
//
// The salt is handed over with the record and its proof. Without it a
// record cannot be confirmed against a root, however guessable the record
// is (a month of housing-fund deposits, a death date): whoever does not hold
// the salt would have to guess 256 random bits as well. [RecordLeafHash]
// computes the leaf and [VerifyRecordInclusion] checks a record's proof.
// A record stored before salts were introduced has an empty salt, and its
// leaf is SHA-256(0x00 ‖ SHA-256(record)).
//
// # Trust
//
// An audit path proves inclusion in the tree of exactly the given size with
// exactly the given root. Both must come from a trusted source, such as a
// batch anchor read from the ledger: the proof itself does not commit to the
// tree size, and a proof for a leaf of a small tree can also fit a larger
// tree of the same shape along the leaf's path.
//
// # Errors
//
// Verification failures wrap one of [ErrIndexOutOfRange], [ErrProofLength]
// or [ErrRootMismatch]; test for them with [errors.Is]. No function in this
// package panics on any input.
package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
)

// HashSize is the size in bytes of every hash in this package: a SHA-256
// digest.
const HashSize = sha256.Size

// MaxProofLength is the length of the longest audit path of any tree whose
// size fits in a uint64. A proof longer than this is never valid.
const MaxProofLength = 64

// Prefixes that separate the leaf and interior-node hash domains (RFC 6962
// §2.1).
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// Errors returned, wrapped with details, by the verification and parsing
// functions. Compare with [errors.Is].
var (
	// ErrIndexOutOfRange reports a leaf index that is not smaller than the
	// tree size, including any index into an empty tree.
	ErrIndexOutOfRange = errors.New("merkle: leaf index out of range")

	// ErrProofLength reports an audit path with too few or too many hashes
	// for the leaf index and tree size it claims to prove.
	ErrProofLength = errors.New("merkle: wrong proof length")

	// ErrRootMismatch reports a well-formed audit path that does not lead
	// to the expected root: the leaf, the index or a proof hash is wrong,
	// or the leaf is not in the tree.
	ErrRootMismatch = errors.New("merkle: computed root does not match")

	// ErrInvalidHash reports text that is not the hexadecimal form of a
	// hash.
	ErrInvalidHash = errors.New("merkle: invalid hash")
)

// Hash is a SHA-256 digest: a leaf hash, an interior node hash or a tree
// root. Its text form is 64 lower-case hexadecimal digits.
type Hash [HashSize]byte

// String returns h as 64 lower-case hexadecimal digits.
func (h Hash) String() string {
	return hex.EncodeToString(h[:])
}

// MarshalText implements [encoding.TextMarshaler], so that a Hash is encoded
// as its hexadecimal string in JSON.
func (h Hash) MarshalText() ([]byte, error) {
	b := make([]byte, hex.EncodedLen(HashSize))
	hex.Encode(b, h[:])
	return b, nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with the rules of
// [ParseHash].
func (h *Hash) UnmarshalText(text []byte) error {
	parsed, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}

// ParseHash parses the hexadecimal form of a hash: exactly 64 hexadecimal
// digits, in either case, with no prefix, sign or surrounding space. Errors
// wrap [ErrInvalidHash].
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("%w: want %d hexadecimal digits, got %d characters", ErrInvalidHash, 2*HashSize, len(s))
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return h, fmt.Errorf("%w: character %q at offset %d is not a hexadecimal digit", ErrInvalidHash, s[i], i)
		}
	}
	// Every character is a hexadecimal digit and the length is even, so
	// decoding cannot fail.
	hex.Decode(h[:], []byte(s))
	return h, nil
}

// ParseProof parses an audit path given as hexadecimal hashes, leaf to root,
// with the rules of [ParseHash]. A path of more than [MaxProofLength] hashes
// is rejected with [ErrProofLength] before any of it is parsed.
func ParseProof(hashes []string) ([]Hash, error) {
	if len(hashes) > MaxProofLength {
		return nil, fmt.Errorf("%w: %d hashes, no tree needs more than %d", ErrProofLength, len(hashes), MaxProofLength)
	}
	proof := make([]Hash, len(hashes))
	for i, s := range hashes {
		h, err := ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("proof[%d]: %w", i, err)
		}
		proof[i] = h
	}
	return proof, nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// LeafHash returns the hash of a leaf holding data: SHA-256(0x00 ‖ data).
func LeafHash(data []byte) Hash {
	d := sha256.New()
	d.Write([]byte{leafPrefix})
	d.Write(data)
	var h Hash
	d.Sum(h[:0])
	return h
}

// SaltSize is the size in bytes of a record's salt.
const SaltSize = 32

// RecordLeafHash returns the leaf hash of a record in a batch, given the
// record's salt and the SHA-256 of its bytes: SHA-256(0x00 ‖ salt ‖
// recordHash), that is [LeafHash] of salt ‖ recordHash. The record hash has a
// fixed length, so no two (salt, record hash) pairs give the same leaf
// data. A provider draws [SaltSize] random bytes per record; an empty salt
// gives the leaf of a record stored before salts were introduced.
func RecordLeafHash(salt []byte, recordHash Hash) Hash {
	d := sha256.New()
	d.Write([]byte{leafPrefix})
	d.Write(salt)
	d.Write(recordHash[:])
	var h Hash
	d.Sum(h[:0])
	return h
}

// NodeHash returns the hash of the interior node whose children are left and
// right: SHA-256(0x01 ‖ left ‖ right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = nodePrefix
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// emptyRoot is the root of the tree with no leaves: SHA-256 of the empty
// string.
var emptyRoot = Hash(sha256.Sum256(nil))

// Root returns the RFC 6962 Merkle tree hash (MTH) of leaves, in order. The
// root of an empty list is SHA-256 of the empty string. It uses memory for
// one hash per leaf; use [New] instead to also produce proofs.
func Root(leaves [][]byte) Hash {
	if len(leaves) == 0 {
		return emptyRoot
	}
	level := make([]Hash, len(leaves))
	for i, leaf := range leaves {
		level[i] = LeafHash(leaf)
	}
	for len(level) > 1 {
		level = reduce(level, level)
	}
	return level[0]
}

// reduce hashes the nodes of one level pairwise into dst, which may be the
// same slice as src, and returns the next level up. A last node without a
// sibling moves up unchanged: building the tree bottom up this way gives the
// same tree as the RFC 6962 split at the largest power of two.
func reduce(dst, src []Hash) []Hash {
	n := len(src)
	for i := 0; i+1 < n; i += 2 {
		dst[i/2] = NodeHash(src[i], src[i+1])
	}
	if n%2 == 1 {
		dst[n/2] = src[n-1]
	}
	return dst[:(n+1)/2]
}

// Tree is an RFC 6962 Merkle tree over a fixed list of leaves. It keeps
// every level of the tree, about two hashes per leaf, so that its root is
// read in constant time and each audit path in time logarithmic in its size.
//
// A Tree is immutable once built and safe for concurrent use. The zero Tree,
// like a nil *Tree, is the empty tree.
type Tree struct {
	// levels[0] holds the leaf hashes; each next level holds the parents
	// of the one below; the last level holds only the root. An empty tree
	// has no levels.
	levels [][]Hash
}

// New builds the tree over leaves, in order, hashing each with [LeafHash].
// It does not keep or modify leaves.
func New(leaves [][]byte) *Tree {
	hashes := make([]Hash, len(leaves))
	for i, leaf := range leaves {
		hashes[i] = LeafHash(leaf)
	}
	return build(hashes)
}

// NewFromLeafHashes builds the tree over leaf hashes that the caller has
// already computed with [LeafHash]. It copies leafHashes.
func NewFromLeafHashes(leafHashes []Hash) *Tree {
	return build(append([]Hash(nil), leafHashes...))
}

// build computes every level above leafHashes, which it takes ownership of.
func build(leafHashes []Hash) *Tree {
	if len(leafHashes) == 0 {
		return &Tree{}
	}
	levels := make([][]Hash, 0, bits.Len(uint(len(leafHashes)-1))+1)
	levels = append(levels, leafHashes)
	for level := leafHashes; len(level) > 1; {
		level = reduce(make([]Hash, (len(level)+1)/2), level)
		levels = append(levels, level)
	}
	return &Tree{levels: levels}
}

// Size returns the number of leaves in t.
func (t *Tree) Size() uint64 {
	if t == nil || len(t.levels) == 0 {
		return 0
	}
	return uint64(len(t.levels[0]))
}

// Root returns the RFC 6962 Merkle tree hash of t: the value to anchor
// together with [Tree.Size].
func (t *Tree) Root() Hash {
	if t == nil || len(t.levels) == 0 {
		return emptyRoot
	}
	return t.levels[len(t.levels)-1][0]
}

// LeafHash returns the hash of the leaf at index. It returns an error
// wrapping [ErrIndexOutOfRange] if index is not smaller than t.Size().
func (t *Tree) LeafHash(index uint64) (Hash, error) {
	if index >= t.Size() {
		return Hash{}, fmt.Errorf("%w: index %d, tree size %d", ErrIndexOutOfRange, index, t.Size())
	}
	return t.levels[0][index], nil
}

// Proof returns the audit path of the leaf at index (RFC 6962 §2.1.1): the
// sibling hashes needed to recompute the root from that leaf, ordered from
// the leaf up to the root. The path of the only leaf of a one-leaf tree is
// empty. It returns an error wrapping [ErrIndexOutOfRange] if index is not
// smaller than t.Size().
func (t *Tree) Proof(index uint64) ([]Hash, error) {
	if index >= t.Size() {
		return nil, fmt.Errorf("%w: index %d, tree size %d", ErrIndexOutOfRange, index, t.Size())
	}
	proof := make([]Hash, 0, len(t.levels)-1)
	for _, level := range t.levels[:len(t.levels)-1] {
		// A node without a sibling was moved up unchanged and adds
		// nothing to the path.
		if sibling := index ^ 1; sibling < uint64(len(level)) {
			proof = append(proof, level[sibling])
		}
		index >>= 1
	}
	return proof, nil
}

// ProofLength returns the number of hashes in the audit path of the leaf at
// index in a tree of size leaves. It returns an error wrapping
// [ErrIndexOutOfRange] if index is not smaller than size.
func ProofLength(index, size uint64) (int, error) {
	if index >= size {
		return 0, fmt.Errorf("%w: index %d, tree size %d", ErrIndexOutOfRange, index, size)
	}
	// Below the level where the paths to index and to the last leaf meet,
	// every level contributes a sibling. Above it, index lies in a
	// complete left subtree, and each level where it is a right child
	// contributes that subtree's left sibling.
	inner := bits.Len64(index ^ (size - 1))
	return inner + bits.OnesCount64(index>>uint(inner)), nil
}

// VerifyInclusion checks that leafData is the leaf at index in the tree of
// size leaves whose root is root, given the leaf's audit path proof. See
// [VerifyInclusionHash].
func VerifyInclusion(leafData []byte, index, size uint64, proof []Hash, root Hash) error {
	return VerifyInclusionHash(LeafHash(leafData), index, size, proof, root)
}

// VerifyRecordInclusion checks that the record with the given salt and hash
// (SHA-256 of its bytes) is the leaf at index in the tree of size leaves
// whose root is root, given the leaf's audit path proof. The leaf is
// [RecordLeafHash] of salt and recordHash; errors are those of
// [VerifyInclusionHash].
func VerifyRecordInclusion(salt []byte, recordHash Hash, index, size uint64, proof []Hash, root Hash) error {
	return VerifyInclusionHash(RecordLeafHash(salt, recordHash), index, size, proof, root)
}

// VerifyInclusionHash checks that the leaf whose hash is leafHash is the
// leaf at index in the tree of size leaves whose root is root, given the
// leaf's audit path proof, ordered from the leaf to the root. It follows the
// verification algorithm of RFC 9162 §2.1.3.2.
//
// It returns nil if the proof holds, and otherwise an error wrapping
// [ErrIndexOutOfRange] if index is not smaller than size, [ErrProofLength]
// if proof does not have exactly the length a path for index and size has,
// or [ErrRootMismatch] if the recomputed root differs from root.
func VerifyInclusionHash(leafHash Hash, index, size uint64, proof []Hash, root Hash) error {
	want, err := ProofLength(index, size)
	if err != nil {
		return err
	}
	if len(proof) != want {
		return fmt.Errorf("%w: got %d hashes, a path to leaf %d of %d needs %d", ErrProofLength, len(proof), index, size, want)
	}

	// fn is the index of the current node in its level and sn the index
	// of the last node of that level; r is the hash of the current node.
	fn, sn := index, size-1
	r := leafHash
	for _, p := range proof {
		if sn == 0 {
			// Unreachable after the length check; kept so that the loop
			// is correct on its own.
			return fmt.Errorf("%w: path longer than the tree is high", ErrProofLength)
		}
		if fn&1 == 1 || fn == sn {
			// The current node is a right child, or the last node of its
			// level and so a left subtree's right neighbour: p is on the
			// left.
			r = NodeHash(p, r)
			if fn&1 == 0 {
				// Skip the levels where the node had no sibling and
				// moved up unchanged.
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: path shorter than the tree is high", ErrProofLength)
	}
	if r != root {
		return fmt.Errorf("%w: leaf %d of %d leads to root %s, want %s", ErrRootMismatch, index, size, r, root)
	}
	return nil
}
