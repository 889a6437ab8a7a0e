package demo_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
	"crossdock/web/demo"
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

	// The problems to practise on, each counted; the same after a restart.
	require.Equal(t, len(w1.Shop.Variants()), d1.Mapped+d1.Unmapped, "every variant with its SKU in Odoo is mapped, or left out on purpose")
	require.Positive(t, d1.Unmapped)
	require.Positive(t, d1.RefusedProducts)
	require.Positive(t, d1.BelowCost)
	require.Positive(t, d1.BelowThreshold)
	require.NotEmpty(t, d1.UnmappedLocation)
	require.NotEqual(t, d1.MappedLocation, d1.UnmappedLocation)
}

func TestDemoDefaultSeedHasTheAdvertisedProblems(t *testing.T) {
	t.Parallel()
	cfg := demo.Config{Seed: demo.DefaultSeed, ShopifyToken: "t", OdooAPIKey: "k", ShopDomain: "d.myshopify.com", OdooDatabase: "demo", OdooLogin: "u"}
	w, d := demo.New("http://127.0.0.1:1", cfg)
	require.Equal(t, 8, d.Unmapped)
	require.Equal(t, 3, d.RefusedProducts)
	require.Equal(t, 4, d.BelowCost)
	require.Equal(t, 6, d.BelowThreshold)
	require.Equal(t, 1520, d.OnlyInOdoo, "the ERP's own products stay")
	require.Equal(t, "Shop floor", d.UnmappedLocation)

	// Margins as the finance review measures them: the store's price against
	// Odoo's cost. Exactly the deliberate ones fall under cost or under the
	// 20 % threshold; the rest of the catalogue is healthy.
	shop := map[string]float64{}
	for _, v := range w.Shop.Variants() {
		p, err := strconv.ParseFloat(v.Price, 64)
		require.NoError(t, err)
		shop[v.SKU] = p
	}
	below, low := 0, 0
	for _, p := range w.Odoo.Products() {
		price, ok := shop[p.DefaultCode]
		if !ok {
			continue
		}
		switch margin := (price - p.StandardPrice) / price * 100; {
		case margin < 0:
			below++
		case margin < 20:
			low++
		}
	}
	require.Equal(t, d.BelowCost, below)
	require.Equal(t, d.BelowThreshold, low)
}

func TestDemoLoadSetsSourcesAndSeedsMappings(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	ctx := t.Context()
	var h demo.Holder
	l, err := demo.Load(ctx, st, box, store.Actor{UserID: 0, Label: "owner@shop.test", RequestID: "req-1"}, "http://127.0.0.1:1", &h, 60)
	require.NoError(t, err)
	require.NotNil(t, h.Workspace())

	rs, err := st.SourceRules(ctx)
	require.NoError(t, err)
	for f, want := range map[vocab.Family]int64{vocab.Orders: l.ShopifyConnectionID, vocab.Refunds: l.ShopifyConnectionID,
		vocab.Customers: l.ShopifyConnectionID, vocab.Products: l.ShopifyConnectionID, vocab.Prices: l.OdooConnectionID,
		vocab.Costs: l.OdooConnectionID, vocab.Inventory: l.OdooConnectionID, vocab.Fulfillments: l.ShipBobConnectionID} {
		require.Equal(t, want, rs.Rule(f).Master, "the source of %s", f)
	}
	require.ElementsMatch(t, vocab.AllFamilies(), demo.Families(), "every family has a source")

	// The catalogue is one seeded change set, applied by the system: no
	// person proposed it, none approved it, and the history says so.
	sets, _, err := st.ListChangeSets(ctx, store.ChangeSetFilter{})
	require.NoError(t, err)
	require.Len(t, sets, 1)
	cs := sets[0]
	require.Equal(t, store.SourceSeed, cs.Source)
	require.Equal(t, store.ChangeSetApproved, cs.Status)
	require.Nil(t, cs.ProposedBy)
	require.Nil(t, cs.DecidedBy)
	require.Equal(t, demo.Actor, cs.ProposedLabel)
	require.Equal(t, demo.Actor, cs.DecidedLabel)
	require.Equal(t, 2*l.Mapped+3, cs.NAdd, "both sides of every mapped variant, and the main location in Shopify, Odoo and the warehouse (its fulfilment centre)")
	audit, _, err := st.ListAudit(ctx, store.AuditFilter{ObjectType: "change_set"})
	require.NoError(t, err)
	require.Len(t, audit, 1, "one audited change")
	require.Equal(t, "changeset.seeded", audit[0].Action)
	require.Equal(t, demo.Actor, audit[0].ActorLabel)

	// Mapped as far as SKUs match, but the ones left out on purpose.
	w := h.Workspace()
	var ids []string
	for _, v := range w.Shop.Variants() {
		ids = append(ids, v.GID())
	}
	got, missing, err := st.ResolveRefs(ctx, l.ShopifyConnectionID, l.OdooConnectionID, "variant", ids)
	require.NoError(t, err)
	require.Len(t, got, l.Mapped)
	require.Len(t, missing, l.Unmapped)
	loc, _, err := st.ResolveRefs(ctx, l.OdooConnectionID, l.ShopifyConnectionID, "location",
		[]string{strconv.Itoa(odoosandbox.LocationStock), strconv.Itoa(odoosandbox.LocationStock2)})
	require.NoError(t, err)
	require.Equal(t, map[string]string{strconv.Itoa(odoosandbox.LocationStock): w.Shop.Locations()[0].GID()}, loc,
		"WH/Stock is mapped to the main location; WH2/Stock is left for practice")

	// The orders wait as Shopify's webhooks would, a few with a product Odoo refuses.
	require.Positive(t, l.RefusedOrders)
	require.Less(t, l.RefusedOrders, l.Orders)
	var events int
	require.NoError(t, st.DB.GetContext(ctx, &events, `SELECT count(*) FROM webhook_events WHERE topic = 'orders/create' AND status = 'received'`))
	require.GreaterOrEqual(t, events, l.Orders)
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
