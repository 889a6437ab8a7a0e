package engine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/store"
)

// The connection test runs on the pool's client: the same client the syncs
// use (its rate-limit budget is the shop's), its calls land in the
// connection's health at once, and a disabled connection can still be
// tested though no sync may use it.
func TestConnectionCheckUsesThePooledClient(t *testing.T) {
	t.Parallel()
	e := setup(t, options{seed: 2})
	ctx := t.Context()

	cl, _, err := e.eng.ShopifyClient(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.True(t, cl.Budget().SeenAt.IsZero(), "no call made yet")
	res, err := e.eng.CheckConnection(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.True(t, res.OK, res.Summary)
	require.Contains(t, res.Summary, "Everything Crossdock needs is granted")
	require.False(t, cl.Budget().SeenAt.IsZero(), "the check spent the pooled client's budget")
	again, _, err := e.eng.ShopifyClient(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.Same(t, cl, again)
	c, err := e.st.ConnectionByID(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.NotNil(t, c.LastSuccessAt, "the check's calls are in the connection's health")
	require.NotEmpty(t, c.Budget)

	_, err = e.st.SetConnectionEnabled(ctx, store.SystemActor("test"), e.odooConn.ID, false)
	require.NoError(t, err)
	_, _, err = e.eng.OdooClient(ctx, e.odooConn.ID)
	require.Error(t, err, "syncs wait while the connection is disabled")
	res, err = e.eng.CheckConnection(ctx, e.odooConn.ID)
	require.NoError(t, err)
	require.True(t, res.OK, res.Summary)

	_, err = e.eng.WebhookSubscriptions(ctx, e.odooConn.ID)
	require.ErrorIs(t, err, connectors.ErrNoWebhooks, "Odoo sends no webhooks")
	subs, err := e.eng.WebhookSubscriptions(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.NotEmpty(t, subs)
}

// The store keeps a rotated-out webhook secret for as long as the kinds
// that sign webhooks say to accept it, under the field they name.
func TestStoreKeepsThePreviousWebhookSecretAsTheKindsSay(t *testing.T) {
	t.Parallel()
	for _, k := range kinds().Kinds() {
		if k.Webhooks == nil {
			continue
		}
		require.Equal(t, store.WebhookSecretField, k.Webhooks.SecretField, k.Key)
		require.Equal(t, store.WebhookSecretGrace, k.Webhooks.SecretGrace, k.Key)
	}
}
