package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrDigestMismatch is returned by VerifyDelivery when the salt and body do
// not hash to the digest.
var ErrDigestMismatch = errors.New("client: the delivery does not hash to its digest")

// DeliveryDigest is the digest the ledger records for a delivery: the
// lower-case hex SHA-256 of the 32 salt bytes followed by the body bytes
// (docs/api.md, "Commitments on the ledger"). saltHex is the answer's
// digest_salt; an empty salt is the unsalted digest of an older provider.
func DeliveryDigest(saltHex string, body []byte) (string, error) {
	salt, err := hex.DecodeString(saltHex)
	if err != nil || (len(salt) != 32 && len(salt) != 0) {
		return "", fmt.Errorf("client: digest_salt %q is not 64 hex digits", saltHex)
	}
	h := sha256.New()
	h.Write(salt)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyDelivery checks, offline, that body with its salt is what the
// access with digest recorded; digest is the access's digest as the ledger
// holds it (GET /v1/accesses) or as the data request answered it.
func VerifyDelivery(digest, saltHex string, body []byte) error {
	got, err := DeliveryDigest(saltHex, body)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(digest))) != 1 {
		return ErrDigestMismatch
	}
	return nil
}

// Verify checks d's body and salt against digest (see VerifyDelivery); an
// empty digest checks them against d.Digest.
func (d *Delivery) Verify(digest string) error {
	if digest == "" {
		digest = d.Digest
	}
	return VerifyDelivery(digest, d.DigestSalt, d.Body)
}

// RecordHash is the record_hash of a record's bytes as delivered: the
// lower-case hex SHA-256 of the bytes.
func RecordHash(record []byte) string {
	s := sha256.Sum256(record)
	return hex.EncodeToString(s[:])
}

// ReferenceHash is the reference_hash the institution's gateway records for
// reference: the lower-case hex HMAC-SHA-256 of the reference's UTF-8 bytes
// under the 32 bytes of the gateway's reference-key file. With it the
// institution matches an authorisation on the ledger with its application.
func ReferenceHash(referenceKey []byte, reference string) (string, error) {
	if len(referenceKey) != 32 {
		return "", fmt.Errorf("client: a reference key is 32 bytes, not %d", len(referenceKey))
	}
	m := hmac.New(sha256.New, referenceKey)
	m.Write([]byte(reference))
	return hex.EncodeToString(m.Sum(nil)), nil
}
