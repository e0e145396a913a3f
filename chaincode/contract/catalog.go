package contract

import (
	"sort"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/quanchain/quanchain/chaincode/model"
)

// RegisterCategory registers a data category held by a provider institution,
// with the schema version and the fields its records carry, which the
// consent app lists and a citizen's decision names. Operator only.
func (c *RegistryContract) RegisterCategory(ctx contractapi.TransactionContextInterface, categoryJSON string) error {
	if _, err := requireOperator(ctx); err != nil {
		return err
	}
	var cat model.Category
	if err := decodeStrict(categoryJSON, &cat); err != nil {
		return err
	}
	if err := categories.checkID(cat.Code); err != nil {
		return err
	}
	if err := checkName("name_zh", cat.NameZH); err != nil {
		return err
	}
	if err := checkName("name_en", cat.NameEN); err != nil {
		return err
	}
	if err := cat.CheckSchema(); err != nil {
		return err
	}
	if cat.SchemaHash != "" {
		h, err := normaliseHash("schema_hash", cat.SchemaHash)
		if err != nil {
			return err
		}
		cat.SchemaHash = h
	}
	provider, err := institutions.load(ctx, cat.ProviderMSP)
	if err != nil {
		return err
	}
	if provider.Kind != model.KindProvider || provider.Status != model.StatusActive {
		return model.Errf(model.CodeInvalidArgument, "%s is not an active provider institution", cat.ProviderMSP)
	}
	k, err := categories.newKey(ctx, cat.Code)
	if err != nil {
		return err
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	cat.Status = model.StatusActive
	cat.RegisteredAt = model.FormatTime(now)
	if err := putJSON(ctx, k, cat); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventCategoryRegistered, Category: cat.Code, Provider: cat.ProviderMSP})
}

// GetCategory returns one data category.
func (c *RegistryContract) GetCategory(ctx contractapi.TransactionContextInterface, code string) (string, error) {
	cat, err := categories.load(ctx, code)
	if err != nil {
		return "", err
	}
	return marshalString(cat)
}

// ListCategories returns a page of data categories in code order.
func (c *RegistryContract) ListCategories(ctx contractapi.TransactionContextInterface, pageSize int32, bookmark string) (string, error) {
	return categories.list(ctx, pageSize, bookmark)
}

// RegisterPurpose registers a purpose template with its ceilings (最少必要).
// Operator only.
func (c *RegistryContract) RegisterPurpose(ctx contractapi.TransactionContextInterface, purposeJSON string) error {
	if _, err := requireOperator(ctx); err != nil {
		return err
	}
	var p model.Purpose
	if err := decodeStrict(purposeJSON, &p); err != nil {
		return err
	}
	if err := validatePurpose(ctx, &p); err != nil {
		return err
	}
	k, err := purposes.newKey(ctx, p.Code)
	if err != nil {
		return err
	}
	now, err := txTime(ctx)
	if err != nil {
		return err
	}
	p.RegisteredAt = model.FormatTime(now)
	if err := putJSON(ctx, k, p); err != nil {
		return err
	}
	return emit(ctx, model.Event{Name: model.EventPurposeRegistered, Purpose: p.Code})
}

// GetPurpose returns one purpose template.
func (c *RegistryContract) GetPurpose(ctx contractapi.TransactionContextInterface, code string) (string, error) {
	p, err := purposes.load(ctx, code)
	if err != nil {
		return "", err
	}
	return marshalString(p)
}

// ListPurposes returns a page of purpose templates in code order.
func (c *RegistryContract) ListPurposes(ctx contractapi.TransactionContextInterface, pageSize int32, bookmark string) (string, error) {
	return purposes.list(ctx, pageSize, bookmark)
}

func validatePurpose(ctx contractapi.TransactionContextInterface, p *model.Purpose) error {
	if err := purposes.checkID(p.Code); err != nil {
		return err
	}
	if err := checkName("name_zh", p.NameZH); err != nil {
		return err
	}
	if err := checkName("name_en", p.NameEN); err != nil {
		return err
	}
	if len(p.RequesterKinds) == 0 {
		return model.Errf(model.CodeInvalidArgument, "requester_kinds must not be empty")
	}
	sort.Slice(p.RequesterKinds, func(i, j int) bool { return p.RequesterKinds[i] < p.RequesterKinds[j] })
	for i, k := range p.RequesterKinds {
		if !k.MayRequest() {
			return model.Errf(model.CodeInvalidArgument, "institutions of kind %q cannot request data", k)
		}
		if i > 0 && p.RequesterKinds[i-1] == k {
			return model.Errf(model.CodeInvalidArgument, "requester kind %q is listed twice", k)
		}
	}
	cats, err := normaliseCategories(p.AllowedCategories)
	if err != nil {
		return err
	}
	for _, code := range cats {
		if _, err := categories.load(ctx, code); err != nil {
			return err
		}
	}
	p.AllowedCategories = cats
	switch {
	case p.MaxValidityDays < 1 || p.MaxValidityDays > 3660:
		return model.Errf(model.CodeInvalidArgument, "max_validity_days must be between 1 and 3660")
	case p.MaxUses < 1 || p.MaxUses > 10000:
		return model.Errf(model.CodeInvalidArgument, "max_uses must be between 1 and 10000")
	case p.MaxDataRangeDays < 1 || p.MaxDataRangeDays > 36600:
		return model.Errf(model.CodeInvalidArgument, "max_data_range_days must be between 1 and 36600")
	case p.MayStore && (p.DataLifeDays < 1 || p.DataLifeDays > 3660):
		return model.Errf(model.CodeInvalidArgument, "data_life_days must be between 1 and 3660 when may_store is true")
	case !p.MayStore && p.DataLifeDays != 0:
		return model.Errf(model.CodeInvalidArgument, "data_life_days must be 0 when may_store is false")
	}
	return nil
}
