package notify

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/ledger"
)

// Feed publishes the chaincode events a filter keeps to a Broker, keyed as
// the filter says: the live part of streams that need no outbox (a
// citizen's stream, which resumes from the Broker's kept events and,
// beyond them, by reloading what it shows). Unlike the Pump it keeps no
// cursor in the store: it starts at the chain's end, and after a broken
// stream subscribes again, with backoff, right after the last event it
// published, so nothing is skipped while it runs.
type Feed struct {
	Source EventSource
	Broker *Broker
	// Filter returns the key an event is published under, or false to
	// leave it out.
	Filter func(context.Context, *model.Event) (key string, ok bool)
	// RetryBase and RetryMax bound the wait before subscribing again
	// (1 s and 30 s if zero).
	RetryBase, RetryMax time.Duration
	// Log may be nil.
	Log *slog.Logger
}

// Run feeds the Broker until ctx ends and returns ctx's error.
func (f *Feed) Run(ctx context.Context) error {
	if f.Source == nil || f.Broker == nil || f.Filter == nil {
		return errors.New("notify: a Feed needs a Source, a Broker and a Filter")
	}
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := resubscribeBackoff(f.RetryBase, f.RetryMax)
	var cp client.InMemoryCheckpointer
	for {
		events, err := f.Source.Events(ctx, &cp)
		if err == nil {
			var got bool
			if got, err = f.forward(ctx, events, &cp); got {
				wait.Reset()
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := "chaincode event stream ended; subscribing again"
		if err != nil {
			msg = "chaincode event subscription failed; subscribing again: " + err.Error()
		}
		log.WarnContext(ctx, msg)
		if !wait.Wait(ctx) {
			return ctx.Err()
		}
	}
}

// forward publishes the events of one subscription, recording each in
// cp, until the subscription ends; got reports whether any event came.
func (f *Feed) forward(ctx context.Context, events <-chan ledger.ChainEvent, cp *client.InMemoryCheckpointer) (got bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return got, nil
			}
			got = true
			cp.CheckpointTransaction(ev.BlockNumber, ev.TxID)
			f.publish(ctx, ev)
		}
	}
}

func (f *Feed) publish(ctx context.Context, ev ledger.ChainEvent) {
	if ev.Event == nil || strings.ContainsAny(ev.TxID+ev.Event.Name, "\r\n") {
		return
	}
	key, ok := f.Filter(ctx, ev.Event)
	if !ok {
		return
	}
	data, err := json.Marshal(ev.Event)
	if err != nil {
		return
	}
	f.Broker.Publish(Event{ID: EventID(ev.BlockNumber, ev.TxID), Name: ev.Event.Name, Block: ev.BlockNumber, Data: data, Key: key})
}

// CitizenEvents returns the Filter of citizens' streams: the changes of a
// citizen's authorisations and the uses of their data, under the key
// owner gives the authorisation's citizen. Events carry no citizenRef
// (they are in every member's blocks), so owner reads the authorisation,
// which the operator may; an authorisation it cannot place is left out.
func CitizenEvents(owner func(ctx context.Context, authorizationID string) (string, error)) func(context.Context, *model.Event) (string, bool) {
	return func(ctx context.Context, e *model.Event) (string, bool) {
		if e.AuthorizationID == "" || !(strings.HasPrefix(e.Name, "Authorization") || e.Name == model.EventAccessRecorded) {
			return "", false
		}
		key, err := owner(ctx, e.AuthorizationID)
		if err != nil || key == "" {
			return "", false
		}
		return key, true
	}
}
