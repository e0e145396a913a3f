package model

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// CategoryField is one field the records of a category carry, as the
// consent app names it to the citizen (最少必要: the citizen sees what each
// category delivers before deciding).
type CategoryField struct {
	Name   string `json:"name"`    // the field's key in a record, such as base_fen
	NameZH string `json:"name_zh"` // 缴存基数
	NameEN string `json:"name_en"` // Contribution base
}

// Bounds of a category's field list and of the short texts the registry
// and the citizen's devices carry.
const (
	MaxCategoryFields = 64
	MaxFieldNameLen   = 64  // bytes of a field's key
	MaxFieldLabelLen  = 128 // bytes of a field's Chinese or English name
	MaxSchemaVersion  = 1 << 20
	MaxDeviceNameLen  = 64 // bytes
	MaxContactLen     = 128
)

// CheckText checks a short text field: not blank, at most max bytes of
// valid UTF-8, no control characters (which would forge lines in logs and
// screens). field names it in the error.
func CheckText(field, s string, max int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return Errf(CodeInvalidArgument, "%s must not be empty", field)
	case len(s) > max:
		return Errf(CodeInvalidArgument, "%s is longer than %d bytes", field, max)
	case !utf8.ValidString(s):
		return Errf(CodeInvalidArgument, "%s is not valid UTF-8", field)
	case strings.ContainsFunc(s, unicode.IsControl):
		return Errf(CodeInvalidArgument, "%s contains control characters", field)
	}
	return nil
}

// CheckSchema checks a category's schema version and field list: no list
// without a version (1 or more), at most MaxCategoryFields fields, each
// with a key of letters, digits and '_' and both names, keys unique.
func (c *Category) CheckSchema() error {
	if c.SchemaVersion < 0 || c.SchemaVersion > MaxSchemaVersion {
		return Errf(CodeInvalidArgument, "schema_version must be between 0 and %d", MaxSchemaVersion)
	}
	if len(c.Fields) > 0 && c.SchemaVersion == 0 {
		return Errf(CodeInvalidArgument, "fields need a schema_version of 1 or more")
	}
	if len(c.Fields) > MaxCategoryFields {
		return Errf(CodeInvalidArgument, "a category lists at most %d fields, not %d", MaxCategoryFields, len(c.Fields))
	}
	seen := make(map[string]bool, len(c.Fields))
	for i, f := range c.Fields {
		if !fieldKeyPattern.MatchString(f.Name) {
			return Errf(CodeInvalidArgument, "fields[%d].name must be 1-%d letters, digits or '_', starting with a letter", i, MaxFieldNameLen)
		}
		if seen[f.Name] {
			return Errf(CodeInvalidArgument, "field %q is listed twice", f.Name)
		}
		seen[f.Name] = true
		if err := CheckText(fmt.Sprintf("fields[%d].name_zh", i), f.NameZH, MaxFieldLabelLen); err != nil {
			return err
		}
		if err := CheckText(fmt.Sprintf("fields[%d].name_en", i), f.NameEN, MaxFieldLabelLen); err != nil {
			return err
		}
	}
	return nil
}

var fieldKeyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
