package model

// The data categories of the standard catalogue, as the operator registers
// them on the ledger. The ledger accepts any registered category code;
// these are the ones the gateways' rules name (the predicates' categories,
// the categories a provider's safe holds by default).
const (
	CategoryHousingFund         = "housing_fund"
	CategorySocialSecurity      = "social_security"
	CategoryTax                 = "tax"
	CategoryRealEstate          = "real_estate"
	CategoryMedicalSettlement   = "medical_settlement"
	CategoryVehicleRegistration = "vehicle_registration"
	CategoryTrafficCredit       = "traffic_credit"
	CategoryDeathRegistration   = "death_registration"
	CategoryELicence            = "e_licence"
)

// StandardCategories returns the standard catalogue's category codes, in a
// fixed order.
func StandardCategories() []string {
	return []string{CategoryHousingFund, CategorySocialSecurity, CategoryTax, CategoryRealEstate,
		CategoryMedicalSettlement, CategoryVehicleRegistration, CategoryTrafficCredit, CategoryDeathRegistration,
		CategoryELicence}
}
