package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outboxFixture creates the client bank-app of BankMSP, ins-app of
// InsurerMSP and the given webhooks of bank-app.
func outboxFixture(t *testing.T, s *Store, webhooks ...string) {
	t.Helper()
	for _, c := range []Client{{ID: "bank-app", OrgMSP: "BankMSP"}, {ID: "ins-app", OrgMSP: "InsurerMSP"}} {
		_, err := s.CreateClient(ctx, c, "0123456789abcdef")
		require.NoError(t, err)
	}
	for _, id := range webhooks {
		_, err := s.CreateWebhook(ctx, Webhook{ID: id, ClientID: "bank-app", URL: "https://bank.example/hook", Secret: "s3cret"})
		require.NoError(t, err)
	}
}

// enqueueIDs enqueues the events for wh at now and returns their item ids.
func enqueueIDs(t *testing.T, s *Store, wh string, now time.Time, events ...string) []int64 {
	t.Helper()
	var ids []int64
	for _, ev := range events {
		ok, err := s.EnqueueEvent(ctx, wh, ev, []byte(`{"name":"AuthorizationGranted"}`), now)
		require.NoError(t, err)
		require.True(t, ok)
		page, err := s.WebhookDeliveries(ctx, WebhookDeliveryQuery{OrgMSP: "BankMSP", WebhookID: wh, Limit: MaxWebhookDeliveryPage})
		require.NoError(t, err)
		ids = append(ids, page[len(page)-1].ID)
	}
	return ids
}

func claimedIDs(t *testing.T, s *Store, now time.Time) []int64 {
	t.Helper()
	items, err := s.ClaimDue(ctx, now, 100)
	require.NoError(t, err)
	ids := []int64{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func TestOutbox(t *testing.T) {
	eachBackendDSN(t, func(t *testing.T, dsn string) {
		s := openTest(t, dsn)
		const hooks, perHook = 20, 3
		var names []string
		for i := range hooks {
			names = append(names, fmt.Sprintf("wh-%02d", i))
		}
		outboxFixture(t, s, append(names, "wh-off")...)
		_, err := s.CreateWebhook(ctx, Webhook{ID: "wh-00", ClientID: "bank-app", URL: "u", Secret: "s"})
		require.ErrorIs(t, err, ErrExists)
		require.NoError(t, s.SetWebhookDisabled(ctx, "wh-off", true))
		list, err := s.WebhooksForOrg(ctx, "BankMSP")
		require.NoError(t, err)
		require.Len(t, list, hooks)

		now := time.Now().UTC()
		for _, wh := range names {
			for e := range perHook {
				ok, err := s.EnqueueEvent(ctx, wh, fmt.Sprintf("ev-%d", e), []byte(`{}`), now)
				require.NoError(t, err)
				require.True(t, ok)
			}
		}
		ok, err := s.EnqueueEvent(ctx, "wh-00", "ev-0", []byte(`{}`), now)
		require.NoError(t, err)
		require.False(t, ok, "an event is enqueued once per webhook")
		_, err = s.EnqueueEvent(ctx, "wh-off", "ev-0", []byte(`{}`), now)
		require.NoError(t, err)

		// Concurrent claimers share the due items without overlap: the
		// first item of each enabled webhook, and nothing of the disabled
		// one.
		var mu sync.Mutex
		claimed := map[int64]int{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					items, err := s.ClaimDue(ctx, now, 3)
					if !assert.NoError(t, err) || len(items) == 0 {
						return
					}
					mu.Lock()
					for _, it := range items {
						claimed[it.ID]++
						assert.Equal(t, 1, it.Attempts)
						assert.Equal(t, "ev-0", it.EventID, "only a webhook's first item is claimable")
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Len(t, claimed, hooks)
		for id, n := range claimed {
			require.Equal(t, 1, n, "item %d claimed %d times", id, n)
		}

		// Leased items come back only when the lease runs out.
		items, err := s.ClaimDue(ctx, now.Add(ClaimLease-time.Second), 100)
		require.NoError(t, err)
		require.Empty(t, items)
		items, err = s.ClaimDue(ctx, now.Add(ClaimLease), 100)
		require.NoError(t, err)
		require.Len(t, items, hooks)
		assert.Equal(t, 2, items[0].Attempts)

		later := now.Add(ClaimLease + time.Minute)
		require.NoError(t, s.MarkDelivered(ctx, items[0].ID, later))
		require.ErrorIs(t, s.MarkDelivered(ctx, items[0].ID, later), ErrNotFound)
		require.NoError(t, s.MarkFailed(ctx, items[1].ID, later.Add(time.Hour), "HTTP 503"))

		// Deliveries survive a restart: it is a table. The delivered
		// item's successor is due; the failed one's waits behind it.
		require.NoError(t, s.Close())
		s = openTest(t, dsn)
		due, err := s.ClaimDue(ctx, now.Add(2*ClaimLease), 100)
		require.NoError(t, err)
		require.Len(t, due, hooks-1, "the postponed webhook's items are not due")
		for _, it := range due {
			assert.NotEqual(t, items[1].WebhookID, it.WebhookID)
			require.NoError(t, s.MarkDelivered(ctx, it.ID, later))
		}
		due, err = s.ClaimDue(ctx, later.Add(time.Hour), 100)
		require.NoError(t, err)
		require.Len(t, due, hooks)
		var retried OutboxItem
		for _, it := range due {
			if it.ID == items[1].ID {
				retried = it
			}
		}
		assert.Equal(t, "HTTP 503", retried.LastError)
		assert.Equal(t, 3, retried.Attempts)

		got, err := s.GetOutboxItem(ctx, items[0].ID)
		require.NoError(t, err)
		assert.True(t, got.DeliveredAt.Equal(later.Truncate(time.Microsecond)))
		assert.Equal(t, OutboxDelivered, got.State())
	})
}

// TestOutboxOrder: a webhook's items go out one at a time, in order; a
// failed or parked item holds the later ones back, and a retry releases it
// in its place.
func TestOutboxOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		outboxFixture(t, s, "wh-a", "wh-b")
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		a := enqueueIDs(t, s, "wh-a", t0, "1:t1", "2:t2", "3:t3")
		b := enqueueIDs(t, s, "wh-b", t0, "1:t1")

		require.Equal(t, []int64{a[0], b[0]}, claimedIDs(t, s, t0), "one item per webhook, the first")
		require.NoError(t, s.MarkDelivered(ctx, b[0], t0))
		require.NoError(t, s.MarkFailed(ctx, a[0], t0.Add(time.Minute), "HTTP 503"))
		require.Empty(t, claimedIDs(t, s, t0.Add(30*time.Second)), "the later items wait for the failed one")
		require.Equal(t, []int64{a[0]}, claimedIDs(t, s, t0.Add(time.Minute)))

		// Parked: nothing of the webhook goes out, however long one waits,
		// and new events queue behind it; the other webhook is not held.
		parkedAt := t0.Add(2 * time.Minute)
		require.NoError(t, s.MarkParked(ctx, a[0], parkedAt, "parked after 2 attempts: HTTP 503"))
		a = append(a, enqueueIDs(t, s, "wh-a", parkedAt, "4:t4")...)
		b = append(b, enqueueIDs(t, s, "wh-b", parkedAt, "4:t4")...)
		require.Equal(t, []int64{b[1]}, claimedIDs(t, s, parkedAt.AddDate(10, 0, 0)))
		it, err := s.GetOutboxItem(ctx, a[0])
		require.NoError(t, err)
		assert.Equal(t, OutboxParked, it.State())
		assert.True(t, it.ParkedAt.Equal(parkedAt))
		assert.Equal(t, 2, it.Attempts)

		// A retry makes the parked item due at once, first in line, with
		// its attempts reset; the others follow it one by one, in order.
		retryAt := parkedAt.Add(time.Hour)
		n, err := s.RetryParked(ctx, "BankMSP", "wh-a", retryAt)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = s.RetryParked(ctx, "BankMSP", "wh-a", retryAt)
		require.NoError(t, err)
		require.Zero(t, n, "a second retry finds nothing parked")
		var order []int64
		for range a {
			due, err := s.ClaimDue(ctx, retryAt, 100)
			require.NoError(t, err)
			require.Len(t, due, 1)
			if due[0].ID == a[0] {
				assert.Equal(t, 1, due[0].Attempts)
				assert.True(t, due[0].RetriedAt.Equal(retryAt))
			}
			order = append(order, due[0].ID)
			require.NoError(t, s.MarkDelivered(ctx, due[0].ID, retryAt))
		}
		assert.Equal(t, a, order)
		assert.Empty(t, claimedIDs(t, s, retryAt.AddDate(1, 0, 0)), "each item is delivered once")
	})
}

func TestRetryOutboxItem(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		outboxFixture(t, s, "wh-a")
		_, err := s.CreateWebhook(ctx, Webhook{ID: "wh-ins", ClientID: "ins-app", URL: "https://ins.example/", Secret: "k"})
		require.NoError(t, err)
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		a := enqueueIDs(t, s, "wh-a", t0, "1:t1", "2:t2")
		ok, err := s.EnqueueEvent(ctx, "wh-ins", "1:t1", []byte(`{}`), t0)
		require.NoError(t, err)
		require.True(t, ok)

		// Not parked yet: pending, then in flight.
		_, err = s.RetryOutboxItem(ctx, "BankMSP", a[0], t0)
		require.ErrorIs(t, err, ErrNotParked)
		claimed, err := s.ClaimDue(ctx, t0, 10)
		require.NoError(t, err)
		require.Len(t, claimed, 2)
		for _, it := range claimed {
			if it.WebhookID == "wh-a" {
				require.NoError(t, s.MarkParked(ctx, it.ID, t0, "parked after 1 attempts: timeout"))
			} else {
				require.NoError(t, s.MarkParked(ctx, it.ID, t0, "parked after 1 attempts: timeout"))
				// Another organisation's item is not found.
				_, err = s.RetryOutboxItem(ctx, "BankMSP", it.ID, t0)
				require.ErrorIs(t, err, ErrNotFound)
				_, err = s.RetryParked(ctx, "BankMSP", "wh-ins", t0)
				require.ErrorIs(t, err, ErrNotFound)
			}
		}
		_, err = s.RetryOutboxItem(ctx, "BankMSP", 999999, t0)
		require.ErrorIs(t, err, ErrNotFound)
		_, err = s.RetryOutboxItem(ctx, "BankMSP", a[1], t0)
		require.ErrorIs(t, err, ErrNotParked, "an item held back is not parked")

		at := t0.Add(time.Hour)
		it, err := s.RetryOutboxItem(ctx, "BankMSP", a[0], at)
		require.NoError(t, err)
		assert.Equal(t, OutboxPending, it.State())
		assert.Zero(t, it.Attempts)
		assert.True(t, it.NextAttemptAt.Equal(at) && it.RetriedAt.Equal(at), "%+v", it)
		assert.Equal(t, "parked after 1 attempts: timeout", it.LastError, "the last error is kept")

		// Repeated, the retry changes nothing.
		again, err := s.RetryOutboxItem(ctx, "BankMSP", a[0], at.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, it, again)
		require.NoError(t, s.MarkDelivered(ctx, a[0], at))
		again, err = s.RetryOutboxItem(ctx, "BankMSP", a[0], at.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, OutboxDelivered, again.State())

		// Delivered without ever being parked: not parked.
		claimed, err = s.ClaimDue(ctx, at, 10)
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		require.NoError(t, s.MarkDelivered(ctx, a[1], at))
		_, err = s.RetryOutboxItem(ctx, "BankMSP", a[1], at)
		require.ErrorIs(t, err, ErrNotParked)

		// A deleted webhook's items are no longer the organisation's to
		// retry.
		b := enqueueIDs(t, s, "wh-a", at, "3:t3")
		claimed, err = s.ClaimDue(ctx, at, 10)
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		require.NoError(t, s.MarkParked(ctx, b[0], at, "parked"))
		require.NoError(t, s.SetWebhookDisabled(ctx, "wh-a", true))
		_, err = s.RetryOutboxItem(ctx, "BankMSP", b[0], at)
		require.ErrorIs(t, err, ErrNotFound)
		_, err = s.RetryParked(ctx, "BankMSP", "wh-a", at)
		require.ErrorIs(t, err, ErrNotFound)
	})
}

func TestWebhookDeliveries(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		outboxFixture(t, s, "wh-a", "wh-b")
		_, err := s.CreateWebhook(ctx, Webhook{ID: "wh-ins", ClientID: "ins-app", URL: "https://ins.example/", Secret: "k"})
		require.NoError(t, err)
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		a := enqueueIDs(t, s, "wh-a", t0, "1:t1", "2:t2", "3:t3")
		b := enqueueIDs(t, s, "wh-b", t0, "1:t1", "2:t2")
		_, err = s.EnqueueEvent(ctx, "wh-ins", "1:t1", []byte(`{}`), t0)
		require.NoError(t, err)
		claimed := claimedIDs(t, s, t0)
		require.Len(t, claimed, 3)
		require.NoError(t, s.MarkParked(ctx, a[0], t0, "parked after 1 attempts: HTTP 500"))
		require.NoError(t, s.MarkDelivered(ctx, b[0], t0))

		list := func(q WebhookDeliveryQuery) []int64 {
			t.Helper()
			q.OrgMSP = "BankMSP"
			if q.Limit == 0 {
				q.Limit = 10
			}
			page, err := s.WebhookDeliveries(ctx, q)
			require.NoError(t, err)
			ids := []int64{}
			for _, d := range page {
				ids = append(ids, d.ID)
			}
			return ids
		}
		assert.Equal(t, []int64{a[0], a[1], a[2], b[1]}, list(WebhookDeliveryQuery{}), "undelivered, the organisation's only")
		assert.Equal(t, []int64{a[0]}, list(WebhookDeliveryQuery{State: OutboxParked}))
		assert.Equal(t, []int64{a[1], a[2], b[1]}, list(WebhookDeliveryQuery{State: OutboxPending}))
		assert.Equal(t, []int64{b[1]}, list(WebhookDeliveryQuery{WebhookID: "wh-b"}))
		assert.Empty(t, list(WebhookDeliveryQuery{WebhookID: "wh-ins"}))
		assert.Equal(t, []int64{a[0], a[1]}, list(WebhookDeliveryQuery{Limit: 2}))
		assert.Equal(t, []int64{a[2], b[1]}, list(WebhookDeliveryQuery{After: a[1], Limit: 2}))

		page, err := s.WebhookDeliveries(ctx, WebhookDeliveryQuery{OrgMSP: "BankMSP", Limit: 10})
		require.NoError(t, err)
		byID := map[int64]WebhookDelivery{}
		for _, d := range page {
			byID[d.ID] = d
		}
		assert.Equal(t, OutboxParked, byID[a[0]].State())
		assert.Equal(t, "parked after 1 attempts: HTTP 500", byID[a[0]].LastError)
		assert.False(t, byID[a[0]].HeldBack)
		assert.True(t, byID[a[1]].HeldBack && byID[a[2]].HeldBack, "the items behind a parked one are held back")
		assert.False(t, byID[b[1]].HeldBack)
		assert.JSONEq(t, `{"name":"AuthorizationGranted"}`, string(byID[a[1]].Payload))

		for _, q := range []WebhookDeliveryQuery{
			{Limit: 10}, {OrgMSP: "BankMSP"}, {OrgMSP: "BankMSP", Limit: MaxWebhookDeliveryPage + 1},
			{OrgMSP: "BankMSP", Limit: 1, After: -1}, {OrgMSP: "BankMSP", Limit: 1, State: OutboxDelivered},
		} {
			_, err := s.WebhookDeliveries(ctx, q)
			require.ErrorIs(t, err, ErrInvalidArgument, "%+v", q)
		}
	})
}

// TestMigrationParksLegacyItems: an item that the sender parked before
// parking had a column of its own (due in the year 9999) is parked after
// the migration, and still holds its webhook's later items back.
func TestMigrationParksLegacyItems(t *testing.T) {
	eachBackendDSN(t, func(t *testing.T, dsn string) {
		s := openTest(t, dsn)
		outboxFixture(t, s, "wh-a")
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		a := enqueueIDs(t, s, "wh-a", t0, "1:t1", "2:t2")
		// Back to the schema before version 4, with a parked item of that
		// time.
		for _, q := range []string{
			`DROP INDEX outbox_webhook_queue`,
			`ALTER TABLE outbox DROP COLUMN parked_at`,
			`ALTER TABLE outbox DROP COLUMN retried_at`,
			`DELETE FROM schema_migrations WHERE version = 4`,
		} {
			_, err := s.db.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
		_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = 20, next_attempt_at = $2, last_error = 'parked after 20 attempts: HTTP 503'
			WHERE id = $1`, a[0], s.d.ts(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)))
		require.NoError(t, err)
		require.NoError(t, s.Close())

		s = openTest(t, dsn)
		it, err := s.GetOutboxItem(ctx, a[0])
		require.NoError(t, err)
		assert.Equal(t, OutboxParked, it.State())
		assert.True(t, it.ParkedAt.Equal(t0))
		later, err := s.GetOutboxItem(ctx, a[1])
		require.NoError(t, err)
		assert.Equal(t, OutboxPending, later.State())
		assert.Empty(t, claimedIDs(t, s, t0.Add(time.Hour)))
		n, err := s.RetryParked(ctx, "BankMSP", "wh-a", t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, []int64{a[0]}, claimedIDs(t, s, t0.Add(time.Hour)))
	})
}
