package store_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// Run with: go test -run '^$' -bench ActOnMatching -benchtime 1x ./store/
// CROSSDOCK_BENCH_MATCHING sets how many "exists in only one system"
// failures each action meets [20,000], among CROSSDOCK_BENCH_SYNCS other
// sync records [200,000, 5 % failed].

func benchMatching() int {
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_MATCHING")); err == nil && v > 0 {
		return v
	}
	return 20_000
}

// BenchmarkActOnMatching measures the actions on everything matching a
// filter, as the confirmation page and its POST run them: the count, ignore
// all (one statement, one transaction) and exclude all (the records listed,
// their failures closed, in one transaction), each over m failures.
func BenchmarkActOnMatching(b *testing.B) {
	m := benchMatching()
	e := benchSetup(b)
	e.seedSyncs(b, benchSyncs())
	ctx := b.Context()
	// m failures of prices and m of stock, for m Odoo products the shop
	// does not have, as the engine writes them.
	_, err := e.st.DB.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, search_keys, status, error_class, message, payload, response,
  idempotency_key, attempts, max_attempts, finished_at)
SELECT now(), now(), fam, 'odoo_to_shopify', fam || '.flow', $2, $3, 'sweep', 'variant_prices', 'product:' || g, sku, ARRAY[lower(sku)],
  'failed', 'only_in_one', sku || ' does not exist in Shop, so there is nothing to map it to.', '{}',
  jsonb_build_object('only_in_one', jsonb_build_object('connection_id', $2::bigint, 'entity_type', 'variant', 'external_id', g::text,
    'sku', sku, 'name', 'Product ' || g)),
  fam || g, 1, 8, now()
FROM generate_series(1, $1::int) g, LATERAL (SELECT 'ODOO-' || lpad(g::text, 7, '0') AS sku) s,
  unnest(ARRAY['prices', 'inventory']) fam`, m, e.odoo.ID, e.shop.ID)
	require.NoError(b, err)
	_, err = e.st.DB.ExecContext(ctx, `VACUUM ANALYZE syncs`)
	require.NoError(b, err)

	a := store.SystemActor("bench")
	prices := store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne, Family: "prices"}
	stock := store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne, Family: "inventory"}
	for b.Loop() {
		start := time.Now()
		cp, err := e.st.CountMatching(ctx, prices, 0)
		require.NoError(b, err)
		count := time.Since(start)
		require.Equal(b, m, cp.Count)
		cs, err := e.st.CountMatching(ctx, stock, 0)
		require.NoError(b, err)

		start = time.Now()
		n, err := e.st.ResolveMatching(ctx, a, prices, cp.Newest, store.ResolutionIgnored, "Sold in Odoo only")
		require.NoError(b, err)
		ignore := time.Since(start)
		require.Equal(b, m, n)

		start = time.Now()
		r, err := e.st.ExcludeFailures(ctx, a, stock, nil, cs.Newest, "Sold in Odoo only")
		require.NoError(b, err)
		exclude := time.Since(start)
		require.Equal(b, m, r.Failures)
		require.Equal(b, m, r.Records)

		b.ReportMetric(float64(count.Microseconds())/1000, "count_ms")
		b.ReportMetric(float64(ignore.Microseconds())/1000, "ignore_all_ms")
		b.ReportMetric(float64(exclude.Microseconds())/1000, "exclude_all_ms")
		b.Logf("%d matching failures: counted in %s, ignored in %s, %d records excluded (their failures closed) in %s",
			m, count.Round(time.Millisecond), ignore.Round(time.Millisecond), r.Records, exclude.Round(time.Millisecond))
	}
}
