// Package model holds the ledger's JSON types, the citizen's signed decision
// payload and the stable error codes of the quanchain chaincode. It uses the
// standard library only, so the gateway and the CLI import it without pulling
// in the contract API.
//
// Nothing in these types is personal data: citizens appear only as a
// citizenRef (a keyed hash computed off-ledger), records only as hashes.
package model

import (
	"regexp"
	"time"
)

// TimeFormat is the layout of every timestamp the chaincode writes: UTC,
// fixed width, millisecond precision, so strings sort in time order.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// DateFormat is the layout of data-range bounds (calendar dates).
const DateFormat = "2006-01-02"

// FormatTime renders t in TimeFormat, in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// InstitutionKind says what an institution is and so what it may do.
type InstitutionKind string

// Institution kinds.
const (
	KindProvider InstitutionKind = "provider" // holds government data, anchors it, serves it
	KindBank     InstitutionKind = "bank"     // requests data for lending
	KindInsurer  InstitutionKind = "insurer"  // requests data for claims and underwriting
	KindAuditor  InstitutionKind = "auditor"  // reads the ledger, writes nothing
)

// Valid reports whether k is a defined kind.
func (k InstitutionKind) Valid() bool {
	switch k {
	case KindProvider, KindBank, KindInsurer, KindAuditor:
		return true
	}
	return false
}

// MayRequest reports whether institutions of this kind may ask citizens for
// authorisations.
func (k InstitutionKind) MayRequest() bool { return k == KindBank || k == KindInsurer }

// Status values of registry entries.
const (
	StatusActive    = "ACTIVE"
	StatusSuspended = "SUSPENDED"
	StatusRevoked   = "REVOKED"
)

// Config is the network-wide configuration written once by the bootstrap
// transaction.
type Config struct {
	OperatorMSP    string `json:"operator_msp"`
	BootstrappedAt string `json:"bootstrapped_at"`
	TxID           string `json:"tx_id"`
}

// Institution is a member organisation, identified by its Fabric MSP ID.
type Institution struct {
	MSPID   string          `json:"msp_id"`
	Name    string          `json:"name"`
	Kind    InstitutionKind `json:"kind"`
	Licence string          `json:"licence"`
	// Contact is where a citizen reaches the institution about a request
	// (PIPL Art. 23: the recipient's contact): a telephone number or an
	// https URL, shown on every request in the consent app.
	Contact string `json:"contact,omitempty"`
	// EncryptionKey is the institution's data-encryption public key, base64 of
	// its PKIX (SubjectPublicKeyInfo) DER encoding; P-256 or X25519.
	EncryptionKey string `json:"encryption_key,omitempty"`
	Status        string `json:"status"`
	RegisteredAt  string `json:"registered_at"`
	UpdatedAt     string `json:"updated_at"`
}

// Category is a kind of government data held by one provider.
type Category struct {
	Code        string `json:"code"`
	NameZH      string `json:"name_zh"`
	NameEN      string `json:"name_en"`
	ProviderMSP string `json:"provider_msp"`
	Sensitive   bool   `json:"sensitive"` // PIPL Art. 28 sensitive personal information
	SchemaHash  string `json:"schema_hash,omitempty"`
	// SchemaVersion numbers the field list below; a citizen's decision
	// names the version of each category it covers, so a change of what a
	// category delivers needs a new decision. 0: no field list registered.
	SchemaVersion int             `json:"schema_version,omitempty"`
	Fields        []CategoryField `json:"fields,omitempty"`
	Status        string          `json:"status"`
	RegisteredAt  string          `json:"registered_at"`
}

// Purpose is a fair-use template: what a requester may ask for under a
// purpose code, and the ceilings the chaincode enforces on every request.
type Purpose struct {
	Code              string            `json:"code"`
	NameZH            string            `json:"name_zh"`
	NameEN            string            `json:"name_en"`
	RequesterKinds    []InstitutionKind `json:"requester_kinds"`
	AllowedCategories []string          `json:"allowed_categories"`
	MaxValidityDays   int               `json:"max_validity_days"`
	MaxUses           int               `json:"max_uses"`
	MaxDataRangeDays  int               `json:"max_data_range_days"`
	MayStore          bool              `json:"may_store"`
	DataLifeDays      int               `json:"data_life_days"`
	RegisteredAt      string            `json:"registered_at"`
}

// Citizen is a pseudonymous citizen: the citizenRef and the public keys of
// the devices the operator enrolled after real-name verification.
type Citizen struct {
	Ref          string      `json:"citizen_ref"`
	Keys         []DeviceKey `json:"keys"`
	RegisteredAt string      `json:"registered_at"`
	UpdatedAt    string      `json:"updated_at"`
}

// DeviceKey is one ES256 device public key of a citizen.
type DeviceKey struct {
	// KeyID is the RFC 7638 JWK thumbprint (base64url SHA-256) of the key.
	KeyID string `json:"key_id"`
	JWK   string `json:"jwk"` // canonical RFC 7638 form
	// Name is what the citizen called the device ("iPhone"), shown in the
	// device list; at most MaxDeviceNameLen bytes, no control characters.
	Name      string `json:"name,omitempty"`
	Status    string `json:"status"`
	AddedAt   string `json:"added_at"`
	RevokedAt string `json:"revoked_at,omitempty"`
	// Kind is KeyWebAuthn or KeyWebCrypto.
	Kind string `json:"kind"`
	// Proof is the enrolment proof the chaincode checked: ProofIDToken or
	// ProofDevice; ApprovedBy is the approving key's id for ProofDevice.
	Proof      string `json:"proof"`
	ApprovedBy string `json:"approved_by,omitempty"`
	// Subject is the SubjectDigest the key was enrolled for: computed from
	// the ID token, or the approving key's.
	Subject string `json:"subject"`
}

// ActiveKey returns the citizen's key with id kid and whether it is active.
func (c *Citizen) ActiveKey(kid string) (DeviceKey, bool, bool) {
	for _, k := range c.Keys {
		if k.KeyID == kid {
			return k, true, k.Status == StatusActive
		}
	}
	return DeviceKey{}, false, false
}

var (
	phonePattern   = regexp.MustCompile(`^\+?[0-9][0-9 -]{2,30}[0-9]$`)
	contactURLSafe = regexp.MustCompile(`^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*)?$`)
)

// CheckContact checks an institution's contact: a telephone number (digits,
// spaces and '-', an optional leading '+', such as 0531-96123 or 95588) or
// an https URL, at most MaxContactLen bytes.
func CheckContact(s string) error {
	if err := CheckText("contact", s, MaxContactLen); err != nil {
		return err
	}
	if !phonePattern.MatchString(s) && !contactURLSafe.MatchString(s) {
		return Errf(CodeInvalidArgument, "contact must be a telephone number or an https URL")
	}
	return nil
}

// CheckDeviceName checks the name a citizen gives a device: a short text
// that does not hold an ID number. The name is copied into every
// requester's collection with the key.
func CheckDeviceName(s string) error {
	if err := CheckText("device name", s, MaxDeviceNameLen); err != nil {
		return err
	}
	if HasIDNumber(s) {
		return Errf(CodeInvalidArgument, "device name must not hold an ID number")
	}
	return nil
}
