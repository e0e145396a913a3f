package peerlink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// DeliveryKeysPath publishes the provider's delivery-signing keys.
const DeliveryKeysPath = "/provider/v1/keys/delivery"

// maxKeySetBytes bounds the key set read.
const maxKeySetBytes = 64 << 10

// DeliveryKeyIDs reads the key ids of the provider's delivery-signing
// keys over mutual TLS; it implements exchange.ProviderKeys.
func (c *ProviderClient) DeliveryKeyIDs(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.keys, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("provider keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("provider keys: %s answered %s", c.keys, resp.Status)
	}
	var ks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxKeySetBytes)).Decode(&ks); err != nil {
		return nil, fmt.Errorf("provider keys: the key set does not decode: %w", err)
	}
	ids := make([]string, 0, len(ks.Keys))
	for _, k := range ks.Keys {
		ids = append(ids, k.Kid)
	}
	return ids, nil
}
