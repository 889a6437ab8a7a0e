package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkPrunePersonal measures the pruning of personal data among n
// stored order syncs spread evenly over 180 days (half of them past the
// 90-day retention), seeded as BenchmarkPrivacyRedactOne seeds them, each
// with the customer's e-mail and names in its payload and search keys.
// Each iteration puts where pruning stands back by `window` of syncs before
// the cutoff and runs PrunePersonal as the hourly job does: "hour" is the
// steady state (the syncs that passed the cutoff in the last hour),
// "day" a catch-up of a day's worth. It reports the run's time, the syncs
// pruned and the rate (counting the people of the hour's new syncs
// included), and prints the plan of the chunk query: a range of
// syncs_created_idx, never a scan of syncs. The first run, which counts the
// people of every sync of the retention period, is logged apart.
//
//	CROSSDOCK_BENCH_SYNCS=2000000 go test -run '^$' -bench PrunePersonal -benchtime 3x -timeout 60m ./engine/
func BenchmarkPrunePersonal(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_SYNCS", 200_000)
	e := setup(b, options{})
	ctx := b.Context()
	db := e.st.DB
	start := time.Now()
	const span = 180 * 24 * time.Hour
	step := span / time.Duration(n)
	const chunk = 1_000_000
	for from := 1; from <= n; from += chunk {
		to := min(from+chunk-1, n)
		_, err := db.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, search_keys, status, payload, request, idempotency_key, attempts, max_attempts, finished_at)
SELECT ts, ts, 'orders', 'shopify_to_odoo', 'orders.shopify_odoo', $2, $3, 'webhook', 'order', 'gid://shopify/Order/' || g, '#' || g,
  ARRAY['#' || g, g::text, 'gid://shopify/order/' || g, 'buyer' || (g % 400000) || '@example.com', 'sku-' || (g % 50000)],
  'succeeded', jsonb_build_object('name', '#' || g, 'email', 'buyer' || (g % 400000) || '@example.com', 'total', '120.00',
    'customer', jsonb_build_object('first_name', 'Buyer', 'last_name', 'Number' || (g % 400000), 'email', 'buyer' || (g % 400000) || '@example.com'),
    'lines', jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (g % 50000), 'price', '120.00', 'quantity', 1))),
  jsonb_build_object('partner', jsonb_build_object('Name', 'Buyer Number' || (g % 400000), 'Email', 'buyer' || (g % 400000) || '@example.com')),
  'k' || g, 1, 8, ts
FROM (SELECT g, now() - make_interval(secs => $5::float8) + g * make_interval(secs => $6::float8) AS ts
  FROM generate_series($1::int, $4::int) g) t`,
			from, e.shopConn.ID, e.odooConn.ID, to, span.Seconds(), step.Seconds())
		require.NoError(b, err)
	}
	_, err := db.ExecContext(ctx, `VACUUM ANALYZE syncs`)
	require.NoError(b, err)
	b.Logf("seeded %d syncs over 180 days in %s", n, time.Since(start).Round(time.Second))

	cutoff := time.Now().Add(-90 * 24 * time.Hour)
	var plan []string
	require.NoError(b, db.SelectContext(ctx, &plan, `EXPLAIN SELECT id, created_at, flow, status, finished_at, resolved_at FROM syncs
WHERE (created_at, id) > ($1, 0) AND created_at < $2 ORDER BY created_at, id LIMIT 500`, cutoff.Add(-time.Hour), cutoff))
	b.Log("\n" + strings.Join(plan, "\n"))
	require.Contains(b, strings.Join(plan, "\n"), "syncs_created_idx", "each chunk is a range of the index")
	require.NotContains(b, strings.Join(plan, "\n"), "Seq Scan on syncs")

	// The first run counts the people of every sync of the retention
	// period (half of them); pruning starts at the cutoff, as the runs
	// below set it.
	_, err = db.ExecContext(ctx, `UPDATE privacy_retention SET sync_created_at = $1, sync_id = 0`, cutoff)
	require.NoError(b, err)
	t0 := time.Now()
	_, err = e.eng.PrunePersonal(ctx)
	require.NoError(b, err)
	var people int
	require.NoError(b, db.GetContext(ctx, &people, `SELECT count(*) FROM privacy_people`))
	b.Logf("first run: counted %d people over the syncs of the last 90 days in %s", people, time.Since(t0).Round(time.Millisecond))

	for _, w := range []struct {
		name   string
		window time.Duration
	}{{"hour", time.Hour}, {"day", 24 * time.Hour}} {
		b.Run(w.name, func(b *testing.B) {
			var pruned int64
			var took time.Duration
			for b.Loop() {
				b.StopTimer()
				// Where pruning stands: window before the cutoff.
				_, err := db.ExecContext(ctx, `UPDATE privacy_retention SET sync_created_at = $1, sync_id = 0`, time.Now().Add(-90*24*time.Hour-w.window))
				require.NoError(b, err)
				b.StartTimer()
				t0 := time.Now()
				got, err := e.eng.PrunePersonal(ctx)
				took += time.Since(t0)
				require.NoError(b, err)
				pruned += got
			}
			b.ReportMetric(float64(pruned)/float64(b.N), "syncs/run")
			b.ReportMetric(float64(pruned)/took.Seconds(), "syncs/s")
		})
	}
}
