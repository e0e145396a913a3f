package fabnet

import (
	"encoding/json"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestDemoRegistry checks the demo data against the model's own rules, so a
// typo fails here rather than in the first `up`.
func TestDemoRegistry(t *testing.T) {
	var data registryData
	if err := json.Unmarshal(demoRegistry, &data); err != nil {
		t.Fatal(err)
	}
	tiers, err := data.tiers()
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{len(tiers[0]), len(tiers[1]), len(tiers[2]), len(tiers[3])}; got[0] != 1 || got[1] != 3 || got[2] != 9 || got[3] != 4 {
		t.Fatalf("tier sizes %v, want [1 3 9 4]", got)
	}
	kinds := map[string]model.InstitutionKind{}
	for _, raw := range append([]json.RawMessage{data.Operator}, data.Institutions...) {
		var inst model.Institution
		if err := json.Unmarshal(raw, &inst); err != nil {
			t.Fatal(err)
		}
		if !model.ValidMSPID(inst.MSPID) || !inst.Kind.Valid() || inst.Name == "" || inst.Licence == "" {
			t.Errorf("invalid institution %+v", inst)
		}
		kinds[inst.MSPID] = inst.Kind
	}
	want := map[string]model.InstitutionKind{"BureauMSP": model.KindProvider, "BankMSP": model.KindBank,
		"InsurerMSP": model.KindInsurer, "AuditMSP": model.KindAuditor}
	for msp, k := range want {
		if kinds[msp] != k {
			t.Errorf("%s has kind %q, want %q", msp, kinds[msp], k)
		}
	}
	cats := map[string]bool{}
	for _, raw := range data.Categories {
		var c model.Category
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if !model.ValidCategoryCode(c.Code) || c.ProviderMSP != "BureauMSP" || c.NameZH == "" || c.NameEN == "" {
			t.Errorf("invalid category %+v", c)
		}
		cats[c.Code] = true
	}
	for _, raw := range data.Purposes {
		var p model.Purpose
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if !model.ValidPurposeCode(p.Code) || len(p.RequesterKinds) == 0 {
			t.Errorf("invalid purpose %+v", p)
		}
		for _, k := range p.RequesterKinds {
			if !k.MayRequest() {
				t.Errorf("purpose %s: kind %q may not request", p.Code, k)
			}
		}
		for _, c := range p.AllowedCategories {
			if !cats[c] {
				t.Errorf("purpose %s allows unknown category %s", p.Code, c)
			}
		}
		if p.MayStore != (p.DataLifeDays > 0) {
			t.Errorf("purpose %s: may_store %v with data_life_days %d", p.Code, p.MayStore, p.DataLifeDays)
		}
	}
}
