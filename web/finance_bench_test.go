package web_test

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// Run with: go test -run '^$' -bench FinanceReview -benchtime 1x ./web/
// CROSSDOCK_BENCH_VARIANTS sets how many mapped variants the prices
// comparison holds [20,000]; the target (p95 < 100 ms) is for 200,000:
// CROSSDOCK_BENCH_VARIANTS=200000 go test -run '^$' -bench FinanceReview -benchtime 1x -timeout 30m ./web/

// BenchmarkFinanceReview measures the finance review as a browser asks for
// it, over real HTTP from the running console: p95 and median of the first
// page, a filtered page, the revenue sort, a level filtered by revenue and
// the month-end summary (200 flagged rows) (20 requests each), over n
// variants compared in Odoo and Shopify (in 20 collections, two with
// thresholds of their own), with n/4 orders (two lines each) synced in the
// last 30 days; and build_s, the time the prices run spends
// once computing the review's rows.
func BenchmarkFinanceReview(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_VARIANTS")); err == nil && v > 0 {
		n = v
	}
	env := webtest.Start(b)
	ctx := b.Context()
	db := env.Store.DB
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(b, err)
	sys := store.SystemActor("bench")
	shop, err := env.Store.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
		Environment: vocab.EnvProduction, Settings: map[string]string{"shop_domain": "main.myshopify.com"}})
	require.NoError(b, err)
	odoo, err := env.Store.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo,
		Environment: vocab.EnvProduction, Settings: map[string]string{"url": "https://odoo.example", "database": "shop"}})
	require.NoError(b, err)
	start := time.Now()
	var run int64
	require.NoError(b, db.GetContext(ctx, &run, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at)
VALUES ('prices', 'manual', 'succeeded', now(), now()) RETURNING id`))
	// Odoo: list price 10..109, cost 40 % to 100 % of it, one in fifty
	// without cost. Shopify: the same price, one in twenty different.
	_, err = db.ExecContext(ctx, `INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, label, price, cost, currency)
SELECT $1::bigint, $2::bigint, g::text, g, 'SKU-' || g, 10 + g % 100, CASE WHEN g % 50 = 0 THEN 0 ELSE round((10 + g % 100) * (0.4 + (g % 61) / 100.0), 2) END, ''
FROM generate_series(1, $4::int) g
UNION ALL
SELECT $1::bigint, $3::bigint, 'gid://shopify/ProductVariant/' || g, g, 'SKU-' || g, 10 + g % 100 - CASE WHEN g % 20 = 0 THEN 2 ELSE 0 END,
  NULL, 'EUR'
FROM generate_series(1, $4::int) g`, run, odoo.ID, shop.ID, n)
	require.NoError(b, err)
	// One product per variant, each in one of 20 collections, one in seven
	// also on Sale; two collections have thresholds of their own.
	_, err = db.ExecContext(ctx, `UPDATE recon_prices SET product_ref = 'gid://shopify/Product/' || variant_id WHERE run_id = $1 AND connection_id = $2`, run, shop.ID)
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, `INSERT INTO recon_collections (run_id, connection_id, product_ref, collection_ref, title)
SELECT $1::bigint, $2::bigint, 'gid://shopify/Product/' || g, 'gid://shopify/Collection/' || (g % 20), 'Collection ' || (g % 20)
FROM generate_series(1, $3::int) g
UNION ALL
SELECT $1::bigint, $2::bigint, 'gid://shopify/Product/' || g, 'gid://shopify/Collection/99', 'Sale' FROM generate_series(7, $3::int, 7) g`, run, shop.ID, n)
	require.NoError(b, err)
	require.NoError(b, env.Store.SetCollectionThresholds(ctx, sys, "gid://shopify/Collection/3", "Collection 3", store.Thresholds{Critical: 30, High: 40, Medium: 50}))
	require.NoError(b, env.Store.SetCollectionThresholds(ctx, sys, "gid://shopify/Collection/99", "Sale", store.Thresholds{Critical: 5, High: 10, Medium: 15}))
	_, err = db.ExecContext(ctx, `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id, trigger, entity_type,
  entity_ref, idempotency_key, max_attempts, status, created_at, payload)
SELECT 'orders', 'shopify_odoo', 'orders.shopify_odoo', $1, $2, 'webhook', 'order', 'gid://shopify/Order/' || g, 'o' || g, 5, 'succeeded',
  now() - (g % 40) * interval '1 day',
  jsonb_build_object('id', 'gid://shopify/Order/' || g, 'name', '#' || g, 'lines', jsonb_build_array(
    jsonb_build_object('variant_id', 'gid://shopify/ProductVariant/' || (1 + (g * 7) % $3), 'quantity', 1 + g % 3, 'price', '10'),
    jsonb_build_object('variant_id', 'gid://shopify/ProductVariant/' || (1 + (g * 13) % $3), 'quantity', 1, 'price', '10')))
FROM generate_series(1, $3::int / 4) g`, shop.ID, odoo.ID, n)
	require.NoError(b, err)
	for _, t := range []string{"recon_prices", "recon_collections", "syncs"} {
		_, err = db.ExecContext(ctx, `VACUUM ANALYZE `+t)
		require.NoError(b, err)
	}
	b.Logf("seeded %d variants and %d orders in %s", n, n/4, time.Since(start).Round(time.Millisecond))
	// What the prices run does once when it ends: the review's rows.
	start = time.Now()
	built, err := env.Store.BuildFinanceReview(ctx, run, odoo.ID, shop.ID)
	require.NoError(b, err)
	require.Equal(b, int64(n), built)
	build := time.Since(start)
	b.Logf("built the review of %d variants in %s", built, build.Round(time.Millisecond))

	// Finance's own decisions: one variant in a hundred accepted, one in a
	// thousand sent to the operators; one in twenty prices sent by a later
	// sync; 500 decisions kept from last month.
	_, err = db.ExecContext(ctx, `INSERT INTO finance_reviews (variant_id, state, note, by_label)
SELECT g, CASE WHEN g % 1000 = 0 THEN 'sent' ELSE 'accepted' END, 'bench', 'Bench' FROM generate_series(100, $1::int, 100) g`, n)
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id, trigger, entity_type,
  entity_ref, idempotency_key, max_attempts, status, search_keys, payload)
SELECT 'prices', 'odoo_shopify', 'prices.odoo_shopify', $1, $2, 'sweep', 'variant_prices', 'product:' || g, 'p' || g, 5, 'succeeded',
  ARRAY['sku-' || g], '{}'::jsonb
FROM generate_series(20, $3::int, 20) g`, odoo.ID, shop.ID, n)
	require.NoError(b, err)
	lastMonth := time.Now().UTC().AddDate(0, -1, 0)
	_, err = db.ExecContext(ctx, `INSERT INTO finance_decisions (variant_id, run_id, sku, decision, note, by_label, decided_at)
SELECT g, $1, 'SKU-' || g, 'accepted', 'bench', 'Bench', $2 FROM generate_series(1, 500) g`, run, time.Date(lastMonth.Year(), lastMonth.Month(), 10, 0, 0, 0, 0, time.UTC))
	require.NoError(b, err)
	for _, t := range []string{"finance_reviews", "syncs", "finance_decisions"} {
		_, err = db.ExecContext(ctx, `VACUUM ANALYZE `+t)
		require.NoError(b, err)
	}

	c := env.SignIn(b, vocab.RoleFinance)
	cases := []struct{ name, path string }{
		{"stake_sort", "/finance?sort=stake"},
		{"not_reviewed_by_stake", "/finance?review=none&sort=stake"},
		{"sent_to_operators", "/finance?review=sent"},
		{"price_differs", "/finance?flag=price_differs"},
		{"past_month_summary", "/finance/summary?month=" + lastMonth.Format("2006-01")},
		{"first_page", "/finance"},
		{"filtered_page", "/finance?flag=critical"},
		{"revenue_sort", "/finance?sort=revenue"},
		{"level_by_revenue", "/finance?flag=medium&sort=revenue"},
		{"month_end_summary", "/finance/summary"},
	}
	b.ResetTimer()
	for b.Loop() {
		for _, cs := range cases {
			ds := make([]time.Duration, 0, 20)
			for range 20 {
				t0 := time.Now()
				res, body := c.Get(cs.path)
				ds = append(ds, time.Since(t0))
				require.Equal(b, http.StatusOK, res.StatusCode)
				require.Contains(b, body, "SKU-", cs.name)
			}
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)*95/100].Microseconds())/1000, cs.name+"_p95_ms")
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, cs.name+"_median_ms")
		}
	}
	b.ReportMetric(build.Seconds(), "build_s")
}
