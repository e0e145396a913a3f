package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/quanchain/quanchain/gateway/internal/auth"
)

// reqInfo is the per-request state the outer middleware shares with the
// inner: the request id and, once authenticated, who the client is.
type reqInfo struct {
	id     string
	client string // API client id, or "citizen"; never a personal datum
}

type reqInfoKey struct{}

func requestIDFrom(ctx context.Context) string {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri.id
	}
	return ""
}

// RequestIDFrom returns the id of the request ctx serves, or "": what an
// outgoing call to another member gateway carries as X-Request-Id.
func RequestIDFrom(ctx context.Context) string { return requestIDFrom(ctx) }

// WithRequestIDs returns a logger that adds the request id of the context
// it is given (…Context methods) to every record, for packages that log
// while serving a request without knowing about HTTP.
func WithRequestIDs(log *slog.Logger) *slog.Logger {
	return slog.New(requestIDHandler{log.Handler()})
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes a well-formed X-Request-Id from the client or makes one,
// and echoes it in the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), reqInfoKey{}, &reqInfo{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Flush lets streaming handlers (server-sent events) flush.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metrics are the gateway's Prometheus collectors, on a registry of its own.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quanchain_gateway_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "quanchain_gateway_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe writes the access log line and the metrics of every request,
// and turns a panic into a 500 that reveals nothing. The log line has the
// request id, method, route pattern, status, size, duration and client id:
// no bodies, no query strings, no personal data.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.String("request_id", requestIDFrom(r.Context())),
					slog.String("panic", fmt.Sprint(v)))
				if sw.status == 0 {
					s.renderError(sw, r, apiErr(http.StatusInternalServerError, CodeInternal, "internal error"))
				}
			}
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(route, r.Method).Observe(d.Seconds())
			client := ""
			if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
				client = ri.client
			}
			s.log.InfoContext(r.Context(), "request", slog.String("request_id", requestIDFrom(r.Context())),
				slog.String("method", r.Method), slog.String("route", route), slog.Int("status", status),
				slog.Int("bytes", sw.bytes), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("client", client))
		}()
		next.ServeHTTP(sw, r)
	})
}

// timeout bounds the request's context: ledger calls made with it end at
// the deadline and are answered 503 LEDGER_UNAVAILABLE.
func timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// longRequest is timeout for a route that may take longer than the HTTP
// server's read and write timeouts (a dataset import): it also moves the
// connection's deadlines to d from now, and a little later for the answer,
// so that a slow upload or a long import is not cut off.
func longRequest(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		limited := timeout(d)(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deadline := time.Now().Add(d)
			rc := http.NewResponseController(w)
			// Not every writer has a connection (a test's recorder):
			// ErrNotSupported leaves the server's timeouts as they are.
			_ = rc.SetReadDeadline(deadline)
			_ = rc.SetWriteDeadline(deadline.Add(10 * time.Second))
			limited.ServeHTTP(w, r)
		})
	}
}

// bodyLimit caps the request body; reading past it fails with a
// *http.MaxBytesError, rendered 413 BODY_TOO_LARGE.
func bodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// rateLimit refuses a client over its rate with 429 RATE_LIMITED and a
// Retry-After of the seconds until its bucket holds a token again. The
// client is the authenticated principal where there is one (an
// institution's API client, a citizen), whatever address it calls from;
// else the remote address.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := "ip:" + remoteIP(r)
		if p, ok := auth.FromContext(r.Context()); ok {
			key = string(p.Kind) + ":" + p.Subject
			if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
				ri.client = p.Subject
				if p.Kind == auth.KindCitizen {
					ri.client = "citizen"
				}
			}
		}
		if ok, wait := s.limiter.Take(key); !ok {
			s.renderError(w, r, rateLimited(w, wait, "too many requests; slow down"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
