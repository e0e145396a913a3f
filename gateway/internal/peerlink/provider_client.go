package peerlink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/quanchain/quanchain/gateway/internal/exchange"
)

// DefaultMaxDeliveryBytes bounds the provider's answer ProviderClient
// reads.
const DefaultMaxDeliveryBytes = 64 << 20

// ProviderClient calls the operator's provider API at a base URL over
// mutual TLS; it implements exchange.ProviderClient.
type ProviderClient struct {
	endpoint string
	health   string
	keys     string // DeliveryKeysPath
	// RequestID returns the id of the request being served, if any.
	RequestID func(context.Context) string
	hc        *http.Client
	// MaxBytes bounds the answer read; DefaultMaxDeliveryBytes if 0.
	MaxBytes int64
}

// NewProviderClient returns a client of the provider API at baseURL
// (https://host:port), presenting this gateway's TLS identity and
// accepting only the provider's: tlsConfig is normally
// (*peerlink.Link).ClientConfig(operatorMSP).
func NewProviderClient(baseURL string, tlsConfig *tls.Config) (*ProviderClient, error) {
	base, err := peerBase("provider", baseURL, tlsConfig)
	if err != nil {
		return nil, err
	}
	return &ProviderClient{
		endpoint: base + DeliveriesPath,
		health:   base + "/healthz",
		keys:     base + DeliveryKeysPath,
		hc:       peerHTTPClient(tlsConfig),
	}, nil
}

// peerBase checks a member gateway's base URL (https://host[:port][/path])
// and the TLS configuration a client of it presents, and returns the URL
// without a trailing slash; what names the client in errors.
func peerBase(what, baseURL string, tlsConfig *tls.Config) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("peerlink: %s URL %q must be https://host[:port][/path]", what, baseURL)
	}
	if tlsConfig == nil || len(tlsConfig.Certificates) == 0 {
		return "", fmt.Errorf("peerlink: the %s client needs a TLS configuration with this gateway's certificate", what)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// peerMaxIdleConns is how many idle connections a client of another
// member's gateway keeps. Over HTTP/2, which member gateways speak to each
// other, concurrent requests share one connection (up to the server's 250
// streams) and this does not matter. Over HTTP/1.1 (a proxy between the
// gateways that does not speak HTTP/2) every request in flight holds a
// connection of its own: with fewer kept idle than requests run at once,
// each burst dials, with a TLS handshake, the connections the last one
// closed. 128 covers the concurrency the requester's gateway is measured
// at (benchmarks.md).
const peerMaxIdleConns = 128

// peerHTTPClient is an HTTP/2-capable client of another member's gateway.
// Its transport owns a copy of tlsConfig: the HTTP/2 transport adds "h2"
// to its configuration's NextProtos in place, and a configuration shared
// with an HTTP/1.1-only transport would make that one negotiate h2 on its
// next new connection and then speak HTTP/1.1 over it.
func peerHTTPClient(tlsConfig *tls.Config) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     tlsConfig.Clone(),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: peerMaxIdleConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// Ping checks that the provider's mutual-TLS listener answers (its
// /healthz), for the requester's readiness.
func (c *ProviderClient) Ping(ctx context.Context) error {
	return pingPeer(ctx, c.hc, c.health)
}

// pingPeer GETs a member gateway's /healthz over hc.
func pingPeer(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}

// Close releases idle connections.
func (c *ProviderClient) Close() { c.hc.CloseIdleConnections() }

var safeCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,63}$`)

// The member gateways' mutual-TLS routes.
const (
	// DeliveriesPath is the provider API's one route.
	DeliveriesPath = "/provider/v1/deliveries"
	// PseudonymsPath is the operator's pseudonym service.
	PseudonymsPath = "/internal/v1/pseudonyms"
)

// peerErrorBody is a member gateway's error answer.
type peerErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		TxID    string `json:"tx_id"`
	} `json:"error"`
}

// requestID is the id of the request being served, which the call carries
// as X-Request-Id so both gateways' logs name it; "" if none.
func (c *ProviderClient) requestID(ctx context.Context) string {
	if c.RequestID == nil {
		return ""
	}
	return c.RequestID(ctx)
}

// Deliver asks the provider for a delivery. A refusal is a *ProviderError;
// a failure to reach the provider is returned as the transport's error.
func (c *ProviderClient) Deliver(ctx context.Context, req exchange.DeliveryRequest) (*exchange.DeliveryResponse, error) {
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxDeliveryBytes
	}
	var out exchange.DeliveryResponse
	if err := c.post(ctx, c.endpoint, req, limit, &out); err != nil {
		return nil, err
	}
	if out.Payload == nil {
		return nil, fmt.Errorf("%w: the answer holds no delivery", exchange.ErrProviderResponse)
	}
	return &out, nil
}

// post sends in as JSON to url and decodes the provider's 200 answer, of
// at most limit bytes and no unknown fields, into out. A refusal is a
// *exchange.ProviderError; a failure to reach the provider is the
// transport's error.
func (c *ProviderClient) post(ctx context.Context, url string, in any, limit int64, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if id := c.requestID(ctx); id != "" {
		hr.Header.Set("X-Request-Id", id)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return fmt.Errorf("provider: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("provider: read answer: %w", err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("%w: answer over %d bytes", exchange.ErrProviderResponse, limit)
	}
	if resp.StatusCode != http.StatusOK {
		return providerRefusal(resp.StatusCode, b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil || dec.More() {
		return fmt.Errorf("%w: the answer does not decode", exchange.ErrProviderResponse)
	}
	return nil
}
