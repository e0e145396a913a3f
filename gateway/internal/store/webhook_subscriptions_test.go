package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebhookSubscriptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		const secret = "correct horse battery staple"
		for _, c := range []Client{{ID: "bank-app", OrgMSP: "BankMSP"}, {ID: "ins-app", OrgMSP: "InsurerMSP"}} {
			_, err := s.CreateClient(ctx, c, secret)
			require.NoError(t, err)
		}
		all, err := s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-a", ClientID: "bank-app", URL: "https://bank.example/a", Secret: "k1"}, nil)
		require.NoError(t, err)
		assert.Equal(t, "BankMSP", all.OrgMSP)
		assert.True(t, all.Wants("AuthorizationGranted"))
		some, err := s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-b", ClientID: "bank-app", URL: "https://bank.example/b", Secret: "k2"},
			[]string{"AuthorizationGranted", "AccessRecorded"})
		require.NoError(t, err)
		assert.True(t, some.Wants("AccessRecorded"))
		assert.False(t, some.Wants("AuthorizationDenied"))
		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-c", ClientID: "ins-app", URL: "https://ins.example/", Secret: "k3"}, nil)
		require.NoError(t, err)

		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-a", ClientID: "bank-app", URL: "https://x", Secret: "k"}, nil)
		require.ErrorIs(t, err, ErrExists)
		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-x", ClientID: "nobody", URL: "https://x", Secret: "k"}, nil)
		require.ErrorIs(t, err, ErrNotFound)
		_, err = s.CreateWebhookSubscription(ctx, Webhook{ID: "wh-y", ClientID: "bank-app", URL: "https://x", Secret: "k"}, []string{"a b"})
		require.ErrorIs(t, err, ErrInvalidArgument)

		got, err := s.WebhookSubscription(ctx, "wh-b")
		require.NoError(t, err)
		assert.Equal(t, []string{"AuthorizationGranted", "AccessRecorded"}, got.Events)
		assert.Equal(t, "k2", got.Secret)
		assert.Equal(t, some.CreatedAt, got.CreatedAt)
		_, err = s.WebhookSubscription(ctx, "wh-none")
		require.ErrorIs(t, err, ErrNotFound)

		list, err := s.OrgWebhookSubscriptions(ctx, "BankMSP")
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, "wh-a", list[0].ID)
		assert.Empty(t, list[0].Events)

		// Disabled webhooks, and webhooks of disabled clients, receive nothing;
		// the plain Webhook API sees the same rows.
		require.NoError(t, s.SetWebhookDisabled(ctx, "wh-a", true))
		list, err = s.OrgWebhookSubscriptions(ctx, "BankMSP")
		require.NoError(t, err)
		require.Len(t, list, 1)
		plain, err := s.WebhooksForOrg(ctx, "BankMSP")
		require.NoError(t, err)
		require.Len(t, plain, 1)
		assert.Equal(t, list[0].Webhook, plain[0])
		got, err = s.WebhookSubscription(ctx, "wh-a")
		require.NoError(t, err)
		assert.True(t, got.Disabled)
		require.NoError(t, s.SetClientDisabled(ctx, "bank-app", true))
		list, err = s.OrgWebhookSubscriptions(ctx, "BankMSP")
		require.NoError(t, err)
		assert.Empty(t, list)
	})
}
