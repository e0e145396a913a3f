package model

// Chaincode event names. Each transaction emits exactly one event; its
// payload is an Event in JSON and never carries personal data.
const (
	EventBootstrapped           = "Bootstrapped"
	EventInstitutionRegistered  = "InstitutionRegistered"
	EventInstitutionUpdated     = "InstitutionUpdated"
	EventCategoryRegistered     = "CategoryRegistered"
	EventPurposeRegistered      = "PurposeRegistered"
	EventCitizenKeyAdded        = "CitizenKeyAdded"
	EventCitizenKeyRevoked      = "CitizenKeyRevoked"
	EventIdentityPolicyProposed = "IdentityPolicyProposed"
	EventIdentityPolicyApproved = "IdentityPolicyApproved"
	EventAuthorizationRequested = "AuthorizationRequested"
	EventAuthorizationGranted   = "AuthorizationGranted"
	EventAuthorizationDenied    = "AuthorizationDenied"
	EventAuthorizationPaused    = "AuthorizationPaused"
	EventAuthorizationResumed   = "AuthorizationResumed"
	EventAuthorizationRevoked   = "AuthorizationRevoked"
	EventAuthorizationWithdrawn = "AuthorizationWithdrawn"
	EventRecordAnchored         = "RecordAnchored"
	EventBatchAnchored          = "BatchAnchored"
	EventRecordRevoked          = "RecordRevoked"
	EventAccessRecorded         = "AccessRecorded"
)

// Event is the payload of every chaincode event. Only the fields that concern
// the transaction are set. Events are in the blocks every member's peer
// holds, so they carry only what the public state shows: never a
// citizenRef, a purpose, categories or a device key of a citizen.
type Event struct {
	Name            string     `json:"name"`
	TxID            string     `json:"tx_id"`
	Time            string     `json:"time"`
	MSPID           string     `json:"msp_id,omitempty"`
	Category        string     `json:"category,omitempty"`
	Purpose         string     `json:"purpose,omitempty"` // PurposeRegistered only
	AuthorizationID string     `json:"authorization_id,omitempty"`
	Requester       string     `json:"requester,omitempty"`
	Provider        string     `json:"provider,omitempty"`
	Status          AuthStatus `json:"status,omitempty"`
	AccessID        string     `json:"access_id,omitempty"`
	UseNumber       int        `json:"use_number,omitempty"`
	RecordHash      string     `json:"record_hash,omitempty"`
	BatchID         string     `json:"batch_id,omitempty"`
	// PolicyDigest names the identity policy of IdentityPolicyProposed
	// and IdentityPolicyApproved.
	PolicyDigest string `json:"policy_digest,omitempty"`
}
