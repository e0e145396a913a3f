package contract

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// loadConfig reads the bootstrap configuration.
func loadConfig(ctx contractapi.TransactionContextInterface) (*model.Config, error) {
	k, err := key(ctx, keyConfig)
	if err != nil {
		return nil, err
	}
	var cfg model.Config
	found, err := getJSON(ctx, k, &cfg)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, model.Errf(model.CodeNotBootstrapped, "the registry has not been bootstrapped")
	}
	return &cfg, nil
}

// requireOperator checks that the caller is the operator organisation named
// by the bootstrap transaction, and returns its MSP ID.
func requireOperator(ctx contractapi.TransactionContextInterface) (string, error) {
	msp, err := callerMSP(ctx)
	if err != nil {
		return "", err
	}
	cfg, err := loadConfig(ctx)
	if err != nil {
		return "", err
	}
	if msp != cfg.OperatorMSP {
		return "", model.Errf(model.CodeForbiddenMSP, "%s is not the operator organisation", msp)
	}
	return msp, nil
}

// loadInstitution reads an institution by MSP ID.
func loadInstitution(ctx contractapi.TransactionContextInterface, msp string) (*model.Institution, error) {
	if !model.ValidMSPID(msp) {
		return nil, model.Errf(model.CodeInvalidArgument, "MSP ID %q is not valid", msp)
	}
	k, err := key(ctx, keyInstitution, msp)
	if err != nil {
		return nil, err
	}
	var inst model.Institution
	found, err := getJSON(ctx, k, &inst)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, model.Errf(model.CodeInstitutionNotFound, "institution %s is not registered", msp)
	}
	return &inst, nil
}

// requireActiveCaller returns the caller's registered, active institution.
// Callers whose organisation is not registered get FORBIDDEN_MSP.
func requireActiveCaller(ctx contractapi.TransactionContextInterface) (*model.Institution, error) {
	msp, err := callerMSP(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := loadConfig(ctx); err != nil {
		return nil, err
	}
	inst, err := loadInstitution(ctx, msp)
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

// loadCategory reads a data category by code.
func loadCategory(ctx contractapi.TransactionContextInterface, code string) (*model.Category, error) {
	if !model.ValidCategoryCode(code) {
		return nil, model.Errf(model.CodeInvalidArgument, "category code %q is not valid", code)
	}
	k, err := key(ctx, keyCategory, code)
	if err != nil {
		return nil, err
	}
	var cat model.Category
	found, err := getJSON(ctx, k, &cat)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, model.Errf(model.CodeCategoryNotFound, "category %s is not registered", code)
	}
	return &cat, nil
}

// requireProviderOf checks that the caller is the active provider of every
// given category and returns its MSP ID.
func requireProviderOf(ctx contractapi.TransactionContextInterface, categories ...string) (string, error) {
	inst, err := requireActiveCaller(ctx)
	if err != nil {
		return "", err
	}
	return inst.MSPID, checkProviderOf(ctx, inst, categories...)
}

// checkProviderOf checks that inst, the caller's active institution, is
// the provider of every given category.
func checkProviderOf(ctx contractapi.TransactionContextInterface, inst *model.Institution, categories ...string) error {
	for _, code := range categories {
		cat, err := loadCategory(ctx, code)
		if err != nil {
			return err
		}
		if cat.ProviderMSP != inst.MSPID {
			return model.Errf(model.CodeForbiddenMSP, "%s is not the provider of category %s", inst.MSPID, code)
		}
	}
	return nil
}
