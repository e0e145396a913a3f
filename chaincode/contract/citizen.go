package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
)

// maxActiveKeys bounds the devices one citizen may have enrolled at once.
const maxActiveKeys = 8

// AddCitizenKey enrols a citizen's device public key (an ES256 JWK) after the
// operator has verified the citizen's real name off-ledger. It returns the
// key id, the key's RFC 7638 thumbprint. Operator only.
func (c *RegistryContract) AddCitizenKey(ctx contractapi.TransactionContextInterface, citizenRef string, jwk string) (string, error) {
	if _, err := requireOperator(ctx); err != nil {
		return "", err
	}
	if err := citizens.checkID(citizenRef); err != nil {
		return "", err
	}
	pub, err := sig.ParseJWK([]byte(jwk))
	if err != nil {
		return "", model.Errf(model.CodeInvalidKey, "device key: %v", err)
	}
	kid := sig.Thumbprint(pub)
	now, err := txTime(ctx)
	if err != nil {
		return "", err
	}
	cz, found, err := citizens.get(ctx, citizenRef)
	if err != nil {
		return "", err
	}
	if !found {
		cz = &model.Citizen{Ref: citizenRef, Keys: []model.DeviceKey{}, RegisteredAt: model.FormatTime(now)}
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
			active++
		}
	}
	if active >= maxActiveKeys {
		return "", model.Errf(model.CodeInvalidArgument, "a citizen may have at most %d active device keys", maxActiveKeys)
	}
	cz.Keys = append(cz.Keys, model.DeviceKey{
		KeyID:   kid,
		JWK:     string(sig.CanonicalJWK(pub)),
		Status:  model.StatusActive,
		AddedAt: model.FormatTime(now),
	})
	cz.UpdatedAt = model.FormatTime(now)
	if err := citizens.put(ctx, citizenRef, cz); err != nil {
		return "", err
	}
	if err := emit(ctx, model.Event{Name: model.EventCitizenKeyAdded, CitizenRef: citizenRef, KeyID: kid}); err != nil {
		return "", err
	}
	return kid, nil
}

// RevokeCitizenKey revokes a device key (a lost or replaced phone). Decisions
// signed with it are refused from then on. Operator only.
func (c *RegistryContract) RevokeCitizenKey(ctx contractapi.TransactionContextInterface, citizenRef string, keyID string) error {
	if _, err := requireOperator(ctx); err != nil {
		return err
	}
	cz, err := citizens.load(ctx, citizenRef)
	if err != nil {
		return err
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	idx := -1
	for i, dk := range cz.Keys {
		if dk.KeyID == keyID {
			idx = i
		}
	}
	if idx < 0 {
		return model.Errf(model.CodeKeyNotFound, "key %q is not enrolled for this citizen", keyID)
	}
	if cz.Keys[idx].Status == model.StatusRevoked {
		return model.Errf(model.CodeKeyRevoked, "key %s is already revoked", keyID)
	}
	cz.Keys[idx].Status = model.StatusRevoked
	cz.Keys[idx].RevokedAt = model.FormatTime(now)
	cz.UpdatedAt = model.FormatTime(now)
	if err := citizens.put(ctx, citizenRef, cz); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventCitizenKeyRevoked, CitizenRef: citizenRef, KeyID: keyID})
}

// GetCitizen returns a citizen's enrolled device keys.
func (c *RegistryContract) GetCitizen(ctx contractapi.TransactionContextInterface, citizenRef string) (string, error) {
	cz, err := citizens.load(ctx, citizenRef)
	if err != nil {
		return "", err
	}
	return marshalString(cz)
}
