package vault_test

import (
	"bytes"
	"fmt"

	"github.com/quanchain/quanchain/gateway/internal/vault"
)

// The operator knows a citizen by their vault ref; each requester by its
// own pairwise ref, which the operator can compute again for any requester
// (to find the citizen's authorisations) but no requester can link to
// another's.
func ExamplePseudonymiser_PairwiseRef() {
	p, err := vault.NewPseudonymiser(bytes.Repeat([]byte("k"), 32)) // a real key is random
	if err != nil {
		fmt.Println(err)
		return
	}
	vaultRef, err := p.Ref("11010519491231002x")
	if err != nil {
		fmt.Println(err)
		return
	}
	bank := p.PairwiseRef("BankMSP", vaultRef)
	insurer := p.PairwiseRef("InsurerMSP", vaultRef)
	fmt.Println(len(bank), bank == insurer, bank == vaultRef)
	fmt.Println(p.PairwiseRef("BankMSP", vaultRef) == bank)
	// Output:
	// 64 false false
	// true
}
