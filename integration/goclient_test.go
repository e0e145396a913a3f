package integration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/client"
)

// institutionClient is the Go client package (gateway/client) logged in as
// the first demo API client a gateway's setup wrote into its data
// directory, so the suite runs the client against the real gateways. opts
// come after the defaults.
func institutionClient(t testing.TB, base, member string, opts ...client.Option) *client.Client {
	t.Helper()
	data := filepath.Join(testNet.StateDir(), "gateway", member)
	b, err := os.ReadFile(filepath.Join(data, "demo-clients.json"))
	if err != nil {
		t.Fatal(err)
	}
	var clients []struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(b, &clients); err != nil || len(clients) == 0 {
		t.Fatalf("demo clients in %s: %v", data, err)
	}
	c, err := client.New(base, append([]client.Option{client.WithClientSecret(clients[0].ClientID, clients[0].ClientSecret),
		client.WithHTTPClient(&http.Client{Timeout: 60 * time.Second})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// awaitGrant waits until inst's own peer holds the citizen's grant of id.
func awaitGrant(t *testing.T, inst *client.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := inst.WaitForDecision(ctx, id, 200*time.Millisecond)
	if err != nil || a.Status != model.AuthGranted {
		t.Fatalf("authorisation %s after the grant: %+v %v", id, a, err)
	}
}

// apiError is err as the client's typed error, or fails the test.
func apiError(t *testing.T, err error) *client.Error {
	t.Helper()
	var qe *client.Error
	if !errors.As(err, &qe) {
		t.Fatalf("got %v, want a refusal by the gateway", err)
	}
	return qe
}
