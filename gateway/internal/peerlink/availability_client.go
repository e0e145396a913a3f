package peerlink

import (
	"context"
	"encoding/json"
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
	var out exchange.AvailabilityResponse
	url := strings.TrimSuffix(c.endpoint, DeliveriesPath) + AvailabilityPath
	if err := c.post(ctx, url, req, maxAvailabilityBytes, &out); err != nil {
		return nil, err
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
