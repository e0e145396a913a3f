package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/quanchain/quanchain/chaincode/merkle"
	"github.com/quanchain/quanchain/gateway/internal/store"
)

// Types of delivery bodies.
const (
	DeliveryType  = "quanchain.delivery.v1"
	PredicateType = "quanchain.predicate.v1"
)

// ErrDeliveryInvalid reports a delivery body that does not verify.
var ErrDeliveryInvalid = errors.New("vault: delivery does not verify")

// DeliveryHeader names what a delivery answers: the access it will be
// recorded as on the ledger and the authorisation's terms.
type DeliveryHeader struct {
	AccessID        string   `json:"access_id"`
	AuthorizationID string   `json:"authorization_id"`
	Requester       string   `json:"requester"` // MSP ID
	Categories      []string `json:"categories"`
	DataFrom        string   `json:"data_from"` // YYYY-MM-DD
	DataTo          string   `json:"data_to"`
}

// DigestSaltSize is the size of a delivery's salt.
const DigestSaltSize = 32

// ErrDigestSalt reports a delivery salt that is not DigestSaltSize bytes.
var ErrDigestSalt = fmt.Errorf("vault: a delivery salt must be %d bytes", DigestSaltSize)

// NewDigestSalt returns a fresh delivery salt: DigestSaltSize bytes from
// crypto/rand.
func NewDigestSalt() []byte {
	salt := make([]byte, DigestSaltSize)
	rand.Read(salt)
	return salt
}

// DeliveryDigest returns the digest of a delivery: SHA-256 of the salt
// followed by the body, the delivered bytes exactly. The salt is drawn
// once per access and reaches only the requester, sealed with the body: the
// delivered bytes are often guessable (a predicate's answer is one of two
// bodies), and without the salt the digest on the ledger confirms no guess.
func DeliveryDigest(salt, body []byte) [32]byte {
	d := sha256.New()
	d.Write(salt)
	d.Write(body)
	var sum [32]byte
	d.Sum(sum[:0])
	return sum
}

// Delivery is a built response: the exact bytes to deliver, the salt of
// their digest and the digest, which access:RecordAccess records on the
// ledger. The transport seals Plaintext, the salt followed by the body, to
// the requester's key; the requester decrypts it, recomputes the digest
// over those bytes and splits them with [SplitPlaintext].
type Delivery struct {
	Body        []byte
	Salt        []byte   // DigestSaltSize random bytes
	Digest      [32]byte // SHA-256(Salt ‖ Body)
	RecordCount int
}

// DigestHex returns the digest as 64 lower-case hex digits, the ledger's
// form.
func (d Delivery) DigestHex() string { return hex.EncodeToString(d.Digest[:]) }

// Plaintext returns the bytes to seal to the requester: the salt followed by
// the body. Their SHA-256 is the digest.
func (d Delivery) Plaintext() []byte {
	return append(append(make([]byte, 0, len(d.Salt)+len(d.Body)), d.Salt...), d.Body...)
}

// unsaltedPrefix starts every delivery body. A payload that starts with it
// was sealed by a provider that did not salt its digests yet (its digest is
// SHA-256 of the body alone); a salted payload starts with it only if its
// 32 random bytes do, a chance of 2⁻¹⁵².
var unsaltedPrefix = []byte(`{"type":"quanchain.`)

// SplitPlaintext splits the decrypted bytes of a delivery into its salt
// (the first DigestSaltSize bytes) and its body. The payload of a provider
// that does not salt its digests yet is all body, and its salt is nil.
func SplitPlaintext(plain []byte) (salt, body []byte, err error) {
	if bytes.HasPrefix(plain, unsaltedPrefix) {
		return nil, plain, nil
	}
	if len(plain) <= DigestSaltSize {
		return nil, nil, fmt.Errorf("%w: the payload holds no salt and body", ErrDeliveryInvalid)
	}
	return plain[:DigestSaltSize], plain[DigestSaltSize:], nil
}

// newDelivery returns the delivery of body under salt.
func newDelivery(salt, body []byte, records int) (Delivery, error) {
	if len(salt) != DigestSaltSize {
		return Delivery{}, ErrDigestSalt
	}
	salt = bytes.Clone(salt)
	return Delivery{Body: body, Salt: salt, Digest: DeliveryDigest(salt, body), RecordCount: records}, nil
}

// DeliveredRecord is one record of a delivery body. Record holds the
// record's bytes exactly as anchored: SHA-256 of Record is RecordHash.
type DeliveredRecord struct {
	Category   string          `json:"category"`
	RecordDate string          `json:"record_date"`
	RecordHash string          `json:"record_hash"`
	Revoked    bool            `json:"revoked"`
	Proof      Proof           `json:"proof"`
	Record     json.RawMessage `json:"record"`
}

// DeliveryBody is the decoded form of a delivery (records with proofs).
type DeliveryBody struct {
	Type string `json:"type"`
	DeliveryHeader
	Records []DeliveredRecord `json:"records"`
}

// BuildDelivery builds the body that delivers records under the header:
// each record with its bytes exactly as stored, its hash and its inclusion
// proof (with the record's salt) in its anchored batch; and its digest
// under salt (DigestSaltSize bytes). The body is a deterministic function of
// the header and the records, so a retried request under the same salt
// yields the same bytes and the same digest. It fails with ErrNotBatched or
// ErrNotAnchored if a record's batch is not anchored yet (the requester
// could not verify it), with ErrCorrupt if a stored body does not give its
// hash, and with ErrDigestSalt for a salt of another size.
func (v *Vault) BuildDelivery(ctx context.Context, h DeliveryHeader, salt []byte, records []store.Record) (Delivery, error) {
	h.Categories = slices.Sorted(slices.Values(h.Categories))
	head, err := json.Marshal(struct {
		Type string `json:"type"`
		DeliveryHeader
	}{DeliveryType, h})
	if err != nil {
		return Delivery{}, fmt.Errorf("vault: build delivery: %w", err)
	}
	var buf bytes.Buffer
	buf.Write(head[:len(head)-1]) // without the closing brace
	buf.WriteString(`,"records":[`)
	p := newProver(v.proofs)
	if err := p.prefetch(ctx, records); err != nil {
		return Delivery{}, err
	}
	for i, rec := range records {
		if sum := RecordHash(rec.Body); hex.EncodeToString(sum[:]) != rec.Hash || !json.Valid(rec.Body) {
			return Delivery{}, fmt.Errorf("%w: record %d body does not give its hash", ErrCorrupt, rec.ID)
		}
		proof, err := p.proof(ctx, rec)
		if err != nil {
			return Delivery{}, err
		}
		if proof.AnchorTxID == "" {
			return Delivery{}, ErrNotAnchored
		}
		entry, err := json.Marshal(struct {
			Category   string `json:"category"`
			RecordDate string `json:"record_date"`
			RecordHash string `json:"record_hash"`
			Revoked    bool   `json:"revoked"`
			Proof      Proof  `json:"proof"`
		}{rec.Category, rec.RecordDate, rec.Hash, rec.Revoked, proof})
		if err != nil {
			return Delivery{}, fmt.Errorf("vault: build delivery: %w", err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		// The record's bytes are written as they are: encoding them with
		// encoding/json would compact and re-escape them, and the requester
		// would no longer find the anchored hash.
		buf.Write(entry[:len(entry)-1])
		buf.WriteString(`,"record":`)
		buf.Write(rec.Body)
		buf.WriteByte('}')
	}
	buf.WriteString("]}")
	return newDelivery(salt, buf.Bytes(), len(records))
}

// PredicateAnswer is the body of a minimal answer (最少必要): only the
// answer to a yes/no question about the citizen's records is delivered.
type PredicateAnswer struct {
	Type            string            `json:"type"`
	AccessID        string            `json:"access_id"`
	AuthorizationID string            `json:"authorization_id"`
	Requester       string            `json:"requester"`
	Predicate       string            `json:"predicate"` // e.g. DECEASED_BEFORE
	Params          map[string]string `json:"params"`
	Answer          bool              `json:"answer"`
}

// BuildPredicateDelivery builds the body that delivers only the answer to
// a predicate, with its digest under salt (DigestSaltSize bytes); the access
// is recorded on the ledger in predicate mode with RecordCount 0. The body
// is one of two that anyone can write down, so only the salt keeps the
// digest from telling the answer.
func BuildPredicateDelivery(h DeliveryHeader, salt []byte, predicate string, params map[string]string, answer bool) (Delivery, error) {
	if params == nil {
		params = map[string]string{}
	}
	body, err := json.Marshal(PredicateAnswer{
		Type: PredicateType, AccessID: h.AccessID, AuthorizationID: h.AuthorizationID, Requester: h.Requester,
		Predicate: predicate, Params: params, Answer: answer,
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("vault: build predicate delivery: %w", err)
	}
	return newDelivery(salt, body, 0)
}

// AnchorLookup returns a batch's anchor as the ledger holds it (the
// requester reads it from its own peer): its hex root and leaf count.
type AnchorLookup func(ctx context.Context, batchID string) (root string, leafCount int, err error)

// VerifyDelivery decodes a delivery body and checks it on the requester's
// side: every record's bytes give its hash, its category and date are
// within the header's terms, and its proof leads to the root that
// anchors(batch) reports for its batch, with the same leaf count. Errors
// wrap ErrDeliveryInvalid and name the record by position, never by
// content. Revocation is reported per record (Revoked) and is the caller's
// to act on.
func VerifyDelivery(ctx context.Context, body []byte, anchors AnchorLookup) (*DeliveryBody, error) {
	var d DeliveryBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: body does not decode", ErrDeliveryInvalid)
	}
	if d.Type != DeliveryType {
		return nil, fmt.Errorf("%w: type is not %s", ErrDeliveryInvalid, DeliveryType)
	}
	type anchor struct {
		root  merkle.Hash
		count uint64
	}
	anchored := map[string]anchor{}
	for i, r := range d.Records {
		fail := func(why string) error { return fmt.Errorf("%w: record %d: %s", ErrDeliveryInvalid, i, why) }
		sum := sha256.Sum256(r.Record)
		if hex.EncodeToString(sum[:]) != r.RecordHash {
			return nil, fail("bytes do not give the record hash")
		}
		var inner struct {
			Category   string `json:"category"`
			RecordDate string `json:"record_date"`
		}
		if json.Unmarshal(r.Record, &inner) != nil || inner.Category != r.Category || inner.RecordDate != r.RecordDate {
			return nil, fail("record does not match its category or date")
		}
		if !slices.Contains(d.Categories, r.Category) ||
			(d.DataFrom != "" && r.RecordDate < d.DataFrom) || (d.DataTo != "" && r.RecordDate > d.DataTo) {
			return nil, fail("outside the authorised categories or dates")
		}
		a, ok := anchored[r.Proof.BatchID]
		if !ok {
			text, count, err := anchors(ctx, r.Proof.BatchID)
			if err != nil {
				return nil, fmt.Errorf("%w: record %d: anchor of batch %s: %w", ErrDeliveryInvalid, i, r.Proof.BatchID, err)
			}
			root, err := merkle.ParseHash(text)
			if err != nil || count <= 0 {
				return nil, fail("batch anchor is malformed")
			}
			a = anchor{root, uint64(count)}
			anchored[r.Proof.BatchID] = a
		}
		if a.root != r.Proof.Root || a.count != r.Proof.LeafCount {
			return nil, fail("proof root or size is not the anchored one")
		}
		if err := r.Proof.Verify(sum); err != nil {
			return nil, fmt.Errorf("%w: record %d: %w", ErrDeliveryInvalid, i, err)
		}
	}
	return &d, nil
}
