package engine_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// BenchmarkPrivacyRedactOne measures the erasure of one customer among n
// stored syncs: each of 30 customers has 12 syncs (orders with their
// payload, request and answer, a refund, a customer) among n others, and
// each erasure — plan, chunks, webhook bodies, mappings — runs to the end
// through EraseOnce as the engine's loop runs it. It reports the p95 and the
// slowest erasure, and prints the plan of the search-key lookup (an index
// scan on syncs_search_keys_idx, never a scan of syncs).
//
//	CROSSDOCK_BENCH_SYNCS=10000000 go test -run '^$' -bench PrivacyRedactOne -benchtime 1x -timeout 60m ./engine/
func BenchmarkPrivacyRedactOne(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_SYNCS", 200_000)
	e := setup(b, options{})
	ctx := b.Context()
	db := e.st.DB
	start := time.Now()
	const chunk = 1_000_000
	for from := 1; from <= n; from += chunk {
		to := min(from+chunk-1, n)
		_, err := db.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, search_keys, status, payload, idempotency_key, attempts, max_attempts, finished_at)
SELECT ts, ts, 'orders', 'shopify_to_odoo', 'orders.shopify_odoo', $3, $4, 'webhook', 'order', 'gid://shopify/Order/' || g, '#' || g,
  ARRAY['#' || g, g::text, 'gid://shopify/order/' || g, 'buyer' || (g % 400000) || '@example.com', 'sku-' || (g % 50000)],
  'succeeded', jsonb_build_object('name', '#' || g, 'email', 'buyer' || (g % 400000) || '@example.com', 'total', '120.00'),
  'k' || g, 1, 8, ts
FROM (SELECT g, now() - ($2::int - g) * interval '100 milliseconds' AS ts FROM generate_series($1::int, $5::int) g) t`,
			from, n, e.shopConn.ID, e.odooConn.ID, to)
		require.NoError(b, err)
	}
	const customers = 30
	for c := range customers {
		email := fmt.Sprintf("person%d@privacy.test", c)
		_, err := db.ExecContext(ctx, `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id, trigger,
  entity_type, entity_ref, entity_key, search_keys, status, payload, request, response, idempotency_key, attempts, max_attempts, finished_at)
SELECT 'orders', 'shopify_to_odoo', 'orders.shopify_odoo', $1, $2, 'webhook', 'order', 'gid://shopify/Order/' || (900000000 + $3 * 100 + g),
  'Order #P' || $3 || '-' || g, ARRAY[lower($4), 'gid://shopify/order/' || (900000000 + $3 * 100 + g)], 'succeeded',
  jsonb_build_object('name', '#P' || g, 'email', $4, 'total', '99.50', 'customer', jsonb_build_object('first_name', 'Person', 'last_name', 'Number' || $3, 'email', $4),
    'shipping', jsonb_build_object('street', '1 Privacy Lane', 'city', 'Lyon', 'zip', '69001')),
  jsonb_build_object('partner', jsonb_build_object('name', 'Person Number' || $3, 'email', $4)), '{"id": 7}', 'p' || $3 || '-' || g, 1, 8, now()
FROM generate_series(1, 12) g`, e.shopConn.ID, e.odooConn.ID, c, email)
		require.NoError(b, err)
	}
	_, err := db.ExecContext(ctx, `VACUUM ANALYZE syncs`)
	require.NoError(b, err)
	b.Logf("seeded %d syncs and %d customers of 12 in %s", n, customers, time.Since(start).Round(time.Second))

	// The second lookup's shape, as the erasure's transaction plans it: a
	// dozen order ids, which the index's statistics expect in 583,786 of
	// 10,000,000 syncs. Left to the defaults the planner reads the whole
	// table, or starts parallel workers and compiles the plan.
	keys := make([]string, 12)
	for g := range keys {
		keys[g] = fmt.Sprintf("gid://shopify/order/%d", 900000001+g)
	}
	plan, err := e.st.ExplainAsLookup(ctx, `WITH matches AS MATERIALIZED (
  SELECT id, created_at FROM syncs WHERE search_keys && $2::text[] AND (source_connection_id = $1 OR target_connection_id = $1))
SELECT id FROM matches ORDER BY created_at DESC, id DESC LIMIT 20001`, e.shopConn.ID, pq.Array(keys))
	require.NoError(b, err)
	b.Log("\n" + strings.Join(plan, "\n"))
	require.Contains(b, strings.Join(plan, "\n"), "syncs_search_keys_idx", "the customer's syncs are found by index")
	for _, not := range []string{"Seq Scan on syncs", "Gather", "JIT"} {
		require.NotContains(b, strings.Join(plan, "\n"), not)
	}

	for b.Loop() {
		var ds []time.Duration
		for c := range customers {
			email := fmt.Sprintf("person%d@privacy.test", c)
			_, _, err := e.st.InsertPrivacyRequest(ctx, store.NewPrivacyRequest{ConnectionID: e.shopConn.ID, Kind: store.PrivacyCustomerRedact,
				ShopDomain: e.shop.Domain(), CustomerEmail: email, ReceivedAt: time.Now(), DueAt: time.Now().Add(engine30Days)})
			require.NoError(b, err)
			t0 := time.Now()
			for {
				did, err := e.eng.EraseOnce(ctx)
				require.NoError(b, err)
				if !did {
					break
				}
			}
			ds = append(ds, time.Since(t0))
			var left int
			require.NoError(b, db.GetContext(ctx, &left, `SELECT count(*) FROM syncs WHERE search_keys && ARRAY[$1]`, email))
			require.Zero(b, left, "the customer's e-mail is gone from their syncs")
		}
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)*95/100].Microseconds())/1000, "p95_ms")
		b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, "max_ms")
	}
}

const engine30Days = 30 * 24 * time.Hour
