package notify

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

var ctx = context.Background()

// openStore opens a SQLite store on a file of the test's own.
func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "gateway.db")
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// addWebhook creates a client of org (once) and a webhook for it.
func addWebhook(t *testing.T, st *store.Store, org, id, url, secret string, events ...string) {
	t.Helper()
	client := "client-" + org
	if _, err := st.GetClient(ctx, client); errors.Is(err, store.ErrNotFound) {
		if _, err := st.CreateClient(ctx, store.Client{ID: client, OrgMSP: org}, "a-long-enough-secret"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateWebhookSubscription(ctx, store.Webhook{ID: id, ClientID: client, URL: url, Secret: secret}, events); err != nil {
		t.Fatal(err)
	}
}

// outbox returns every outbox item (ids are small in these tests).
func outbox(t *testing.T, st *store.Store) []store.OutboxItem {
	t.Helper()
	var items []store.OutboxItem
	for id := int64(1); id <= 200; id++ {
		it, err := st.GetOutboxItem(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	return items
}
