package fabnet

import (
	"testing"

	"github.com/quanchain/quanchain/internal/demo"
)

// TestRegistryTiers: the operator first, then the institutions, the
// categories (which name their provider) and the purposes (which name
// their categories).
func TestRegistryTiers(t *testing.T) {
	reg, err := demo.LoadRegistry()
	if err != nil {
		t.Fatal(err)
	}
	tiers := registryTiers(reg)
	if got := []int{len(tiers[0]), len(tiers[1]), len(tiers[2]), len(tiers[3])}; got[0] != 1 || got[1] != 3 || got[2] != 9 || got[3] != 4 {
		t.Fatalf("tier sizes %v, want [1 3 9 4]", got)
	}
	if tiers[0][0].what != "operator BureauMSP" || tiers[1][0].what != "institution BankMSP" ||
		tiers[2][0].what != "category housing_fund" || tiers[3][0].what != "purpose CREDIT_ASSESSMENT" {
		t.Errorf("first entries %q %q %q %q", tiers[0][0].what, tiers[1][0].what, tiers[2][0].what, tiers[3][0].what)
	}
}
