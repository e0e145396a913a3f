package demo

import (
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
)

// TestRegistry checks the demo data against the model's own rules, so a
// typo fails here rather than in the first `up`.
func TestRegistry(t *testing.T) {
	reg, err := LoadRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{len(reg.Institutions), len(reg.Categories), len(reg.Purposes)}; got[0] != 3 || got[1] != 9 || got[2] != 4 {
		t.Fatalf("%v institutions, categories and purposes, want [3 9 4]", got)
	}
	kinds := map[string]model.InstitutionKind{}
	for _, inst := range append([]model.Institution{reg.Operator}, reg.Institutions...) {
		if !model.ValidMSPID(inst.MSPID) || !inst.Kind.Valid() || inst.Name == "" || inst.Licence == "" {
			t.Errorf("invalid institution %+v", inst)
		}
		// Every requester's contact is shown on its requests.
		if inst.Kind.MayRequest() || inst.Contact != "" {
			if err := model.CheckContact(inst.Contact); err != nil {
				t.Errorf("institution %s: %v", inst.MSPID, err)
			}
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
	for _, c := range reg.Categories {
		if !model.ValidCategoryCode(c.Code) || c.ProviderMSP != "BureauMSP" || c.NameZH == "" || c.NameEN == "" {
			t.Errorf("invalid category %+v", c)
		}
		if err := c.CheckSchema(); err != nil || c.SchemaVersion < 1 || len(c.Fields) == 0 {
			t.Errorf("category %s: schema version %d, %d fields: %v", c.Code, c.SchemaVersion, len(c.Fields), err)
		}
		cats[c.Code] = true
	}
	for _, p := range reg.Purposes {
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
