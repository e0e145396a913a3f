// Package idtoken verifies OpenID Connect ID tokens inside the chaincode:
// compact JWS tokens signed by an identity provider whose public keys the
// ledger holds as a JSON Web Key Set.
//
// # Keys and algorithms
//
// [ParseJWKS] accepts RSA keys of at least 2048 bits with the public
// exponent 65537 (RS256) and P-256 keys (ES256), each with a kid. [Verify]
// picks the key the token's header names by kid, and the header's alg must
// be that key's algorithm: a token cannot choose a weaker algorithm than
// the key it claims, and "none", the HMAC algorithms and unknown ones are
// refused. A header that points elsewhere for its key (jku, x5u, jwk,
// x5c) or that asks for extensions (crit) is refused: the key set is the
// only source of trust.
//
// # Claims
//
// [Verify] returns the claims of a token whose signature verifies; it
// checks none of them. [Claims.Check] applies an [Expect]: issuer,
// audience and authorised party, expiry, issue and authentication time
// against a caller-given now (the chaincode's transaction time, never a
// clock), nonce, assurance level and the resident ID number claim.
//
// # Errors
//
// Errors wrap one of the sentinel errors below; test for them with
// [errors.Is]. Their text never contains the token, nor any claim's value:
// the chaincode's messages reach clients and logs. No function in this
// package panics on any input.
package idtoken

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"time"
)

// Size limits.
const (
	// MaxTokenSize is the largest compact token Verify reads.
	MaxTokenSize = 8 << 10
	// MaxJWKSSize is the largest key set ParseJWKS reads.
	MaxJWKSSize = 32 << 10
	// MaxKeys is the most keys one key set may hold.
	MaxKeys = 16
	// maxRSABits bounds the cost of verifying with a key.
	maxRSABits = 8192
	minRSABits = 2048
)

// Algorithms.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Errors returned, wrapped with details, by the functions of this package.
var (
	// ErrMalformed reports a token that is not a well-formed compact JWS
	// with a JSON header and JSON claims.
	ErrMalformed = errors.New("idtoken: malformed token")
	// ErrAlgorithm reports a header algorithm that is refused or is not
	// the key's, or a header member that is refused.
	ErrAlgorithm = errors.New("idtoken: algorithm or header refused")
	// ErrUnknownKey reports a kid the key set does not hold.
	ErrUnknownKey = errors.New("idtoken: unknown signing key")
	// ErrSignature reports a signature that does not verify.
	ErrSignature = errors.New("idtoken: signature does not verify")
	// ErrKeySet reports a key set that does not parse or holds a key
	// that is refused.
	ErrKeySet = errors.New("idtoken: invalid key set")
	// ErrClaims reports a claim that Check refuses; the errors below
	// wrap it, so errors.Is(err, ErrClaims) holds for each.
	ErrClaims = errors.New("idtoken: claims refused")
)

// Claim errors, each wrapping [ErrClaims].
var (
	ErrIssuer   = fmt.Errorf("%w: issuer", ErrClaims)
	ErrAudience = fmt.Errorf("%w: audience", ErrClaims)
	ErrExpired  = fmt.Errorf("%w: expired", ErrClaims)
	ErrIssuedAt = fmt.Errorf("%w: issue or authentication time", ErrClaims)
	ErrNonce    = fmt.Errorf("%w: nonce", ErrClaims)
	ErrACR      = fmt.Errorf("%w: assurance level", ErrClaims)
	ErrIDNumber = fmt.Errorf("%w: ID number", ErrClaims)
)

// key is one verification key of a set.
type key struct {
	alg string
	rsa *rsa.PublicKey
	ec  *ecdsa.PublicKey
}

// KeySet is a parsed JSON Web Key Set: verification keys by kid.
type KeySet struct {
	keys map[string]key
	kids []string // in the set's order
}

// Len returns how many keys the set holds.
func (ks *KeySet) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.kids)
}

// KeyIDs returns the kids of the set's keys, in the set's order.
func (ks *KeySet) KeyIDs() []string {
	if ks == nil {
		return nil
	}
	return append([]string(nil), ks.kids...)
}

// ParseJWKS parses a JSON Web Key Set ({"keys":[...]}) of at most
// [MaxJWKSSize] bytes and [MaxKeys] keys. Each key needs a kid, unique in
// the set; "use", if present, must be "sig"; "alg", if present, must be
// RS256 for an RSA key and ES256 for a P-256 key. An RSA key needs a
// modulus of 2048 to 8192 bits and the exponent 65537; a P-256 key
// coordinates on the curve. A key with a private member (d) is refused.
// The set must hold at least one key. Errors wrap [ErrKeySet].
func ParseJWKS(b []byte) (*KeySet, error) {
	if len(b) > MaxJWKSSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrKeySet, len(b), MaxJWKSSize)
	}
	top, err := parseObject(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeySet, err)
	}
	raw, ok := top["keys"]
	if !ok {
		return nil, fmt.Errorf("%w: member \"keys\" is missing", ErrKeySet)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, fmt.Errorf("%w: \"keys\" is not an array", ErrKeySet)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: the set holds no key", ErrKeySet)
	}
	if len(list) > MaxKeys {
		return nil, fmt.Errorf("%w: %d keys, the limit is %d", ErrKeySet, len(list), MaxKeys)
	}
	ks := &KeySet{keys: make(map[string]key, len(list))}
	for i, r := range list {
		kid, k, err := parseKey(r)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrKeySet, i, err)
		}
		if _, dup := ks.keys[kid]; dup {
			return nil, fmt.Errorf("%w: key %d: kid %q appears more than once", ErrKeySet, i, kid)
		}
		ks.keys[kid] = k
		ks.kids = append(ks.kids, kid)
	}
	return ks, nil
}

// parseKey parses one JWK of a set.
func parseKey(b []byte) (string, key, error) {
	m, err := parseObject(b)
	if err != nil {
		return "", key{}, err
	}
	if _, ok := m["d"]; ok {
		return "", key{}, errors.New("the key holds a private member")
	}
	str := func(name string) (string, bool, error) { return stringMember(m, name) }
	kid, ok, err := str("kid")
	if err != nil {
		return "", key{}, err
	}
	if !ok || kid == "" || len(kid) > 256 {
		return "", key{}, errors.New("kid is missing, empty or too long")
	}
	if use, ok, err := str("use"); err != nil || ok && use != "sig" {
		return "", key{}, errors.New(`"use" is not "sig"`)
	}
	kty, _, err := str("kty")
	if err != nil {
		return "", key{}, err
	}
	alg, hasAlg, err := str("alg")
	if err != nil {
		return "", key{}, err
	}
	switch kty {
	case "RSA":
		if hasAlg && alg != RS256 {
			return "", key{}, fmt.Errorf("an RSA key's alg must be %s", RS256)
		}
		pub, err := rsaKey(m)
		if err != nil {
			return "", key{}, err
		}
		return kid, key{alg: RS256, rsa: pub}, nil
	case "EC":
		if hasAlg && alg != ES256 {
			return "", key{}, fmt.Errorf("an EC key's alg must be %s", ES256)
		}
		pub, err := ecKey(m)
		if err != nil {
			return "", key{}, err
		}
		return kid, key{alg: ES256, ec: pub}, nil
	}
	return "", key{}, errors.New(`kty must be "RSA" or "EC"`)
}

func rsaKey(m map[string]json.RawMessage) (*rsa.PublicKey, error) {
	n, err := bytesMember(m, "n")
	if err != nil {
		return nil, err
	}
	e, err := bytesMember(m, "e")
	if err != nil {
		return nil, err
	}
	if len(n) == 0 || n[0] == 0 {
		return nil, errors.New("the modulus has leading zero bytes")
	}
	bits := new(big.Int).SetBytes(n).BitLen()
	if bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("a %d-bit modulus; %d to %d bits are accepted", bits, minRSABits, maxRSABits)
	}
	if !bytes.Equal(e, []byte{1, 0, 1}) {
		return nil, errors.New("the exponent must be 65537")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}, nil
}

func ecKey(m map[string]json.RawMessage) (*ecdsa.PublicKey, error) {
	if crv, _, err := stringMember(m, "crv"); err != nil || crv != "P-256" {
		return nil, errors.New(`crv must be "P-256"`)
	}
	point := []byte{4}
	for _, name := range []string{"x", "y"} {
		c, err := bytesMember(m, name)
		if err != nil {
			return nil, err
		}
		if len(c) != 32 {
			return nil, fmt.Errorf("%q is not 32 bytes", name)
		}
		point = append(point, c...)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, errors.New("the point is not on the P-256 curve")
	}
	return pub, nil
}

// header is a JWS protected header's members that matter.
type header struct {
	alg, kid string
}

// refusedHeader lists the header members that would take the key, or the
// rules, from somewhere other than the key set.
var refusedHeader = []string{"jku", "x5u", "jwk", "x5c", "crit"}

// Claims are an ID token's claims. The registered claims Check uses are
// decoded; any other is read with [Claims.String].
type Claims struct {
	Issuer          string
	Subject         string
	Audience        []string
	AuthorizedParty string
	Nonce           string
	ACR             string
	Expiry          time.Time
	IssuedAt        time.Time
	AuthTime        time.Time // zero if the token has none
	raw             map[string]json.RawMessage
}

// String returns the claim name if it is a JSON string.
func (c *Claims) String(name string) (string, bool) {
	s, ok, err := stringMember(c.raw, name)
	if err != nil || !ok {
		return "", false
	}
	return s, true
}

// Verify parses a compact JWS token of at most [MaxTokenSize] bytes and
// checks its signature with the key of ks its header names. It returns
// the claims, none of which it checks: call [Claims.Check].
func Verify(token string, ks *KeySet) (*Claims, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrMalformed, len(token), MaxTokenSize)
	}
	if ks == nil {
		return nil, fmt.Errorf("%w: no key set", ErrUnknownKey)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	var dec [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d is not unpadded base64url", ErrMalformed, i+1)
		}
		dec[i] = b
	}
	h, err := parseHeader(dec[0])
	if err != nil {
		return nil, err
	}
	k, ok := ks.keys[h.kid]
	if !ok {
		return nil, fmt.Errorf("%w: the key set has no such kid", ErrUnknownKey)
	}
	if h.alg != k.alg {
		return nil, fmt.Errorf("%w: the header's alg is not the key's %s", ErrAlgorithm, k.alg)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := k.verify(digest[:], dec[2]); err != nil {
		return nil, err
	}
	return parseClaims(dec[1])
}

func (k key) verify(digest, signature []byte) error {
	switch k.alg {
	case RS256:
		if rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, digest, signature) != nil {
			return ErrSignature
		}
		return nil
	case ES256:
		// JWS encodes an ES256 signature as r ‖ s, 32 bytes each.
		if len(signature) != 64 {
			return fmt.Errorf("%w: an ES256 signature is 64 bytes", ErrSignature)
		}
		r := new(big.Int).SetBytes(signature[:32])
		s := new(big.Int).SetBytes(signature[32:])
		if !ecdsa.Verify(k.ec, digest, r, s) {
			return ErrSignature
		}
		return nil
	}
	return ErrAlgorithm
}

func parseHeader(b []byte) (header, error) {
	m, err := parseObject(b)
	if err != nil {
		return header{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	for _, name := range refusedHeader {
		if _, ok := m[name]; ok {
			return header{}, fmt.Errorf("%w: header member %q", ErrAlgorithm, name)
		}
	}
	alg, _, err := stringMember(m, "alg")
	if err != nil {
		return header{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if alg != RS256 && alg != ES256 {
		return header{}, fmt.Errorf("%w: alg must be %s or %s", ErrAlgorithm, RS256, ES256)
	}
	kid, ok, err := stringMember(m, "kid")
	if err != nil || !ok || kid == "" {
		return header{}, fmt.Errorf("%w: the header names no kid", ErrMalformed)
	}
	return header{alg: alg, kid: kid}, nil
}

func parseClaims(b []byte) (*Claims, error) {
	m, err := parseObject(b)
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	c := &Claims{raw: m}
	for _, s := range []struct {
		name string
		to   *string
	}{{"iss", &c.Issuer}, {"sub", &c.Subject}, {"azp", &c.AuthorizedParty}, {"nonce", &c.Nonce}, {"acr", &c.ACR}} {
		if *s.to, _, err = stringMember(m, s.name); err != nil {
			return nil, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
		}
	}
	if raw, ok := m["aud"]; ok {
		var one string
		if err := json.Unmarshal(raw, &one); err == nil && raw[0] == '"' {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(raw, &c.Audience); err != nil || raw[0] != '[' {
			return nil, fmt.Errorf("%w: claims: aud is neither a string nor an array of strings", ErrMalformed)
		}
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"exp", &c.Expiry}, {"iat", &c.IssuedAt}, {"auth_time", &c.AuthTime}} {
		raw, ok := m[t.name]
		if !ok {
			continue
		}
		if *t.to, err = numericDate(raw); err != nil {
			return nil, fmt.Errorf("%w: claims: %s: %w", ErrMalformed, t.name, err)
		}
	}
	return c, nil
}

// numericDate reads a JWT NumericDate: seconds since the epoch, whole or
// not, within years 1970–9999.
func numericDate(raw json.RawMessage) (time.Time, error) {
	var f float64
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return time.Time{}, errors.New("not a number")
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return time.Time{}, errors.New("not a number")
	}
	const maxSeconds = 253402300799 // 9999-12-31T23:59:59Z
	if math.IsNaN(f) || f < 0 || f > maxSeconds {
		return time.Time{}, errors.New("out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// Expect is what Check requires of a token's claims.
type Expect struct {
	Issuer   string // iss, byte for byte
	Audience string // in aud; azp, if present, must equal it
	// Now is the time of the check (the chaincode's transaction time).
	Now time.Time
	// MaxAge bounds how long before Now the token was issued, and the
	// citizen authenticated if the token says when.
	MaxAge time.Duration
	// Nonce accepts or refuses the token's nonce; nil refuses every token.
	Nonce func(nonce string) bool
	// ACRValues are the accepted acr values; empty accepts none.
	ACRValues []string
	// IDClaim names the claim holding the resident ID number.
	IDClaim string
}

// futureSkew is how far after Now a token may say it was issued: the
// provider's clock may run a little ahead of the orderer's.
const futureSkew = 60 * time.Second

// Check applies e to the claims and returns the normalised resident ID
// number of the claim e.IDClaim: 17 digits and a check character, a digit
// or X, upper-cased, spaces trimmed. Errors wrap [ErrClaims] and one of
// its refinements, and never include a claim's value.
func (c *Claims) Check(e Expect) (string, error) {
	if c == nil {
		return "", fmt.Errorf("%w: no claims", ErrClaims)
	}
	if c.Issuer == "" || c.Issuer != e.Issuer {
		return "", fmt.Errorf("%w: not the trusted issuer", ErrIssuer)
	}
	if e.Audience == "" || !contains(c.Audience, e.Audience) {
		return "", fmt.Errorf("%w: not issued to this audience", ErrAudience)
	}
	if _, ok := c.raw["azp"]; ok && c.AuthorizedParty != e.Audience {
		return "", fmt.Errorf("%w: azp is another party", ErrAudience)
	}
	if c.Expiry.IsZero() || !c.Expiry.After(e.Now) {
		return "", fmt.Errorf("%w: exp is missing or not after the transaction time", ErrExpired)
	}
	if c.IssuedAt.IsZero() {
		return "", fmt.Errorf("%w: iat is missing", ErrIssuedAt)
	}
	if c.IssuedAt.After(e.Now.Add(futureSkew)) {
		return "", fmt.Errorf("%w: iat is more than %s after the transaction time", ErrIssuedAt, futureSkew)
	}
	if e.Now.Sub(c.IssuedAt) > e.MaxAge {
		return "", fmt.Errorf("%w: issued more than %s before the transaction", ErrIssuedAt, e.MaxAge)
	}
	if _, ok := c.raw["auth_time"]; ok && e.Now.Sub(c.AuthTime) > e.MaxAge {
		return "", fmt.Errorf("%w: the citizen authenticated more than %s before the transaction", ErrIssuedAt, e.MaxAge)
	}
	if e.Nonce == nil || c.Nonce == "" || !e.Nonce(c.Nonce) {
		return "", fmt.Errorf("%w: the nonce is missing or does not name this enrolment", ErrNonce)
	}
	if c.ACR == "" || !contains(e.ACRValues, c.ACR) {
		return "", fmt.Errorf("%w: acr is missing or not accepted", ErrACR)
	}
	id, ok := c.String(e.IDClaim)
	if e.IDClaim == "" || !ok {
		return "", fmt.Errorf("%w: the claim is missing or not a string", ErrIDNumber)
	}
	id = NormaliseIDNumber(id)
	if !ValidIDNumber(id) {
		return "", fmt.Errorf("%w: the claim is not a resident ID number", ErrIDNumber)
	}
	return id, nil
}

// NormaliseIDNumber trims spaces and upper-cases a resident ID number.
func NormaliseIDNumber(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ValidIDNumber reports whether s is a normalised resident ID number: 18
// characters, 17 digits then a digit or X.
func ValidIDNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[17] == 'X' || '0' <= s[17] && s[17] <= '9'
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseObject parses b as exactly one JSON object and returns its members,
// refusing duplicate member names and anything after the object.
func parseObject(b []byte) (map[string]json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	m := make(map[string]json.RawMessage)
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, errors.New("malformed JSON")
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("malformed JSON")
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, errors.New("malformed JSON")
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("member %q appears more than once", name)
		}
		m[name] = v
	}
	if _, err := d.Token(); err != nil {
		return nil, errors.New("malformed JSON")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}

// stringMember returns member name, which must be a JSON string if present.
func stringMember(m map[string]json.RawMessage, name string) (string, bool, error) {
	raw, ok := m[name]
	if !ok {
		return "", false, nil
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", true, fmt.Errorf("member %q is not a string", name)
	}
	return s, true, nil
}

// bytesMember decodes member name as unpadded base64url.
func bytesMember(m map[string]json.RawMessage, name string) ([]byte, error) {
	s, ok, err := stringMember(m, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("member %q is missing", name)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("member %q is not unpadded base64url", name)
	}
	return b, nil
}
