package expiring

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestCacheKeepsHitsForItsTTL runs in a synctest bubble, whose clock
// time.Sleep moves.
func TestCacheKeepsHitsForItsTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		loads := map[string]int{}
		c := NewCache(time.Minute, func(_ context.Context, k string) (int, error) {
			loads[k]++
			if k == "missing" {
				return 0, errors.New("not found")
			}
			return loads[k], nil
		})
		ctx := context.Background()
		for range 3 {
			if v, err := c.Get(ctx, "a"); v != 1 || err != nil {
				t.Fatalf("Get(a) = %d, %v; want the first load", v, err)
			}
			if _, err := c.Get(ctx, "missing"); err == nil {
				t.Fatal("a failed load was answered")
			}
		}
		if loads["missing"] != 3 {
			t.Fatalf("%d loads of a miss, want 3: a failure is not kept", loads["missing"])
		}
		time.Sleep(time.Minute)
		if v, _ := c.Get(ctx, "a"); v != 2 {
			t.Fatalf("Get(a) after the ttl = %d, want a fresh load", v)
		}
	})
}
