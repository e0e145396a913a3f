package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// outboxFixture creates the client bank-app of BankMSP, ins-app of
// InsurerMSP and the given webhooks of bank-app.
func outboxFixture(t *testing.T, s *Store, webhooks ...string) {
	t.Helper()
	for _, c := range []Client{{ID: "bank-app", OrgMSP: "BankMSP"}, {ID: "ins-app", OrgMSP: "InsurerMSP"}} {
		_, err := s.CreateClient(ctx, c, "0123456789abcdef")
		if err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
	}
	for _, id := range webhooks {
		_, err := s.CreateWebhook(ctx, Webhook{ID: id, ClientID: "bank-app", URL: "https://bank.example/hook", Secret: "s3cret"})
		if err != nil {
			t.Fatalf("CreateWebhook: %v", err)
		}
	}
}

// enqueueIDs enqueues the events for wh at now and returns their item ids.
func enqueueIDs(t *testing.T, s *Store, wh string, now time.Time, events ...string) []int64 {
	t.Helper()
	var ids []int64
	for _, ev := range events {
		ok, err := s.EnqueueEvent(ctx, wh, ev, []byte(`{"name":"AuthorizationGranted"}`), now)
		if err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		if !ok {
			t.Fatal("EnqueueEvent: ok = false, want true")
		}
		page, err := s.WebhookDeliveries(ctx, WebhookDeliveryQuery{OrgMSP: "BankMSP", WebhookID: wh, Limit: MaxWebhookDeliveryPage})
		if err != nil {
			t.Fatalf("WebhookDeliveries: %v", err)
		}
		ids = append(ids, page[len(page)-1].ID)
	}
	return ids
}

func claimedIDs(t *testing.T, s *Store, now time.Time) []int64 {
	t.Helper()
	items, err := s.ClaimDue(ctx, now, 100)
	if err != nil {
		t.Fatalf("ClaimDue: %v", err)
	}
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
		if !errors.Is(err, ErrExists) {
			t.Fatalf("CreateWebhook: %v, want %v", err, ErrExists)
		}
		if err := s.SetWebhookDisabled(ctx, "wh-off", true); err != nil {
			t.Fatalf("SetWebhookDisabled: %v", err)
		}
		list, err := s.WebhooksForOrg(ctx, "BankMSP")
		if err != nil {
			t.Fatalf("WebhooksForOrg: %v", err)
		}
		if len(list) != hooks {
			t.Fatalf("len(list) = %d, want %d", len(list), hooks)
		}

		now := time.Now().UTC()
		for _, wh := range names {
			for e := range perHook {
				ok, err := s.EnqueueEvent(ctx, wh, fmt.Sprintf("ev-%d", e), []byte(`{}`), now)
				if err != nil {
					t.Fatalf("EnqueueEvent: %v", err)
				}
				if !ok {
					t.Fatal("EnqueueEvent: ok = false, want true")
				}
			}
		}
		ok, err := s.EnqueueEvent(ctx, "wh-00", "ev-0", []byte(`{}`), now)
		if err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		if ok {
			t.Fatal("an event was enqueued twice for one webhook")
		}
		_, err = s.EnqueueEvent(ctx, "wh-off", "ev-0", []byte(`{}`), now)
		if err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}

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
					if err != nil {
						t.Errorf("ClaimDue: %v", err)
						return
					}
					if len(items) == 0 {
						return
					}
					mu.Lock()
					for _, it := range items {
						claimed[it.ID]++
						if it.Attempts != 1 {
							t.Errorf("it.Attempts = %v, want %v", it.Attempts, 1)
						}
						if it.EventID != "ev-0" {
							t.Errorf("only a webhook's first item is claimable: got %q, want %q", it.EventID, "ev-0")
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(claimed) != hooks {
			t.Fatalf("len(claimed) = %d, want %d", len(claimed), hooks)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Fatalf("item %d claimed %d times: got %v, want %v", id, n, n, 1)
			}
		}

		// Leased items come back only when the lease runs out.
		items, err := s.ClaimDue(ctx, now.Add(ClaimLease-time.Second), 100)
		if err != nil {
			t.Fatalf("ClaimDue: %v", err)
		}
		if len(items) != 0 {
			t.Fatalf("claimed %d items while leased, want none", len(items))
		}
		items, err = s.ClaimDue(ctx, now.Add(ClaimLease), 100)
		if err != nil {
			t.Fatalf("ClaimDue: %v", err)
		}
		if len(items) != hooks {
			t.Fatalf("len(items) = %d, want %d", len(items), hooks)
		}
		if items[0].Attempts != 2 {
			t.Errorf("items[0].Attempts = %v, want %v", items[0].Attempts, 2)
		}

		later := now.Add(ClaimLease + time.Minute)
		if err := s.MarkDelivered(ctx, items[0].ID, later); err != nil {
			t.Fatalf("MarkDelivered: %v", err)
		}
		if err := s.MarkDelivered(ctx, items[0].ID, later); !errors.Is(err, ErrNotFound) {
			t.Fatalf("MarkDelivered: %v, want %v", err, ErrNotFound)
		}
		if err := s.MarkFailed(ctx, items[1].ID, later.Add(time.Hour), "HTTP 503"); err != nil {
			t.Fatalf("MarkFailed: %v", err)
		}

		// Deliveries survive a restart: it is a table. The delivered
		// item's successor is due; the failed one's waits behind it.
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s = openTest(t, dsn)
		due, err := s.ClaimDue(ctx, now.Add(2*ClaimLease), 100)
		if err != nil {
			t.Fatalf("ClaimDue: %v", err)
		}
		if len(due) != hooks-1 {
			t.Fatalf("the postponed webhook's items are not due: len(due) = %d, want %d", len(due), hooks-1)
		}
		for _, it := range due {
			if it.WebhookID == items[1].WebhookID {
				t.Errorf("it.WebhookID = %v, want anything else", it.WebhookID)
			}
			if err := s.MarkDelivered(ctx, it.ID, later); err != nil {
				t.Fatalf("MarkDelivered: %v", err)
			}
		}
		due, err = s.ClaimDue(ctx, later.Add(time.Hour), 100)
		if err != nil {
			t.Fatalf("ClaimDue: %v", err)
		}
		if len(due) != hooks {
			t.Fatalf("len(due) = %d, want %d", len(due), hooks)
		}
		var retried OutboxItem
		for _, it := range due {
			if it.ID == items[1].ID {
				retried = it
			}
		}
		if retried.LastError != "HTTP 503" {
			t.Errorf("retried.LastError = %q, want %q", retried.LastError, "HTTP 503")
		}
		if retried.Attempts != 3 {
			t.Errorf("retried.Attempts = %v, want %v", retried.Attempts, 3)
		}

		got, err := s.GetOutboxItem(ctx, items[0].ID)
		if err != nil {
			t.Fatalf("GetOutboxItem: %v", err)
		}
		if !got.DeliveredAt.Equal(later.Truncate(time.Microsecond)) {
			t.Errorf("got.DeliveredAt = %v, want %v", got.DeliveredAt, later.Truncate(time.Microsecond))
		}
		if got := got.State(); got != OutboxDelivered {
			t.Errorf("got.State() = %v, want %v", got, OutboxDelivered)
		}
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

		if got := claimedIDs(t, s, t0); !slices.Equal(got, []int64{a[0], b[0]}) {
			t.Fatalf("one item per webhook, the first: got %v, want %v", got, []int64{a[0], b[0]})
		}
		if err := s.MarkDelivered(ctx, b[0], t0); err != nil {
			t.Fatalf("MarkDelivered: %v", err)
		}
		if err := s.MarkFailed(ctx, a[0], t0.Add(time.Minute), "HTTP 503"); err != nil {
			t.Fatalf("MarkFailed: %v", err)
		}
		if got := claimedIDs(t, s, t0.Add(30*time.Second)); len(got) != 0 {
			t.Fatalf("claimed %v: the later items wait for the failed one", got)
		}
		if got := claimedIDs(t, s, t0.Add(time.Minute)); !slices.Equal(got, []int64{a[0]}) {
			t.Fatalf("claimedIDs(t, s, t0.Add(time.Minute)) = %v, want %v", got, []int64{a[0]})
		}

		// Parked: nothing of the webhook goes out, however long one waits,
		// and new events queue behind it; the other webhook is not held.
		parkedAt := t0.Add(2 * time.Minute)
		if err := s.MarkParked(ctx, a[0], parkedAt, "parked after 2 attempts: HTTP 503"); err != nil {
			t.Fatalf("MarkParked: %v", err)
		}
		a = append(a, enqueueIDs(t, s, "wh-a", parkedAt, "4:t4")...)
		b = append(b, enqueueIDs(t, s, "wh-b", parkedAt, "4:t4")...)
		if got := claimedIDs(t, s, parkedAt.AddDate(10, 0, 0)); !slices.Equal(got, []int64{b[1]}) {
			t.Fatalf("claimedIDs(t, s, parkedAt.AddDate(10, 0, 0)) = %v, want %v", got, []int64{b[1]})
		}
		it, err := s.GetOutboxItem(ctx, a[0])
		if err != nil {
			t.Fatalf("GetOutboxItem: %v", err)
		}
		if got := it.State(); got != OutboxParked {
			t.Errorf("it.State() = %v, want %v", got, OutboxParked)
		}
		if !it.ParkedAt.Equal(parkedAt) {
			t.Errorf("it.ParkedAt = %v, want %v", it.ParkedAt, parkedAt)
		}
		if it.Attempts != 2 {
			t.Errorf("it.Attempts = %v, want %v", it.Attempts, 2)
		}

		// A retry makes the parked item due at once, first in line, with
		// its attempts reset; the others follow it one by one, in order.
		retryAt := parkedAt.Add(time.Hour)
		n, err := s.RetryParked(ctx, "BankMSP", "wh-a", retryAt)
		if err != nil {
			t.Fatalf("RetryParked: %v", err)
		}
		if n != 1 {
			t.Fatalf("n = %v, want %v", n, 1)
		}
		n, err = s.RetryParked(ctx, "BankMSP", "wh-a", retryAt)
		if err != nil {
			t.Fatalf("RetryParked: %v", err)
		}
		if n != 0 {
			t.Fatalf("a second retry found %d parked, want 0", n)
		}
		var order []int64
		for range a {
			due, err := s.ClaimDue(ctx, retryAt, 100)
			if err != nil {
				t.Fatalf("ClaimDue: %v", err)
			}
			if len(due) != 1 {
				t.Fatalf("len(due) = %d, want %d", len(due), 1)
			}
			if due[0].ID == a[0] {
				if due[0].Attempts != 1 {
					t.Errorf("due[0].Attempts = %v, want %v", due[0].Attempts, 1)
				}
				if !due[0].RetriedAt.Equal(retryAt) {
					t.Errorf("due[0].RetriedAt = %v, want %v", due[0].RetriedAt, retryAt)
				}
			}
			order = append(order, due[0].ID)
			if err := s.MarkDelivered(ctx, due[0].ID, retryAt); err != nil {
				t.Fatalf("MarkDelivered: %v", err)
			}
		}
		if !slices.Equal(order, a) {
			t.Errorf("order = %v, want %v", order, a)
		}
		if got := claimedIDs(t, s, retryAt.AddDate(1, 0, 0)); len(got) != 0 {
			t.Errorf("claimed %v again: each item is delivered once", got)
		}
	})
}

func TestRetryOutboxItem(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		outboxFixture(t, s, "wh-a")
		_, err := s.CreateWebhook(ctx, Webhook{ID: "wh-ins", ClientID: "ins-app", URL: "https://ins.example/", Secret: "k"})
		if err != nil {
			t.Fatalf("CreateWebhook: %v", err)
		}
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		a := enqueueIDs(t, s, "wh-a", t0, "1:t1", "2:t2")
		ok, err := s.EnqueueEvent(ctx, "wh-ins", "1:t1", []byte(`{}`), t0)
		if err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		if !ok {
			t.Fatal("EnqueueEvent: ok = false, want true")
		}

		// Not parked yet: pending, then in flight.
		_, err = s.RetryOutboxItem(ctx, "BankMSP", a[0], t0)
		if !errors.Is(err, ErrNotParked) {
			t.Fatalf("RetryOutboxItem: %v, want %v", err, ErrNotParked)
		}
		claimed, err := s.ClaimDue(ctx, t0, 10)
		if err != nil {
			t.Fatalf("ClaimDue: %v", err)
		}
		if len(claimed) != 2 {
			t.Fatalf("len(claimed) = %d, want %d", len(claimed), 2)
		}
		for _, it := range claimed {
			if it.WebhookID == "wh-a" {
				if err := s.MarkParked(ctx, it.ID, t0, "parked after 1 attempts: timeout"); err != nil {
					t.Fatalf("MarkParked: %v", err)
				}
			} else {
				if err := s.MarkParked(ctx, it.ID, t0, "parked after 1 attempts: timeout"); err != nil {
					t.Fatalf("MarkParked: %v", err)
				}
				// Another organisation's item is not found.
				_, err = s.RetryOutboxItem(ctx, "BankMSP", it.ID, t0)
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("RetryOutboxItem: %v, want %v", err, ErrNotFound)
				}
				_, err = s.RetryParked(ctx, "BankMSP", "wh-ins", t0)
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("RetryParked: %v, want %v", err, ErrNotFound)
				}
			}
		}
		_, err = s.RetryOutboxItem(ctx, "BankMSP", 999999, t0)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("RetryOutboxItem: %v, want %v", err, ErrNotFound)
		}
		_, err = s.RetryOutboxItem(ctx, "BankMSP", a[1], t0)
		if !errors.Is(err, ErrNotParked) {
			t.Fatalf("an item held back is not parked: %v, want %v", err, ErrNotParked)
		}

		at := t0.Add(time.Hour)
		it, err := s.RetryOutboxItem(ctx, "BankMSP", a[0], at)
		if err != nil {
			t.Fatalf("RetryOutboxItem: %v", err)
		}
		if got := it.State(); got != OutboxPending {
			t.Errorf("it.State() = %v, want %v", got, OutboxPending)
		}
		if it.Attempts != 0 {
			t.Errorf("it.Attempts = %d, want 0", it.Attempts)
		}
		if !(it.NextAttemptAt.Equal(at) && it.RetriedAt.Equal(at)) {
			t.Errorf("item %+v: next attempt and retry time want %s", it, at)
		}
		if it.LastError != "parked after 1 attempts: timeout" {
			t.Errorf("the last error is kept: got %q, want %q", it.LastError, "parked after 1 attempts: timeout")
		}

		// Repeated, the retry changes nothing.
		again, err := s.RetryOutboxItem(ctx, "BankMSP", a[0], at.Add(time.Minute))
		if err != nil {
			t.Fatalf("RetryOutboxItem: %v", err)
		}
		if !reflect.DeepEqual(again, it) {
			t.Errorf("again = %+v, want %+v", again, it)
		}
		if err := s.MarkDelivered(ctx, a[0], at); err != nil {
			t.Fatalf("MarkDelivered: %v", err)
		}
		again, err = s.RetryOutboxItem(ctx, "BankMSP", a[0], at.Add(time.Minute))
		if err != nil {
			t.Fatalf("RetryOutboxItem: %v", err)
		}
		if got := again.State(); got != OutboxDelivered {
			t.Errorf("again.State() = %v, want %v", got, OutboxDelivered)
		}

		// Delivered without ever being parked: not parked.
		claimed, err = s.ClaimDue(ctx, at, 10)
		if err != nil {
			t.Fatalf("ClaimDue: %v", err)
		}
		if len(claimed) != 1 {
			t.Fatalf("len(claimed) = %d, want %d", len(claimed), 1)
		}
		if err := s.MarkDelivered(ctx, a[1], at); err != nil {
			t.Fatalf("MarkDelivered: %v", err)
		}
		_, err = s.RetryOutboxItem(ctx, "BankMSP", a[1], at)
		if !errors.Is(err, ErrNotParked) {
			t.Fatalf("RetryOutboxItem: %v, want %v", err, ErrNotParked)
		}

		// A deleted webhook's items are no longer the organisation's to
		// retry.
		b := enqueueIDs(t, s, "wh-a", at, "3:t3")
		claimed, err = s.ClaimDue(ctx, at, 10)
		if err != nil {
			t.Fatalf("ClaimDue: %v", err)
		}
		if len(claimed) != 1 {
			t.Fatalf("len(claimed) = %d, want %d", len(claimed), 1)
		}
		if err := s.MarkParked(ctx, b[0], at, "parked"); err != nil {
			t.Fatalf("MarkParked: %v", err)
		}
		if err := s.SetWebhookDisabled(ctx, "wh-a", true); err != nil {
			t.Fatalf("SetWebhookDisabled: %v", err)
		}
		_, err = s.RetryOutboxItem(ctx, "BankMSP", b[0], at)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("RetryOutboxItem: %v, want %v", err, ErrNotFound)
		}
		_, err = s.RetryParked(ctx, "BankMSP", "wh-a", at)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("RetryParked: %v, want %v", err, ErrNotFound)
		}
	})
}

func TestWebhookDeliveries(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		outboxFixture(t, s, "wh-a", "wh-b")
		_, err := s.CreateWebhook(ctx, Webhook{ID: "wh-ins", ClientID: "ins-app", URL: "https://ins.example/", Secret: "k"})
		if err != nil {
			t.Fatalf("CreateWebhook: %v", err)
		}
		t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		a := enqueueIDs(t, s, "wh-a", t0, "1:t1", "2:t2", "3:t3")
		b := enqueueIDs(t, s, "wh-b", t0, "1:t1", "2:t2")
		_, err = s.EnqueueEvent(ctx, "wh-ins", "1:t1", []byte(`{}`), t0)
		if err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		claimed := claimedIDs(t, s, t0)
		if len(claimed) != 3 {
			t.Fatalf("len(claimed) = %d, want %d", len(claimed), 3)
		}
		if err := s.MarkParked(ctx, a[0], t0, "parked after 1 attempts: HTTP 500"); err != nil {
			t.Fatalf("MarkParked: %v", err)
		}
		if err := s.MarkDelivered(ctx, b[0], t0); err != nil {
			t.Fatalf("MarkDelivered: %v", err)
		}

		list := func(q WebhookDeliveryQuery) []int64 {
			t.Helper()
			q.OrgMSP = "BankMSP"
			if q.Limit == 0 {
				q.Limit = 10
			}
			page, err := s.WebhookDeliveries(ctx, q)
			if err != nil {
				t.Fatalf("WebhookDeliveries: %v", err)
			}
			ids := []int64{}
			for _, d := range page {
				ids = append(ids, d.ID)
			}
			return ids
		}
		if got := list(WebhookDeliveryQuery{}); !slices.Equal(got, []int64{a[0], a[1], a[2], b[1]}) {
			t.Errorf("undelivered, the organisation's only: got %v, want %v", got, []int64{a[0], a[1], a[2], b[1]})
		}
		if got := list(WebhookDeliveryQuery{State: OutboxParked}); !slices.Equal(got, []int64{a[0]}) {
			t.Errorf("list(WebhookDeliveryQuery{State: OutboxParked}) = %v, want %v", got, []int64{a[0]})
		}
		if got := list(WebhookDeliveryQuery{State: OutboxPending}); !slices.Equal(got, []int64{a[1], a[2], b[1]}) {
			t.Errorf("list(WebhookDeliveryQuery{State: OutboxPending}) = %v, want %v", got, []int64{a[1], a[2], b[1]})
		}
		if got := list(WebhookDeliveryQuery{WebhookID: "wh-b"}); !slices.Equal(got, []int64{b[1]}) {
			t.Errorf(`list(WebhookDeliveryQuery{WebhookID: "wh-b"}) = %v, want %v`, got, []int64{b[1]})
		}
		if got := list(WebhookDeliveryQuery{WebhookID: "wh-ins"}); len(got) != 0 {
			t.Errorf("another organisation's webhook listed: %v", got)
		}
		if got := list(WebhookDeliveryQuery{Limit: 2}); !slices.Equal(got, []int64{a[0], a[1]}) {
			t.Errorf("list(WebhookDeliveryQuery{Limit: 2}) = %v, want %v", got, []int64{a[0], a[1]})
		}
		if got := list(WebhookDeliveryQuery{After: a[1], Limit: 2}); !slices.Equal(got, []int64{a[2], b[1]}) {
			t.Errorf("list(WebhookDeliveryQuery{After: a[1], Limit: 2}) = %v, want %v", got, []int64{a[2], b[1]})
		}

		page, err := s.WebhookDeliveries(ctx, WebhookDeliveryQuery{OrgMSP: "BankMSP", Limit: 10})
		if err != nil {
			t.Fatalf("WebhookDeliveries: %v", err)
		}
		byID := map[int64]WebhookDelivery{}
		for _, d := range page {
			byID[d.ID] = d
		}
		if got := byID[a[0]].State(); got != OutboxParked {
			t.Errorf("byID[a[0]].State() = %v, want %v", got, OutboxParked)
		}
		if byID[a[0]].LastError != "parked after 1 attempts: HTTP 500" {
			t.Errorf("byID[a[0]].LastError = %q, want %q", byID[a[0]].LastError, "parked after 1 attempts: HTTP 500")
		}
		if byID[a[0]].HeldBack {
			t.Error("byID[a[0]].HeldBack = true, want false")
		}
		if !(byID[a[1]].HeldBack && byID[a[2]].HeldBack) {
			t.Error("the items behind a parked one are not held back")
		}
		if byID[b[1]].HeldBack {
			t.Error("byID[b[1]].HeldBack = true, want false")
		}
		var payload map[string]any
		if err := json.Unmarshal(byID[a[1]].Payload, &payload); err != nil || len(payload) != 1 ||
			payload["name"] != "AuthorizationGranted" {
			t.Errorf(`payload %s, want {"name":"AuthorizationGranted"}`, byID[a[1]].Payload)
		}

		for _, q := range []WebhookDeliveryQuery{
			{Limit: 10}, {OrgMSP: "BankMSP"}, {OrgMSP: "BankMSP", Limit: MaxWebhookDeliveryPage + 1},
			{OrgMSP: "BankMSP", Limit: 1, After: -1}, {OrgMSP: "BankMSP", Limit: 1, State: OutboxDelivered},
		} {
			_, err := s.WebhookDeliveries(ctx, q)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("%+v: %v, want %v", q, err, ErrInvalidArgument)
			}
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
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = 20, next_attempt_at = $2, last_error = 'parked after 20 attempts: HTTP 503'
			WHERE id = $1`, a[0], s.d.ts(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)))
		if err != nil {
			t.Fatalf("ExecContext: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		s = openTest(t, dsn)
		it, err := s.GetOutboxItem(ctx, a[0])
		if err != nil {
			t.Fatalf("GetOutboxItem: %v", err)
		}
		if got := it.State(); got != OutboxParked {
			t.Errorf("it.State() = %v, want %v", got, OutboxParked)
		}
		if !it.ParkedAt.Equal(t0) {
			t.Errorf("it.ParkedAt = %v, want %v", it.ParkedAt, t0)
		}
		later, err := s.GetOutboxItem(ctx, a[1])
		if err != nil {
			t.Fatalf("GetOutboxItem: %v", err)
		}
		if got := later.State(); got != OutboxPending {
			t.Errorf("later.State() = %v, want %v", got, OutboxPending)
		}
		if got := claimedIDs(t, s, t0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("claimed %v, want none", got)
		}
		n, err := s.RetryParked(ctx, "BankMSP", "wh-a", t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("RetryParked: %v", err)
		}
		if n != 1 {
			t.Errorf("n = %v, want %v", n, 1)
		}
		if got := claimedIDs(t, s, t0.Add(time.Hour)); !slices.Equal(got, []int64{a[0]}) {
			t.Errorf("claimedIDs(t, s, t0.Add(time.Hour)) = %v, want %v", got, []int64{a[0]})
		}
	})
}
