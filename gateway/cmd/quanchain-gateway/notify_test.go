package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/ledger"
)

// oneEvent is a Fabric network whose chaincode event stream holds one
// event of the bank and then stays open.
type oneEvent struct{ payload []byte }

func (o oneEvent) ChaincodeEvents(ctx context.Context, _ string, _ ...client.ChaincodeEventsOption) (<-chan *client.ChaincodeEvent, error) {
	ch := make(chan *client.ChaincodeEvent, 1)
	ch <- &client.ChaincodeEvent{BlockNumber: 5, TransactionID: "tx1", ChaincodeName: "quanchain",
		EventName: model.EventAuthorizationGranted, Payload: o.payload}
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

// TestNotificationsWiring runs the requester's pump and sender as run
// wires them: a chaincode event of the bank reaches its webhook, signed,
// and stopping waits for both.
func TestNotificationsWiring(t *testing.T) {
	ctx := context.Background()
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer recv.Close()

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateClient(ctx, store.Client{ID: "bank-app", OrgMSP: "BankMSP"}, "a-long-enough-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateWebhookSubscription(ctx, store.Webhook{ID: "wh-1", ClientID: "bank-app", URL: recv.URL, Secret: "whsec_k"}, nil); err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(model.Event{Name: model.EventAuthorizationGranted, TxID: "tx1", Requester: "BankMSP", AuthorizationID: "auth-1"})
	l := ledger.New(nil, oneEvent{payload}, "quanchain", "BankMSP")
	cfg := config.Defaults()
	cfg.Dev = true
	api, stop, err := startNotifications(ctx, &cfg, st, l, "BankMSP", slog.New(slog.DiscardHandler))
	if err != nil || api == nil {
		t.Fatalf("startNotifications: %v", err)
	}
	select {
	case r := <-got:
		body := <-bodies
		if r.Header.Get(notify.HeaderEventID) != "5:tx1" {
			t.Errorf("event id %q", r.Header.Get(notify.HeaderEventID))
		}
		if err := notify.Verify("whsec_k", r.Header.Get(notify.HeaderSignature), body, time.Now(), 0); err != nil {
			t.Errorf("signature: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("stop did not return")
	}
	if block, ok, err := st.GetCursor(ctx, notify.DefaultCursor); err != nil || !ok || block != 5 {
		t.Fatalf("cursor %d %v %v", block, ok, err)
	}

	// A provider-only gateway runs neither.
	prov := config.Defaults()
	prov.Roles = []config.Role{config.RoleProvider}
	if api, stop, err := startNotifications(ctx, &prov, st, l, "BureauMSP", slog.New(slog.DiscardHandler)); api != nil || err != nil {
		t.Fatalf("provider gateway: %v %v", api, err)
	} else {
		stop()
	}
}

func TestAdminAPIWiring(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Defaults()
	if a, err := adminAPI(&cfg, st, nil, nil); a != nil || err != nil {
		t.Fatalf("requester gateway: %v %v", a, err)
	}
	cfg.Roles = []config.Role{config.RoleProvider}
	cfg.PseudonymKeyFile = filepath.Join(t.TempDir(), "pseudonym.key")
	if _, err := operatorPseudonymiser(&cfg); err == nil {
		t.Fatal("provider gateway without its pseudonym key file")
	}
	if _, err := adminAPI(&cfg, st, nil, nil); err == nil {
		t.Fatal("provider gateway without its pseudonym key")
	}
	if err := os.WriteFile(cfg.PseudonymKeyFile, make([]byte, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := operatorPseudonymiser(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := adminAPI(&cfg, st, nil, ps); a == nil || err != nil {
		t.Fatalf("provider gateway: %v %v", a, err)
	}
}
