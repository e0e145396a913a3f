package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/httpapi"
	"github.com/quanchain/quanchain/gateway/internal/notify"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/ledger"
)

// startNotifications starts, on a requester gateway, the chaincode event
// pump (this organisation's events into the webhook outbox and the event
// stream) and the webhook sender, and returns the notification routes'
// API. They stop when ctx ends or stop is called; stop waits for them, the
// sender finishing the deliveries under way. Other gateways get nil and a
// no-op stop.
func startNotifications(ctx context.Context, cfg *config.Config, st *store.Store, l *ledger.Ledger, msp string,
	log *slog.Logger) (api *httpapi.NotifyAPI, stop func(), err error) {
	if !cfg.HasRole(config.RoleRequester) {
		return nil, func() {}, nil
	}
	broker := notify.NewBroker(0, 0)
	sender := notify.NewSender(st, notify.SenderConfig{Dev: cfg.Dev, MaxAttempts: cfg.WebhookMaxAttempts,
		BaseDelay: cfg.WebhookBaseDelay, MaxDelay: cfg.WebhookMaxDelay, Log: log.With(slog.String("component", "webhooks"))})
	api, err = httpapi.NewNotifyAPI(httpapi.NotifyConfig{Webhooks: st, Events: broker, Deliveries: st, Wake: sender.Wake})
	if err != nil {
		return nil, nil, err
	}
	pump := &notify.Pump{Source: l, Store: st, Broker: broker, OrgMSP: msp, OnEnqueue: sender.Wake,
		Log: log.With(slog.String("component", "events"))}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{pump.Run, sender.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = run(wctx) // both return only when wctx ends
		}()
	}
	return api, func() { cancel(); wg.Wait() }, nil
}

// adminAPI is the operator's admin API (provider role): API clients, and
// dataset imports into the digital safe anchored with the gateway's own
// Fabric identity. Other gateways get nil.
func adminAPI(cfg *config.Config, st *store.Store, l *ledger.Ledger, ps *vault.Pseudonymiser) (*httpapi.AdminAPI, error) {
	if !cfg.HasRole(config.RoleProvider) {
		return nil, nil
	}
	if ps == nil {
		return nil, errors.New("the provider role needs the pseudonym key")
	}
	im := &vault.Importer{Store: st, Pseudonymiser: ps, Anchorer: httpapi.ReportingAnchorer(ledger.BatchAnchorer{Ledger: l}),
		BatchSize: cfg.ImportBatchSize, AnchorParallelism: cfg.ImportAnchors, StoreParallelism: cfg.ImportWriters}
	return httpapi.NewAdminAPI(httpapi.AdminConfig{Clients: st, Datasets: im, SpoolDir: cfg.DataDir})
}
