package engine_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shipbob"
	shipbobsandbox "crossdock/connectors/shipbob/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// BenchmarkShipBobRoundTrip sends CROSSDOCK_BENCH_SHIPBOB_ORDERS orders
// (default 1,000) to the ShipBob twin and brings their shipments back as
// Shopify fulfillments with tracking, at the twin's rate limit. The twin's
// window is scaled: 150 requests a second instead of a minute (the real
// limit would make 10,000 orders a 3-hour run), and the engine's
// concurrency with it (the default's 2 ShipBob workers for 2.5 requests a
// second). It reports the wall time, from the first webhook to the last
// fulfillment, against the theoretical minimum — the fewest requests
// ShipBob's API needs for the work, less the window's first 150, ÷ 150 a
// second — and counts duplicates (second orders for one reference) and
// lost tracking numbers (a shipped parcel whose number is not on a Shopify
// fulfillment). Both must be 0.
//
// The fewest requests: one POST /order per order (ShipBob creates orders
// one at a time); the pages of GET /order?HasTracking=true&
// IsTrackingUploaded=false that list them all back with their shipments
// (250 a page, the last one short or empty); and one POST
// /shipment:batchUpdateTrackingUpload per 250 shipments. The minimum used to
// be the requests the engine made: a wasted request then raised the
// minimum with the wall, and the ratio hid it.
func BenchmarkShipBobRoundTrip(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_SHIPBOB_ORDERS")); err == nil && v > 0 {
		n = v
	}
	const rate = 150
	for range b.N {
		w := setupWarehouse(b, warehouseOptions{warehouseOnly: true, perMinute: strconv.Itoa(rate * 60),
			twin:      shipbobsandbox.Options{RateLimit: rate, RateWindow: time.Second},
			configure: func(c *engine.Config) { c.Workers, c.ShipBobWorkers, c.PerConnection = 32, 32, 32 }})
		ctx := context.Background()
		// The orders are placed first; the clock starts at the first webhook
		// (the started engine takes them in as they arrive).
		refs := make([]string, 0, n)
		payloads := make([][]byte, 0, n)
		for range n {
			o, payload := w.placeShipped(b)
			refs = append(refs, o.GID())
			payloads = append(payloads, payload)
		}
		start := time.Now()
		for _, p := range payloads {
			w.deliver(b, "orders/create", p)
		}
		waitSyncs(b, w.st, "orders.shopify_shipbob", n)
		out := time.Since(start)

		// The warehouse ships every parcel, with tracking; the scheduled
		// check brings them back (no webhooks: the safety net alone).
		for _, o := range w.sb.Orders() {
			for _, sh := range o.Shipments {
				require.NoError(b, w.sb.Ship(sh.ID, true))
			}
		}
		back := time.Now()
		queued := 0
		for {
			q, err := w.eng.SweepShipBobTracking(ctx, store.TriggerManual, true)
			require.NoError(b, err)
			queued += q
			waitSyncs(b, w.st, "shipments.shipbob_shopify", queued)
			if q == 0 {
				break
			}
		}
		wall := time.Since(start)

		st := w.sb.Stats()
		lost := 0
		shop := map[string]map[string]bool{}
		for _, o := range w.shop.Orders() {
			m := map[string]bool{}
			for _, f := range o.Fulfillments {
				m[f.Number] = true
			}
			shop[o.GID()] = m
		}
		for _, ref := range refs {
			o, ok := w.sb.OrderByReference(ref)
			require.True(b, ok, ref)
			for _, sh := range o.Shipments {
				if !shop[ref][sh.TrackingNumber()] {
					lost++
				}
			}
		}
		shipments := 0
		for _, o := range w.sb.Orders() {
			shipments += len(o.Shipments)
		}
		need := n + n/shipbob.OrderPageSize + 1 + (shipments+shipbob.TrackingUploadBatch-1)/shipbob.TrackingUploadBatch
		// A sliding window lets its first 150 through at once: the fastest
		// any client could make these requests.
		min := time.Duration(float64(need-rate) / rate * float64(time.Second))
		outMin := time.Duration(float64(n-rate) / rate * float64(time.Second))
		b.ReportMetric(float64(n), "orders")
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(min.Seconds(), "min_s")
		b.ReportMetric(wall.Seconds()/min.Seconds(), "wall/min")
		b.ReportMetric(float64(w.sb.Admitted()), "shipbob_requests")
		b.ReportMetric(float64(need), "needed_requests")
		b.ReportMetric(out.Seconds()/outMin.Seconds(), "out/min")
		b.ReportMetric(time.Since(back).Seconds(), "back_s")
		b.ReportMetric(float64(st.Throttled), "answered_429")
		b.ReportMetric(float64(st.Created), "created")
		b.ReportMetric(float64(st.Duplicates), "duplicate_posts")
		b.ReportMetric(float64(len(w.sb.Orders())-n), "second_orders")
		b.ReportMetric(float64(lost), "lost_tracking")
		b.Logf("ShipBob requests by kind: %v", st.Requests)
		b.Logf("%d orders out in %s (minimum %s), shipments back in %s; wall %s vs minimum %s (%d requests needed, %d made, at %d/s); %d answered 429; %d second orders, %d lost tracking numbers",
			n, out.Round(time.Millisecond), outMin.Round(time.Millisecond), time.Since(back).Round(time.Millisecond), wall.Round(time.Millisecond), min.Round(time.Millisecond),
			need, w.sb.Admitted(), rate, st.Throttled, len(w.sb.Orders())-n, lost)
		require.Equal(b, n, len(w.sb.Orders()), "one ShipBob order per Shopify order")
		require.Zero(b, lost)
	}
}

// waitSyncs waits until want syncs of a flow have ended, all succeeded.
func waitSyncs(t testing.TB, st *store.Store, flow string, want int) {
	t.Helper()
	waitSyncsUntil(t, st, flow, want, waitDeadline(t))
}

// waitSyncsUntil is waitSyncs with its own deadline (a benchmark's run may
// be longer than a test's wait).
func waitSyncsUntil(t testing.TB, st *store.Store, flow string, want int, deadline time.Time) {
	t.Helper()
	var done int
	for {
		require.NoError(t, st.DB.GetContext(context.Background(), &done, `SELECT count(*) FROM syncs WHERE flow = $1 AND finished_at IS NOT NULL`, flow))
		if done >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s syncs to end: %d of %d", flow, done, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var bad int
	require.NoError(t, st.DB.GetContext(context.Background(), &bad, `SELECT count(*) FROM syncs WHERE flow = $1 AND status <> $2`, flow, vocab.SyncSucceeded))
	require.Zero(t, bad, "every %s sync succeeded", flow)
}
