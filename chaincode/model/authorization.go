package model

import "time"

// AuthStatus is the state of an authorisation.
type AuthStatus string

// Authorisation states. EXPIRED is derived from the transaction time and is
// never stored; EXHAUSTED is stored by the delivery that uses the last use.
const (
	AuthPending   AuthStatus = "PENDING"
	AuthGranted   AuthStatus = "GRANTED"
	AuthDenied    AuthStatus = "DENIED"
	AuthPaused    AuthStatus = "PAUSED"
	AuthRevoked   AuthStatus = "REVOKED"
	AuthWithdrawn AuthStatus = "WITHDRAWN"
	AuthExpired   AuthStatus = "EXPIRED"
	AuthExhausted AuthStatus = "EXHAUSTED"
)

// Valid reports whether s is a defined status.
func (s AuthStatus) Valid() bool {
	switch s {
	case AuthPending, AuthGranted, AuthDenied, AuthPaused, AuthRevoked,
		AuthWithdrawn, AuthExpired, AuthExhausted:
		return true
	}
	return false
}

// AuthorizationRequest is what a requester institution submits to ask a
// citizen for an authorisation (逐笔授权: one per loan application or claim).
type AuthorizationRequest struct {
	ID         string   `json:"id"`
	CitizenRef string   `json:"citizen_ref"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	DataFrom   string   `json:"data_from"`   // YYYY-MM-DD, inclusive
	DataTo     string   `json:"data_to"`     // YYYY-MM-DD, inclusive
	ValidUntil string   `json:"valid_until"` // RFC 3339
	MaxUses    int      `json:"max_uses"`
	// ReferenceHash is the HMAC-SHA-256 (hex), under a key of the
	// requester's gateway, of its own reference (loan application or claim
	// number); the reference itself stays off-ledger (docs/api.md).
	ReferenceHash string `json:"reference_hash"`
	// Subject is the SubjectDigest of the applicant, from the ID number
	// the requester was given; only a key enrolled for the same digest
	// may decide.
	Subject string `json:"subject"`
}

// Authorization is a citizen's authorisation, from request to its end.
type Authorization struct {
	ID            string     `json:"id"`
	CitizenRef    string     `json:"citizen_ref"`
	Requester     string     `json:"requester"` // MSP ID of the requesting institution
	Purpose       string     `json:"purpose"`
	Categories    []string   `json:"categories"` // sorted
	DataFrom      string     `json:"data_from"`
	DataTo        string     `json:"data_to"`
	ValidUntil    string     `json:"valid_until"`
	MaxUses       int        `json:"max_uses"`
	Uses          int        `json:"uses"`
	Status        AuthStatus `json:"status"`
	ReferenceHash string     `json:"reference_hash"`
	// Subject is the request's SubjectDigest (private record only).
	Subject string `json:"subject,omitempty"`
	// Seq counts the state changes of this authorisation. A decision payload
	// must name the current Seq, so a signature is good for one change only.
	Seq          int       `json:"seq"`
	RequestedAt  string    `json:"requested_at"`
	GrantedAt    string    `json:"granted_at,omitempty"`
	UpdatedAt    string    `json:"updated_at"`
	LastDecision *Decision `json:"last_decision,omitempty"`
	RequestTxID  string    `json:"request_tx_id"`
	LastTxID     string    `json:"last_tx_id"`
	// PrivateHash is set on the public record only: the hex SHA-256 of the
	// private record it stands for (see Public).
	PrivateHash string `json:"private_hash,omitempty"`
}

// Decision is the receipt of a citizen decision as kept on the ledger: the
// exact signed bytes and the signature, so anyone can verify it again.
type Decision struct {
	Action Action `json:"action"`
	// Reason is the signed payload's reason: ReasonNotMe on a denial of a
	// request the citizen did not make, otherwise empty.
	Reason    string `json:"reason,omitempty"`
	KeyID     string `json:"key_id"`
	Payload   string `json:"payload"`   // base64 of the exact signed bytes
	Signature string `json:"signature"` // base64 of the signature as received
	// AuthenticatorData and ClientDataJSON are the passkey assertion's,
	// kept so anyone can verify it again.
	AuthenticatorData string `json:"authenticator_data,omitempty"`
	ClientDataJSON    string `json:"client_data_json,omitempty"`
	// UserVerified is whether the device verified the citizen (a PIN or a
	// biometric) for this decision: true only for a passkey assertion
	// with the UV flag; a plain WebCrypto key's decisions are false.
	UserVerified bool   `json:"user_verified"`
	At           string `json:"at"`
	TxID         string `json:"tx_id"`
}

// EffectiveStatus is the status at time now: a PENDING, GRANTED or PAUSED
// authorisation past its validity is EXPIRED.
func (a *Authorization) EffectiveStatus(now time.Time) AuthStatus {
	switch a.Status {
	case AuthPending, AuthGranted, AuthPaused:
		until, err := time.Parse(time.RFC3339Nano, a.ValidUntil)
		if err == nil && now.After(until) {
			return AuthExpired
		}
	}
	return a.Status
}

// Err returns the error an operation meets on an authorisation that has
// ended in state s (DENIED, REVOKED, WITHDRAWN, EXPIRED, EXHAUSTED), or nil
// if s is not an end state.
func (s AuthStatus) Err() error {
	switch s {
	case AuthDenied:
		return Errf(CodeAuthDenied, "the citizen denied this authorisation")
	case AuthRevoked:
		return Errf(CodeAuthRevoked, "the citizen revoked this authorisation")
	case AuthWithdrawn:
		return Errf(CodeAuthWithdrawn, "the requester withdrew this authorisation")
	case AuthExpired:
		return Errf(CodeAuthExpired, "this authorisation has expired")
	case AuthExhausted:
		return Errf(CodeAuthExhausted, "every use of this authorisation has been used")
	}
	return nil
}

// Usable returns nil if data may be delivered under a at time now to its
// requester, whose institution record is requester: a is GRANTED, within
// its validity, with a use left, and the requester is ACTIVE. Otherwise it
// returns the *Error the delivery is refused with.
//
// It is the one rule for using an authorisation: the chaincode applies it
// when it records an access, and the gateways before they deliver and again
// before they hand out an answered delivery a second time, so that nothing
// is delivered after a revocation, a pause, the end of the validity, the
// last use or the suspension of the requester.
func (a *Authorization) Usable(requester *Institution, now time.Time) error {
	switch s := a.EffectiveStatus(now); s {
	case AuthGranted:
	case AuthPending:
		return Errf(CodeAuthNotGranted, "the citizen has not granted authorisation %s", a.ID)
	case AuthPaused:
		return Errf(CodeAuthPaused, "the citizen paused authorisation %s", a.ID)
	default:
		if err := s.Err(); err != nil {
			return err
		}
		return Errf(CodeAuthNotGranted, "authorisation %s is %q", a.ID, s)
	}
	if a.Uses >= a.MaxUses {
		return AuthExhausted.Err()
	}
	if requester == nil || requester.MSPID != a.Requester {
		return Errf(CodeRequesterMismatch, "authorisation %s was not granted to this institution", a.ID)
	}
	if requester.Status != StatusActive {
		return Errf(CodeInstitutionInactive, "institution %s is %s", requester.MSPID, requester.Status)
	}
	return nil
}

// Redeliverable reports whether a delivery already recorded under the
// authorisation may be handed out again, to a retry whose answer was lost:
// as Usable, except that the uses already counted, the delivery's own
// included, do not stand against it. So the answer of the request that
// used the last use can still be fetched again, while a revocation, a
// pause, the end of the validity or the institution's suspension stops
// every retry.
func (a *Authorization) Redeliverable(requester *Institution, now time.Time) error {
	b := *a
	if b.Status == AuthExhausted {
		b.Status = AuthGranted
	}
	b.Uses = 0
	return b.Usable(requester, now)
}

// Covers reports whether every category in cats is within the authorisation.
func (a *Authorization) Covers(cats []string) bool {
	for _, c := range cats {
		found := false
		for _, have := range a.Categories {
			if have == c {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Page is one page of a listing; Bookmark is empty on the last page.
type Page[T any] struct {
	Items    []T    `json:"items"`
	Bookmark string `json:"bookmark"`
}

// HistoryEntry is one committed version of a ledger key.
type HistoryEntry struct {
	TxID      string `json:"tx_id"`
	Timestamp string `json:"timestamp"`
	IsDelete  bool   `json:"is_delete"`
	Value     string `json:"value,omitempty"` // the JSON value as stored
}
