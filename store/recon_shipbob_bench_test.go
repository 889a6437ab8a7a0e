package store_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// Run with: go test -run '^$' -bench CompareWarehouse -benchtime 5x ./store/
// CROSSDOCK_BENCH_WAREHOUSE_ORDERS sets how many orders were sent to the
// warehouse over the last two years [200,000], each shipped but one in a
// hundred. A comparison reads the last 90 days of them through
// syncs_warehouse_sent_idx and probes each one's syncs (see
// TestCompareWarehouseUsesIndexes for the plan): its time follows the
// orders of the look-back window, not the whole history.
func BenchmarkCompareWarehouse(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_WAREHOUSE_ORDERS")); err == nil && v > 0 {
		n = v
	}
	e := benchSetup(b)
	ctx := b.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(b, err)
	sb, err := e.st.CreateConnection(ctx, store.SystemActor("bench"), box, store.ConnectionInput{Name: "Warehouse", Kind: vocab.KindShipBob,
		Environment: vocab.EnvTest, Settings: map[string]string{"environment": "sandbox", "shopify_location_id": "1"},
		Secrets: map[string]string{"access_token": "pat-test"}})
	require.NoError(b, err)
	start := time.Now()
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, status, payload, idempotency_key, target_ref, attempts, max_attempts)
SELECT t, t, 'orders', 'shopify_to_shipbob', 'orders.shopify_shipbob', $1, $2, 'webhook', 'order', 'gid://shopify/Order/' || g, '#' || g,
  'succeeded', '{}', 'o' || g, (1000000 + g)::text, 1, 8
FROM generate_series(1, $3::int) g, LATERAL (SELECT now() - (g * (730.0 / $3)) * interval '1 day' AS t) x`, e.shop.ID, sb.ID, n)
	require.NoError(b, err)
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, status, idempotency_key, attempts, max_attempts)
SELECT 'fulfillments', 'shipbob_to_shopify', 'shipments.shipbob_shopify', $1, $2, 'webhook', 'shipbob_order', (1000000 + g)::text, 'succeeded', 's' || g, 1, 8
FROM generate_series(1, $3::int) g WHERE g % 100 <> 0`, sb.ID, e.shop.ID, n)
	require.NoError(b, err)
	_, err = e.st.DB.ExecContext(ctx, `VACUUM ANALYZE syncs`)
	require.NoError(b, err)
	b.Logf("seeded %d orders sent and %d shipments in %s", n, n-n/100, time.Since(start).Round(time.Millisecond))
	var r store.CompareResult
	for b.Loop() {
		var run store.ReconRun
		require.NoError(b, e.st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			run, err = tx.CreateReconRun(ctx, store.ReconWarehouse, "manual", "bench")
			return err
		}))
		run, err = e.st.StartReconRun(ctx, run.ID)
		require.NoError(b, err)
		r, err = e.st.CompareWarehouse(ctx, run.ID, sb.ID, sb.Name, 3*24*time.Hour, time.Now())
		require.NoError(b, err)
		_, err = e.st.FinishReconRun(ctx, run, store.RunOutcome{Status: store.RunSucceeded, Result: r, ClosePairs: []int64{sb.ID}})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(r.Compared), "orders_compared")
	b.ReportMetric(float64(r.Differing), "not_shipped")
}
