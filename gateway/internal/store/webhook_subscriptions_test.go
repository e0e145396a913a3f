package store

import (
	"errors"
	"slices"
	"testing"
)

func TestWebhookSubscriptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		const secret = "correct horse battery staple"
		for _, c := range []Client{{ID: "bank-app", OrgMSP: "BankMSP"}, {ID: "ins-app", OrgMSP: "InsurerMSP"}} {
			_, err := s.CreateClient(ctx, c, secret)
			if err != nil {
				t.Fatalf("CreateClient: %v", err)
			}
		}
		all, err := s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-a", ClientID: "bank-app", URL: "https://bank.example/a", Secret: "k1"}, nil)
		if err != nil {
			t.Fatalf("CreateWebhookSubscription: %v", err)
		}
		if all.OrgMSP != "BankMSP" {
			t.Errorf("all.OrgMSP = %q, want %q", all.OrgMSP, "BankMSP")
		}
		if !all.Wants("AuthorizationGranted") {
			t.Error(`all.Wants("AuthorizationGranted") = false, want true`)
		}
		some, err := s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-b", ClientID: "bank-app", URL: "https://bank.example/b", Secret: "k2"},
			[]string{"AuthorizationGranted", "AccessRecorded"})
		if err != nil {
			t.Fatalf("CreateWebhookSubscription: %v", err)
		}
		if !some.Wants("AccessRecorded") {
			t.Error(`some.Wants("AccessRecorded") = false, want true`)
		}
		if some.Wants("AuthorizationDenied") {
			t.Error(`some.Wants("AuthorizationDenied") = true, want false`)
		}
		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-c", ClientID: "ins-app", URL: "https://ins.example/", Secret: "k3"}, nil)
		if err != nil {
			t.Fatalf("CreateWebhookSubscription: %v", err)
		}

		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-a", ClientID: "bank-app", URL: "https://x", Secret: "k"}, nil)
		if !errors.Is(err, ErrExists) {
			t.Fatalf("CreateWebhookSubscription: %v, want %v", err, ErrExists)
		}
		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-x", ClientID: "nobody", URL: "https://x", Secret: "k"}, nil)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("CreateWebhookSubscription: %v, want %v", err, ErrNotFound)
		}
		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-y", ClientID: "bank-app", URL: "https://x", Secret: "k"}, []string{"a b"})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("CreateWebhookSubscription: %v, want %v", err, ErrInvalidArgument)
		}

		got, err := s.WebhookSubscription(ctx, "wh-b")
		if err != nil {
			t.Fatalf("WebhookSubscription: %v", err)
		}
		if !slices.Equal(got.Events, []string{"AuthorizationGranted", "AccessRecorded"}) {
			t.Errorf("got.Events = %v, want %v", got.Events, []string{"AuthorizationGranted", "AccessRecorded"})
		}
		if got.Secret != "k2" {
			t.Errorf("got.Secret = %q, want %q", got.Secret, "k2")
		}
		if got.CreatedAt != some.CreatedAt {
			t.Errorf("got.CreatedAt = %v, want %v", got.CreatedAt, some.CreatedAt)
		}
		_, err = s.WebhookSubscription(ctx, "wh-none")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("WebhookSubscription: %v, want %v", err, ErrNotFound)
		}

		list, err := s.OrgWebhookSubscriptions(ctx, "BankMSP")
		if err != nil {
			t.Fatalf("OrgWebhookSubscriptions: %v", err)
		}
		if len(list) != 2 {
			t.Fatalf("len(list) = %d, want %d", len(list), 2)
		}
		if list[0].ID != "wh-a" {
			t.Errorf("list[0].ID = %q, want %q", list[0].ID, "wh-a")
		}
		if len(list[0].Events) != 0 {
			t.Errorf("list[0].Events = %v, want none", list[0].Events)
		}

		// Disabled webhooks, and webhooks of disabled clients, receive nothing;
		// the plain Webhook API sees the same rows.
		if err := s.SetWebhookDisabled(ctx, "wh-a", true); err != nil {
			t.Fatalf("SetWebhookDisabled: %v", err)
		}
		list, err = s.OrgWebhookSubscriptions(ctx, "BankMSP")
		if err != nil {
			t.Fatalf("OrgWebhookSubscriptions: %v", err)
		}
		if len(list) != 1 {
			t.Fatalf("len(list) = %d, want %d", len(list), 1)
		}
		plain, err := s.WebhooksForOrg(ctx, "BankMSP")
		if err != nil {
			t.Fatalf("WebhooksForOrg: %v", err)
		}
		if len(plain) != 1 {
			t.Fatalf("len(plain) = %d, want %d", len(plain), 1)
		}
		if plain[0] != list[0].Webhook {
			t.Errorf("plain[0] = %v, want %v", plain[0], list[0].Webhook)
		}
		got, err = s.WebhookSubscription(ctx, "wh-a")
		if err != nil {
			t.Fatalf("WebhookSubscription: %v", err)
		}
		if !got.Disabled {
			t.Error("got.Disabled = false, want true")
		}
		if err := s.SetClientDisabled(ctx, "bank-app", true); err != nil {
			t.Fatalf("SetClientDisabled: %v", err)
		}
		list, err = s.OrgWebhookSubscriptions(ctx, "BankMSP")
		if err != nil {
			t.Fatalf("OrgWebhookSubscriptions: %v", err)
		}
		if len(list) != 0 {
			t.Errorf("subscriptions %+v, want none", list)
		}
	})
}
