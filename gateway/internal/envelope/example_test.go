package envelope_test

import (
	"fmt"

	"github.com/quanchain/quanchain/gateway/internal/envelope"
)

// A provider seals a delivery to the key the bank registered on the ledger;
// only the bank's private key opens it.
func Example() {
	bankKey, _ := envelope.GenerateKey()
	registered, _ := envelope.EncodePublicKey(bankKey.PublicKey()) // registry:SetEncryptionKey

	pub, _ := envelope.ParsePublicKey(registered) // the provider, from GetInstitution
	env, _ := envelope.Seal(pub, []byte(`{"answer":true}`), []byte("acc-1"))

	plaintext, err := envelope.Open(bankKey, env)
	aad, _ := env.AdditionalData()
	fmt.Println(string(plaintext), string(aad), err)
	// Output: {"answer":true} acc-1 <nil>
}
