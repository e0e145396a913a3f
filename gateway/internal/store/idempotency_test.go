package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotencyReplayWith(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, started, err := s.BeginIdempotent(ctx, "c1", "fetch-1", "h1")
		require.NoError(t, err)
		require.True(t, started)
		sealed := []byte(`{"request":{"access_id":"acc-1"},"delivery":{"payload":{"ct":"…"}}}`)
		require.NoError(t, s.CompleteIdempotentWith(ctx, "c1", "fetch-1", 200, sealed, "data-request"))

		rec, started, err := s.BeginIdempotent(ctx, "c1", "fetch-1", "h1")
		require.NoError(t, err)
		require.False(t, started)
		assert.Equal(t, 200, rec.ResponseStatus)
		assert.Equal(t, string(sealed), string(rec.ResponseBody))
		assert.Equal(t, "data-request", rec.ReplayWith)

		// A response kept as is has no replayer.
		_, _, err = s.BeginIdempotent(ctx, "c1", "auth-1", "h2")
		require.NoError(t, err)
		require.NoError(t, s.CompleteIdempotent(ctx, "c1", "auth-1", 201, []byte(`{"id":"auth-1"}`)))
		rec, _, err = s.BeginIdempotent(ctx, "c1", "auth-1", "h2")
		require.NoError(t, err)
		assert.Equal(t, "", rec.ReplayWith)
	})
}

// TestPurgeIdempotency: keys older than the lifetime go, answered or
// abandoned; younger keys stay, and so does an old key whose current
// attempt is still running.
func TestPurgeIdempotency(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
		at := func(d time.Duration) { s.now = func() time.Time { return t0.Add(d) } }
		begin := func(key, hash string) (bool, error) {
			_, started, err := s.BeginIdempotent(ctx, "c1", key, hash)
			return started, err
		}

		at(0)
		for _, k := range []string{"old-done", "old-abandoned", "old-retried"} {
			started, err := begin(k, "h")
			require.NoError(t, err)
			require.True(t, started, k)
		}
		require.NoError(t, s.CompleteIdempotent(ctx, "c1", "old-done", 200, []byte(`{}`)))
		at(20 * time.Hour)
		_, err := begin("young", "h")
		require.NoError(t, err)
		require.NoError(t, s.CompleteIdempotent(ctx, "c1", "young", 200, []byte(`{}`)))
		// The retry of a crashed attempt takes the old key over.
		at(30 * time.Hour)
		started, err := begin("old-retried", "h")
		require.NoError(t, err)
		require.True(t, started)

		ttl := 24 * time.Hour
		n, err := s.PurgeIdempotency(ctx, s.now().Add(-ttl))
		require.NoError(t, err)
		assert.EqualValues(t, 2, n, "old-done and old-abandoned")

		// A purged key is a new key: another request may use it.
		for _, k := range []string{"old-done", "old-abandoned"} {
			started, err := begin(k, "another request")
			require.NoError(t, err, k)
			assert.True(t, started, k)
		}
		_, err = begin("young", "another request")
		assert.ErrorIs(t, err, ErrIdempotencyMismatch, "young is kept")
		_, err = begin("old-retried", "h")
		assert.ErrorIs(t, err, ErrIdempotencyInFlight, "old-retried is kept while its attempt runs")

		n, err = s.PurgeIdempotency(ctx, s.now().Add(-ttl))
		require.NoError(t, err)
		assert.EqualValues(t, 0, n)
	})
}

// TestMigrationDropsStoredRecords: the migration that introduced replayers
// deletes the data-request answers stored before, which held decrypted
// records, and keeps every other stored response.
func TestMigrationDropsStoredRecords(t *testing.T) {
	eachBackendDSN(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openTest(t, dsn)
		// Back to the schema before the migration.
		_, err := s.db.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = 5`)
		require.NoError(t, err)
		_, err = s.db.ExecContext(ctx, `ALTER TABLE idempotency DROP COLUMN replay_with`)
		require.NoError(t, err)
		now := s.d.ts(time.Now())
		for key, body := range map[string]string{
			"fetch":     `{"access_id":"acc-1","tx_id":"tx-1","records":[{"record":{"citizen_id":"110101199003077777"}}],"verified":true}`,
			"predicate": `{"access_id":"acc-2","tx_id":"tx-2","answer":true,"verified":true}`,
			"auth":      `{"id":"auth-1","status":"PENDING"}`,
		} {
			_, err := s.db.ExecContext(ctx, `INSERT INTO idempotency
				(client_id, idem_key, request_hash, status, response_status, response_body, created_at, started_at, completed_at)
				VALUES ('c1', $1, 'h', 'done', 200, $2, $3, $3, $3)`, key, []byte(body), now)
			require.NoError(t, err)
		}
		require.NoError(t, s.Close())

		s = openTest(t, dsn)
		v, err := s.SchemaVersion(ctx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, v, 5)
		for key, kept := range map[string]bool{"fetch": false, "predicate": false, "auth": true} {
			rec, started, err := s.BeginIdempotent(ctx, "c1", key, "h")
			require.NoError(t, err, key)
			if kept {
				assert.False(t, started, "%s is kept", key)
				assert.Equal(t, "", rec.ReplayWith)
			} else {
				assert.True(t, started, "%s is deleted", key)
			}
		}
	})
}
