package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestIdempotencyTTL(t *testing.T) {
	base := []string{"--org", "BankMSP", "--state-dir", t.TempDir()}
	c, err := Load(base, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.IdempotencyTTL != 24*time.Hour {
		t.Errorf("default IdempotencyTTL = %s, want 24h", c.IdempotencyTTL)
	}
	c, err = Load(base, []string{"QC_IDEMPOTENCY_TTL=2h"}, io.Discard)
	if err != nil || c.IdempotencyTTL != 2*time.Hour {
		t.Fatalf("QC_IDEMPOTENCY_TTL: %v %+v", err, c)
	}
	for _, bad := range []string{"1m", "0s", "721h"} {
		if _, err := Load(append(base, "--idempotency-ttl", bad), nil, io.Discard); err == nil || !strings.Contains(err.Error(), "idempotency-ttl") {
			t.Errorf("--idempotency-ttl %s: err = %v", bad, err)
		}
	}
}
