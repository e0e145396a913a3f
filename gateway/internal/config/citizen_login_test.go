package config

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCitizenLoginSettings: the per-citizen limit and the sessions'
// lifetimes have their documented defaults, come from QC_ variables and
// flags, and are refused out of range; the identity provider's settings
// are derived from the public URL and checked.
func TestCitizenLoginSettings(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--org", "BureauMSP", "--roles", "provider", "--state-dir", dir, "--pseudonym-key-file", filepath.Join(dir, "k")}
	c, err := Load(base, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginPerMinute != 5 || c.LoginStartsPerCitizen != 5 || c.OIDCIDClaim != "id_number" || c.AllowUnverifiedKeys ||
		c.CitizenSessionIdle != 30*time.Minute || c.CitizenSessionMax != 12*time.Hour || c.OIDCIssuer != "" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = Load(append(base, "--dev", "--listen", "127.0.0.1:8443"), []string{"QC_LOGIN_STARTS_PER_CITIZEN=3", "QC_CITIZEN_SESSION_IDLE=10m",
		"QC_OIDC_ISSUER=http://127.0.0.1:9400", "QC_OIDC_CLIENT_ID=gateway", "QC_OIDC_ACR=loa2, loa3", "QC_ALLOW_UNVERIFIED_KEYS=true"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginStartsPerCitizen != 3 || c.CitizenSessionIdle != 10*time.Minute || !c.AllowUnverifiedKeys ||
		c.OIDCRedirectURL != "http://127.0.0.1:8443/citizen/v1/oidc/callback" || !slices.Equal(c.OIDCACR, []string{"loa2", "loa3"}) ||
		c.WebAuthnRPID != "127.0.0.1" || !slices.Equal(c.WebAuthnOrigins, []string{"http://127.0.0.1:8443"}) {
		t.Fatalf("from the environment, dev: %+v", c)
	}
	for _, bad := range [][]string{
		{"--login-starts-per-citizen", "0"}, {"--login-starts-per-citizen", "101"},
		{"--citizen-session-idle", "30s"}, {"--citizen-session-idle", "5h"},
		{"--citizen-session-max", "20m"}, {"--citizen-session-max", "25h"},
		{"--oidc-issuer", "http://idp.example", "--oidc-client-id", "g", "--oidc-redirect-url", "https://g.example/cb", "--oidc-acr", "loa3"},
		{"--oidc-issuer", "https://idp.example", "--oidc-client-id", "g", "--oidc-redirect-url", "https://g.example/cb"},
		{"--webauthn-origins", "http://app.example"},
	} {
		if _, err := Load(append(base, bad...), nil, io.Discard); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
	if _, err := Load(append(base, "--oidc-issuer", "https://idp.example", "--oidc-client-id", "g",
		"--oidc-redirect-url", "https://g.example/cb", "--oidc-acr", "loa3"), nil, io.Discard); err != nil {
		t.Errorf("a complete identity provider: %v", err)
	}
}
