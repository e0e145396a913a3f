package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestWebhookSchedule(t *testing.T) {
	base := []string{"--org", "BankMSP", "--state-dir", t.TempDir()}
	c, err := Load(base, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookMaxAttempts != 20 || c.WebhookBaseDelay != 5*time.Second || c.WebhookMaxDelay != 10*time.Minute {
		t.Errorf("defaults %d %s %s", c.WebhookMaxAttempts, c.WebhookBaseDelay, c.WebhookMaxDelay)
	}
	c, err = Load(base, []string{"QC_WEBHOOK_MAX_ATTEMPTS=3", "QC_WEBHOOK_BASE_DELAY=100ms", "QC_WEBHOOK_MAX_DELAY=400ms"}, io.Discard)
	if err != nil || c.WebhookMaxAttempts != 3 || c.WebhookBaseDelay != 100*time.Millisecond || c.WebhookMaxDelay != 400*time.Millisecond {
		t.Fatalf("QC_WEBHOOK_…: %v %+v", err, c)
	}
	for _, bad := range [][]string{
		{"--webhook-max-attempts", "0"}, {"--webhook-max-attempts", "101"},
		{"--webhook-base-delay", "1ms"}, {"--webhook-base-delay", "2h"},
		{"--webhook-base-delay", "10s", "--webhook-max-delay", "5s"}, {"--webhook-max-delay", "25h"},
	} {
		if _, err := Load(append(base, bad...), nil, io.Discard); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[len(bad)-2], "--")) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}
