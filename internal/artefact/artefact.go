// Package artefact is the consent artefact: a self-contained, signed
// document that proves a citizen's decision on an authorisation to anyone,
// offline, and the check of it.
//
// # What proves what
//
// An artefact is a compact JWS (package jws, type [Type]) signed by the
// requesting institution's gateway. Its payload holds the authorisation as
// the requester reads it on the ledger, the registry's terms the citizen
// signed (licence, retention, schema versions), the citizen's signed
// decision bytes and signature exactly as the ledger keeps them, the
// citizen's device public key, and the decision's transaction and block.
//
// The gateway's signature adds origin only: this institution's gateway
// issued this document. What proves consent is the citizen's signature,
// checked against the device key, over bytes that name this channel, this
// authorisation and exactly these terms; and the decision's transaction on
// the ledger, which the chaincode accepted only after checking that same
// signature against the key enrolled for the citizen. [Verify] checks all
// that can be checked offline; the ledger checks are the caller's (qc
// verify artefact --ledger).
//
// # Errors
//
// Verify returns an *Error whose Code says which check failed. The
// requester gateway's Issuer refuses a decision it cannot prove with an
// *Error of CodeNotProvable, and an undecided authorisation with
// ErrNotDecided.
package artefact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/internal/jws"
)

// Type is the JWS header type of a consent artefact, and PayloadType the
// "type" member of its payload.
const (
	Type        = "quanchain-consent-artefact+jws"
	PayloadType = "quanchain.consent-artefact.v1"
)

// Codes of the checks Verify makes.
const (
	CodeSignatureInvalid = "ARTEFACT_SIGNATURE_INVALID" // the gateway's JWS signature
	CodeMalformed        = "ARTEFACT_MALFORMED"         // the payload does not decode
	CodePayloadInvalid   = "DECISION_PAYLOAD_INVALID"   // the decision bytes do not parse
	CodePayloadMismatch  = "DECISION_PAYLOAD_MISMATCH"  // they do not match the terms
	CodeKeyMismatch      = "DEVICE_KEY_MISMATCH"        // the key id is not the key's thumbprint
	CodeCitizenSignature = "CITIZEN_SIGNATURE_INVALID"  // the citizen's signature
)

// Error is a failed check.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func fail(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Terms are the registry's terms the decision payload signs beside the
// authorisation's own (model.Terms).
type Terms struct {
	Licence        string `json:"licence"`
	MayStore       bool   `json:"may_store"`
	DataLifeDays   int    `json:"data_life_days"`
	SchemaVersions []int  `json:"schema_versions"`
}

// Model returns the terms as the chaincode's model holds them.
func (t Terms) Model() model.Terms {
	return model.Terms{Licence: t.Licence, MayStore: t.MayStore, DataLifeDays: t.DataLifeDays,
		SchemaVersions: append([]int(nil), t.SchemaVersions...)}
}

// TermsFrom converts the model's terms.
func TermsFrom(t model.Terms) Terms {
	return Terms{Licence: t.Licence, MayStore: t.MayStore, DataLifeDays: t.DataLifeDays,
		SchemaVersions: append([]int{}, t.SchemaVersions...)}
}

// DeviceKey is the citizen's device public key that signed the decision,
// as enrolled in the requester's records.
type DeviceKey struct {
	KeyID     string          `json:"key_id"` // RFC 7638 thumbprint of JWK
	JWK       json.RawMessage `json:"jwk"`
	AddedAt   string          `json:"added_at,omitempty"`
	RevokedAt string          `json:"revoked_at,omitempty"`
}

// Decision is the citizen's decision as the ledger keeps it, and where.
type Decision struct {
	Action    model.Action `json:"action"`
	Reason    string       `json:"reason,omitempty"`
	KeyID     string       `json:"key_id"`
	Payload   string       `json:"payload"`   // base64 of the exact signed bytes
	Signature string       `json:"signature"` // base64 of the citizen's signature
	At        string       `json:"at"`
	TxID      string       `json:"tx_id"`
	Block     uint64       `json:"block"` // the block that holds TxID
}

// Artefact is the payload of a consent artefact.
type Artefact struct {
	Type    string `json:"type"` // PayloadType
	Channel string `json:"channel"`
	// Issuer is the MSP ID of the institution whose gateway signed: the
	// authorisation's requester.
	Issuer   string `json:"issuer"`
	IssuedAt string `json:"issued_at"`
	// Authorization is the authorisation as its requester read it when
	// the artefact was issued; its last_decision is Decision.
	Authorization model.Authorization `json:"authorization"`
	Terms         Terms               `json:"terms"`
	Decision      Decision            `json:"decision"`
	DeviceKey     DeviceKey           `json:"device_key"`
}

// New assembles an artefact from what the requester reads on the ledger:
// its authorisation a (with its last decision), the registry's terms t,
// the citizen's device key that signed, and the block of the decision's
// transaction.
func New(channel string, a *model.Authorization, t model.Terms, key model.DeviceKey, block uint64, now time.Time) (*Artefact, error) {
	d := a.LastDecision
	if d == nil {
		return nil, errors.New("artefact: the authorisation has no decision")
	}
	if key.KeyID != d.KeyID {
		return nil, fmt.Errorf("artefact: key %s did not sign the decision (%s did)", key.KeyID, d.KeyID)
	}
	auth := *a // a copy that shares nothing with a
	auth.Categories = append([]string(nil), a.Categories...)
	ld := *d
	auth.LastDecision = &ld
	return &Artefact{Type: PayloadType, Channel: channel, Issuer: a.Requester, IssuedAt: model.FormatTime(now),
		Authorization: auth, Terms: TermsFrom(t),
		Decision: Decision{Action: d.Action, Reason: d.Reason, KeyID: d.KeyID, Payload: d.Payload, Signature: d.Signature,
			At: d.At, TxID: d.TxID, Block: block},
		DeviceKey: DeviceKey{KeyID: key.KeyID, JWK: json.RawMessage(key.JWK), AddedAt: key.AddedAt, RevokedAt: key.RevokedAt}}, nil
}

// Sign returns the artefact as a compact JWS signed by s.
func (a *Artefact) Sign(s *jws.Signer) (string, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("artefact: encode: %w", err)
	}
	return s.Sign(Type, b)
}

// Verified is an artefact whose offline checks passed.
type Verified struct {
	Artefact *Artefact
	// SignerKeyID is the thumbprint of the key that signed the JWS: the
	// issuing gateway's artefact key, to compare with its published key
	// set.
	SignerKeyID string
	// Payload is the citizen's decision payload, parsed.
	Payload *model.DecisionPayload
}

// Verify makes the offline checks of a consent artefact, in this order:
//
//  1. the JWS: ES256, the header's kid is its jwk's thumbprint, the
//     signature verifies with that key;
//  2. the payload decodes (no unknown members) and is of PayloadType;
//     decision is the authorisation's last_decision; the issuer is the
//     authorisation's requester;
//  3. the decision bytes (base64) parse as a canonical decision payload
//     (model.ParseDecisionPayload) of the decision's action and reason;
//  4. they match the artefact's channel, the authorisation's terms at the
//     seq they signed, and the registry's terms (model.DecisionPayload.Match),
//     and the signed seq is below the authorisation's (the decision moved
//     it on);
//  5. the device key is a P-256 public JWK whose thumbprint is the
//     decision's key id;
//  6. the citizen's signature verifies with the device key over the
//     decision bytes.
func Verify(token string) (*Verified, error) {
	v, err := jws.Verify(token, Type)
	if err != nil {
		return nil, fail(CodeSignatureInvalid, "%v", err)
	}
	var a Artefact
	dec := json.NewDecoder(bytes.NewReader(v.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || dec.More() {
		return nil, fail(CodeMalformed, "the payload is not a consent artefact")
	}
	if a.Type != PayloadType {
		return nil, fail(CodeMalformed, "payload type %q, want %q", a.Type, PayloadType)
	}
	auth, d := &a.Authorization, a.Decision
	if ld := auth.LastDecision; ld == nil || ld.Action != d.Action || ld.Reason != d.Reason || ld.KeyID != d.KeyID ||
		ld.Payload != d.Payload || ld.Signature != d.Signature || ld.At != d.At || ld.TxID != d.TxID {
		return nil, fail(CodeMalformed, "the decision is not the authorisation's last decision")
	}
	if a.Issuer != auth.Requester {
		return nil, fail(CodeMalformed, "issued by %s, but the authorisation is %s's", a.Issuer, auth.Requester)
	}

	payload, err := sig.DecodeBase64(d.Payload)
	if err != nil {
		return nil, fail(CodePayloadInvalid, "the decision payload is not base64")
	}
	p, err := model.ParseDecisionPayload(payload)
	if err != nil {
		return nil, fail(CodePayloadInvalid, "%s", errText(err))
	}
	if p.Action != d.Action || p.Reason != d.Reason {
		return nil, fail(CodePayloadInvalid, "the payload signs %s, the decision records %s", p.Action, d.Action)
	}
	signed := *auth // the terms as they stood when signed: only seq has moved on since
	signed.Seq = p.Seq
	if err := p.Match(a.Channel, &signed, a.Terms.Model()); err != nil {
		return nil, fail(CodePayloadMismatch, "%s", errText(err))
	}
	if p.Seq >= auth.Seq {
		return nil, fail(CodePayloadMismatch, "signed seq %d, but the authorisation is at seq %d: the decision did not move it on", p.Seq, auth.Seq)
	}

	pub, err := sig.ParseJWK(a.DeviceKey.JWK)
	if err != nil {
		return nil, fail(CodeKeyMismatch, "the device key: %v", err)
	}
	if tp := sig.Thumbprint(pub); tp != d.KeyID || a.DeviceKey.KeyID != d.KeyID {
		return nil, fail(CodeKeyMismatch, "the device key's thumbprint is %s, the decision names key %s", tp, d.KeyID)
	}
	signature, err := sig.DecodeBase64(d.Signature)
	if err != nil {
		return nil, fail(CodeCitizenSignature, "the citizen's signature is not base64")
	}
	if err := sig.Verify(pub, payload, signature); err != nil {
		return nil, fail(CodeCitizenSignature, "the citizen's signature does not verify with device key %s", d.KeyID)
	}
	return &Verified{Artefact: &a, SignerKeyID: v.KeyID, Payload: p}, nil
}

// errText is a model error's message without its code.
func errText(err error) string {
	var me *model.Error
	if errors.As(err, &me) {
		return me.Message
	}
	return err.Error()
}

// SignedTerms are the registry's terms a decision payload names: those the
// citizen signed and the chaincode checked against the registry when it
// accepted the decision. An artefact carries these, so that a later change
// of the registry does not make an earlier consent unprovable.
func SignedTerms(p *model.DecisionPayload) model.Terms {
	return model.Terms{Licence: p.Licence, MayStore: p.MayStore, DataLifeDays: p.DataLifeDays,
		SchemaVersions: append([]int(nil), p.SchemaVersions...)}
}
