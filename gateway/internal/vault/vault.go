// Package vault is the citizen's digital safe (数字保险箱) on the provider's
// side: it imports government records, pseudonymises their citizens,
// anchors the records on the ledger in Merkle batches, proves any record's
// inclusion in its anchored batch, answers minimal yes/no questions about a
// citizen's records (最少必要), and builds the exact bytes of a delivery
// whose digest the ledger records.
//
// Records stay here (数据源不上链). What reaches the ledger is a batch's
// RFC 6962 root and leaf count, where each leaf is SHA-256(0x00 ‖ salt ‖
// record hash), the record hash is SHA-256 of the record's bytes exactly as
// stored and the salt is 32 random bytes drawn for the record at import and
// delivered with it; and, per delivery, the SHA-256 of a fresh 32-byte salt
// followed by exactly what was delivered. Whoever reads the ledger without
// a salt cannot confirm a guess of a record or of a delivery against them.
package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/internal/resident"
)

// Errors of the vault. Compare with [errors.Is].
var (
	// ErrNotBatched reports a record that is not yet in a Merkle batch.
	ErrNotBatched = errors.New("vault: record not yet batched")
	// ErrNotAnchored reports a record whose batch is not yet anchored on
	// the ledger, so that a requester could not verify it.
	ErrNotAnchored = errors.New("vault: record's batch not yet anchored")
	// ErrCorrupt reports stored data that contradicts itself (leaves that
	// do not give the batch root, a body that does not give its hash).
	ErrCorrupt = errors.New("vault: stored data is inconsistent")
)

// RecordHash returns the SHA-256 of a record's bytes exactly as stored: the
// value that, with the record's salt, makes its leaf in its Merkle batch.
func RecordHash(body []byte) [32]byte { return sha256.Sum256(body) }

// MinPseudonymKeyLength is the shortest key a Pseudonymiser accepts.
const MinPseudonymKeyLength = 32

// Pseudonymiser computes the operator's pseudonyms of a citizen, as 64
// lower-case hex digits, under the operator's secret key:
//
//   - the vault ref ([Pseudonymiser.Ref]): HMAC-SHA-256 of the normalised
//     ID number. It is the operator's own name for the citizen: the digital
//     safe's records are kept under it and it is the subject of the
//     citizen's login tokens. No other member receives it.
//   - the pairwise ref ([Pseudonymiser.PairwiseRef]): HMAC-SHA-256 of a
//     domain-separated message naming one requester and the vault ref. It
//     is the citizenRef that requester, and only that requester, knows the
//     citizen by, on its authorisations; two requesters get unrelated refs
//     for one citizen, so they cannot link their customers through them.
//
// Without the key, a ref cannot be linked to an ID number even by trying
// every possible one. The key never leaves the operator's gateway, and
// changing it changes every ref. A Pseudonymiser is safe for concurrent use.
type Pseudonymiser struct {
	key []byte
}

// NewPseudonymiser returns a Pseudonymiser keyed with a copy of key, which
// must be at least MinPseudonymKeyLength random bytes.
func NewPseudonymiser(key []byte) (*Pseudonymiser, error) {
	if len(key) < MinPseudonymKeyLength {
		return nil, fmt.Errorf("vault: pseudonymisation key must be at least %d bytes, got %d", MinPseudonymKeyLength, len(key))
	}
	return &Pseudonymiser{key: append([]byte(nil), key...)}, nil
}

// LoadPseudonymiser reads the operator's pseudonym key file (raw bytes, at
// least MinPseudonymKeyLength) and returns its Pseudonymiser.
func LoadPseudonymiser(path string) (*Pseudonymiser, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pseudonym key: %w", err)
	}
	if len(b) < MinPseudonymKeyLength {
		return nil, fmt.Errorf("pseudonym key %s is shorter than %d bytes", path, MinPseudonymKeyLength)
	}
	return NewPseudonymiser(b)
}

// Ref returns the citizenRef of an ID number. The number is normalised
// first (white space trimmed, a final x upper-cased), so every spelling of
// one number gives one citizenRef. It returns an error, wrapping one of
// resident's ErrID… values and never quoting the number, if the number is not
// a valid GB 11643 ID number.
func (p *Pseudonymiser) Ref(idNumber string) (string, error) {
	id := resident.Normalise(idNumber)
	if err := resident.Valid(id, time.Now()); err != nil {
		return "", fmt.Errorf("vault: citizen ID: %w", err)
	}
	return p.ref(id), nil
}

// ref computes the citizenRef of an ID number already normalised and
// validated.
func (p *Pseudonymiser) ref(normalisedID string) string {
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(normalisedID))
	return hex.EncodeToString(mac.Sum(nil))
}

// pairwiseDomain opens the message of a pairwise ref. A vault ref's message
// is an 18-character ID number, so no message of one kind is a message of
// the other.
const pairwiseDomain = "quanchain pairwise citizen ref v1"

// PairwiseRef returns the citizenRef that requester requesterMSP knows the
// citizen with vault ref vaultRef by: HMAC-SHA-256 under the pseudonym key
// of "quanchain pairwise citizen ref v1" ‖ 0x00 ‖ requesterMSP ‖ 0x00 ‖
// vaultRef, as 64 lower-case hex digits. It is deterministic, so the
// operator finds a citizen's authorisations by computing it for each
// requester; neither argument is checked (an MSP ID holds no 0x00, a vault
// ref is hex).
func (p *Pseudonymiser) PairwiseRef(requesterMSP, vaultRef string) string {
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(pairwiseDomain))
	mac.Write([]byte{0})
	mac.Write([]byte(requesterMSP))
	mac.Write([]byte{0})
	mac.Write([]byte(vaultRef))
	return hex.EncodeToString(mac.Sum(nil))
}

// derivedKeyDomain opens the message of a derived key; no ID number or
// pairwise domain starts with it.
const derivedKeyDomain = "quanchain derived key v1"

// DeriveKey returns a 32-byte key for purpose, derived from the pseudonym
// key: HMAC-SHA-256 of "quanchain derived key v1" ‖ 0x00 ‖ purpose. The
// operator's gateway keys what only it checks (the consent links'
// tickets) this way, so that every replica and restart agrees without
// another key file.
func (p *Pseudonymiser) DeriveKey(purpose string) []byte {
	mac := hmac.New(sha256.New, p.key)
	mac.Write([]byte(derivedKeyDomain))
	mac.Write([]byte{0})
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// Vault reads the digital safe.
type Vault struct {
	st     *store.Store
	proofs proofStore // where proofs are read: st (the tests wrap it to count the reads)
}

// New returns a Vault over st.
func New(st *store.Store) *Vault { return &Vault{st: st, proofs: st} }

// Proof is the inclusion proof of one record in its Merkle batch. Salt is
// the record's salt, without which its leaf cannot be recomputed.
type Proof struct {
	BatchID    string        `json:"batch_id"`
	Salt       string        `json:"salt,omitempty"` // hex, 64 digits; "" for a record stored before salts
	LeafIndex  uint64        `json:"leaf_index"`
	LeafCount  uint64        `json:"leaf_count"`
	Path       []merkle.Hash `json:"path"` // audit path, leaf to root
	Root       merkle.Hash   `json:"root"`
	AnchorTxID string        `json:"anchor_tx_id,omitempty"` // "" while the batch is not anchored
}

// ErrSalt reports a proof whose salt is not 64 lower-case hex digits.
var ErrSalt = errors.New("vault: salt is not 64 lower-case hex digits")

// Verify checks that the record whose hash is recordHash is the proof's
// leaf, SHA-256(0x00 ‖ salt ‖ record hash), against the proof's own root and
// leaf count. Those must be checked against the ledger's anchor of the
// batch; see [VerifyDelivery].
func (p Proof) Verify(recordHash [32]byte) error {
	salt, err := p.salt()
	if err != nil {
		return err
	}
	return merkle.VerifyRecordInclusion(salt, recordHash, p.LeafIndex, p.LeafCount, p.Path, p.Root)
}

// salt decodes the proof's salt (nil if it has none).
func (p Proof) salt() ([]byte, error) {
	if p.Salt == "" {
		return nil, nil
	}
	if !model.ValidHash(p.Salt) {
		return nil, ErrSalt
	}
	return hex.DecodeString(p.Salt)
}

// Proof returns the inclusion proof of the record with the given hex hash,
// rebuilt from its batch's stored leaves. It returns store.ErrNotFound for
// an unknown record and ErrNotBatched for a record not yet in a batch; the
// proof of a batch not yet anchored has an empty AnchorTxID.
func (v *Vault) Proof(ctx context.Context, recordHash string) (Proof, error) {
	rec, err := v.st.RecordByHash(ctx, recordHash)
	if err != nil {
		return Proof{}, err
	}
	return newProver(v.proofs).proof(ctx, rec)
}

// Proofs returns the inclusion proofs of records, in order, rebuilding
// each batch's tree once. Errors are those of [Vault.Proof].
func (v *Vault) Proofs(ctx context.Context, records []store.Record) ([]Proof, error) {
	p := newProver(v.proofs)
	if err := p.prefetch(ctx, records); err != nil {
		return nil, err
	}
	proofs := make([]Proof, len(records))
	for i, rec := range records {
		var err error
		if proofs[i], err = p.proof(ctx, rec); err != nil {
			return nil, err
		}
	}
	return proofs, nil
}

// prover builds proofs, keeping the trees it built for the records that
// follow (the records of one delivery mostly share a few batches).
//
// A batch stored in leaf blocks (store.LeafBlocks) is proved without
// reading all its leaves: the blocks are aligned subtrees of size
// store.LeafBlockSize, a power of two, so in RFC 6962's tree each is the
// node over its leaves, and the tree over the block hashes (taken as
// leaves) has the batch's root and nodes. A record's audit path is its path
// in its block's tree followed by its block's path in the tree of blocks.
//
// prefetch reads the batches and blocks of all the records to prove in two
// queries (store.ProofSources), however many batches they lie in; proof
// reads one batch at a time only what was not prefetched, and the leaves of
// a batch kept one row a leaf.
type prover struct {
	st      proofStore
	trees   map[string]*merkle.Tree // batches kept one row a leaf
	blocks  map[string]*merkle.Tree // the tree of a batch's block hashes
	inner   map[blockKey]*merkle.Tree
	batches map[string]store.Batch
	fetched map[string]store.ProofSource // by batch, from prefetch
}

// proofStore is what a prover reads: *store.Store.
type proofStore interface {
	ProofSources(ctx context.Context, refs []store.LeafBlockRef) (map[string]store.ProofSource, error)
	GetBatch(ctx context.Context, id string) (store.Batch, error)
	LeafBlocks(ctx context.Context, batchID string, k int) (blocks, leaves []merkle.Hash, err error)
	BatchLeaves(ctx context.Context, batchID string) ([]merkle.Hash, error)
}

type blockKey struct {
	batch string
	block int
}

func newProver(st proofStore) *prover {
	return &prover{st: st, trees: map[string]*merkle.Tree{}, blocks: map[string]*merkle.Tree{},
		inner: map[blockKey]*merkle.Tree{}, batches: map[string]store.Batch{}, fetched: map[string]store.ProofSource{}}
}

// prefetch reads the batches of records and the leaf blocks their proofs
// need, at once. It only reads: proof checks what was read as it uses it,
// as it checks what it reads itself.
func (p *prover) prefetch(ctx context.Context, records []store.Record) error {
	var refs []store.LeafBlockRef
	for _, rec := range records {
		if rec.BatchID == "" || rec.LeafIndex < 0 {
			continue
		}
		refs = append(refs, store.LeafBlockRef{BatchID: rec.BatchID, Block: rec.LeafIndex / store.LeafBlockSize})
	}
	if len(refs) == 0 {
		return nil
	}
	sources, err := p.st.ProofSources(ctx, refs)
	if err != nil {
		return err
	}
	for id, src := range sources {
		p.batches[id] = src.Batch
		p.fetched[id] = src
	}
	return nil
}

func (p *prover) proof(ctx context.Context, rec store.Record) (Proof, error) {
	if rec.BatchID == "" {
		return Proof{}, ErrNotBatched
	}
	b, ok := p.batches[rec.BatchID]
	if !ok {
		var err error
		if b, err = p.st.GetBatch(ctx, rec.BatchID); err != nil {
			return Proof{}, err
		}
		p.batches[rec.BatchID] = b
	}
	var path []merkle.Hash
	var root merkle.Hash
	var err error
	if _, whole := p.trees[b.ID]; whole {
		path, root, err = p.wholeProof(ctx, b, rec.LeafIndex)
	} else {
		path, root, err = p.blockProof(ctx, b, rec.LeafIndex)
		if errors.Is(err, store.ErrNotFound) {
			path, root, err = p.wholeProof(ctx, b, rec.LeafIndex)
		}
	}
	if err != nil {
		return Proof{}, err
	}
	return Proof{
		BatchID: b.ID, Salt: hex.EncodeToString(rec.Salt), LeafIndex: uint64(rec.LeafIndex), LeafCount: uint64(b.LeafCount),
		Path: path, Root: root, AnchorTxID: b.AnchoredTxID,
	}, nil
}

// leafBlocks returns what store.LeafBlocks does, from what prefetch read
// if it read it.
func (p *prover) leafBlocks(ctx context.Context, batchID string, k int) (blocks, leaves []merkle.Hash, err error) {
	src, ok := p.fetched[batchID]
	if !ok {
		return p.st.LeafBlocks(ctx, batchID, k)
	}
	if k < 0 || k >= len(src.Blocks) {
		return nil, nil, store.ErrNotFound // a batch kept one row a leaf, or a block the batch has not
	}
	if leaves, ok = src.Leaves[k]; !ok {
		return p.st.LeafBlocks(ctx, batchID, k)
	}
	return src.Blocks, leaves, nil
}

// blockProof proves leaf i of a batch kept in leaf blocks; it returns
// store.ErrNotFound for a batch kept one row a leaf.
func (p *prover) blockProof(ctx context.Context, b store.Batch, i int) ([]merkle.Hash, merkle.Hash, error) {
	const size = store.LeafBlockSize
	k := i / size
	key := blockKey{b.ID, k}
	outer, inner := p.blocks[b.ID], p.inner[key]
	if outer == nil || inner == nil {
		blocks, leaves, err := p.leafBlocks(ctx, b.ID, k)
		if err != nil {
			return nil, merkle.Hash{}, err
		}
		n := len(blocks)
		want := min(size, b.LeafCount-k*size)
		if n != (b.LeafCount+size-1)/size || len(leaves) != want {
			return nil, merkle.Hash{}, fmt.Errorf("%w: batch %s blocks do not hold its %d leaves", ErrCorrupt, b.ID, b.LeafCount)
		}
		outer, inner = merkle.NewFromLeafHashes(blocks), merkle.NewFromLeafHashes(leaves)
		if outer.Root().String() != b.Root || inner.Root() != blocks[k] {
			return nil, merkle.Hash{}, fmt.Errorf("%w: batch %s leaves do not give its root", ErrCorrupt, b.ID)
		}
		p.blocks[b.ID], p.inner[key] = outer, inner
	}
	in, err := inner.Proof(uint64(i - k*size))
	if err != nil {
		return nil, merkle.Hash{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	out, err := outer.Proof(uint64(k))
	if err != nil {
		return nil, merkle.Hash{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return append(in, out...), outer.Root(), nil
}

// wholeProof proves leaf i of a batch from all its leaves.
func (p *prover) wholeProof(ctx context.Context, b store.Batch, i int) ([]merkle.Hash, merkle.Hash, error) {
	tree, ok := p.trees[b.ID]
	if !ok {
		leaves, err := p.st.BatchLeaves(ctx, b.ID)
		if err != nil {
			return nil, merkle.Hash{}, err
		}
		tree = merkle.NewFromLeafHashes(leaves)
		if tree.Root().String() != b.Root || tree.Size() != uint64(b.LeafCount) {
			return nil, merkle.Hash{}, fmt.Errorf("%w: batch %s leaves do not give its root", ErrCorrupt, b.ID)
		}
		p.trees[b.ID] = tree
	}
	path, err := tree.Proof(uint64(i))
	if err != nil {
		return nil, merkle.Hash{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return path, tree.Root(), nil
}
