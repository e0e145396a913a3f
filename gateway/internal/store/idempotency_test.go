package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestIdempotencyReplayWith(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, started, err := s.BeginIdempotent(ctx, "c1", "fetch-1", "h1")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if !started {
			t.Fatal("BeginIdempotent: started = false, want true")
		}
		sealed := []byte(`{"request":{"access_id":"acc-1"},"delivery":{"payload":{"ct":"…"}}}`)
		if err := s.CompleteIdempotentWith(ctx, "c1", "fetch-1", 200, sealed, "data-request"); err != nil {
			t.Fatalf("CompleteIdempotentWith: %v", err)
		}

		rec, started, err := s.BeginIdempotent(ctx, "c1", "fetch-1", "h1")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if started {
			t.Fatal("BeginIdempotent: started = true, want false")
		}
		if rec.ResponseStatus != 200 {
			t.Errorf("rec.ResponseStatus = %v, want %v", rec.ResponseStatus, 200)
		}
		if got, want := string(rec.ResponseBody), string(sealed); got != want {
			t.Errorf("string(rec.ResponseBody) = %v, want %v", got, want)
		}
		if rec.ReplayWith != "data-request" {
			t.Errorf("rec.ReplayWith = %q, want %q", rec.ReplayWith, "data-request")
		}

		// A response kept as is has no replayer.
		_, _, err = s.BeginIdempotent(ctx, "c1", "auth-1", "h2")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if err := s.CompleteIdempotent(ctx, "c1", "auth-1", 201, []byte(`{"id":"auth-1"}`)); err != nil {
			t.Fatalf("CompleteIdempotent: %v", err)
		}
		rec, _, err = s.BeginIdempotent(ctx, "c1", "auth-1", "h2")
		if err != nil {
			t.Fatalf("BeginIdempotent: %v", err)
		}
		if rec.ReplayWith != "" {
			t.Errorf("rec.ReplayWith = %q, want %q", rec.ReplayWith, "")
		}
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
			if err != nil {
				t.Fatalf("begin %s: %v", k, err)
			}
			if !started {
				t.Fatalf("%s was not started", k)
			}
		}
		if err := s.CompleteIdempotent(ctx, "c1", "old-done", 200, []byte(`{}`)); err != nil {
			t.Fatalf("CompleteIdempotent: %v", err)
		}
		at(20 * time.Hour)
		_, err := begin("young", "h")
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		if err := s.CompleteIdempotent(ctx, "c1", "young", 200, []byte(`{}`)); err != nil {
			t.Fatalf("CompleteIdempotent: %v", err)
		}
		// The retry of a crashed attempt takes the old key over.
		at(30 * time.Hour)
		started, err := begin("old-retried", "h")
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		if !started {
			t.Fatal("begin: started = false, want true")
		}

		ttl := 24 * time.Hour
		n, err := s.PurgeIdempotency(ctx, s.now().Add(-ttl))
		if err != nil {
			t.Fatalf("PurgeIdempotency: %v", err)
		}
		if n != 2 {
			t.Errorf("old-done and old-abandoned: got %v, want %v", n, 2)
		}

		// A purged key is a new key: another request may use it.
		for _, k := range []string{"old-done", "old-abandoned"} {
			started, err := begin(k, "another request")
			if err != nil {
				t.Fatalf("begin %s: %v", k, err)
			}
			if !started {
				t.Errorf("%s was not started again", k)
			}
		}
		_, err = begin("young", "another request")
		if !errors.Is(err, ErrIdempotencyMismatch) {
			t.Errorf("young is kept: %v, want %v", err, ErrIdempotencyMismatch)
		}
		_, err = begin("old-retried", "h")
		if !errors.Is(err, ErrIdempotencyInFlight) {
			t.Errorf("old-retried is kept while its attempt runs: %v, want %v", err, ErrIdempotencyInFlight)
		}

		n, err = s.PurgeIdempotency(ctx, s.now().Add(-ttl))
		if err != nil {
			t.Fatalf("PurgeIdempotency: %v", err)
		}
		if n != 0 {
			t.Errorf("n = %v, want %v", n, 0)
		}
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
		if err != nil {
			t.Fatalf("ExecContext: %v", err)
		}
		_, err = s.db.ExecContext(ctx, `ALTER TABLE idempotency DROP COLUMN replay_with`)
		if err != nil {
			t.Fatalf("ExecContext: %v", err)
		}
		now := s.d.ts(time.Now())
		for key, body := range map[string]string{
			"fetch":     `{"access_id":"acc-1","tx_id":"tx-1","records":[{"record":{"citizen_id":"110101199003077777"}}],"verified":true}`,
			"predicate": `{"access_id":"acc-2","tx_id":"tx-2","answer":true,"verified":true}`,
			"auth":      `{"id":"auth-1","status":"PENDING"}`,
		} {
			_, err := s.db.ExecContext(ctx, `INSERT INTO idempotency
				(client_id, idem_key, request_hash, status, response_status, response_body, created_at, started_at, completed_at)
				VALUES ('c1', $1, 'h', 'done', 200, $2, $3, $3, $3)`, key, []byte(body), now)
			if err != nil {
				t.Fatalf("ExecContext: %v", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		s = openTest(t, dsn)
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatalf("SchemaVersion: %v", err)
		}
		if v < 5 {
			t.Fatalf("schema version %d, want 5 or later", v)
		}
		for key, kept := range map[string]bool{"fetch": false, "predicate": false, "auth": true} {
			rec, started, err := s.BeginIdempotent(ctx, "c1", key, "h")
			if err != nil {
				t.Fatalf("BeginIdempotent %s: %v", key, err)
			}
			if kept {
				if started {
					t.Errorf("%s was deleted, want it kept", key)
				}
				if rec.ReplayWith != "" {
					t.Errorf("rec.ReplayWith = %q, want %q", rec.ReplayWith, "")
				}
			} else {
				if !started {
					t.Errorf("%s was kept, want it deleted", key)
				}
			}
		}
	})
}
