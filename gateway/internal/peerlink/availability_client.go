package peerlink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/quanchain/quanchain/gateway/internal/exchange"
)

// AvailabilityPath is the provider API's data-availability route: which
// authorised categories hold data, one yes/no each, without a delivery.
const AvailabilityPath = "/provider/v1/availability"

// maxAvailabilityBytes bounds the provider's availability answer: at most
// exchange.MaxCategories short entries.
const maxAvailabilityBytes = 16 << 10

// Availability asks the provider which categories of an authorisation hold
// data in its range (exchange.AvailabilityClient). A refusal is a
// *exchange.ProviderError; a failure to reach the provider is returned as
// the transport's error.
func (c *ProviderClient) Availability(ctx context.Context, req exchange.AvailabilityRequest) (*exchange.AvailabilityResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	url := strings.TrimSuffix(c.endpoint, DeliveriesPath) + AvailabilityPath
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if id := c.requestID(ctx); id != "" {
		hr.Header.Set("X-Request-Id", id)
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAvailabilityBytes+1))
	if err != nil {
		return nil, fmt.Errorf("provider: read answer: %w", err)
	}
	if len(b) > maxAvailabilityBytes {
		return nil, fmt.Errorf("%w: answer over %d bytes", exchange.ErrProviderResponse, maxAvailabilityBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, providerRefusal(resp.StatusCode, b)
	}
	var out exchange.AvailabilityResponse
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: the availability answer does not decode", exchange.ErrProviderResponse)
	}
	return &out, nil
}

// providerRefusal is the *exchange.ProviderError of a provider's error
// answer.
func providerRefusal(status int, body []byte) error {
	var eb peerErrorBody
	if json.Unmarshal(body, &eb) != nil || !safeCode.MatchString(eb.Error.Code) {
		return &exchange.ProviderError{Status: status, Code: exchange.CodeProviderError, Message: "the provider's error does not decode"}
	}
	msg := eb.Error.Message
	if len(msg) > 512 {
		msg = msg[:512]
	}
	return &exchange.ProviderError{Status: status, Code: eb.Error.Code, Message: msg, TxID: eb.Error.TxID}
}
