package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

func TestFirstRunLoadsTheDemoWorkspace(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{Empty: true})
	c := env.Anonymous(t)
	c.RefreshCSRF("/setup")
	res := c.PostForm("/setup", url.Values{"name": {"Owner"}, "email": {"owner@shop.test"}, "password": {webtest.Password}, "demo": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/", res.Header.Get("Location"), "the first page after setup is the Overview")
	_, body := c.Get("/")
	require.Contains(t, body, "The demo workspace is ready")
	require.Contains(t, body, "Their catalogues are read")
	require.Contains(t, body, "variants are mapped by SKU")

	// The sources a typical merchant has, saved (and audited) as the demo's.
	shopID, odooID, warehouseID := mustConn(t, env, "Demo Shopify store"), mustConn(t, env, "Demo Odoo"), mustConn(t, env, "Demo ShipBob warehouse")
	rs, err := env.Store.SourceRules(t.Context())
	require.NoError(t, err)
	for f, want := range map[vocab.Family]int64{vocab.Orders: shopID, vocab.Refunds: shopID, vocab.Customers: shopID, vocab.Products: shopID,
		vocab.Prices: odooID, vocab.Costs: odooID, vocab.Inventory: odooID, vocab.Fulfillments: warehouseID, vocab.Payouts: shopID} {
		require.Equal(t, want, rs.Rule(f).Master, "the source of %s", f)
	}
	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "source_rule"})
	require.NoError(t, err)
	require.Len(t, entries, 9, "each source is saved through the audited path")
	// Comparisons of the families with a source are queued at once.
	runs, _, err := env.Store.ListReconRuns(t.Context(), store.ReconRunFilter{})
	require.NoError(t, err)
	var families []string
	for _, r := range runs {
		families = append(families, r.Family)
	}
	require.ElementsMatch(t, []string{store.ReconInventory, store.ReconPrices, store.ReconOrders, store.ReconRefunds, store.ReconPayouts}, families)

	_, body = c.Get(fmt.Sprintf("/mappings/unmapped?from=%d&to=%d&type=variant", shopID, odooID))
	require.Contains(t, body, "SKU-0", "the variants left unmapped on purpose are listed, with their match")
	require.Contains(t, body, "Demo Shopify store")
	require.Contains(t, body, "Demo Odoo")

	// The three demo connections (store, ERP, warehouse) answer through
	// Crossdock's own /sandbox/ address, with the real connector code.
	cs, err := env.Store.ListConnections(t.Context())
	require.NoError(t, err)
	require.Len(t, cs, 3)
	c.RefreshCSRF("/connections")
	for _, conn := range cs {
		res := c.PostForm(fmt.Sprintf("/connections/%d/test", conn.ID), nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		_, body := c.Get(fmt.Sprintf("/connections/%d", conn.ID))
		require.Contains(t, body, "banner-success", "%s: test passes", conn.Name)
		require.Equal(t, vocab.EnvTest, conn.Environment, "%s is a test-environment connection", conn.Name)
		require.Regexp(t, `<h1>\s*`+regexp.QuoteMeta(conn.Name)+`\s*<span class="badge badge-info">Test</span>\s*</h1>`, body,
			"%s's page wears the Test badge by its name", conn.Name)
	}

	_, body = c.Get("/")
	require.Contains(t, body, "Demo Odoo", "the overview lists the connected systems")
	require.Contains(t, body, "Working")

	// Loading twice is refused with a clear message.
	res = c.PostForm("/demo", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = c.Get("/connections")
	require.Contains(t, body, "already loaded")
	cs, err = env.Store.ListConnections(t.Context())
	require.NoError(t, err)
	require.Len(t, cs, 3)
}

func mustConn(t testing.TB, env *webtest.Env, name string) int64 {
	t.Helper()
	cs, err := env.Store.ListConnections(t.Context())
	require.NoError(t, err)
	for _, c := range cs {
		if c.Name == name {
			return c.ID
		}
	}
	t.Fatalf("no connection %q", name)
	return 0
}

// TestDemoFlowsAfterLoading: once the scheduled checks ran, the demo's
// deliberate problems are there to practise on, each where a merchant looks.
func TestDemoFlowsAfterLoading(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150}) // a tenth of the demo, the same problems
	ctx := t.Context()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, env.Store.DB.GetContext(ctx, &n, q, args...))
		return n
	}
	// Orders: the ones with a product of the wholesale company are refused,
	// in Odoo's words; the others became sales orders.
	require.Equal(t, 3, count(`SELECT count(*) FROM syncs WHERE family = 'orders' AND status = 'failed' AND message LIKE '%Incompatible companies%'`))
	require.Positive(t, count(`SELECT count(*) FROM syncs WHERE family = 'orders' AND status = 'succeeded'`))
	// Stock kept in WH2/Stock has no Shopify location to go to.
	require.Positive(t, count(`SELECT count(*) FROM syncs WHERE family = 'inventory' AND status = 'failed' AND message LIKE '%location WH2/Stock is not mapped%'`))
	// The variants left unmapped although Odoo has their SKU: prices and
	// stock fail for each as not mapped yet; the products that exist only
	// in Odoo fail as existing in only one system (nothing to map them to).
	w := env.Server.DemoWorkspace()
	require.NotNil(t, w)
	skus := func(class vocab.ErrorClass) []string {
		t.Helper()
		var out []string
		require.NoError(t, env.Store.DB.SelectContext(ctx, &out, `SELECT DISTINCT search_keys[1] FROM syncs
WHERE family = 'prices' AND status = 'failed' AND error_class = $1`, class))
		return out
	}
	shopSKUs := map[string]bool{}
	for _, v := range w.Shop.Variants() {
		shopSKUs[strings.ToLower(v.SKU)] = true
	}
	unmapped := skus(vocab.ClassUnmapped)
	require.Len(t, unmapped, 8, "the 8 variants left unmapped on purpose")
	for _, sku := range unmapped {
		require.True(t, shopSKUs[strings.ToLower(sku)], "%s is in the shop: it can be mapped", sku)
	}
	onlyInOdoo := skus(vocab.ClassOnlyInOne)
	require.Len(t, onlyInOdoo, len(w.Odoo.Products())-len(w.Shop.Variants()), "the products that exist only in Odoo")
	for _, sku := range onlyInOdoo {
		require.False(t, shopSKUs[strings.ToLower(sku)], "%s is not in the shop", sku)
	}

	// Comparisons ran for every family with a source; finance sees the margins.
	require.Zero(t, count(`SELECT count(*) FROM recon_runs WHERE status = 'failed'`))
	// The shop's past orders and refunds are in Odoo: the history agrees,
	// but for the past orders with a variant left unmapped or refused.
	carried := count(`SELECT count(*) FROM webhook_events WHERE topic = 'orders/create'`)
	require.Equal(t, len(w.Shop.Orders())-carried, count(`SELECT coalesce(sum(differing), 0) FROM recon_runs WHERE family = 'orders'`))
	require.Positive(t, count(`SELECT coalesce(sum(compared), 0) FROM recon_runs WHERE family = 'refunds'`))
	require.Equal(t, 4, count(`SELECT count(*) FROM finance_rows WHERE run_id = (SELECT max(run_id) FROM finance_rows) AND margin_pct < 0`))
	require.Equal(t, 6, count(`SELECT count(*) FROM finance_rows WHERE run_id = (SELECT max(run_id) FROM finance_rows) AND margin_pct >= 0 AND margin_pct < 20`))

	// Another round finds nothing new to send: the failures stay as they
	// are, they do not pile up at every scheduled check.
	failed := count(`SELECT count(*) FROM syncs WHERE status = 'failed'`)
	_, err := env.Engine.RunScheduledOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, failed, count(`SELECT count(*) FROM syncs WHERE status = 'failed'`))
}

// Naming a source on the Sources of truth page starts that family's
// comparison at once; a family nobody decides is not compared.
func TestSavingASourceStartsItsComparison(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)
	runs := func() []string {
		t.Helper()
		rs, _, err := env.Store.ListReconRuns(t.Context(), store.ReconRunFilter{})
		require.NoError(t, err)
		var fs []string
		for _, r := range rs {
			fs = append(fs, r.Family)
		}
		return fs
	}
	require.Empty(t, runs())
	admin.RefreshCSRF("/sources/inventory/edit")
	res := admin.PostForm("/sources/inventory", inventoryForm(shop, odoo))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := admin.Get("/sources")
	require.Contains(t, body, "A comparison of the two systems has started")
	require.Equal(t, []string{store.ReconInventory}, runs(), "stock is compared now; prices, orders and refunds have no source")
}
