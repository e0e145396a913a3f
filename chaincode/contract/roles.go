package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// requireOperator checks that the caller is the operator organisation named
// by the bootstrap transaction, and returns its MSP ID.
func requireOperator(ctx contractapi.TransactionContextInterface) (string, error) {
	msp, err := callerMSP(ctx)
	if err != nil {
		return "", err
	}
	cfg, err := config.load(ctx, "")
	if err != nil {
		return "", err
	}
	if msp != cfg.OperatorMSP {
		return "", model.Errf(model.CodeForbiddenMSP, "%s is not the operator organisation", msp)
	}
	return msp, nil
}

// requireActiveCaller returns the caller's registered, active institution.
// Callers whose organisation is not registered get FORBIDDEN_MSP.
func requireActiveCaller(ctx contractapi.TransactionContextInterface) (*model.Institution, error) {
	msp, err := callerMSP(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := config.load(ctx, ""); err != nil {
		return nil, err
	}
	inst, err := institutions.load(ctx, msp)
	if model.CodeOf(err) == model.CodeInstitutionNotFound {
		return nil, model.Errf(model.CodeForbiddenMSP, "%s is not a registered institution", msp)
	}
	if err != nil {
		return nil, err
	}
	if inst.Status != model.StatusActive {
		return nil, model.Errf(model.CodeInstitutionInactive, "institution %s is %s", msp, inst.Status)
	}
	if inst.Kind == model.KindAuditor {
		return nil, model.Errf(model.CodeForbiddenMSP, "%s is an auditor organisation and writes nothing", msp)
	}
	return inst, nil
}

// requireProviderOf checks that the caller is the active provider of every
// given category and returns its MSP ID.
func requireProviderOf(ctx contractapi.TransactionContextInterface, codes ...string) (string, error) {
	inst, err := requireActiveCaller(ctx)
	if err != nil {
		return "", err
	}
	return inst.MSPID, checkProviderOf(ctx, inst, codes...)
}

// checkProviderOf checks that inst, the caller's active institution, is
// the provider of every given category.
func checkProviderOf(ctx contractapi.TransactionContextInterface, inst *model.Institution, codes ...string) error {
	for _, code := range codes {
		cat, err := categories.loadHidden(ctx, code)
		if err != nil {
			return err
		}
		if cat.ProviderMSP != inst.MSPID {
			return model.Errf(model.CodeForbiddenMSP, "%s is not the provider of category %s", inst.MSPID, code)
		}
	}
	return nil
}
