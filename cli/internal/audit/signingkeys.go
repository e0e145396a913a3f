package audit

import (
	"fmt"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// This file holds what `qc audit decisions` checks of the key that signed
// a decision, beyond its signature: the enrolment the ledger records for
// it (kind, proof, approving key, subject) and the chain of device
// approvals that vouches for it.
//
// The chaincode enrols a key with a fresh ID token of the trusted
// provider, or with an approval signed by a key of the same citizen
// record that is active at that moment; the new key takes its approver's
// subject. So every device-approved key leads, approver by approver, to a
// key enrolled with an ID token: that enrolment is the login that
// established the citizen's devices, and the age of a grant's key is
// measured from it. A key enrolled with a phished login cannot make a
// second key, approved by the first, look old.

// signingKey returns the citizen's key kid as c records it.
func signingKey(c *model.Citizen, kid string) (model.DeviceKey, bool) {
	if c == nil {
		return model.DeviceKey{}, false
	}
	for _, k := range c.Keys {
		if k.KeyID == kid {
			return k, true
		}
	}
	return model.DeviceKey{}, false
}

// enrolmentProblem says how the record c's key k departs from what the
// chaincode writes for an enrolment it checked: a kind, a proof, the
// approving key for a device proof only, and a subject digest, which for
// a device-approved key is its approver's. "" if it does not.
func enrolmentProblem(c *model.Citizen, k model.DeviceKey) string {
	switch {
	case k.Proof == "" && k.Subject == "":
		return "no enrolment proof or subject recorded: enrolled before the chaincode required proofs"
	case k.Proof != model.ProofIDToken && k.Proof != model.ProofDevice:
		return fmt.Sprintf("enrolment proof %q is neither %s nor %s", k.Proof, model.ProofIDToken, model.ProofDevice)
	case k.Proof == model.ProofDevice && k.ApprovedBy == "":
		return "enrolled by device approval, but no approving key recorded"
	case k.Proof == model.ProofIDToken && k.ApprovedBy != "":
		return fmt.Sprintf("enrolled with an ID token, but an approving key (%s) recorded", k.ApprovedBy)
	case !model.ValidHash(k.Subject):
		return fmt.Sprintf("enrolled with proof %s, but no subject digest recorded", k.Proof)
	case k.Kind != model.KeyWebAuthn && k.Kind != model.KeyWebCrypto:
		return fmt.Sprintf("key kind %q is neither %s nor %s", k.Kind, model.KeyWebAuthn, model.KeyWebCrypto)
	}
	if k.Proof == model.ProofDevice {
		// An approver that was not active is APPROVER_UNKNOWN's.
		if ap, problem := approverOf(c, k); problem == "" && ap.Subject != k.Subject {
			return fmt.Sprintf("enrolled by key %s's approval, but with another subject digest than that key's", ap.KeyID)
		}
	}
	return ""
}

// approverOf returns the key that approved k's enrolment, which must be
// another key of the record c that was active when k was added: added at
// or before it, and not revoked at or before it. problem says why not.
func approverOf(c *model.Citizen, k model.DeviceKey) (approver model.DeviceKey, problem string) {
	ap, ok := signingKey(c, k.ApprovedBy)
	if !ok || ap.KeyID == k.KeyID {
		return ap, fmt.Sprintf("key %s, which approved key %s, is not another key of the citizen's record", k.ApprovedBy, k.KeyID)
	}
	added, err := time.Parse(time.RFC3339Nano, k.AddedAt)
	if err != nil {
		return ap, fmt.Sprintf("key %s was added at %q, not a time", k.KeyID, k.AddedAt)
	}
	apAdded, err := time.Parse(time.RFC3339Nano, ap.AddedAt)
	if err != nil || apAdded.After(added) {
		return ap, fmt.Sprintf("key %s, which approved key %s (added %s), was added at %s", ap.KeyID, k.KeyID, k.AddedAt, ap.AddedAt)
	}
	if ap.RevokedAt != "" {
		revoked, err := time.Parse(time.RFC3339Nano, ap.RevokedAt)
		if err != nil || !revoked.After(added) {
			return ap, fmt.Sprintf("key %s, which approved key %s (added %s), was revoked at %s", ap.KeyID, k.KeyID, k.AddedAt, ap.RevokedAt)
		}
	}
	return ap, ""
}

// vouchingKey follows k's device approvals back to the key whose
// enrolment vouches for it: the first one enrolled otherwise than by a
// device (with an ID token, or before proofs), k itself if k was.
// broken says where the chain breaks, if it does: the key before the
// break is returned, whose own enrolment is all that vouches for k.
func vouchingKey(c *model.Citizen, k model.DeviceKey) (root model.DeviceKey, broken string) {
	seen := map[string]bool{k.KeyID: true}
	for k.Proof == model.ProofDevice && k.ApprovedBy != "" {
		ap, problem := approverOf(c, k)
		if problem != "" {
			return k, problem
		}
		if seen[ap.KeyID] {
			return k, fmt.Sprintf("key %s's approvals go round in a circle", k.KeyID)
		}
		seen[ap.KeyID] = true
		k = ap
	}
	return k, ""
}

// CheckedDecision is one decision `qc audit decisions` checked, with the
// key that signed it as the citizen's record has it.
type CheckedDecision struct {
	AuthorizationID string       `json:"authorization_id"`
	Requester       string       `json:"requester"`
	Action          model.Action `json:"action"`
	At              string       `json:"at"`
	KeyID           string       `json:"key_id"`
	// KeyKind, KeyProof and ApprovedBy are the signing key's, as
	// enrolled; empty if the citizen's record has no such key.
	KeyKind    string `json:"key_kind"`
	KeyProof   string `json:"key_proof"`
	ApprovedBy string `json:"approved_by,omitempty"`
	// UserVerified is the decision's: whether the device verified the
	// citizen (a passkey's assertion with the UV flag).
	UserVerified bool `json:"user_verified"`
	Findings     int  `json:"findings"`
}

// SigningKeyCounts counts the keys that signed the checked decisions, each
// once per citizen record (a device enrolled for two requesters is a key
// of each requester's record, with a proof of its own), by the proof that
// enrolled it and its kind.
type SigningKeyCounts struct {
	Total   int        `json:"total"`
	IDToken KindCounts `json:"id_token"`
	Device  KindCounts `json:"device"`
	// WithoutProof are the keys with a KEY_WITHOUT_PROOF finding.
	WithoutProof KindCounts `json:"without_proof"`
	// Unknown are the key ids the citizen's record does not have.
	Unknown int `json:"unknown"`
}

// KindCounts counts keys by kind; Other has no kind the chaincode writes.
type KindCounts struct {
	Total     int `json:"total"`
	WebAuthn  int `json:"webauthn"`
	WebCrypto int `json:"webcrypto"`
	Other     int `json:"other"`
}

func (kc *KindCounts) add(kind string) {
	kc.Total++
	switch kind {
	case model.KeyWebAuthn:
		kc.WebAuthn++
	case model.KeyWebCrypto:
		kc.WebCrypto++
	default:
		kc.Other++
	}
}

func (kc KindCounts) String() string {
	if kc.Total == 0 {
		return "0"
	}
	s := fmt.Sprintf("%d (%s %d, %s %d", kc.Total, model.KeyWebAuthn, kc.WebAuthn, model.KeyWebCrypto, kc.WebCrypto)
	if kc.Other > 0 {
		s += fmt.Sprintf(", other %d", kc.Other)
	}
	return s + ")"
}

// keyTally counts signing keys once per citizen record.
type keyTally struct {
	counts *SigningKeyCounts
	seen   map[string]bool
}

// add counts the key kid of the record of citizenRef in requester's
// collection, c (nil if there is none).
func (t *keyTally) add(requester, citizenRef, kid string, c *model.Citizen) {
	id := requester + "/" + citizenRef + "/" + kid
	if t.seen[id] {
		return
	}
	t.seen[id] = true
	t.counts.Total++
	k, ok := signingKey(c, kid)
	switch {
	case !ok:
		t.counts.Unknown++
	case enrolmentProblem(c, k) != "":
		t.counts.WithoutProof.add(k.Kind)
	case k.Proof == model.ProofIDToken:
		t.counts.IDToken.add(k.Kind)
	default:
		t.counts.Device.add(k.Kind)
	}
}
