package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

// purgeEvery is how often idempotency keys older than ttl are deleted:
// every ttl/24, between a second and ten minutes, so a key outlives its
// lifetime by a small fraction of it.
func purgeEvery(ttl time.Duration) time.Duration {
	return min(max(ttl/24, time.Second), 10*time.Minute)
}

// purgeIdempotencyKeys deletes the idempotency keys older than ttl (see
// store.PurgeIdempotency), at once and then every purgeEvery(ttl), until
// ctx ends. A failed purge is logged and tried again at the next tick.
func purgeIdempotencyKeys(ctx context.Context, st *store.Store, ttl time.Duration, log *slog.Logger) error {
	tick := time.NewTicker(purgeEvery(ttl))
	defer tick.Stop()
	for {
		n, err := st.PurgeIdempotency(ctx, time.Now().Add(-ttl))
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.WarnContext(ctx, "idempotency keys not purged", slog.String("error", err.Error()))
		case n > 0:
			log.InfoContext(ctx, "idempotency keys purged", slog.Int64("deleted", n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
