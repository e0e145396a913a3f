package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
)

// maxActiveKeys bounds the devices one citizen may have enrolled at once.
const maxActiveKeys = 8

// A citizen's device keys are kept in each requester's collection, under
// the citizenRef that requester knows the citizen by: a decision is
// checked by the operator's and the requester's peers, and a key read from
// the world state would tell every member which citizen decided. The
// operator enrols and revokes a device in every requester's collection.

// citizenInput reads and checks the private input of a key transaction.
func citizenInput(ctx contractapi.TransactionContextInterface) (*model.CitizenKeyInput, error) {
	if _, err := requireOperator(ctx); err != nil {
		return nil, err
	}
	var in model.CitizenKeyInput
	if err := transient(ctx, model.TransientKey, &in); err != nil {
		return nil, err
	}
	if err := citizens.checkID(in.CitizenRef); err != nil {
		return nil, err
	}
	if err := checkRequesterCollection(ctx, in.Requester); err != nil {
		return nil, err
	}
	return &in, nil
}

// loadCitizen reads a citizen's keys from the requester's collection.
func loadCitizen(ctx contractapi.TransactionContextInterface, requester, citizenRef string) (*model.Citizen, error) {
	if err := citizens.checkID(citizenRef); err != nil {
		return nil, err
	}
	k, err := citizens.key(ctx, citizenRef)
	if err != nil {
		return nil, err
	}
	var cz model.Citizen
	_, found, err := getPrivate(ctx, model.CollectionOf(requester), k, &cz)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, citizens.notFound.err(citizenRef)
	}
	return &cz, nil
}

func putCitizen(ctx contractapi.TransactionContextInterface, requester string, cz *model.Citizen) error {
	k, err := citizens.key(ctx, cz.Ref)
	if err != nil {
		return err
	}
	_, err = putPrivate(ctx, model.CollectionOf(requester), k, cz)
	return err
}

// AddCitizenKey enrols a citizen's device public key (an ES256 JWK) in one
// requester's collection. The private input model.TransientKey (a
// model.CitizenKeyInput) names the requester, the citizenRef it knows the
// citizen by, the key, its kind (a passkey, or a plain WebCrypto key where
// the identity policy allows one), optionally the device's name, and the
// proof that the citizen, not the operator, enrols it: a fresh ID token of
// the trusted provider whose nonce names the key, or an approval signed by
// an active device of the same citizen (docs/ledger.md, "Citizen
// identity"). The key is enrolled for the subject the proof establishes;
// a citizen record's active keys all have one subject. It returns the key
// id, the key's RFC 7638 thumbprint. Submitted by the operator only; the
// input, with its ID token, is never written.
func (c *RegistryContract) AddCitizenKey(ctx contractapi.TransactionContextInterface) (string, error) {
	in, err := citizenInput(ctx)
	if err != nil {
		return "", err
	}
	pol, err := activePolicy(ctx)
	if err != nil {
		return "", err
	}
	if in.Proof == nil {
		return "", model.Errf(model.CodeProofRequired, "an enrolment needs a proof: an ID token or a device approval")
	}
	switch in.Kind {
	case model.KeyWebAuthn:
	case model.KeyWebCrypto:
		if !pol.AllowUnverifiedKeys {
			return "", model.Errf(model.CodeUserVerification, "the identity policy accepts passkeys only")
		}
	default:
		return "", model.Errf(model.CodeInvalidArgument, "kind must be %s or %s", model.KeyWebAuthn, model.KeyWebCrypto)
	}
	pub, err := sig.ParseJWK([]byte(in.JWK))
	if err != nil {
		return "", model.Errf(model.CodeInvalidKey, "device key: %v", err)
	}
	if in.Name != "" {
		if err := model.CheckDeviceName(in.Name); err != nil {
			return "", err
		}
	}
	kid := sig.Thumbprint(pub)
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	cz, err := loadCitizen(ctx, in.Requester, in.CitizenRef)
	if model.CodeOf(err) == model.CodeCitizenNotFound {
		cz, err = &model.Citizen{Ref: in.CitizenRef, Keys: []model.DeviceKey{}, RegisteredAt: model.FormatTime(now)}, nil
	}
	if err != nil {
		return "", err
	}
	subject, approvedBy, err := enrolment(ctx, pol, in, cz, kid, now)
	if err != nil {
		return "", err
	}
	active := 0
	for _, dk := range cz.Keys {
		if dk.KeyID == kid && dk.Status == model.StatusRevoked {
			return "", model.Errf(model.CodeKeyRevoked, "key %s was revoked and cannot be enrolled again", kid)
		}
		if dk.KeyID == kid {
			return "", model.Errf(model.CodeAlreadyExists, "key %s is already enrolled", kid)
		}
		if dk.Status == model.StatusActive {
			if dk.Subject != subject {
				return "", model.Errf(model.CodeSubjectMismatch, "the proof is for another person than this citizen's enrolled keys")
			}
			active++
		}
	}
	if active >= maxActiveKeys {
		return "", model.Errf(model.CodeInvalidArgument, "a citizen may have at most %d active device keys", maxActiveKeys)
	}
	cz.Keys = append(cz.Keys, model.DeviceKey{
		KeyID:      kid,
		JWK:        string(sig.CanonicalJWK(pub)),
		Name:       in.Name,
		Status:     model.StatusActive,
		AddedAt:    model.FormatTime(now),
		Kind:       in.Kind,
		Proof:      in.Proof.Kind,
		ApprovedBy: approvedBy,
		Subject:    subject,
	})
	cz.UpdatedAt = model.FormatTime(now)
	if err := putCitizen(ctx, in.Requester, cz); err != nil {
		return "", err
	}
	if err := emit(ctx, model.Event{Name: model.EventCitizenKeyAdded, Requester: in.Requester}); err != nil {
		return "", err
	}
	return kid, nil
}

// RevokeCitizenKey revokes a device key (a lost or replaced phone) in one
// requester's collection; the private input model.TransientKey names the
// requester, the citizenRef and the key id. Decisions signed with it are
// refused from then on. Operator only.
func (c *RegistryContract) RevokeCitizenKey(ctx contractapi.TransactionContextInterface) error {
	in, err := citizenInput(ctx)
	if err != nil {
		return err
	}
	cz, err := loadCitizen(ctx, in.Requester, in.CitizenRef)
	if err != nil {
		return err
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	idx := -1
	for i, dk := range cz.Keys {
		if dk.KeyID == in.KeyID {
			idx = i
		}
	}
	if idx < 0 {
		return model.Errf(model.CodeKeyNotFound, "key %q is not enrolled for this citizen", in.KeyID)
	}
	if cz.Keys[idx].Status == model.StatusRevoked {
		return model.Errf(model.CodeKeyRevoked, "key %s is already revoked", in.KeyID)
	}
	cz.Keys[idx].Status = model.StatusRevoked
	cz.Keys[idx].RevokedAt = model.FormatTime(now)
	cz.UpdatedAt = model.FormatTime(now)
	if err := putCitizen(ctx, in.Requester, cz); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventCitizenKeyRevoked, Requester: in.Requester})
}

// GetCitizen returns the device keys of a citizen as enrolled in a
// requester's collection, to that requester, the operator and the auditor.
func (c *RegistryContract) GetCitizen(ctx contractapi.TransactionContextInterface, requester string, citizenRef string) (string, error) {
	if err := mayRead(ctx, requester); err != nil {
		return "", err
	}
	cz, err := loadCitizen(ctx, requester, citizenRef)
	if err != nil {
		return "", err
	}
	return marshalString(cz)
}
