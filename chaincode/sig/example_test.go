package sig_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/quanchain/quanchain/chaincode/sig"
)

// A device key signs a consent decision the way WebCrypto does (r ‖ s, 64
// bytes); the chaincode parses the enrolled JWK, derives its key id and
// verifies the decision.
func ExampleVerify() {
	// On the device. This example uses the key of RFC 7515 Appendix A.3 so
	// that its key id is stable; a real device generates its own with
	// crypto.subtle.generateKey and never exports the private half.
	d, _ := base64.RawURLEncoding.DecodeString("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI")
	device, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		fmt.Println(err)
		return
	}
	enrolled := sig.CanonicalJWK(&device.PublicKey) // what the device exports

	decision := []byte(`{"action":"GRANT","authorization":"auth-0001","kid":"oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"}`)
	digest := sha256.Sum256(decision)
	r, s, err := ecdsa.Sign(rand.Reader, device, digest[:])
	if err != nil {
		fmt.Println(err)
		return
	}
	signature := make([]byte, 64)
	r.FillBytes(signature[:32])
	s.FillBytes(signature[32:])

	// In the chaincode: parse the enrolled key, name it, check the
	// signature over the bytes exactly as they were signed.
	pub, err := sig.ParseJWK(enrolled)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kid:", sig.Thumbprint(pub))
	fmt.Println("genuine decision:", sig.Verify(pub, decision, signature))

	altered := []byte(`{"action":"GRANT","authorization":"auth-0002","kid":"oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"}`)
	err = sig.Verify(pub, altered, signature)
	fmt.Println("altered decision rejected:", errors.Is(err, sig.ErrSignatureInvalid))

	// Output:
	// kid: oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U
	// genuine decision: <nil>
	// altered decision rejected: true
}
