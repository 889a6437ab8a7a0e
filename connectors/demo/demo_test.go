package demo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/demo"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
)

func TestDemoDriftIsDeliberateAndRepeatable(t *testing.T) {
	t.Parallel()
	cfg := demo.Config{Seed: 300, ShopifyToken: "t", OdooAPIKey: "k", ShopDomain: "d.myshopify.com", OdooDatabase: "demo", OdooLogin: "u"}
	w1, d1 := demo.New("http://127.0.0.1:1", cfg)
	_, d2 := demo.New("http://127.0.0.1:1", cfg)
	require.Equal(t, d1, d2, "the same seed gives the same drift after a restart")
	require.Positive(t, d1.Prices)
	require.Positive(t, d1.Stock)
	require.Positive(t, d1.OnlyInOdoo, "the ERP has items the store does not sell")
	require.Zero(t, d1.OnlyInShopify)
	require.Less(t, d1.Prices, len(w1.Shop.Variants())/10, "drift is the exception, not the rule")
}

func TestDemoCredentialsAreSealedInTheSettings(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	ctx := t.Context()
	var h demo.Holder
	_, err = demo.Load(ctx, st, box, store.SystemActor("test"), "http://127.0.0.1:1", &h, 50)
	require.NoError(t, err)
	cfg := h.Workspace().Config
	require.NotEmpty(t, cfg.ShopifyToken)
	require.NotEmpty(t, cfg.OdooAPIKey)

	var raw string
	require.NoError(t, st.DB.GetContext(ctx, &raw, `SELECT value::text FROM app_settings WHERE key = $1`, demo.SettingKey))
	require.NotContains(t, raw, cfg.ShopifyToken, "the Shopify token is not stored in plain text")
	require.NotContains(t, raw, cfg.OdooAPIKey, "the Odoo key is not stored in plain text")

	// After a restart the twins take the same credentials.
	var again demo.Holder
	ok, err := demo.Restore(ctx, st, box, "http://127.0.0.1:1", &again)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, cfg, again.Workspace().Config)

	// Another secret key cannot open them: Restore says so rather than
	// starting twins that refuse the saved connections.
	other, err := secretbox.New([]byte("another-secret-key-another-secret-key"))
	require.NoError(t, err)
	_, err = demo.Restore(ctx, st, other, "http://127.0.0.1:1", &demo.Holder{})
	require.ErrorIs(t, err, secretbox.ErrOpen)
}

func TestDemoCredentialsStoredInPlainTextAreSealedOnRestore(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	ctx := t.Context()
	// As a former version wrote it.
	_, err = st.DB.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)`, demo.SettingKey,
		`{"seed": 50, "shopify_token": "shpat_demo_plain", "odoo_api_key": "demo-plainkey", "shop_domain": "crossdock-demo.myshopify.com",
		  "odoo_database": "demo", "odoo_login": "integration@crossdock-demo.example"}`)
	require.NoError(t, err)

	var h demo.Holder
	ok, err := demo.Restore(ctx, st, box, "http://127.0.0.1:1", &h)
	require.NoError(t, err)
	require.True(t, ok)
	want := demo.Config{Seed: 50, ShopifyToken: "shpat_demo_plain", OdooAPIKey: "demo-plainkey", ShopDomain: "crossdock-demo.myshopify.com",
		OdooDatabase: "demo", OdooLogin: "integration@crossdock-demo.example"}
	require.Equal(t, want, h.Workspace().Config)

	var raw string
	require.NoError(t, st.DB.GetContext(ctx, &raw, `SELECT value::text FROM app_settings WHERE key = $1`, demo.SettingKey))
	require.NotContains(t, raw, "shpat_demo_plain")
	require.NotContains(t, raw, "demo-plainkey")
	var again demo.Holder
	_, err = demo.Restore(ctx, st, box, "http://127.0.0.1:1", &again)
	require.NoError(t, err)
	require.Equal(t, want, again.Workspace().Config, "the sealed row gives the same credentials")
}
