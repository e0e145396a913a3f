package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

func TestPurgeEvery(t *testing.T) {
	for ttl, want := range map[time.Duration]time.Duration{
		24 * time.Hour:   10 * time.Minute,
		2 * time.Hour:    5 * time.Minute,
		10 * time.Minute: 25 * time.Second,
		time.Nanosecond:  time.Second,
	} {
		if got := purgeEvery(ttl); got != want {
			t.Errorf("purgeEvery(%s) = %s, want %s", ttl, got, want)
		}
	}
}

// TestPurgeIdempotencyKeys: the loop deletes expired keys at once and
// returns when its context ends.
func TestPurgeIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.BeginIdempotent(ctx, "c1", "k1", "h1"); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteIdempotent(ctx, "c1", "k1", 200, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)

	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- purgeIdempotencyKeys(lctx, st, time.Millisecond, slog.New(slog.DiscardHandler)) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Another request under the key starts once the key is gone.
		_, started, err := st.BeginIdempotent(ctx, "c1", "k1", "h2")
		if err == nil && started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key not purged: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the purge loop did not stop with its context")
	}
}
