package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"testing/synctest"
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

// TestPurgeIdempotencyKeys: the loop deletes expired keys at once, keeps a
// key for its lifetime, deletes it at most purgeEvery(ttl) later, and
// returns when its context ends. It runs in a synctest bubble, whose clock
// time.Sleep moves; the store is a SQLite file, opened and closed in the
// bubble, and the loop reads the bubble's clock through the store's.
func TestPurgeIdempotencyKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Hour
		ctx := context.Background()
		st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "gateway.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		put := func(key string) {
			t.Helper()
			if _, _, err := st.BeginIdempotent(ctx, "c1", key, "h1"); err != nil {
				t.Fatal(err)
			}
			if err := st.CompleteIdempotent(ctx, "c1", key, 200, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		// held reports whether the key is still there: the same request
		// replays rather than starting again.
		held := func(key string) bool {
			t.Helper()
			rec, started, err := st.BeginIdempotent(ctx, "c1", key, "h1")
			if err != nil {
				t.Fatal(err)
			}
			return !started && rec != nil
		}

		put("old")
		time.Sleep(ttl + time.Microsecond) // the store keeps microseconds
		put("new")

		lctx, stop := context.WithCancel(ctx)
		defer stop() // on a failure too: the bubble ends with its goroutines
		done := make(chan error, 1)
		go func() { done <- purgeIdempotencyKeys(lctx, st, ttl, slog.New(slog.DiscardHandler)) }()
		synctest.Wait()
		if held("old") {
			t.Fatal("an expired key was not purged at once")
		}
		if !held("new") {
			t.Fatal("a live key was purged")
		}

		time.Sleep(ttl)
		synctest.Wait()
		if !held("new") {
			t.Fatal("a key was purged before the end of its lifetime")
		}
		time.Sleep(purgeEvery(ttl))
		synctest.Wait()
		if held("new") {
			t.Fatalf("a key outlived its lifetime by more than %v", purgeEvery(ttl))
		}

		stop()
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatal("the purge loop did not stop with its context")
		}
	})
}
