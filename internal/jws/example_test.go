package jws_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/quanchain/quanchain/internal/jws"
)

// A gateway signs a document; anyone verifies it with nothing but the
// token, then decides whether the key id is one the signer publishes.
func ExampleVerify() {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jws.NewSigner(k)
	token, _ := signer.Sign("example+jws", []byte(`{"hello":"world"}`))

	v, err := jws.Verify(token, "example+jws")
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(string(v.Payload), v.KeyID == signer.KeyID())
	// Output: {"hello":"world"} true
}
