package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestConnectionSecretsAreSealedAndRotated(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	a := store.SystemActor("test")

	c, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify, Environment: vocab.EnvTest,
		Settings: map[string]string{"shop_domain": "main.myshopify.com"}, Secrets: map[string]string{"access_token": "shpat_1", "api_secret": "first"}})
	require.NoError(t, err)
	var raw []byte
	require.NoError(t, st.DB.GetContext(ctx, &raw, `SELECT secrets FROM connections WHERE id = $1`, c.ID))
	require.NotContains(t, string(raw), "shpat_1", "secrets are not stored in clear")

	// An update without secrets keeps them; a new api_secret keeps the old one valid for an hour.
	c, err = st.UpdateConnection(ctx, a, box, c.ID, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify, Environment: vocab.EnvTest,
		Settings: map[string]string{"shop_domain": "main.myshopify.com"}, Secrets: map[string]string{"api_secret": "second"}})
	require.NoError(t, err)
	secrets, err := store.ConnectionSecrets(box, c)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"access_token": "shpat_1", "api_secret": "second"}, secrets)
	ws, err := store.WebhookSecrets(box, c, time.Now())
	require.NoError(t, err)
	require.Equal(t, []string{"second", "first"}, ws)
	ws, err = store.WebhookSecrets(box, c, time.Now().Add(store.WebhookSecretGrace+time.Minute))
	require.NoError(t, err)
	require.Equal(t, []string{"second"}, ws, "the previous secret expires")

	entries, _, err := st.ListAudit(ctx, store.AuditFilter{ObjectType: "connection"})
	require.NoError(t, err)
	require.Len(t, entries, 2)
	for _, e := range entries {
		for _, j := range []*[]byte{(*[]byte)(e.Before), (*[]byte)(e.After)} {
			if j != nil {
				require.NotContains(t, string(*j), "second")
				require.NotContains(t, string(*j), "shpat_1")
			}
		}
	}
	require.Contains(t, entries[0].Summary, "new api_secret")

	_, err = st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "main STORE", Kind: vocab.KindOdoo, Environment: vocab.EnvTest})
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe["name"], "already has this name")
}
