package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
)

var (
	refA = strings.Repeat("a", 64)
	refB = strings.Repeat("b", 64)
)

// grant is an authorisation event of block n for ref.
func grant(n uint64, ref string) ledger.ChainEvent {
	return ledger.ChainEvent{BlockNumber: n, TxID: fmt.Sprintf("tx%d", n), Name: model.EventAuthorizationGranted,
		Event: &model.Event{Name: model.EventAuthorizationGranted, TxID: fmt.Sprintf("tx%d", n),
			AuthorizationID: fmt.Sprintf("auth-%s-%d", ref[:8], n), Status: model.AuthGranted}}
}

// citizenEvents places the authorisations grant makes with their citizen,
// as the operator does by reading them.
var citizenEvents = CitizenEvents(func(_ context.Context, id string) (string, error) {
	for _, ref := range []string{refA, refB} {
		if strings.HasPrefix(id, "auth-"+ref[:8]+"-") {
			return ref, nil
		}
	}
	return "", errors.New("no such authorisation")
})

// feedSource hands out one channel per subscription and records the
// checkpoint each started from.
type feedSource struct {
	mu    sync.Mutex
	calls [][2]string
	subs  chan chan ledger.ChainEvent
}

func newFeedSource() *feedSource { return &feedSource{subs: make(chan chan ledger.ChainEvent, 8)} }

func (f *feedSource) Events(_ context.Context, cp client.Checkpoint) (<-chan ledger.ChainEvent, error) {
	ch := make(chan ledger.ChainEvent)
	f.mu.Lock()
	f.calls = append(f.calls, [2]string{fmt.Sprint(cp.BlockNumber()), cp.TransactionID()})
	f.mu.Unlock()
	f.subs <- ch
	return ch, nil
}

func (f *feedSource) subscriptions() [][2]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// runFeed runs f until the test ends and returns the first upstream
// subscription's channel.
func runFeed(t *testing.T, f *Feed, src *feedSource) chan ledger.ChainEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
	select {
	case ch := <-src.subs:
		return ch
	case <-time.After(5 * time.Second):
		t.Fatal("the feed did not subscribe")
		return nil
	}
}

// TestFeedFansOutByKey: one upstream subscription serves many streams,
// each getting its own citizen's events in order and nothing else (not
// another citizen's, not events that are no citizen's authorisation or
// access event), while other streams come and go.
func TestFeedFansOutByKey(t *testing.T) {
	src := newFeedSource()
	b := NewBroker(0, 0)
	up := runFeed(t, &Feed{Source: src, Broker: b, Filter: citizenEvents}, src)

	const perRef, streams = 50, 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*streams)
	for i := range 2 * streams {
		ref := refA
		if i%2 == 1 {
			ref = refB
		}
		sub, _, _ := b.SubscribeKey(ref, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer b.Unsubscribe(sub)
			var last uint64
			for range perRef {
				e, ok := <-sub.Events()
				switch {
				case !ok:
					errs <- errors.New("stream closed early")
					return
				case e.Key != ref || e.Block <= last || !strings.Contains(string(e.Data), ref[:8]):
					errs <- fmt.Errorf("stream for %s got %s for %s after block %d", ref[:1], e.ID, e.Key, last)
					return
				}
				last = e.Block
			}
		}()
	}
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for {
			select {
			case <-stop:
				return
			default:
				s, _, _ := b.SubscribeKey(refA, "")
				b.Unsubscribe(s)
			}
		}
	}()
	for n := uint64(1); n <= 2*perRef; n++ {
		ref := refA
		if n%2 == 0 {
			ref = refB
		}
		up <- grant(n, ref)
		up <- ledger.ChainEvent{BlockNumber: n, TxID: "anchor", Event: &model.Event{Name: model.EventBatchAnchored, BatchID: "b"}}
		up <- ledger.ChainEvent{BlockNumber: n, TxID: "key", Event: &model.Event{Name: model.EventCitizenKeyAdded, Requester: "BankMSP"}}
		up <- ledger.ChainEvent{BlockNumber: n, TxID: "raw", Raw: []byte("not json")}
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(src.subscriptions()); n != 1 {
		t.Errorf("%d upstream subscriptions, want 1", n)
	}
	if n := b.Subscribers(); n != 0 {
		t.Errorf("%d subscribers left", n)
	}
}

// TestSubscribeKeyResume: a keyed stream resumes after its Last-Event-ID
// with that key's later events only, or is told it missed events when the
// id is gone or is another key's.
func TestSubscribeKeyResume(t *testing.T) {
	b := NewBroker(0, 4)
	f := &Feed{Broker: b, Filter: citizenEvents}
	for n := uint64(1); n <= 4; n++ {
		ref := refA
		if n == 3 {
			ref = refB
		}
		f.publish(context.Background(), grant(n, ref))
	}
	ids := func(es []Event) string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		last, replay string
		missed       bool
	}{
		{"", "", false},
		{"1:tx1", "2:tx2,4:tx4", false},
		{"4:tx4", "", false},
		{"3:tx3", "", true}, // another citizen's event
		{"9:tx9", "", true},
		{"garbage", "", true},
	} {
		s, replay, missed := b.SubscribeKey(refA, tt.last)
		if ids(replay) != tt.replay || missed != tt.missed {
			t.Errorf("resume after %q: replay %q missed %v", tt.last, ids(replay), missed)
		}
		b.Unsubscribe(s)
	}
	f.publish(context.Background(), grant(5, refA)) // the broker keeps 2..5 now
	if _, replay, missed := b.SubscribeKey(refA, "1:tx1"); !missed || replay != nil {
		t.Errorf("resume after an event no longer kept: replay %v missed %v", ids(replay), missed)
	}
}

// TestFeedResubscribes: when the upstream stream ends the feed subscribes
// again from just after the last event it published.
func TestFeedResubscribes(t *testing.T) {
	src := newFeedSource()
	b := NewBroker(0, 0)
	sub, _, _ := b.SubscribeKey(refA, "")
	defer b.Unsubscribe(sub)
	up := runFeed(t, &Feed{Source: src, Broker: b, Filter: citizenEvents, RetryBase: time.Millisecond}, src)
	up <- grant(7, refA)
	close(up)
	up = <-src.subs
	if calls := src.subscriptions(); len(calls) != 2 || calls[0] != [2]string{"0", ""} || calls[1] != [2]string{"7", "tx7"} {
		t.Fatalf("subscriptions %v", calls)
	}
	up <- grant(8, refA)
	for _, want := range []string{"7:tx7", "8:tx8"} {
		if e := <-sub.Events(); e.ID != want {
			t.Fatalf("got %s, want %s", e.ID, want)
		}
	}
}
