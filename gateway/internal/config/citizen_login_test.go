package config

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCitizenLoginSettings: the per-citizen limits and the sessions'
// lifetimes have their documented defaults, come from QC_ variables and
// flags, and are refused out of range; the development register defaults
// to the demo citizens in dev mode only.
func TestCitizenLoginSettings(t *testing.T) {
	dir := t.TempDir()
	base := []string{"--org", "BureauMSP", "--roles", "provider", "--state-dir", dir, "--pseudonym-key-file", filepath.Join(dir, "k")}
	c, err := Load(base, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginPerMinute != 5 || c.LoginStartsPerCitizen != 5 || c.LoginCodesPerCitizen != 5 ||
		c.CitizenSessionIdle != 30*time.Minute || c.CitizenSessionMax != 12*time.Hour || c.CitizenRegisterFile != "" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = Load(append(base, "--dev"), []string{"QC_LOGIN_STARTS_PER_CITIZEN=3", "QC_CITIZEN_SESSION_IDLE=10m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginStartsPerCitizen != 3 || c.CitizenSessionIdle != 10*time.Minute ||
		c.CitizenRegisterFile != filepath.Join(dir, "gateway", "bureaumsp", "demo-citizens.jsonl") {
		t.Fatalf("from the environment, dev: %+v", c)
	}
	for _, bad := range [][]string{
		{"--login-starts-per-citizen", "0"}, {"--login-codes-per-citizen", "101"},
		{"--citizen-session-idle", "30s"}, {"--citizen-session-idle", "5h"},
		{"--citizen-session-max", "20m"}, {"--citizen-session-max", "25h"},
	} {
		if _, err := Load(append(base, bad...), nil, io.Discard); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}
