package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/internal/backoff"
	"github.com/quanchain/quanchain/ledger"
)

// EventSource is the ledger's chaincode event stream, resumable from a
// checkpoint; *ledger.Ledger implements it.
type EventSource interface {
	Events(ctx context.Context, checkpoint client.Checkpoint) (<-chan ledger.ChainEvent, error)
}

// PumpStore is what the Pump needs from the store; *store.Store
// implements it.
type PumpStore interface {
	GetCursor(ctx context.Context, name string) (block uint64, ok bool, err error)
	SetCursor(ctx context.Context, name string, block uint64) error
	OrgWebhookSubscriptions(ctx context.Context, orgMSP string) ([]store.WebhookSubscription, error)
	EnqueueEvent(ctx context.Context, webhookID, eventID string, payload []byte, now time.Time) (bool, error)
}

// DefaultCursor is the name of the Pump's cursor in the store.
const DefaultCursor = "events"

// Pump reads the chaincode events from the stored cursor on, and for each
// authorisation or access event whose requester is OrgMSP enqueues it for
// every active webhook of that organisation that wants it, then publishes
// it to the Broker. The cursor — the block to resume from — is advanced
// only after the event's outbox rows are committed, so an event is never
// lost over a restart; a replay after a restart is not enqueued twice (the
// outbox is unique per webhook and event id) but may be published again.
// When the event stream breaks the Pump subscribes again, with backoff,
// right after the last event it handled.
type Pump struct {
	Source EventSource
	Store  PumpStore
	// Broker receives the organisation's events; nil publishes nothing.
	Broker *Broker
	// OrgMSP is this gateway's organisation.
	OrgMSP string
	// Cursor names the cursor in the store; DefaultCursor if empty.
	Cursor string
	// FirstBlock is where to begin when no cursor is stored yet; 0 means
	// the first block of the chain, so nothing committed before the first
	// start is missed.
	FirstBlock uint64
	// OnEnqueue is called after an event was enqueued for at least one
	// webhook (to wake the Sender); it must not block.
	OnEnqueue func()
	// RetryBase and RetryMax bound the wait before subscribing again
	// (1 s and 30 s if zero).
	RetryBase, RetryMax time.Duration
	// Log may be nil; Now is the clock (time.Now if nil).
	Log *slog.Logger
	Now func() time.Time

	stored    uint64 // the cursor value last stored
	hasStored bool
}

// checkpoint is a client.Checkpoint: resume at block, after transaction tx
// of that block ("" to read the whole block).
type checkpoint struct {
	block uint64
	tx    string
}

func (c checkpoint) BlockNumber() uint64   { return c.block }
func (c checkpoint) TransactionID() string { return c.tx }

var errStreamEnded = errors.New("notify: the chaincode event stream ended")

// resubscribeBackoff is the wait before subscribing to the chaincode
// events again: from base (1 s if zero) doubling up to maxWait (30 s if
// zero or below base).
func resubscribeBackoff(base, maxWait time.Duration) backoff.Backoff {
	if base <= 0 {
		base = time.Second
	}
	if maxWait < base {
		maxWait = max(base, 30*time.Second)
	}
	return backoff.Backoff{Base: base, Max: maxWait}
}

// Run pumps events until ctx ends and returns ctx's error. A Pump runs
// once at a time; run one per gateway and cursor.
func (p *Pump) Run(ctx context.Context) error {
	if p.Source == nil || p.Store == nil || p.OrgMSP == "" {
		return errors.New("notify: a Pump needs a Source, a Store and an OrgMSP")
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := resubscribeBackoff(p.RetryBase, p.RetryMax)
	var cp *checkpoint
	for {
		var err error
		progressed := false
		if cp == nil {
			cp, err = p.start(ctx)
		}
		if cp != nil {
			progressed, err = p.stream(ctx, cp)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if progressed {
			wait.Reset()
		}
		log.WarnContext(ctx, "chaincode event pump interrupted; resubscribing", slog.String("error", err.Error()))
		if !wait.Wait(ctx) {
			return ctx.Err()
		}
	}
}

// start reads the stored cursor.
func (p *Pump) start(ctx context.Context) (*checkpoint, error) {
	block, ok, err := p.Store.GetCursor(ctx, p.cursor())
	if err != nil {
		return nil, err
	}
	if ok {
		p.stored, p.hasStored = block, true
	} else {
		block = p.FirstBlock
	}
	// Block 0 is the channel's genesis block and holds no chaincode event;
	// a zero checkpoint would mean "from the next block" to the client.
	return &checkpoint{block: max(block, 1)}, nil
}

func (p *Pump) cursor() string {
	if p.Cursor != "" {
		return p.Cursor
	}
	return DefaultCursor
}

// stream reads one subscription from cp until it breaks or an event cannot
// be handled, advancing cp past every event handled.
func (p *Pump) stream(ctx context.Context, cp *checkpoint) (progressed bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := p.Source.Events(sctx, *cp)
	if err != nil {
		return false, err
	}
	for ev := range events {
		if err := p.handle(sctx, ev); err != nil {
			return progressed, fmt.Errorf("notify: event %s: %w", EventID(ev.BlockNumber, ev.TxID), err)
		}
		*cp = checkpoint{block: ev.BlockNumber, tx: ev.TxID}
		progressed = true
		if !p.hasStored || p.stored != ev.BlockNumber {
			if err := p.Store.SetCursor(sctx, p.cursor(), ev.BlockNumber); err != nil {
				return progressed, err
			}
			p.stored, p.hasStored = ev.BlockNumber, true
		}
	}
	if ctx.Err() != nil {
		return progressed, ctx.Err()
	}
	return progressed, errStreamEnded
}

// webhookSkew is how much older than a webhook an event's transaction may
// be and still reach it: the skew endorsers allow between a proposal's
// time and their clock.
const webhookSkew = 5 * time.Minute

// handle enqueues and publishes one event if it is the organisation's.
func (p *Pump) handle(ctx context.Context, ev ledger.ChainEvent) error {
	e := ev.Event
	if !forOrg(e, p.OrgMSP) || !safeToken(ev.TxID) {
		return nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	id := EventID(ev.BlockNumber, ev.TxID)
	subs, err := p.Store.OrgWebhookSubscriptions(ctx, p.OrgMSP)
	if err != nil {
		return err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	// A webhook receives the events of transactions from its creation on
	// (less the clock skew endorsers allow a proposal), not the history a
	// gateway reads when it starts on an old ledger.
	evTime, terr := time.Parse(time.RFC3339Nano, e.Time)
	enqueued := 0
	for _, s := range subs {
		if !s.Wants(e.Name) || (terr == nil && evTime.Before(s.CreatedAt.Add(-webhookSkew))) {
			continue
		}
		ok, err := p.Store.EnqueueEvent(ctx, s.ID, id, data, now())
		if err != nil {
			return err
		}
		if ok {
			enqueued++
		}
	}
	if enqueued > 0 && p.OnEnqueue != nil {
		p.OnEnqueue()
	}
	if p.Broker != nil {
		p.Broker.Publish(Event{ID: id, Name: e.Name, Block: ev.BlockNumber, Data: data})
	}
	return nil
}
