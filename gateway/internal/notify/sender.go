package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/internal/backoff"
)

// SenderStore is what the Sender needs from the store; *store.Store
// implements it.
type SenderStore interface {
	ClaimDue(ctx context.Context, now time.Time, limit int) ([]store.OutboxItem, error)
	GetWebhook(ctx context.Context, id string) (store.Webhook, error)
	MarkDelivered(ctx context.Context, id int64, at time.Time) error
	MarkFailed(ctx context.Context, id int64, nextAttemptAt time.Time, errText string) error
	MarkParked(ctx context.Context, id int64, at time.Time, errText string) error
}

// Defaults of the Sender.
const (
	DefaultMaxAttempts  = 20
	DefaultBaseDelay    = 5 * time.Second
	DefaultMaxDelay     = 10 * time.Minute
	DefaultTimeout      = 10 * time.Second
	DefaultPollInterval = time.Second
	DefaultWorkers      = 4
	DefaultBatch        = 16
)

// SenderConfig are the Sender's settings; zero values mean the defaults.
type SenderConfig struct {
	// Dev allows http:// webhook URLs to the loopback interface.
	Dev bool
	// MaxAttempts is how many times an item is tried before it is parked:
	// not tried again, its webhook's later items held back behind it, until
	// an administrator retries it.
	MaxAttempts int
	// BaseDelay is the wait after the first failure; it doubles with every
	// further failure up to MaxDelay, and each wait is drawn at random from
	// its upper half (jitter), so failing receivers are not hit in step.
	BaseDelay, MaxDelay time.Duration
	// Timeout bounds one delivery, from connecting to reading the status;
	// it must stay well below store.ClaimLease.
	Timeout time.Duration
	// PollInterval is how often the outbox is looked at when idle and not
	// woken.
	PollInterval time.Duration
	// Workers deliver concurrently; Batch items are claimed at a time.
	Workers, Batch int
	// Client sends the requests; nil means a client that does not follow
	// redirects and refuses link-local, multicast and unspecified
	// addresses. A custom client should do the same.
	Client *http.Client
	// Log may be nil; Now is the clock (time.Now if nil).
	Log *slog.Logger
	Now func() time.Time
}

// Sender delivers the webhook outbox: it claims due items, POSTs each to
// its webhook, signed, and marks it delivered on a 2xx answer, failed (due
// again after a backoff) otherwise, or parked once its attempts are used
// up. A webhook's items go out one at a time, in order (see
// store.Store.ClaimDue); different webhooks are served concurrently. Any
// number of Senders — in this process or in other gateways sharing a
// PostgreSQL store — may run at once: a claimed item is leased to one of
// them.
type Sender struct {
	st   SenderStore
	cfg  SenderConfig
	log  *slog.Logger
	wake chan struct{}
}

// NewSender returns a Sender over st.
func NewSender(st SenderStore, cfg SenderConfig) *Sender {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	cfg.MaxDelay = max(cfg.MaxDelay, cfg.BaseDelay)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Timeout = min(cfg.Timeout, store.ClaimLease/4)
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = newHTTPClient()
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{st: st, cfg: cfg, log: log, wake: make(chan struct{}, 1)}
}

func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: dialControl}).DialContext
	t.MaxIdleConnsPerHost = 4
	t.ResponseHeaderTimeout = DefaultTimeout
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Wake makes an idle Sender look at the outbox now; it never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. On shutdown it stops claiming and waits for
// the deliveries under way (each bounded by the timeout), so no claimed
// item is left to its lease. It returns ctx's error.
func (s *Sender) Run(ctx context.Context) error {
	for {
		n, err := s.RunOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.log.WarnContext(ctx, "webhook outbox", slog.String("error", err.Error()))
		}
		if err == nil && n > 0 {
			// More may be due: the items that waited behind the ones
			// just delivered, or more than a batch.
			continue
		}
		t := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce claims one batch of due items, delivers them and returns how many
// it claimed.
func (s *Sender) RunOnce(ctx context.Context) (int, error) {
	items, err := s.st.ClaimDue(ctx, s.cfg.Now(), s.cfg.Batch)
	if err != nil {
		return 0, err
	}
	// The claimed items are delivered even if ctx ends meanwhile: they are
	// leased to this sender, and a delivery is bounded by the timeout.
	dctx := context.WithoutCancel(ctx)
	sem := make(chan struct{}, s.cfg.Workers)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.deliver(dctx, it)
		}()
	}
	wg.Wait()
	return len(items), nil
}

// deliver makes one attempt at it and records the outcome.
func (s *Sender) deliver(ctx context.Context, it store.OutboxItem) {
	log := s.log.With(slog.Int64("outbox_id", it.ID), slog.String("webhook", it.WebhookID),
		slog.String("event_id", it.EventID), slog.Int("attempt", it.Attempts))
	if it.Attempts > s.cfg.MaxAttempts {
		// Claimed again after a lease ran out on the last attempt.
		s.fail(ctx, log, it, "attempts exhausted")
		return
	}
	wh, err := s.st.GetWebhook(ctx, it.WebhookID)
	if err != nil {
		s.fail(ctx, log, it, "webhook unavailable")
		return
	}
	status, err := s.post(ctx, wh, it)
	switch {
	case err != nil:
		s.fail(ctx, log, it, err.Error())
	case status < 200 || status > 299:
		s.fail(ctx, log, it, fmt.Sprintf("HTTP %d", status))
	default:
		mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.st.MarkDelivered(mctx, it.ID, s.cfg.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.WarnContext(ctx, "webhook delivered but not marked; it will be sent again", slog.String("error", err.Error()))
			return
		}
		log.InfoContext(ctx, "webhook delivered", slog.Int("status", status))
	}
}

// post sends the item to the webhook and returns the answer's status. The
// answer's body is read (a little, to reuse the connection) and discarded.
func (s *Sender) post(ctx context.Context, wh store.Webhook, it store.OutboxItem) (int, error) {
	if err := CheckURL(wh.URL, s.cfg.Dev); err != nil {
		return 0, err
	}
	if !safeToken(it.EventID) {
		return 0, errors.New("malformed event id")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(it.Payload))
	if err != nil {
		return 0, errors.New("request could not be built")
	}
	now := s.cfg.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "quanchain-gateway")
	req.Header.Set(HeaderEventID, it.EventID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(HeaderSignature, Sign(wh.Secret, now, it.Payload))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, describe(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// describe names a transport failure without the URL (which may carry a
// token in its query) and without anything the receiver sent.
func describe(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errors.New("timeout")
	case errors.Is(err, ErrURLNotAllowed):
		return errors.New("address not allowed")
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return fmt.Errorf("%s: %w", oe.Op, oe.Err)
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return errors.New("host not found")
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return errors.New("TLS certificate not trusted")
	}
	return errors.New("request failed")
}

// fail records a failed attempt: due again after a backoff, or parked once
// the attempts are used up. errText is never a response body.
func (s *Sender) fail(ctx context.Context, log *slog.Logger, it store.OutboxItem, errText string) {
	now := s.cfg.Now()
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if it.Attempts >= s.cfg.MaxAttempts {
		errText = fmt.Sprintf("parked after %d attempts: %s", it.Attempts, errText)
		if err := s.st.MarkParked(mctx, it.ID, now, errText); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.WarnContext(ctx, "webhook failure not recorded; retried when the lease ends", slog.String("error", err.Error()))
			return
		}
		log.WarnContext(ctx, "webhook delivery parked; the webhook's later events wait until it is retried",
			slog.String("last_error", errText))
		return
	}
	next := now.Add(s.backoff(it.Attempts))
	if err := s.st.MarkFailed(mctx, it.ID, next, errText); err != nil && !errors.Is(err, store.ErrNotFound) {
		log.WarnContext(ctx, "webhook failure not recorded; retried when the lease ends", slog.String("error", err.Error()))
		return
	}
	log.InfoContext(ctx, "webhook delivery failed; will retry", slog.String("error", errText), slog.Time("next_attempt", next))
}

// backoff is the wait after the n-th failed attempt (n ≥ 1): BaseDelay
// doubled n-1 times, capped at MaxDelay, then drawn from its upper half —
// half of it, plus up to as much again.
func (s *Sender) backoff(n int) time.Duration {
	half := backoff.Backoff{Base: s.cfg.BaseDelay / 2, Max: s.cfg.MaxDelay / 2, Jitter: 1}
	return half.Nth(n)
}
