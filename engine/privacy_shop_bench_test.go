package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// BenchmarkPrivacyShopErasure measures a shop's erasure among n stored
// syncs, half of them the shop's (orders into Odoo) and half another
// store's, with a webhook delivery per shop sync: each chunk is one short
// transaction, so it reports the slowest chunk and the p95 beside the total
// (what another writer may wait for is one chunk, never the erasure).
//
//	CROSSDOCK_BENCH_SYNCS=1000000 go test -run '^$' -bench PrivacyShopErasure -benchtime 1x -timeout 60m ./engine/
func BenchmarkPrivacyShopErasure(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_SYNCS", 200_000)
	e := setup(b, options{})
	ctx := b.Context()
	db := e.st.DB
	other, err := e.st.CreateConnection(ctx, store.SystemActor("bench"), e.eng.SecretBox(), store.ConnectionInput{Name: "Other store", Kind: vocab.KindShopify,
		Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": "other.myshopify.com"}, Secrets: map[string]string{"access_token": "x", "api_secret": "s"}})
	require.NoError(b, err)
	start := time.Now()
	_, err = db.ExecContext(ctx, `INSERT INTO webhook_events (connection_id, webhook_id, topic, shop_domain, api_version, payload, status)
SELECT $1, 'bench-' || g, 'orders/create', 'shop', '2026-04', convert_to('{"id":' || g || '}', 'UTF8'), 'processed' FROM generate_series(1, $2::int / 2) g`, e.shopConn.ID, n)
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id, trigger, entity_type,
  entity_ref, entity_key, status, payload, idempotency_key, attempts, max_attempts, finished_at)
SELECT 'orders', 'shopify_to_odoo', 'orders.shopify_odoo', CASE WHEN g % 2 = 0 THEN $2::bigint ELSE $3::bigint END, $4, 'webhook', 'order',
  'gid://shopify/Order/' || g, '#' || g, 'succeeded', jsonb_build_object('name', '#' || g, 'total', '120.00'), 'k' || g, 1, 8, now()
FROM generate_series(1, $1::int) g`, n, e.shopConn.ID, other.ID, e.odooConn.ID)
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, `VACUUM ANALYZE syncs`)
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, `VACUUM ANALYZE webhook_events`)
	require.NoError(b, err)
	b.Logf("seeded %d syncs (half the shop's) and %d deliveries in %s", n, n/2, time.Since(start).Round(time.Second))
	_, err = db.ExecContext(ctx, `UPDATE connections SET enabled = false WHERE id = $1`, e.shopConn.ID)
	require.NoError(b, err)

	for b.Loop() {
		_, _, err := e.st.InsertPrivacyRequest(ctx, store.NewPrivacyRequest{ConnectionID: e.shopConn.ID, Kind: store.PrivacyShopRedact,
			ShopDomain: e.shop.Domain(), ReceivedAt: time.Now(), DueAt: time.Now().Add(engine30Days)})
		require.NoError(b, err)
		var chunks []time.Duration
		t0 := time.Now()
		for {
			c0 := time.Now()
			did, err := e.eng.EraseShopOnce(ctx)
			require.NoError(b, err)
			if !did {
				break
			}
			chunks = append(chunks, time.Since(c0))
		}
		total := time.Since(t0)
		var left, theirs int
		require.NoError(b, db.GetContext(ctx, &left, `SELECT count(*) FROM syncs WHERE source_connection_id = $1`, e.shopConn.ID))
		require.NoError(b, db.GetContext(ctx, &theirs, `SELECT count(*) FROM syncs WHERE source_connection_id = $1`, other.ID))
		require.Zero(b, left)
		require.Equal(b, n/2, theirs)
		slices.Sort(chunks)
		b.ReportMetric(total.Seconds(), "total_s")
		b.ReportMetric(float64(len(chunks)), "chunks")
		b.ReportMetric(float64(chunks[len(chunks)*95/100].Microseconds())/1000, "p95_chunk_ms")
		b.ReportMetric(float64(chunks[len(chunks)-1].Microseconds())/1000, "max_chunk_ms")
	}
}
