package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ProviderClient calls the operator's provider API; HTTPProviderClient is
// the production one (mutual TLS), tests may fake it.
type ProviderClient interface {
	Deliver(ctx context.Context, req DeliveryRequest) (*DeliveryResponse, error)
}

// ProviderError is the provider's refusal, as it answered: the HTTP status
// and the error body's code and message.
type ProviderError struct {
	Status  int
	Code    string
	Message string
	TxID    string
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("provider answered %d %s: %s", e.Status, e.Code, e.Message)
}

// errProviderResponse reports an answer of the provider that is not the
// API's (a body that does not decode, a redirect, …).
var errProviderResponse = errors.New("provider: unexpected response")

// DefaultMaxDeliveryBytes bounds the provider's answer HTTPProviderClient
// reads.
const DefaultMaxDeliveryBytes = 64 << 20

// HTTPProviderClient calls the provider API at a base URL over mutual TLS.
type HTTPProviderClient struct {
	endpoint string
	health   string
	hc       *http.Client
	// MaxBytes bounds the answer read; DefaultMaxDeliveryBytes if 0.
	MaxBytes int64
}

// NewHTTPProviderClient returns a client of the provider API at baseURL
// (https://host:port), presenting this gateway's TLS identity and
// accepting only the provider's: tlsConfig is normally
// (*peerlink.Link).ClientConfig(operatorMSP).
func NewHTTPProviderClient(baseURL string, tlsConfig *tls.Config) (*HTTPProviderClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("httpapi: provider URL %q must be https://host[:port][/path]", baseURL)
	}
	if tlsConfig == nil || len(tlsConfig.Certificates) == 0 {
		return nil, errors.New("httpapi: the provider client needs a TLS configuration with this gateway's certificate")
	}
	base := strings.TrimSuffix(u.String(), "/")
	return &HTTPProviderClient{
		endpoint: base + providerDeliveriesPattern,
		health:   base + "/healthz",
		hc:       peerHTTPClient(tlsConfig),
	}, nil
}

// peerHTTPClient is an HTTP/2-capable client of another member's gateway.
// Its transport owns a copy of tlsConfig: the HTTP/2 transport adds "h2"
// to its configuration's NextProtos in place, and a configuration shared
// with an HTTP/1.1-only transport would make that one negotiate h2 on its
// next new connection and then speak HTTP/1.1 over it.
func peerHTTPClient(tlsConfig *tls.Config) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     tlsConfig.Clone(),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// Ping checks that the provider's mutual-TLS listener answers (its
// /healthz), for the requester's readiness.
func (c *HTTPProviderClient) Ping(ctx context.Context) error {
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
func (c *HTTPProviderClient) Close() { c.hc.CloseIdleConnections() }

var safeCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,63}$`)

// Deliver asks the provider for a delivery. A refusal is a *ProviderError;
// a failure to reach the provider is returned as the transport's error.
func (c *HTTPProviderClient) Deliver(ctx context.Context, req DeliveryRequest) (*DeliveryResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if id := requestIDFrom(ctx); id != "" {
		hr.Header.Set("X-Request-Id", id)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	defer resp.Body.Close()
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxDeliveryBytes
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("provider: read answer: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: answer over %d bytes", errProviderResponse, limit)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || !safeCode.MatchString(eb.Error.Code) {
			return nil, &ProviderError{Status: resp.StatusCode, Code: CodeProviderError, Message: "the provider's error does not decode"}
		}
		msg := eb.Error.Message
		if len(msg) > 512 {
			msg = msg[:512]
		}
		return nil, &ProviderError{Status: resp.StatusCode, Code: eb.Error.Code, Message: msg, TxID: eb.Error.TxID}
	}
	var out DeliveryResponse
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || dec.More() || out.Payload == nil {
		return nil, fmt.Errorf("%w: the delivery does not decode", errProviderResponse)
	}
	return &out, nil
}
