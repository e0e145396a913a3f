package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Confidentiality between requesters (docs/privacy.md). Every member's peer
// holds every block, so whatever ties a citizen to a use — the citizenRef,
// the purpose, the categories, the period, the reference, the citizen's
// decision, a delivery's mode, predicate and digest, a citizen's device
// keys — lives in a Fabric private data collection of the requester
// concerned, whose members are the operator, that requester and the
// auditor. The public state keeps what anyone may know (ids, requester,
// status, counters, times, transaction ids) and the SHA-256 of the private
// record, so every organisation validates the transactions and the auditor
// can check each private record against the public one.

// CollectionPrefix starts the name of every requester's collection.
const CollectionPrefix = "req-"

// CollectionOf names the private data collection of a requester.
func CollectionOf(requesterMSP string) string { return CollectionPrefix + requesterMSP }

// Transient map keys: the private inputs of a transaction travel in the
// proposal's transient data, which reaches the endorsing peers but is
// never written to a block (the arguments are).
const (
	TransientRequest  = "request"  // consent:RequestAuthorization: an AuthorizationRequest
	TransientDecision = "decision" // consent:Decide: a DecisionInput
	TransientAccess   = "access"   // access:RecordAccess: an AccessRequest
	TransientKey      = "key"      // registry:AddCitizenKey, RevokeCitizenKey: a CitizenKeyInput
)

// DecisionInput is the private input of consent:Decide: the exact bytes the
// citizen's device signed (base64), the signature (base64) and the key.
type DecisionInput struct {
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
	KeyID     string `json:"key_id"`
	// AuthenticatorData and ClientDataJSON (base64url) are set when a
	// passkey signed: Signature is then the assertion's signature over
	// AuthenticatorData ‖ SHA-256(ClientDataJSON), and the client data's
	// challenge is the base64url SHA-256 of the payload bytes.
	AuthenticatorData string `json:"authenticator_data,omitempty"`
	ClientDataJSON    string `json:"client_data_json,omitempty"`
}

// CitizenKeyInput is the private input of registry:AddCitizenKey (JWK set)
// and registry:RevokeCitizenKey (KeyID set): the citizen as the requester
// knows them (its pairwise citizenRef) and the device key.
type CitizenKeyInput struct {
	Requester  string `json:"requester"`
	CitizenRef string `json:"citizen_ref"`
	JWK        string `json:"jwk,omitempty"`
	KeyID      string `json:"key_id,omitempty"`
	// Name is the device's name, with JWK (model.DeviceKey.Name).
	Name string `json:"name,omitempty"`
	// Kind is KeyWebAuthn or KeyWebCrypto, with JWK.
	Kind string `json:"kind,omitempty"`
	// Proof is what lets the key in, with JWK; without one the chaincode
	// refuses the enrolment.
	Proof *EnrolmentProof `json:"proof,omitempty"`
}

// PrivateHash is the hex SHA-256 of a private record as stored: the
// exact JSON bytes, as Fabric's hashed write set also carries them.
func PrivateHash(stored []byte) string {
	sum := sha256.Sum256(stored)
	return hex.EncodeToString(sum[:])
}

// Public returns the public record of a: ids, requester, status, counters,
// validity, times and transaction ids, and the hash of the private record
// stored as privateJSON.
func (a *Authorization) Public(privateJSON []byte) *Authorization {
	return &Authorization{ID: a.ID, Requester: a.Requester, ValidUntil: a.ValidUntil, MaxUses: a.MaxUses,
		Uses: a.Uses, Status: a.Status, Seq: a.Seq, RequestedAt: a.RequestedAt, GrantedAt: a.GrantedAt,
		UpdatedAt: a.UpdatedAt, RequestTxID: a.RequestTxID, LastTxID: a.LastTxID, PrivateHash: PrivateHash(privateJSON)}
}

// Public returns the public record of an access: ids, requester, provider,
// use number, time and transaction, and the hash of the private record.
func (a *Access) Public(privateJSON []byte) *Access {
	return &Access{ID: a.ID, AuthorizationID: a.AuthorizationID, Requester: a.Requester, Provider: a.Provider,
		UseNumber: a.UseNumber, AccessedAt: a.AccessedAt, TxID: a.TxID, PrivateHash: PrivateHash(privateJSON)}
}

// MarshalStored is the JSON encoding the chaincode stores a value in.
func MarshalStored(v any) ([]byte, error) { return json.Marshal(v) }
