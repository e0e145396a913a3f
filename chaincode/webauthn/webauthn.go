// Package webauthn verifies WebAuthn assertions (Web Authentication Level
// 2, §7.2) made with an ES256 passkey, inside the chaincode: the relying
// party's checks, with the challenge, the relying party id and the
// accepted origins given by the caller.
//
// # What an assertion proves
//
// The authenticator signs authenticatorData ‖ SHA-256(clientDataJSON).
// authenticatorData starts with the SHA-256 of the relying party id the
// browser let the page use, and flags saying the user was present (UP)
// and, with a PIN or a biometric, verified (UV); clientDataJSON, written
// by the browser, names the ceremony ("webauthn.get"), the challenge and
// the page's origin. So a good assertion binds the challenge to a
// gesture on the device, on a page of the relying party.
//
// # Errors
//
// Errors wrap one of the sentinel errors below; test for them with
// [errors.Is]. No function in this package panics on any input.
package webauthn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/sig"
)

// Size limits of an assertion's parts.
const (
	MaxAuthenticatorData = 4 << 10
	MaxClientDataJSON    = 4 << 10
	minAuthenticatorData = 37 // rpIdHash(32) ‖ flags(1) ‖ signCount(4)
)

// Flags of authenticatorData.
const (
	FlagUserPresent  = 0x01
	FlagUserVerified = 0x04
)

// Errors returned, wrapped with details, by Verify.
var (
	ErrAuthenticatorData = errors.New("webauthn: malformed authenticator data")
	ErrRPID              = errors.New("webauthn: relying party id does not match")
	ErrUserPresence      = errors.New("webauthn: user not present")
	ErrUserVerification  = errors.New("webauthn: user not verified")
	ErrClientData        = errors.New("webauthn: malformed or refused client data")
	ErrChallenge         = errors.New("webauthn: challenge does not match")
	ErrOrigin            = errors.New("webauthn: origin not accepted")
	ErrSignature         = errors.New("webauthn: signature does not verify")
)

// Expect is what an assertion must match.
type Expect struct {
	RPID      string   // the relying party id (a host name)
	Origins   []string // the accepted origins, exactly as clientDataJSON names them
	Challenge []byte   // the challenge's bytes
	// RequireUV refuses an assertion without the user-verified flag.
	RequireUV bool
}

// Result is what a verified assertion reports.
type Result struct {
	UserVerified bool
	SignCount    uint32
}

// clientData is the part of clientDataJSON the relying party checks.
type clientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin *bool  `json:"crossOrigin"`
}

// Verify checks an assertion by pub: authenticatorData and clientDataJSON
// as the browser returned them (decoded), signature its ES256 signature,
// ASN.1 DER as authenticators produce it or raw r ‖ s.
func Verify(pub *ecdsa.PublicKey, authenticatorData, clientDataJSON, signature []byte, e Expect) (Result, error) {
	ad := authenticatorData
	if len(ad) < minAuthenticatorData || len(ad) > MaxAuthenticatorData {
		return Result{}, fmt.Errorf("%w: %d bytes", ErrAuthenticatorData, len(ad))
	}
	rp := sha256.Sum256([]byte(e.RPID))
	if e.RPID == "" || !bytes.Equal(ad[:32], rp[:]) {
		return Result{}, ErrRPID
	}
	flags := ad[32]
	if flags&FlagUserPresent == 0 {
		return Result{}, ErrUserPresence
	}
	uv := flags&FlagUserVerified != 0
	if e.RequireUV && !uv {
		return Result{}, ErrUserVerification
	}
	if len(clientDataJSON) > MaxClientDataJSON {
		return Result{}, fmt.Errorf("%w: %d bytes", ErrClientData, len(clientDataJSON))
	}
	var cd clientData
	if err := json.Unmarshal(clientDataJSON, &cd); err != nil {
		return Result{}, fmt.Errorf("%w: not a JSON object", ErrClientData)
	}
	if cd.Type != "webauthn.get" {
		return Result{}, fmt.Errorf("%w: type is not webauthn.get", ErrClientData)
	}
	if cd.CrossOrigin != nil && *cd.CrossOrigin {
		return Result{}, fmt.Errorf("%w: made in a cross-origin frame", ErrClientData)
	}
	ch, err := base64.RawURLEncoding.Strict().DecodeString(cd.Challenge)
	if err != nil || len(e.Challenge) == 0 || !bytes.Equal(ch, e.Challenge) {
		return Result{}, ErrChallenge
	}
	if !contains(e.Origins, cd.Origin) {
		return Result{}, ErrOrigin
	}
	cdHash := sha256.Sum256(clientDataJSON)
	msg := make([]byte, 0, len(ad)+len(cdHash))
	msg = append(append(msg, ad...), cdHash[:]...)
	if err := sig.Verify(pub, msg, signature); err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return Result{UserVerified: uv, SignCount: binary.BigEndian.Uint32(ad[33:37])}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
