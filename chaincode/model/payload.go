package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Action is a citizen decision on an authorisation.
type Action string

// Citizen decisions.
const (
	ActionGrant  Action = "GRANT"
	ActionDeny   Action = "DENY"
	ActionPause  Action = "PAUSE"
	ActionResume Action = "RESUME"
	ActionRevoke Action = "REVOKE"
)

// Valid reports whether a is a defined action.
func (a Action) Valid() bool {
	switch a {
	case ActionGrant, ActionDeny, ActionPause, ActionResume, ActionRevoke:
		return true
	}
	return false
}

// PayloadType identifies version 1 of the decision payload format.
const PayloadType = "quanchain.consent.v1"

// MaxPayloadSize bounds the signed payload a device may send.
const MaxPayloadSize = 4096

// PayloadMaxAge is how long after issued_at a signed payload is accepted;
// PayloadMaxSkew is how far in the future issued_at may lie.
const (
	PayloadMaxAge  = 24 * time.Hour
	PayloadMaxSkew = 5 * time.Minute
)

// DecisionPayload is what a citizen's device signs. Its canonical bytes are
// the JSON encoding of this struct as encoding/json writes it: fields in this
// order, no insignificant white space. The chaincode accepts only canonical
// bytes, so there is exactly one reading of what was signed.
type DecisionPayload struct {
	Type            string   `json:"type"`
	Channel         string   `json:"channel"`
	AuthorizationID string   `json:"authorization_id"`
	Seq             int      `json:"seq"`
	Action          Action   `json:"action"`
	CitizenRef      string   `json:"citizen_ref"`
	Requester       string   `json:"requester"`
	Purpose         string   `json:"purpose"`
	Categories      []string `json:"categories"`
	DataFrom        string   `json:"data_from"`
	DataTo          string   `json:"data_to"`
	ValidUntil      string   `json:"valid_until"`
	MaxUses         int      `json:"max_uses"`
	ReferenceHash   string   `json:"reference_hash"`
	IssuedAt        string   `json:"issued_at"`
}

// NewDecisionPayload builds the payload for action on a, as of its current
// state, on channel.
func NewDecisionPayload(channel string, a *Authorization, action Action, issuedAt time.Time) DecisionPayload {
	return DecisionPayload{
		Type:            PayloadType,
		Channel:         channel,
		AuthorizationID: a.ID,
		Seq:             a.Seq,
		Action:          action,
		CitizenRef:      a.CitizenRef,
		Requester:       a.Requester,
		Purpose:         a.Purpose,
		Categories:      append([]string(nil), a.Categories...),
		DataFrom:        a.DataFrom,
		DataTo:          a.DataTo,
		ValidUntil:      a.ValidUntil,
		MaxUses:         a.MaxUses,
		ReferenceHash:   a.ReferenceHash,
		IssuedAt:        FormatTime(issuedAt),
	}
}

// Bytes returns the canonical bytes to sign.
func (p DecisionPayload) Bytes() []byte {
	if p.Categories == nil {
		p.Categories = []string{}
	}
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: only strings, ints and string slices
		panic(fmt.Sprintf("model: encoding decision payload: %v", err))
	}
	return b
}

// ParseDecisionPayload parses signed payload bytes. It accepts only the
// canonical encoding of a version-1 payload: unknown fields, duplicate or
// reordered members, extra white space and trailing data are all refused.
func ParseDecisionPayload(b []byte) (*DecisionPayload, error) {
	if len(b) == 0 {
		return nil, Errf(CodePayloadInvalid, "payload is empty")
	}
	if len(b) > MaxPayloadSize {
		return nil, Errf(CodeInputTooLarge, "payload is %d bytes, limit %d", len(b), MaxPayloadSize)
	}
	var p DecisionPayload
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, Errf(CodePayloadInvalid, "payload is not valid JSON for %s", PayloadType)
	}
	if dec.More() {
		return nil, Errf(CodePayloadInvalid, "payload has trailing data")
	}
	if p.Type != PayloadType {
		return nil, Errf(CodePayloadInvalid, "payload type must be %q", PayloadType)
	}
	if !bytes.Equal(p.Bytes(), b) {
		return nil, Errf(CodePayloadInvalid, "payload is not in canonical form")
	}
	if !p.Action.Valid() {
		return nil, Errf(CodePayloadInvalid, "payload action %q is not a decision", p.Action)
	}
	if _, err := time.Parse(time.RFC3339Nano, p.IssuedAt); err != nil {
		return nil, Errf(CodePayloadInvalid, "payload issued_at is not a time")
	}
	return &p, nil
}

// CheckFresh checks issued_at against the transaction time now.
func (p *DecisionPayload) CheckFresh(now time.Time) error {
	issued, err := time.Parse(time.RFC3339Nano, p.IssuedAt)
	if err != nil {
		return Errf(CodePayloadInvalid, "payload issued_at is not a time")
	}
	if issued.After(now.Add(PayloadMaxSkew)) {
		return Errf(CodePayloadInvalid, "payload issued_at is in the future")
	}
	if now.Sub(issued) > PayloadMaxAge {
		return Errf(CodePayloadInvalid, "payload is older than %s; sign a fresh one", PayloadMaxAge)
	}
	return nil
}

// Match checks that the payload names this channel, this authorisation in
// its current state (seq) and exactly its terms. The action is checked by
// the caller against the state machine.
func (p *DecisionPayload) Match(channel string, a *Authorization) error {
	mismatch := func(field string) error {
		return Errf(CodePayloadMismatch, "signed %s does not match the authorisation", field)
	}
	switch {
	case p.Channel != channel:
		return mismatch("channel")
	case p.AuthorizationID != a.ID:
		return mismatch("authorization_id")
	case p.Seq != a.Seq:
		return Errf(CodePayloadMismatch, "signed seq %d is not the current seq %d: the payload was already used or is stale", p.Seq, a.Seq)
	case p.CitizenRef != a.CitizenRef:
		return mismatch("citizen_ref")
	case p.Requester != a.Requester:
		return mismatch("requester")
	case p.Purpose != a.Purpose:
		return mismatch("purpose")
	case !equalStrings(p.Categories, a.Categories):
		return mismatch("categories")
	case p.DataFrom != a.DataFrom || p.DataTo != a.DataTo:
		return mismatch("data range")
	case p.ValidUntil != a.ValidUntil:
		return mismatch("valid_until")
	case p.MaxUses != a.MaxUses:
		return mismatch("max_uses")
	case p.ReferenceHash != a.ReferenceHash:
		return mismatch("reference_hash")
	}
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
