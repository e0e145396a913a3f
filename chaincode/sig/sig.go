// Package sig checks the signatures citizens make on their devices: ECDSA
// over the P-256 curve with SHA-256 (the JOSE algorithm ES256), as the
// browser's WebCrypto API produces them.
//
// A citizen's device generates a key pair that never leaves it and exports
// the public half as a JSON Web Key (RFC 7517). The operator enrols that key
// on the ledger under its RFC 7638 thumbprint, the key id; from then on every
// consent decision the citizen makes is signed on the device, and the
// chaincode checks the signature against the enrolled key before it accepts
// the decision.
//
// The package accepts public keys only: [ParseJWK] refuses any JWK that
// carries a private key, so that a client bug that exports the wrong half
// cannot put a secret on the ledger.
//
// Signatures are accepted in both common encodings: the 64-byte r ‖ s of
// WebCrypto and JWS, and the ASN.1 DER of Go's [ecdsa.SignASN1] and of most
// other libraries. Like all ECDSA signatures they are malleable: anyone can
// turn a valid signature into a different valid signature of the same
// message. Never use signature bytes as an identifier; identify a decision
// by what was signed.
//
// Errors wrap one of the sentinel errors below; test for them with
// [errors.Is]. No function in this package panics on any input.
package sig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// MaxJWKSize is the largest JWK, in bytes, that [ParseJWK] reads. A P-256
// public key needs about 200 bytes even with optional members.
const MaxJWKSize = 2048

// coordinateSize is the size in bytes of a P-256 field element, and so of
// each JWK coordinate and of each half of a raw signature.
const coordinateSize = 32

// rawSignatureSize is the size of a signature encoded as r ‖ s.
const rawSignatureSize = 2 * coordinateSize

// maxDERSignatureSize is the size of the longest DER encoding of a P-256
// signature: a SEQUENCE of two INTEGERs of up to 33 bytes each.
const maxDERSignatureSize = 2 + 2*(2+coordinateSize+1)

// Errors returned, wrapped with details, by the functions of this package.
// Compare with [errors.Is].
var (
	// ErrInvalidKey reports a JWK that is not a well-formed P-256 public
	// key, or a public key that is not a valid P-256 key.
	ErrInvalidKey = errors.New("sig: invalid P-256 public key")

	// ErrPrivateKey reports a JWK that contains a private key (the "d"
	// member). Such a JWK is refused whatever its other members are.
	ErrPrivateKey = errors.New("sig: JWK contains a private key")

	// ErrSignatureFormat reports a signature that is neither 64 bytes of
	// r ‖ s nor a DER-encoded ECDSA signature, or whose r or s is outside
	// [1, N−1], N the order of the P-256 group.
	ErrSignatureFormat = errors.New("sig: malformed signature")

	// ErrSignatureInvalid reports a well-formed signature that does not
	// verify: the message, the signature or the key is not the right one.
	ErrSignatureInvalid = errors.New("sig: signature does not verify")

	// ErrBase64 reports text that [DecodeBase64] does not accept.
	ErrBase64 = errors.New("sig: invalid base64")
)

// curveOrder is N, the order of the P-256 group.
var curveOrder = elliptic.P256().Params().N

// ParseJWK parses a JSON Web Key holding a P-256 public key, such as the
// one WebCrypto exports with exportKey("jwk", publicKey).
//
// The JWK must be a single JSON object of at most [MaxJWKSize] bytes, with no
// duplicate members, where:
//   - "kty" is "EC" and "crv" is "P-256";
//   - "x" and "y" are unpadded base64url encodings of exactly 32 bytes each,
//     and together the coordinates of a point on the curve;
//   - "alg", if present, is "ES256", and "use", if present, is "sig";
//   - "d" is absent: a JWK with a private key is refused with
//     [ErrPrivateKey], whatever "d" holds.
//
// Other members, such as "kid", "ext" and "key_ops", are ignored. Member
// names are case-sensitive, as RFC 7517 requires. Any other failure wraps
// [ErrInvalidKey].
func ParseJWK(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) > MaxJWKSize {
		return nil, fmt.Errorf("%w: JWK is %d bytes, the limit is %d", ErrInvalidKey, len(b), MaxJWKSize)
	}
	members, err := parseObject(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	if _, ok := members["d"]; ok {
		return nil, ErrPrivateKey
	}
	for _, m := range []struct {
		name, want string
		required   bool
	}{
		{"kty", "EC", true},
		{"crv", "P-256", true},
		{"alg", "ES256", false},
		{"use", "sig", false},
	} {
		got, present, err := stringMember(members, m.name)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		case !present && m.required:
			return nil, fmt.Errorf("%w: member %q is missing", ErrInvalidKey, m.name)
		case present && got != m.want:
			return nil, fmt.Errorf("%w: member %q is %q, want %q", ErrInvalidKey, m.name, got, m.want)
		}
	}

	point := make([]byte, 1, 1+2*coordinateSize)
	point[0] = 0x04 // uncompressed point: 0x04 ‖ x ‖ y
	for _, name := range []string{"x", "y"} {
		c, err := coordinate(members, name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		point = append(point, c...)
	}
	// ParseUncompressedPublicKey rejects coordinates outside the field and
	// points not on the curve; the point at infinity has no uncompressed
	// encoding.
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("%w: the point (x, y) is not on the P-256 curve", ErrInvalidKey)
	}
	return pub, nil
}

// parseObject parses b as exactly one JSON object and returns its members,
// refusing duplicate member names and anything after the object.
func parseObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("malformed JSON: member name is not a string")
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("malformed JSON in member %q: %w", name, err)
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("member %q appears more than once", name)
		}
		members[name] = value
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// stringMember returns the value of the member name, which must be a JSON
// string if present.
func stringMember(members map[string]json.RawMessage, name string) (value string, present bool, err error) {
	raw, ok := members[name]
	if !ok {
		return "", false, nil
	}
	// A JSON null would unmarshal into a string without error.
	if len(raw) == 0 || raw[0] != '"' {
		return "", true, fmt.Errorf("member %q is not a string", name)
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", true, fmt.Errorf("member %q: %w", name, err)
	}
	return value, true, nil
}

// coordinate decodes the member name as the unpadded base64url encoding of
// exactly 32 bytes.
func coordinate(members map[string]json.RawMessage, name string) ([]byte, error) {
	s, present, err := stringMember(members, name)
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, fmt.Errorf("member %q is missing", name)
	}
	const encodedSize = (coordinateSize*8 + 5) / 6 // 43 characters
	if len(s) != encodedSize {
		return nil, fmt.Errorf("member %q is %d characters, want %d (32 bytes in unpadded base64url)", name, len(s), encodedSize)
	}
	for i := 0; i < len(s); i++ {
		if !isAlphanumeric(s[i]) && s[i] != '-' && s[i] != '_' {
			return nil, fmt.Errorf("member %q: character %q at offset %d is not unpadded base64url", name, s[i], i)
		}
	}
	c, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("member %q: %w", name, err)
	}
	return c, nil
}

func isAlphanumeric(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// publicKeyBytes returns the uncompressed encoding of pub, checking that it
// is a valid P-256 public key.
func publicKeyBytes(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: no key", ErrInvalidKey)
	}
	if pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: the key is not on the P-256 curve", ErrInvalidKey)
	}
	// crypto/ecdsa dereferences the coordinates without checking them; a
	// zero PublicKey would make it panic. Reading the deprecated fields is
	// the only way to tell.
	//lint:ignore SA1019 checked for nil only, so that pub.Bytes cannot panic
	if pub.X == nil || pub.Y == nil {
		return nil, fmt.Errorf("%w: the key has no coordinates", ErrInvalidKey)
	}
	b, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return b, nil
}

// CanonicalJWK returns the RFC 7638 canonical JWK of pub: its required
// members only, in lexicographic order, without whitespace, such as
//
//	{"crv":"P-256","kty":"EC","x":"f83O…RVEU","y":"x_FE…I5a0"}
//
// It is a valid JWK that [ParseJWK] accepts, and the input of [Thumbprint].
// It returns nil if pub is not a valid P-256 public key.
func CanonicalJWK(pub *ecdsa.PublicKey) []byte {
	point, err := publicKeyBytes(pub)
	if err != nil {
		return nil
	}
	enc := base64.RawURLEncoding
	x := enc.EncodeToString(point[1 : 1+coordinateSize])
	y := enc.EncodeToString(point[1+coordinateSize:])
	// The coordinates are base64url, which needs no JSON escaping.
	return fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, x, y)
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: the unpadded
// base64url encoding of the SHA-256 of [CanonicalJWK]. The ledger uses it as
// the key id ("kid") of a citizen's device key. It returns "" if pub is not a
// valid P-256 public key.
func Thumbprint(pub *ecdsa.PublicKey) string {
	canonical := CanonicalJWK(pub)
	if canonical == nil {
		return ""
	}
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Verify checks that signature is a valid ECDSA signature of the SHA-256 of
// message under pub, a P-256 public key. The message is hashed here: pass
// the signed bytes exactly as the device signed them.
//
// A signature of exactly 64 bytes is read as r ‖ s, each a 32-byte
// big-endian integer, as WebCrypto and JWS encode it; any other signature is
// read as an ASN.1 DER SEQUENCE of two INTEGERs, as [ecdsa.SignASN1]
// produces. Both r and s must be in [1, N−1].
//
// It returns nil if the signature verifies, an error wrapping
// [ErrSignatureFormat] if signature is not well-formed, one wrapping
// [ErrSignatureInvalid] if it is well-formed but does not verify, and one
// wrapping [ErrInvalidKey] if pub is not a valid P-256 public key.
func Verify(pub *ecdsa.PublicKey, message, signature []byte) error {
	if _, err := publicKeyBytes(pub); err != nil {
		return err
	}
	r, s, err := parseSignature(signature)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignatureFormat, err)
	}
	digest := sha256.Sum256(message)
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return ErrSignatureInvalid
	}
	return nil
}

// parseSignature decodes a raw or DER signature and checks that r and s are
// in [1, N−1].
func parseSignature(sig []byte) (r, s *big.Int, err error) {
	switch {
	case len(sig) == rawSignatureSize:
		r = new(big.Int).SetBytes(sig[:coordinateSize])
		s = new(big.Int).SetBytes(sig[coordinateSize:])
	case len(sig) > maxDERSignatureSize:
		return nil, nil, fmt.Errorf("%d bytes: neither 64 bytes of r ‖ s nor at most %d bytes of DER", len(sig), maxDERSignatureSize)
	default:
		var der struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(sig, &der)
		if err != nil {
			return nil, nil, fmt.Errorf("%d bytes: neither 64 bytes of r ‖ s nor DER: %w", len(sig), err)
		}
		if len(rest) != 0 {
			return nil, nil, fmt.Errorf("%d bytes after the DER signature", len(rest))
		}
		// encoding/asn1 tolerates a few BER forms; only the one DER
		// encoding of r and s is a signature.
		if again, err := asn1.Marshal(der); err != nil || !bytes.Equal(again, sig) {
			return nil, nil, errors.New("not the DER encoding of the signature")
		}
		r, s = der.R, der.S
	}
	if r.Sign() <= 0 || r.Cmp(curveOrder) >= 0 {
		return nil, nil, errors.New("r is not in [1, N-1]")
	}
	if s.Sign() <= 0 || s.Cmp(curveOrder) >= 0 {
		return nil, nil, errors.New("s is not in [1, N-1]")
	}
	return r, s, nil
}

// DecodeBase64 decodes s in either base64 alphabet, standard (RFC 4648 §4)
// or URL-safe (§5), padded or not. It refuses whitespace, line breaks, a mix
// of the two alphabets, misplaced or partial padding and non-zero trailing
// bits, so that each byte string has one accepted encoding per form. The
// empty string decodes to no bytes. Errors wrap [ErrBase64].
func DecodeBase64(s string) ([]byte, error) {
	var std, url bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isAlphanumeric(c), c == '=':
		case c == '+' || c == '/':
			std = true
		case c == '-' || c == '_':
			url = true
		default:
			return nil, fmt.Errorf("%w: character %q at offset %d", ErrBase64, c, i)
		}
	}
	if std && url {
		return nil, fmt.Errorf("%w: mixes the standard and URL-safe alphabets", ErrBase64)
	}
	enc := base64.StdEncoding
	if url {
		enc = base64.URLEncoding
	}
	if len(s) == 0 || s[len(s)-1] != '=' {
		enc = enc.WithPadding(base64.NoPadding)
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBase64, err)
	}
	return b, nil
}
