package integration

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/internal/identitytest"
	"github.com/quanchain/quanchain/network/fabnet"
)

// The development identity provider as a ledger-level test holds it. The
// tests that talk to the chaincode directly stand where the operator's
// gateway stands after a citizen's login: they hold an ID token of the
// provider the ledger trusts. They mint it with the provider's own signing
// key, read from the network's state directory, as only a test on the
// development network can.

var (
	devIssuer   = fabnet.DevIDPIssuer()
	devAudience = fabnet.DevIDPClientID
	devACR      = fabnet.DevACR
)

var devProviderOnce = sync.OnceValues(func() (*identitytest.Provider, error) {
	b, err := os.ReadFile(filepath.Join(testNet.StateDir(), "devidp", "signing-key.pem"))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, os.ErrInvalid
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, os.ErrInvalid
	}
	return &identitytest.Provider{Issuer: devIssuer, Audience: devAudience, KeyID: rsaThumbprint(&rk.PublicKey), Key: rk}, nil
})

// rsaThumbprint is the RFC 7638 thumbprint of an RSA public key, the kid
// the development provider signs under.
func rsaThumbprint(k *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(map[string]string{"e": b64(big.NewInt(int64(k.E)).Bytes()), "kty": "RSA", "n": b64(k.N.Bytes())})
	sum := sha256.Sum256(b)
	return b64(sum[:])
}

func devProvider(t testing.TB) *identitytest.Provider {
	t.Helper()
	p, err := devProviderOnce()
	if err != nil {
		t.Fatalf("the development identity provider's signing key: %v", err)
	}
	return p
}

// residentID is the form of a resident ID number.
var residentID = regexp.MustCompile(`^[0-9]{17}[0-9X]$`)

// idNumbers maps the refs of the citizens tests made with newCitizen to
// their ID numbers; other refs get a stand-in number of their own.
var idNumbers sync.Map

// idNumberOf returns the resident ID number behind ref.
func idNumberOf(ref string) string {
	if v, ok := idNumbers.Load(ref); ok {
		return v.(string)
	}
	sum := sha256.Sum256([]byte("stand-in " + ref))
	digits := make([]byte, 17)
	for i := range digits {
		digits[i] = '0' + sum[i]%10
	}
	return "11" + string(digits[2:]) + "X"
}

// subjectFor is the subject digest a requester's gateway sends with a
// request for the citizen it knows as ref.
func subjectFor(requester, ref string) string {
	return model.SubjectDigest(requester, ref, idNumberOf(ref))
}

// idTokenProof is the proof that enrols the key jwk for the citizen ref:
// an ID token of the development provider whose nonce names the key.
func idTokenProof(t testing.TB, ref, jwk string) *model.EnrolmentProof {
	t.Helper()
	pub, err := sig.ParseJWK([]byte(jwk))
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 12)
	_, _ = rand.Read(salt)
	nonce := model.EnrolmentNonce(sig.Thumbprint(pub), base64.RawURLEncoding.EncodeToString(salt))
	tok, err := devProvider(t).MintIDToken(idNumberOf(ref), nonce, devACR, identitytest.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	return identitytest.IDTokenProof(tok)
}
