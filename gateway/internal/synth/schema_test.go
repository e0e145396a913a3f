package synth

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/demo"
)

// TestRegistryFieldsMatchRecords: the fields the demo registry lists for
// each category, which the consent app shows the citizen before they
// decide, are exactly the fields the generated records of that category
// carry (besides "category", which names the record's kind).
func TestRegistryFieldsMatchRecords(t *testing.T) {
	reg, err := demo.LoadRegistry()
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]any{
		model.CategoryHousingFund: HousingFundRecord{}, model.CategorySocialSecurity: SocialSecurityRecord{},
		model.CategoryTax: TaxRecord{}, model.CategoryRealEstate: RealEstateRecord{},
		model.CategoryMedicalSettlement: MedicalSettlementRecord{}, model.CategoryVehicleRegistration: VehicleRegistrationRecord{},
		model.CategoryTrafficCredit: TrafficCreditRecord{}, model.CategoryDeathRegistration: DeathRegistrationRecord{},
		model.CategoryELicence: ELicenceRecord{},
	}
	for _, c := range reg.Categories {
		rec, ok := records[c.Code]
		if !ok {
			t.Errorf("category %s: no generated record type", c.Code)
			continue
		}
		var want []string
		rt := reflect.TypeOf(rec)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" && name != "category" {
				want = append(want, name)
			}
		}
		var got []string
		for _, f := range c.Fields {
			got = append(got, f.Name)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("category %s lists fields %v, its records carry %v", c.Code, got, want)
		}
	}
}
