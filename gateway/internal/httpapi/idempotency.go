package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/quanchain/quanchain/gateway/internal/auth"
)

// Idempotency errors an IdempotencyStore returns.
var (
	// ErrIdempotencyKeyReused: the key was used before with another request.
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	// ErrIdempotencyInFlight: the first request with this key is still running.
	ErrIdempotencyInFlight = errors.New("idempotency key in flight")
)

// StoredResponse is a response kept for an idempotency key: replayed byte
// for byte, or, if ReplayWith names a replayer, rebuilt by it from Body.
type StoredResponse struct {
	Status int
	Body   []byte
	// ReplayWith is "" or the replayer (see replay) of a response that is
	// not kept as sent, because it carries personal data.
	ReplayWith string
}

// IdempotencyStore keeps the first response to each (principal, key).
// Begin claims the key (started), or returns the stored response of the
// same request (replay), or ErrIdempotencyKeyReused / ErrIdempotencyInFlight;
// Complete stores the response of a started request; Release forgets a
// started request that failed without effect, so it may be retried. The
// store deletes keys after their lifetime (config.Config.IdempotencyTTL).
type IdempotencyStore interface {
	Begin(ctx context.Context, principal, key, requestHash string) (replay *StoredResponse, started bool, err error)
	Complete(ctx context.Context, principal, key string, resp StoredResponse) error
	Release(ctx context.Context, principal, key string) error
}

// Replayers of responses that are not kept as sent.
const (
	// replayDataRequest: an answered data request, kept as the provider's
	// delivery, still sealed to this gateway's key (replayDataRequest).
	replayDataRequest = "data-request"
)

// replay answers a retry from a response kept for a replayer.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, stored *StoredResponse) error {
	switch stored.ReplayWith {
	case replayDataRequest:
		return s.replayDataRequest(w, r, stored)
	}
	return fmt.Errorf("httpapi: a stored response names the unknown replayer %q", stored.ReplayWith)
}

// idemSlot is the request's validated Idempotency-Key, in its context, so
// a handler can derive ids from it (a retry then names the same ledger
// object instead of creating a second one), and what the handler asks to
// keep in place of its response.
type idemSlot struct {
	key        string
	replayWith string
	form       []byte
}

type idemSlotCtx struct{}

func idempotencyKeyFrom(ctx context.Context) string {
	if slot, ok := ctx.Value(idemSlotCtx{}).(*idemSlot); ok {
		return slot.key
	}
	return ""
}

// keepForReplay makes an idempotent handler's successful response be kept
// as form, which the replayer replayWith rebuilds the response from, not as
// sent. A response that carries personal data must be kept so. Without an
// Idempotency-Key it does nothing.
func keepForReplay(ctx context.Context, replayWith string, form []byte) {
	if slot, ok := ctx.Value(idemSlotCtx{}).(*idemSlot); ok {
		slot.replayWith, slot.form = replayWith, form
	}
}

// idempotent makes a writing POST replayable under an Idempotency-Key
// header: the first response (2xx or 4xx) is stored and replayed to retries
// of the same request, byte for byte or, for a response kept for a replayer
// (keepForReplay), rebuilt by it; the same key with a different body is
// 422 IDEMPOTENCY_KEY_REUSED; a 5xx is not stored, so the client may retry.
// Without the header the request runs as is.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 || !printableASCII(key) {
			s.renderError(w, r, apiErr(http.StatusBadRequest, CodeInvalidIdempotency, "Idempotency-Key must be 1–255 printable ASCII characters"))
			return
		}
		p, ok := auth.FromContext(r.Context())
		if !ok {
			s.renderError(w, r, apiErr(http.StatusInternalServerError, CodeInternal, "internal error"))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		sum.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
		sum.Write(body)
		principal := string(p.Kind) + ":" + p.Subject
		replay, started, err := s.Idempotency.Begin(r.Context(), principal, key, hex.EncodeToString(sum.Sum(nil)))
		switch {
		case errors.Is(err, ErrIdempotencyKeyReused):
			s.renderError(w, r, apiErr(http.StatusUnprocessableEntity, CodeIdempotencyReused, "this Idempotency-Key was used with a different request"))
			return
		case errors.Is(err, ErrIdempotencyInFlight):
			// The first attempt may have died with its gateway: a retry
			// takes the key over once that attempt's time is up.
			w.Header().Set("Retry-After", "2")
			s.renderError(w, r, apiErr(http.StatusConflict, CodeIdempotencyInFlight, "a request with this Idempotency-Key is still being processed; retry later"))
			return
		case err != nil:
			s.renderError(w, r, err)
			return
		case !started && replay != nil:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			if replay.ReplayWith != "" {
				if err := s.replay(w, r, replay); err != nil {
					s.renderError(w, r, err)
				}
				return
			}
			w.WriteHeader(replay.Status)
			_, _ = w.Write(replay.Body)
			return
		}
		slot := &idemSlot{key: key}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), idemSlotCtx{}, slot)))
		// Store even if the client has gone: its retry must find the result.
		ctx := context.WithoutCancel(r.Context())
		switch {
		case rec.status >= 500:
			err = s.Idempotency.Release(ctx, principal, key)
		case slot.replayWith != "" && rec.status < 300:
			err = s.Idempotency.Complete(ctx, principal, key, StoredResponse{Status: rec.status, Body: slot.form, ReplayWith: slot.replayWith})
		default:
			err = s.Idempotency.Complete(ctx, principal, key, StoredResponse{Status: rec.status, Body: rec.body.Bytes()})
		}
		if err != nil {
			s.log.ErrorContext(ctx, "idempotency store", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		}
	})
}

// recorder passes a response through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}
