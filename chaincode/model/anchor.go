package model

// RecordAnchor anchors the hash of one document (数据源不上链: the document
// stays at its source, only its SHA-256 is on the ledger), such as an
// e-licence that whoever holds it verifies with its SHA-256 alone. A single
// anchor confirms any guess of the document, so it is for documents that
// cannot be guessed (unique serial numbers, signatures); the records of the
// digital safe are anchored in batches, behind per-record salts.
type RecordAnchor struct {
	RecordHash string `json:"record_hash"` // hex SHA-256 of the record bytes
	Category   string `json:"category"`
	Provider   string `json:"provider"`
	AnchoredAt string `json:"anchored_at"`
	TxID       string `json:"tx_id"`
}

// BatchAnchorRequest anchors a Merkle batch of records.
type BatchAnchorRequest struct {
	BatchID   string `json:"batch_id"`
	Category  string `json:"category"`
	Root      string `json:"root"` // hex RFC 6962 tree head
	LeafCount int    `json:"leaf_count"`
}

// BatchAnchor is a Merkle batch of records: the RFC 6962 tree head over the
// leaves SHA-256(0x00 ‖ salt ‖ record hash), in the order the provider
// chose, each salt 32 random bytes kept with its record (merkle.RecordLeafHash).
type BatchAnchor struct {
	BatchID    string `json:"batch_id"`
	Category   string `json:"category"`
	Provider   string `json:"provider"`
	Root       string `json:"root"`
	LeafCount  int    `json:"leaf_count"`
	AnchoredAt string `json:"anchored_at"`
	TxID       string `json:"tx_id"`
}

// Revocation withdraws a record (an e-licence cancelled, a record corrected).
type Revocation struct {
	RecordHash string `json:"record_hash"`
	Category   string `json:"category"`
	Provider   string `json:"provider"`
	Reason     string `json:"reason"` // a reason code such as SUPERSEDED, never free text
	RevokedAt  string `json:"revoked_at"`
	TxID       string `json:"tx_id"`
}

// ProofRequest asks the chaincode to check an inclusion proof against a
// stored batch root. Salt is the record's salt, delivered with the record
// and its proof: the leaf is SHA-256(0x00 ‖ salt ‖ record hash). It is
// empty only for a record batched before salts were introduced.
type ProofRequest struct {
	BatchID    string   `json:"batch_id"`
	RecordHash string   `json:"record_hash"`
	Salt       string   `json:"salt,omitempty"` // hex, 64 digits (32 bytes)
	LeafIndex  uint64   `json:"leaf_index"`
	Proof      []string `json:"proof"` // hex node hashes, leaf to root
}

// MaxProofs is the most proofs one anchor:VerifyProofs checks; a longer
// list is refused with INPUT_TOO_LARGE.
const MaxProofs = 1024

// Verification is the answer to a record or proof check.
type Verification struct {
	Valid      bool          `json:"valid"`
	Anchored   bool          `json:"anchored"`
	Revoked    bool          `json:"revoked"`
	Reason     string        `json:"reason,omitempty"` // why Valid is false
	Anchor     *RecordAnchor `json:"anchor,omitempty"`
	Batch      *BatchAnchor  `json:"batch,omitempty"`
	Revocation *Revocation   `json:"revocation,omitempty"`
}

// Delivery modes of an access.
const (
	ModeRecords   = "records"   // the records themselves were delivered
	ModePredicate = "predicate" // only a yes/no answer was delivered (最少必要)
)

// AccessRequest is what a provider submits when it delivers data under an
// authorisation.
type AccessRequest struct {
	ID              string   `json:"id"`
	AuthorizationID string   `json:"authorization_id"`
	Requester       string   `json:"requester"` // MSP the data is delivered to
	Categories      []string `json:"categories"`
	Mode            string   `json:"mode"`
	Predicate       string   `json:"predicate,omitempty"` // predicate code in predicate mode
	Digest          string   `json:"digest"`              // hex SHA-256 of the delivery's salt and exactly what was delivered
	RecordCount     int      `json:"record_count"`
}

// Access is one delivery of data under an authorisation (全程留痕).
type Access struct {
	ID              string   `json:"id"`
	AuthorizationID string   `json:"authorization_id"`
	CitizenRef      string   `json:"citizen_ref"`
	Requester       string   `json:"requester"`
	Provider        string   `json:"provider"`
	Purpose         string   `json:"purpose"`
	Categories      []string `json:"categories"`
	Mode            string   `json:"mode"`
	Predicate       string   `json:"predicate,omitempty"`
	Digest          string   `json:"digest"`
	RecordCount     int      `json:"record_count"`
	UseNumber       int      `json:"use_number"` // 1 for the first use of the authorisation
	AccessedAt      string   `json:"accessed_at"`
	TxID            string   `json:"tx_id"`
	// PrivateHash is set on the public record only (see Public).
	PrivateHash string `json:"private_hash,omitempty"`
}
