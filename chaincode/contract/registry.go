package contract

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// RegistryContract keeps the network's registry: the operator configuration,
// institutions, data categories and purpose templates. Citizen keys are in
// citizen.go, on the same contract.
type RegistryContract struct {
	contractapi.Contract
}

// GetEvaluateTransactions lists the read-only transactions of the contract.
func (c *RegistryContract) GetEvaluateTransactions() []string {
	return []string{"GetConfig", "GetInstitution", "ListInstitutions", "GetCategory",
		"ListCategories", "GetPurpose", "ListPurposes", "GetCitizen", "GetIdentityPolicy", "History"}
}

// Bootstrap names the operator organisation. It runs once, submitted by the
// operator itself, and registers the operator as the first institution.
func (c *RegistryContract) Bootstrap(ctx contractapi.TransactionContextInterface, institutionJSON string) error {
	msp, err := callerMSP(ctx)
	if err != nil {
		return err
	}
	cfgKey, err := config.newKey(ctx, "")
	if err != nil {
		return err
	}
	var inst model.Institution
	if err := decodeStrict(institutionJSON, &inst); err != nil {
		return err
	}
	if err := validateInstitution(&inst); err != nil {
		return err
	}
	if inst.MSPID != msp {
		return model.Errf(model.CodeForbiddenMSP, "%s cannot bootstrap the registry for %s", msp, inst.MSPID)
	}
	if inst.Kind == model.KindAuditor {
		return model.Errf(model.CodeInvalidArgument, "the operator cannot be an auditor")
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	cfg := model.Config{OperatorMSP: msp, BootstrappedAt: model.FormatTime(now), TxID: ctx.GetStub().GetTxID()}
	if err := putJSON(ctx, cfgKey, cfg); err != nil {
		return err
	}
	if err := putInstitution(ctx, &inst, now); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventBootstrapped, MSPID: msp})
}

// RegisterInstitution registers a member organisation. Operator only.
func (c *RegistryContract) RegisterInstitution(ctx contractapi.TransactionContextInterface, institutionJSON string) error {
	if _, err := requireOperator(ctx); err != nil {
		return err
	}
	var inst model.Institution
	if err := decodeStrict(institutionJSON, &inst); err != nil {
		return err
	}
	if err := validateInstitution(&inst); err != nil {
		return err
	}
	if _, err := institutions.newKey(ctx, inst.MSPID); err != nil {
		return err
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	if err := putInstitution(ctx, &inst, now); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventInstitutionRegistered, MSPID: inst.MSPID})
}

// SetInstitutionStatus suspends, reactivates or revokes an institution.
// Operator only; the operator cannot change its own status.
func (c *RegistryContract) SetInstitutionStatus(ctx contractapi.TransactionContextInterface, mspID string, status string) error {
	op, err := requireOperator(ctx)
	if err != nil {
		return err
	}
	switch status {
	case model.StatusActive, model.StatusSuspended, model.StatusRevoked:
	default:
		return model.Errf(model.CodeInvalidArgument, "status must be ACTIVE, SUSPENDED or REVOKED")
	}
	if mspID == op {
		return model.Errf(model.CodeInvalidArgument, "the operator cannot change its own status")
	}
	inst, err := institutions.load(ctx, mspID)
	if err != nil {
		return err
	}
	if inst.Status == model.StatusRevoked {
		return model.Errf(model.CodeInvalidTransition, "institution %s is revoked for good", mspID)
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	inst.Status = status
	inst.UpdatedAt = model.FormatTime(now)
	if err := institutions.put(ctx, mspID, inst); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventInstitutionUpdated, MSPID: mspID})
}

// SetEncryptionKey replaces the caller's own data-encryption public key
// (base64 PKIX DER, P-256 or X25519), for key rotation.
func (c *RegistryContract) SetEncryptionKey(ctx contractapi.TransactionContextInterface, encryptionKey string) error {
	inst, err := requireActiveCaller(ctx)
	if err != nil {
		return err
	}
	if err := validateEncryptionKey(encryptionKey); err != nil {
		return err
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	inst.EncryptionKey = encryptionKey
	inst.UpdatedAt = model.FormatTime(now)
	if err := institutions.put(ctx, inst.MSPID, inst); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventInstitutionUpdated, MSPID: inst.MSPID})
}

// GetConfig returns the bootstrap configuration.
func (c *RegistryContract) GetConfig(ctx contractapi.TransactionContextInterface) (string, error) {
	cfg, err := config.load(ctx, "")
	if err != nil {
		return "", err
	}
	return marshalString(cfg)
}

// GetInstitution returns one institution.
func (c *RegistryContract) GetInstitution(ctx contractapi.TransactionContextInterface, mspID string) (string, error) {
	inst, err := institutions.load(ctx, mspID)
	if err != nil {
		return "", err
	}
	return marshalString(inst)
}

// ListInstitutions returns a page of institutions in MSP ID order.
func (c *RegistryContract) ListInstitutions(ctx contractapi.TransactionContextInterface, pageSize int32, bookmark string) (string, error) {
	return institutions.list(ctx, pageSize, bookmark)
}

// putInstitution stores a newly registered institution as ACTIVE.
func putInstitution(ctx contractapi.TransactionContextInterface, inst *model.Institution, now time.Time) error {
	inst.Status = model.StatusActive
	inst.RegisteredAt = model.FormatTime(now)
	inst.UpdatedAt = inst.RegisteredAt
	return institutions.put(ctx, inst.MSPID, inst)
}

// validateInstitution checks an institution's fields; server-set fields are
// reset by the caller.
func validateInstitution(inst *model.Institution) error {
	if !model.ValidMSPID(inst.MSPID) {
		return model.Errf(model.CodeInvalidArgument, "msp_id %q is not a valid MSP ID", inst.MSPID)
	}
	if err := checkName("name", inst.Name); err != nil {
		return err
	}
	if !inst.Kind.Valid() {
		return model.Errf(model.CodeInvalidArgument, "kind must be provider, bank, insurer or auditor")
	}
	if err := checkName("licence", inst.Licence); err != nil {
		return err
	}
	if inst.Contact != "" {
		if err := model.CheckContact(inst.Contact); err != nil {
			return err
		}
	}
	if inst.EncryptionKey != "" {
		if err := validateEncryptionKey(inst.EncryptionKey); err != nil {
			return err
		}
	}
	return nil
}

// validateEncryptionKey accepts base64 PKIX DER of a P-256 or X25519 key.
func validateEncryptionKey(s string) error {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(der) > 1024 {
		return model.Errf(model.CodeInvalidKey, "encryption_key must be base64 of a PKIX public key")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return model.Errf(model.CodeInvalidKey, "encryption_key is not a PKIX public key")
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return nil
		}
	case *ecdh.PublicKey:
		if k.Curve() == ecdh.X25519() {
			return nil
		}
	}
	return model.Errf(model.CodeInvalidKey, "encryption_key must be a P-256 or X25519 key")
}
