package fabnet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/fabconn"
)

// The development network's identity policy (docs/identity.md): the
// ledger trusts the development identity provider's keys and the consent
// app's origin. The operator proposes it, the supervisor (AuditMSP)
// approves it, as a deployment's two organisations would.
const (
	// DevACR and DevIDClaim are the development provider's assurance
	// level and ID-number claim: the provider is started with them, the
	// operator's gateway accepts them, and the policy names them.
	DevACR          = "urn:quanchain:loa:sms-otp"
	DevIDClaim      = "id_number"
	supervisorMSP   = "AuditMSP"
	devTokenAgeSecs = 600
)

// devIdentityPolicy is the policy for the provider's published key set.
// Plain WebCrypto keys stay allowed on the development network, for
// browsers without passkeys and the tests that sign as such a browser; the
// ledger marks their decisions as made without user verification.
func devIdentityPolicy(jwks string) model.IdentityPolicy {
	origin := operatorOrigin()
	return model.IdentityPolicy{
		Issuer: DevIDPIssuer(), Audience: DevIDPClientID, IDClaim: DevIDClaim, ACRValues: []string{DevACR},
		JWKS: jwks, MaxTokenAgeSeconds: devTokenAgeSecs, RPID: "localhost", Origins: []string{origin},
		AllowUnverifiedKeys: true,
	}
}

// fetchJWKS reads the key set the provider publishes at its jwks_uri.
func fetchJWKS(ctx context.Context, issuer string) (string, error) {
	get := func(url string, v any) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %s", url, resp.Status)
		}
		if v != nil {
			return b, json.Unmarshal(b, v)
		}
		return b, nil
	}
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if _, err := get(issuer+"/.well-known/openid-configuration", &disc); err != nil {
		return "", fmt.Errorf("identity provider discovery: %w", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	b, err := get(disc.JWKSURI, &set)
	if err != nil {
		return "", fmt.Errorf("identity provider keys: %w", err)
	}
	if len(set.Keys) == 0 {
		return "", fmt.Errorf("identity provider keys: %s lists no key", disc.JWKSURI)
	}
	return string(b), nil
}

// ensureIdentityPolicy puts the development identity policy in force
// unless it already is: the operator proposes it, the supervisor approves
// it. It reports whether it wrote.
func ensureIdentityPolicy(ctx context.Context, stateDir string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	jwks, err := fetchJWKS(ctx, DevIDPIssuer())
	if err != nil {
		return false, err
	}
	want := devIdentityPolicy(jwks)
	op, err := fabconn.Connect(ctx, stateDir, "BureauMSP")
	if err != nil {
		return false, err
	}
	defer op.Close()
	opl := ledger.FromConnection(op)
	st, err := opl.GetIdentityPolicy(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the identity policy: %w", err)
	}
	if st.Active != nil && samePolicy(st.Active.Policy, want) {
		return false, nil
	}
	digest, err := opl.ProposeIdentityPolicy(ctx, want)
	if err != nil {
		return false, fmt.Errorf("proposing the identity policy: %w", err)
	}
	sup, err := fabconn.Connect(ctx, stateDir, supervisorMSP)
	if err != nil {
		return false, err
	}
	defer sup.Close()
	if err := ledger.FromConnection(sup).ApproveIdentityPolicy(ctx, digest); err != nil {
		return false, fmt.Errorf("approving the identity policy as %s: %w", supervisorMSP, err)
	}
	return true, nil
}

// samePolicy compares policies as the chaincode keeps them: the key set
// by its keys, not its bytes.
func samePolicy(a, b model.IdentityPolicy) bool {
	var ka, kb any
	if json.Unmarshal([]byte(a.JWKS), &ka) != nil || json.Unmarshal([]byte(b.JWKS), &kb) != nil || !reflect.DeepEqual(ka, kb) {
		return false
	}
	a.JWKS, b.JWKS = "", ""
	return reflect.DeepEqual(a, b)
}
