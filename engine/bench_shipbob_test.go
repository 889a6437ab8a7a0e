package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// limit would make 10,000 orders a 3-hour run), and every other clock of
// the run with it: the engine's concurrency (the default's 2 ShipBob
// workers for 2.5 requests a second), the warehouse's pace, and the
// scheduled tracking check — every CROSSDOCK_BENCH_SHIPBOB_CHECK_MINUTES
// [1] minutes at the real limit, so that many seconds here.
//
// As a day runs, the warehouse ships while orders still arrive: each order
// leaves the warehouse half a second after ShipBob took it, one parcel in
// ten without its tracking, which comes two seconds later ("shipped" can
// come before tracking). No webhooks: the scheduled check, the safety net,
// brings everything back alone. CROSSDOCK_BENCH_SHIPBOB_SEQUENTIAL=1 runs
// the worst case instead: every order out first, then everything shipped
// at once and brought back by checks run back to back — its return leg is
// then Crossdock's own speed (Shopify writes and the database), which the
// ×60 scale puts beside a 60 times shorter ShipBob minimum.
//
// It reports the wall time, from the first webhook to the last tracking in
// Shopify, against the theoretical minimum — the fewest requests ShipBob's
// API needs for the work, less the window's first 150, ÷ 150 a second, plus
// (overlapped) the warehouse's own 2.5 s between taking the last order and
// its tracking; wall/requests_min leaves that out —
// and counts duplicates (second orders for one reference) and lost
// tracking numbers (a shipped parcel whose number is not on a Shopify
// fulfillment). Both must be 0.
//
// The fewest requests: one POST /order per order (ShipBob creates orders
// one at a time); the pages of GET /order?HasTracking=true&
// IsTrackingUploaded=false that list them all back with their shipments
// (250 a page, the last one short or empty); and one POST
// /shipment:batchUpdateTrackingUpload per 250 shipments. A minimum counted
// from the requests made would rise with every wasted request and hide it.
//
//	CROSSDOCK_BENCH_SHIPBOB_ORDERS=10000 go test -run '^$' -bench ShipBobRoundTrip -benchtime 1x -timeout 20m ./engine/
func BenchmarkShipBobRoundTrip(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_SHIPBOB_ORDERS", 1000)
	checkEvery := time.Duration(envInt("CROSSDOCK_BENCH_SHIPBOB_CHECK_MINUTES", 1)) * time.Second
	sequential := os.Getenv("CROSSDOCK_BENCH_SHIPBOB_SEQUENTIAL") == "1"
	const (
		rate          = 150
		shipAfter     = 500 * time.Millisecond
		trackingAfter = 2 * time.Second
	)
	for range b.N {
		var warehouse *shipbobsandbox.Server
		var shipped sync.WaitGroup
		var untracked atomic.Int64
		opts := warehouseOptions{warehouseOnly: true, perMinute: strconv.Itoa(rate * 60),
			twin:      shipbobsandbox.Options{RateLimit: rate, RateWindow: time.Second},
			configure: func(c *engine.Config) { c.Workers, c.ShipBobWorkers, c.PerConnection = 32, 32, 32 }}
		if !sequential {
			opts.wrap = func(sb *shipbobsandbox.Server, next http.Handler) http.Handler {
				warehouse = sb
				return shipOnArrival(sb, next, shipAfter, trackingAfter, &shipped, &untracked)
			}
		}
		w := setupWarehouse(b, opts)
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
		var back time.Time
		var out time.Duration
		if sequential {
			for _, p := range payloads {
				w.deliver(b, "orders/create", p)
			}
			waitSyncs(b, w.st, "orders.shopify_shipbob", n)
			out = time.Since(start)
			// The warehouse ships every parcel, with tracking; checks run
			// back to back until none finds anything left.
			for _, o := range w.sb.Orders() {
				for _, sh := range o.Shipments {
					require.NoError(b, w.sb.Ship(sh.ID, true))
				}
			}
			back = time.Now()
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
		} else {
			require.NotNil(b, warehouse)
			// The scheduled tracking check, at the run's scale.
			stop := make(chan struct{})
			checks := make(chan error, 1)
			go func() {
				t := time.NewTicker(checkEvery)
				defer t.Stop()
				for {
					select {
					case <-stop:
						checks <- nil
						return
					case <-t.C:
						if _, err := w.eng.SweepShipBobTracking(ctx, store.TriggerSweep, true); err != nil {
							checks <- err
							return
						}
					}
				}
			}()
			for _, p := range payloads {
				w.deliver(b, "orders/create", p)
			}
			waitSyncsUntil(b, w.st, "orders.shopify_shipbob", n, waitDeadline(b))
			out = time.Since(start)
			back = time.Now()
			// Done when every order's tracking is in Shopify: one succeeded
			// shipments sync per ShipBob order.
			deadline := waitDeadline(b)
			for {
				var done int
				require.NoError(b, w.st.DB.GetContext(ctx, &done, `SELECT count(DISTINCT entity_ref) FROM syncs WHERE flow = $1 AND status = $2`,
					"shipments.shipbob_shopify", vocab.SyncSucceeded))
				if done >= n {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("timed out: %d of %d orders' tracking in Shopify", done, n)
				}
				select {
				case err := <-checks:
					b.Fatalf("tracking check: %v", err)
				case <-time.After(waitPoll):
				}
			}
			close(stop)
			require.NoError(b, <-checks)
			shipped.Wait()
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
		// any client could make these requests. Overlapped, the last order
		// cannot be back before the warehouse has shipped it and its
		// carrier has given the tracking: that wait is the warehouse's, and
		// is added.
		requestsMin := time.Duration(float64(need-rate) / rate * float64(time.Second))
		min := requestsMin
		if !sequential {
			min += shipAfter + trackingAfter
		}
		outMin := time.Duration(float64(n-rate) / rate * float64(time.Second))
		mode := "overlapped"
		if sequential {
			mode = "sequential"
		}
		b.ReportMetric(float64(n), "orders")
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(min.Seconds(), "min_s")
		b.ReportMetric(wall.Seconds()/min.Seconds(), "wall/min")
		b.ReportMetric(wall.Seconds()/requestsMin.Seconds(), "wall/requests_min")
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
		b.Logf("%s, checks every %s: %d orders out in %s (minimum %s), the last tracking in Shopify %s after; wall %s vs minimum %s (%.3f×; %.3f× the requests' %s alone; %d requests needed, %d made, at %d/s); %d parcels shipped before their tracking; %d answered 429; %d second orders, %d lost tracking numbers",
			mode, checkEvery, n, out.Round(time.Millisecond), outMin.Round(time.Millisecond), time.Since(back).Round(time.Millisecond), wall.Round(time.Millisecond), min.Round(time.Millisecond),
			wall.Seconds()/min.Seconds(), wall.Seconds()/requestsMin.Seconds(), requestsMin.Round(time.Millisecond), need, w.sb.Admitted(), rate, untracked.Load(), st.Throttled, len(w.sb.Orders())-n, lost)
		require.Equal(b, n, len(w.sb.Orders()), "one ShipBob order per Shopify order")
		require.Zero(b, lost)
	}
}

// shipOnArrival is a warehouse that ships each order it takes after
// shipAfter; one parcel in ten leaves without its tracking, which comes
// trackingAfter later.
func shipOnArrival(sb *shipbobsandbox.Server, next http.Handler, shipAfter, trackingAfter time.Duration, shipped *sync.WaitGroup, untracked *atomic.Int64) http.Handler {
	var k atomic.Int64
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/order") {
			next.ServeHTTP(rw, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(rw, r)
		var in struct {
			ReferenceID string `json:"reference_id"`
		}
		if json.Unmarshal(body, &in) != nil || in.ReferenceID == "" {
			return
		}
		shipped.Add(1)
		time.AfterFunc(shipAfter, func() {
			defer shipped.Done()
			o, ok := sb.OrderByReference(in.ReferenceID)
			if !ok {
				return // refused (a duplicate, a 429): the order's next try ships
			}
			for _, sh := range o.Shipments {
				if sh.Status == "Completed" {
					continue
				}
				tracked := k.Add(1)%10 != 0
				if sb.Ship(sh.ID, tracked) != nil || tracked {
					continue
				}
				untracked.Add(1)
				shipped.Add(1)
				time.AfterFunc(trackingAfter, func() {
					defer shipped.Done()
					_, _ = sb.AddTracking(sh.ID)
				})
			}
		})
	})
}

// waitPoll is how often the benchmarks' waits count syncs. Each count reads
// the syncs table, which grows with the run: every 10 ms, at 10,000 orders,
// the counting took more of the database than the engine did.
const waitPoll = 100 * time.Millisecond

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
		time.Sleep(waitPoll)
	}
	var bad int
	require.NoError(t, st.DB.GetContext(context.Background(), &bad, `SELECT count(*) FROM syncs WHERE flow = $1 AND status <> $2`, flow, vocab.SyncSucceeded))
	require.Zero(t, bad, "every %s sync succeeded", flow)
}
