package config

import (
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaultsAndDerived(t *testing.T) {
	state := t.TempDir()
	c, err := Load([]string{"--org", "BankMSP", "--state-dir", state}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantData := filepath.Join(state, "gateway", "bankmsp")
	if c.DataDir != wantData {
		t.Errorf("DataDir = %q, want %q", c.DataDir, wantData)
	}
	if c.StoreDSN != filepath.Join(wantData, "gateway.db") {
		t.Errorf("StoreDSN = %q", c.StoreDSN)
	}
	if c.JWTKeyFile != filepath.Join(wantData, "jwt-signing.pem") {
		t.Errorf("JWTKeyFile = %q", c.JWTKeyFile)
	}
	if c.TokenTTL != 5*time.Minute || !c.HasRole(RoleRequester) || c.HasRole(RoleProvider) {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestLoadEnvAndFlagPrecedence(t *testing.T) {
	state := t.TempDir()
	env := []string{
		"QC_ORG=bureau", "QC_STATE_DIR=" + state, "QC_ROLES=provider,requester",
		"QC_PSEUDONYM_KEY_FILE=/keys/pseudonym", "QC_TOKEN_TTL=2m", "QC_LISTEN=127.0.0.1:9000",
		"QC_RATE_LIMIT=200", "QC_RATE_BURST=256", "QC_STORE_MAX_CONNS=40",
		"PATH=/usr/bin", // not ours: ignored
	}
	c, err := Load([]string{"--listen", "127.0.0.1:9100", "--jwt-verify-key-files", "/a.pem, /b.pem"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9100" {
		t.Errorf("flag must win over env: Listen = %q", c.Listen)
	}
	if c.TokenTTL != 2*time.Minute || c.Org != "bureau" || !c.HasRole(RoleProvider) || !c.HasRole(RoleRequester) {
		t.Errorf("env not applied: %+v", c)
	}
	if c.RateLimit != 200 || c.RateBurst != 256 || c.StoreMaxConns != 40 {
		t.Errorf("limits from env: rate %v, burst %d, store connections %d", c.RateLimit, c.RateBurst, c.StoreMaxConns)
	}
	if strings.Join(c.JWTVerifyKeyFiles, "|") != "/a.pem|/b.pem" {
		t.Errorf("JWTVerifyKeyFiles = %q", c.JWTVerifyKeyFiles)
	}
}

func TestLoadRefusals(t *testing.T) {
	state := t.TempDir()
	base := []string{"--org", "BankMSP", "--state-dir", state}
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no org", []string{"--state-dir", state}, nil, "org: required"},
		{"no state dir", []string{"--org", "BankMSP"}, nil, "state-dir: required"},
		{"relative state dir", []string{"--org", "BankMSP", "--state-dir", "rel"}, nil, "must be an absolute path"},
		{"unknown role", append(base, "--roles", "admin"), nil, `"admin" is not a role`},
		{"provider without key", append(base, "--roles", "provider"), nil, "pseudonym-key-file: required"},
		{"bad listen", append(base, "--listen", "8080"), nil, "listen:"},
		{"long ttl", append(base, "--token-ttl", "24h"), nil, "token-ttl"},
		{"tiny body limit", append(base, "--body-limit", "10"), nil, "body-limit"},
		{"zero rate", append(base, "--rate-limit", "0"), nil, "rate-limit"},
		{"zero burst", base, []string{"QC_RATE_BURST=0"}, "rate-burst"},
		{"no store connections", append(base, "--store-max-conns", "0"), nil, "store-max-conns"},
		{"timeouts inverted", append(base, "--request-timeout", "2m"), nil, "request-timeout"},
		{"keep-alive below gRPC's minimum", append(base, "--ledger-keepalive", "5s"), nil, "ledger-keepalive"},
		{"plain http operator", append(base, "--operator-url", "http://op"), nil, "operator-url"},
		{"unknown env", base, []string{"QC_LISTN=:1"}, "QC_LISTN names no setting"},
		{"bad env value", base, []string{"QC_TOKEN_TTL=soon"}, "token-ttl"},
		{"unknown flag", append(base, "--nope"), nil, "nope"},
		{"stray argument", append(base, "extra"), nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, tt.env, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Defaults()
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) < 3 {
		t.Fatalf("want several problems at once, got %v", err)
	}
}

func TestLoadHelp(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"-h"}, nil, &out)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-pseudonym-key-file") {
		t.Fatalf("err = %v, usage = %q", err, out.String())
	}
}
