package notify

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger"
)

// fakeSource replays a fixed chain of events with the Fabric client's
// checkpoint semantics: start at the checkpoint's block, after its
// transaction if it names one. A subscription stays open (like a live
// stream) after the last event, unless breakAfter ends it earlier.
type fakeSource struct {
	events     []ledger.ChainEvent
	breakAfter int // end each subscription after this many events; 0: never

	mu   sync.Mutex
	subs []checkpoint // the checkpoint of every subscription
	sent int          // events handed over, over all subscriptions
	fail int          // refuse this many subscriptions first
}

func (f *fakeSource) Events(ctx context.Context, cp client.Checkpoint) (<-chan ledger.ChainEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return nil, errors.New("peer unreachable")
	}
	f.subs = append(f.subs, checkpoint{block: cp.BlockNumber(), tx: cp.TransactionID()})
	var todo []ledger.ChainEvent
	skipping := cp.TransactionID() != ""
	for _, ev := range f.events {
		if ev.BlockNumber < cp.BlockNumber() {
			continue
		}
		if skipping && ev.BlockNumber == cp.BlockNumber() {
			if ev.TxID == cp.TransactionID() {
				skipping = false
			}
			continue
		}
		todo = append(todo, ev)
	}
	out := make(chan ledger.ChainEvent)
	go func() {
		defer close(out)
		for i, ev := range todo {
			if f.breakAfter > 0 && i == f.breakAfter {
				return
			}
			select {
			case out <- ev:
				f.mu.Lock()
				f.sent++
				f.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
		<-ctx.Done()
	}()
	return out, nil
}

func (f *fakeSource) counts() (subs []checkpoint, sent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]checkpoint(nil), f.subs...), f.sent
}

func chainEvent(block uint64, tx, name, requester string) ledger.ChainEvent {
	e := &model.Event{Name: name, TxID: tx, Time: "2026-11-02T09:00:00.000Z", Requester: requester,
		AuthorizationID: "auth-" + tx, MSPID: requester}
	raw, _ := json.Marshal(e)
	return ledger.ChainEvent{BlockNumber: block, TxID: tx, Name: name, Event: e, Raw: raw}
}

// chain is a small ledger history: the bank's events, the insurer's and
// events that name no requester.
func chain() []ledger.ChainEvent {
	return []ledger.ChainEvent{
		chainEvent(3, "t1", model.EventAuthorizationRequested, "BankMSP"),
		chainEvent(3, "t2", model.EventAuthorizationRequested, "InsurerMSP"),
		chainEvent(4, "t3", model.EventCategoryRegistered, ""),
		chainEvent(5, "t4", model.EventAuthorizationGranted, "BankMSP"),
		chainEvent(5, "t5", model.EventAccessRecorded, "BankMSP"),
		{BlockNumber: 6, TxID: "t6", Name: "Garbled", Raw: []byte("{")},
		chainEvent(7, "t7", model.EventAuthorizationRevoked, "BankMSP"),
	}
}

// runPump runs p for a minute of a synctest bubble's clock, longer than
// any retry in these tests, checks that all of src's events were handed
// over and the cursor reached block, then stops it.
func runPump(t *testing.T, p *Pump, src *fakeSource, wantSent int, block uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	time.Sleep(time.Minute)
	synctest.Wait()
	_, sent := src.counts()
	cur, ok, err := p.Store.GetCursor(context.Background(), DefaultCursor)
	if sent < wantSent || err != nil || !ok || cur != block {
		t.Fatalf("after a minute: %d events handed over, cursor %d %v %v; want %d events, cursor %d",
			sent, cur, ok, err, wantSent, block)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

func TestPumpEnqueuesOnceAcrossReplays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, "")
		addWebhook(t, st, "BankMSP", "wh-all", "https://bank.example/all", "k1")
		addWebhook(t, st, "BankMSP", "wh-access", "https://bank.example/access", "k2", model.EventAccessRecorded)
		addWebhook(t, st, "InsurerMSP", "wh-ins", "https://ins.example/", "k3")
		broker := NewBroker(0, 0)
		sub, _, _ := broker.Subscribe("")
		woken := 0
		src := &fakeSource{events: chain()}
		p := &Pump{Source: src, Store: st, Broker: broker, OrgMSP: "BankMSP", OnEnqueue: func() { woken++ }}
		runPump(t, p, src, len(chain()), 7)

		want := map[string][]string{ // webhook → event ids
			"wh-all":    {"3:t1", "5:t4", "5:t5", "7:t7"},
			"wh-access": {"5:t5"},
		}
		check := func(stage string) {
			t.Helper()
			got := map[string][]string{}
			for _, it := range outbox(t, st) {
				got[it.WebhookID] = append(got[it.WebhookID], it.EventID)
				var e model.Event
				if err := json.Unmarshal(it.Payload, &e); err != nil || e.Requester != "BankMSP" || e.TxID == "" {
					t.Errorf("%s: payload %s", stage, it.Payload)
				}
			}
			if len(got) != len(want) || len(got["wh-all"]) != 4 || len(got["wh-access"]) != 1 {
				t.Fatalf("%s: outbox %v, want %v", stage, got, want)
			}
			for wh, ids := range want {
				for i, id := range ids {
					if got[wh][i] != id {
						t.Fatalf("%s: outbox %v, want %v", stage, got, want)
					}
				}
			}
		}
		check("first run")
		if woken != 4 {
			t.Errorf("OnEnqueue called %d times, want 4", woken)
		}
		var published []string
		for range 4 {
			e := <-sub.Events()
			published = append(published, e.ID+" "+e.Name)
		}
		if published[0] != "3:t1 AuthorizationRequested" || published[3] != "7:t7 AuthorizationRevoked" {
			t.Errorf("published %v", published)
		}
		if subs, _ := src.counts(); len(subs) != 1 || subs[0] != (checkpoint{block: 1}) {
			t.Errorf("first subscription %v, want from block 1", subs)
		}

		// A restart resumes from the stored cursor and replays its block: no
		// second outbox row.
		src2 := &fakeSource{events: chain()}
		p2 := &Pump{Source: src2, Store: st, OrgMSP: "BankMSP"}
		runPump(t, p2, src2, 1, 7)
		if subs, _ := src2.counts(); subs[0] != (checkpoint{block: 7}) {
			t.Errorf("restart subscribed at %v, want block 7", subs[0])
		}
		check("restart")

		// Replaying the whole chain from an older cursor enqueues nothing new.
		if err := st.SetCursor(ctx, DefaultCursor, 1); err != nil {
			t.Fatal(err)
		}
		src3 := &fakeSource{events: chain()}
		runPump(t, &Pump{Source: src3, Store: st, OrgMSP: "BankMSP"}, src3, len(chain()), 7)
		check("replay")
	})
}

func TestPumpResubscribesAfterTheLastEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, "")
		addWebhook(t, st, "BankMSP", "wh-all", "https://bank.example/all", "k1")
		// Every subscription breaks after two events, and the first two
		// attempts to subscribe fail.
		src := &fakeSource{events: chain(), breakAfter: 2, fail: 2}
		p := &Pump{Source: src, Store: st, OrgMSP: "BankMSP", RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond}
		runPump(t, p, src, len(chain()), 7)
		subs, sent := src.counts()
		if sent != len(chain()) {
			t.Errorf("sent %d events, want each once (%d)", sent, len(chain()))
		}
		want := []checkpoint{{1, ""}, {3, "t2"}, {5, "t4"}, {6, "t6"}}
		if len(subs) < len(want) {
			t.Fatalf("subscriptions %v, want %v", subs, want)
		}
		for i, cp := range want {
			if subs[i] != cp {
				t.Fatalf("subscriptions %v, want %v", subs, want)
			}
		}
		if n := len(outbox(t, st)); n != 4 {
			t.Errorf("outbox has %d items, want 4", n)
		}
	})
}

func TestPumpDoesNotAdvanceWhenEnqueueFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, "")
		addWebhook(t, st, "BankMSP", "wh-all", "https://bank.example/all", "k1")
		failing := &failingStore{Store: st, failures: 3}
		src := &fakeSource{events: chain()}
		p := &Pump{Source: src, Store: failing, OrgMSP: "BankMSP", RetryBase: time.Millisecond, RetryMax: time.Millisecond}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		if cur, ok, err := st.GetCursor(context.Background(), DefaultCursor); !ok || cur != 7 || err != nil {
			t.Fatalf("cursor after a minute: %d %v %v, want 7", cur, ok, err)
		}
		cancel()
		<-done
		if n := len(outbox(t, st)); n != 4 {
			t.Errorf("outbox has %d items, want 4", n)
		}
		if failing.cursorBeforeFailures {
			t.Error("the cursor moved past an event whose enqueue failed")
		}
	})
}

// failingStore fails the first enqueues and records whether the cursor
// was written while they failed.
type failingStore struct {
	*store.Store
	mu                   sync.Mutex
	failures             int
	cursorBeforeFailures bool
}

func (f *failingStore) EnqueueEvent(ctx context.Context, webhookID, eventID string, payload []byte, now time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return false, errors.New("database is locked")
	}
	return f.Store.EnqueueEvent(ctx, webhookID, eventID, payload, now)
}

func (f *failingStore) SetCursor(ctx context.Context, name string, block uint64) error {
	f.mu.Lock()
	if f.failures > 0 {
		f.cursorBeforeFailures = true
	}
	f.mu.Unlock()
	return f.Store.SetCursor(ctx, name, block)
}

// TestPumpSkipsEventsOlderThanTheWebhook: a gateway that starts on a long
// ledger reads its whole history; a webhook gets only the events of
// transactions from its creation on, not years of earlier ones.
func TestPumpSkipsEventsOlderThanTheWebhook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, "")
		addWebhook(t, st, "BankMSP", "wh-new", "https://bank.example/new", "k1") // created now
		at := func(ev ledger.ChainEvent, when time.Time) ledger.ChainEvent {
			ev.Event.Time = model.FormatTime(when)
			ev.Raw, _ = json.Marshal(ev.Event)
			return ev
		}
		now := time.Now()
		src := &fakeSource{events: []ledger.ChainEvent{
			at(chainEvent(3, "old", model.EventAuthorizationRequested, "BankMSP"), now.Add(-24*time.Hour)),
			at(chainEvent(4, "skewed", model.EventAuthorizationRequested, "BankMSP"), now.Add(-time.Minute)),
			at(chainEvent(5, "new", model.EventAuthorizationGranted, "BankMSP"), now.Add(time.Second)),
		}}
		runPump(t, &Pump{Source: src, Store: st, OrgMSP: "BankMSP"}, src, 3, 5)
		var got []string
		for _, it := range outbox(t, st) {
			got = append(got, it.EventID)
		}
		if len(got) != 2 || got[0] != "4:skewed" || got[1] != "5:new" {
			t.Fatalf("outbox %v, want the events from the webhook's creation on (within the skew)", got)
		}
	})
}
