package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
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

// PayloadType identifies version 2 of the decision payload format: version
// 1's terms and, beside them, what the registry said when the citizen
// decided — the requester's licence, the purpose's retention and each
// category's schema version — and an optional reason.
const PayloadType = "quanchain.consent.v2"

// ReasonNotMe is the one reason a payload may give: a denial of a request
// the citizen did not make (不是我申请的).
const ReasonNotMe = "NOT_ME"

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
	Type            string `json:"type"`
	Channel         string `json:"channel"`
	AuthorizationID string `json:"authorization_id"`
	Seq             int    `json:"seq"`
	Action          Action `json:"action"`
	// Reason is ReasonNotMe on a DENY of a request the citizen did not
	// make, and absent otherwise (an empty reason is not canonical).
	Reason     string `json:"reason,omitempty"`
	CitizenRef string `json:"citizen_ref"`
	Requester  string `json:"requester"`
	// Licence is the requester's licence number as registered.
	Licence string `json:"licence"`
	Purpose string `json:"purpose"`
	// MayStore and DataLifeDays are the purpose's retention as registered.
	MayStore     bool     `json:"may_store"`
	DataLifeDays int      `json:"data_life_days"`
	Categories   []string `json:"categories"`
	// SchemaVersions holds the registered schema version of each category,
	// in the order of Categories.
	SchemaVersions []int  `json:"schema_versions"`
	DataFrom       string `json:"data_from"`
	DataTo         string `json:"data_to"`
	ValidUntil     string `json:"valid_until"`
	MaxUses        int    `json:"max_uses"`
	ReferenceHash  string `json:"reference_hash"`
	IssuedAt       string `json:"issued_at"`
}

// Terms are what a decision covers beside the authorisation's own terms:
// the registry's entries the citizen is shown — the requester's licence,
// the purpose's retention and each category's schema version. The
// chaincode reads them from the registry when it checks a decision.
type Terms struct {
	Licence        string
	MayStore       bool
	DataLifeDays   int
	SchemaVersions []int // one per category, in the authorisation's order
}

// TermsOf returns the terms as registered: the requester inst, the purpose
// p and the categories cats, in the authorisation's order.
func TermsOf(inst *Institution, p *Purpose, cats []*Category) Terms {
	t := Terms{Licence: inst.Licence, MayStore: p.MayStore, DataLifeDays: p.DataLifeDays,
		SchemaVersions: make([]int, len(cats))}
	for i, c := range cats {
		t.SchemaVersions[i] = c.SchemaVersion
	}
	return t
}

// NewDecisionPayload builds the payload for action on a, as of its current
// state and the registry's terms t, on channel. A reason, if any, is set
// on the result.
func NewDecisionPayload(channel string, a *Authorization, t Terms, action Action, issuedAt time.Time) DecisionPayload {
	return DecisionPayload{
		Type:            PayloadType,
		Channel:         channel,
		AuthorizationID: a.ID,
		Seq:             a.Seq,
		Action:          action,
		CitizenRef:      a.CitizenRef,
		Requester:       a.Requester,
		Licence:         t.Licence,
		Purpose:         a.Purpose,
		MayStore:        t.MayStore,
		DataLifeDays:    t.DataLifeDays,
		Categories:      append([]string(nil), a.Categories...),
		SchemaVersions:  append([]int(nil), t.SchemaVersions...),
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
	if p.SchemaVersions == nil {
		p.SchemaVersions = []int{}
	}
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: only strings, booleans, ints and slices of them
		panic(fmt.Sprintf("model: encoding decision payload: %v", err))
	}
	return b
}

// ParseDecisionPayload parses signed payload bytes. It accepts only the
// canonical encoding of a version-2 payload: unknown fields, duplicate or
// reordered members, extra white space and trailing data are all refused;
// so are a reason other than ReasonNotMe on a DENY and a schema version
// list that does not match the categories one for one.
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
	if p.Reason != "" && (p.Reason != ReasonNotMe || p.Action != ActionDeny) {
		return nil, Errf(CodePayloadInvalid, "payload reason may only be %q, on a DENY", ReasonNotMe)
	}
	if len(p.SchemaVersions) != len(p.Categories) {
		return nil, Errf(CodePayloadInvalid, "payload names %d schema versions for %d categories", len(p.SchemaVersions), len(p.Categories))
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
// its current state (seq), exactly its terms and the registry's terms t
// (licence, retention, schema versions). The action is checked by the
// caller against the state machine.
func (p *DecisionPayload) Match(channel string, a *Authorization, t Terms) error {
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
	case !slices.Equal(p.Categories, a.Categories):
		return mismatch("categories")
	case p.DataFrom != a.DataFrom || p.DataTo != a.DataTo:
		return mismatch("data range")
	case p.ValidUntil != a.ValidUntil:
		return mismatch("valid_until")
	case p.MaxUses != a.MaxUses:
		return mismatch("max_uses")
	case p.ReferenceHash != a.ReferenceHash:
		return mismatch("reference_hash")
	case p.Licence != t.Licence:
		return Errf(CodePayloadMismatch, "signed licence does not match the requester's registered licence")
	case p.MayStore != t.MayStore || p.DataLifeDays != t.DataLifeDays:
		return Errf(CodePayloadMismatch, "signed retention does not match the purpose's registered retention")
	case !slices.Equal(p.SchemaVersions, t.SchemaVersions):
		return Errf(CodePayloadMismatch, "signed schema versions do not match the categories' registered schemas")
	}
	return nil
}
