package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// BenchmarkQuickBooksOrders sends CROSSDOCK_BENCH_QB_ORDERS Shopify orders
// [1,000] through the engine into the QuickBooks twin as sales receipts, at
// QuickBooks' limit: 500 requests per window and 10 at once per company.
// The window is a minute divided by CROSSDOCK_BENCH_QB_SCALE [20] (at the
// real minute 10,000 orders are an hour's run); the client is told the same
// rate. The orders come from n/4 customers (repeat buyers), and the answer
// of every 100th sales receipt created is lost on its way back, as a network
// would lose it: the sync tries again.
//
// It reports the wall time, from the engine's start (every order's webhook
// received before) to the last sync ended, against the theoretical minimum
// — the requests the work needs, less the window's first 500, ÷ 500 a
// window — and counts duplicates: sales receipts beyond one per order, and
// the creates the twin answered from its requestid store (nothing written
// again). Duplicates must be 0.
//
// The requests the work needs: one create per order; a lookup by e-mail
// and a create per customer (each is new to QuickBooks); one more send per
// answer lost. The requests made can only be more: a minimum counted from
// them would rise with every wasted request and hide it.
//
//	CROSSDOCK_BENCH_QB_ORDERS=10000 go test -run '^$' -bench QuickBooksOrders -benchtime 1x -timeout 30m ./engine/
func BenchmarkQuickBooksOrders(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_QB_ORDERS", 1000)
	scale := envInt("CROSSDOCK_BENCH_QB_SCALE", 20)
	window := time.Minute / time.Duration(scale)
	const limit = quickbooks.RatePerMinute
	for range b.N {
		var creates atomic.Int64
		lost := &lostQB{match: func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/salesreceipt") && creates.Add(1)%100 == 0
		}}
		lost.n.Store(int32(n))
		calls := &timedQB{next: lost}
		// Twice QuickBooks' 10 at once: a sync spends part of its time in the
		// database, and the client still sends at most 10 requests at once.
		x := enginetest.Setup(b, enginetest.Options{Transport: calls, Configure: func(c *engine.Config) {
			c.QuickBooksWorkers, c.PerConnection = 2*quickbooks.Concurrency, 2*quickbooks.Concurrency
		}})
		qb := x.AddQuickBooks(b, qbsandbox.Options{RateWindow: window},
			map[string]string{quickbooks.FieldRate: strconv.Itoa(limit * scale), quickbooks.FieldOrdersAs: quickbooks.OrdersSalesReceipt})
		// QuickBooks alone receives the orders: Odoo's leg is measured elsewhere.
		x.SourceRule(b, store.SourceRuleInput{Family: vocab.Orders, Master: x.ShopConn.ID, Receivers: []int64{qb.Conn.ID},
			Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})

		var buyers []string
		for i := range max(n/4, 1) {
			c := x.Shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Buyer", LastName: strconv.Itoa(i), Email: fmt.Sprintf("buyer%d@example.com", i)})
			buyers = append(buyers, c.GID())
		}
		v := x.Shop.Variants()[0]
		payloads := make([][]byte, 0, n)
		for i := range n {
			o, err := x.Shop.AddOrder(shopsandbox.NewOrder{CustomerID: buyers[i%len(buyers)], Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 1}}})
			require.NoError(b, err)
			p, err := x.Shop.OrderCreatePayload(o.GID())
			require.NoError(b, err)
			payloads = append(payloads, p)
		}
		// The webhooks are in before the engine starts, as after a flash
		// sale's burst: the bench's own one-by-one deliveries would otherwise
		// set the pace on a busy machine. The clock starts with the engine.
		for _, p := range payloads {
			x.Deliver(b, "orders/create", p)
		}
		callsBefore, _ := qb.Twin.Calls()
		start := time.Now()
		enginetest.StartEngine(b, x.Eng)
		// At least 3 requests an order at 500 a window: give it 3 times that.
		waitSyncsUntil(b, x.St, "orders.shopify_quickbooks", n, start.Add(max(5*time.Minute, time.Duration(9*n/limit+3)*window)))
		wall := time.Since(start)

		callsAfter, throttled := qb.Twin.Calls()
		admitted := callsAfter - callsBefore - throttled
		need := n + 2*len(buyers) + int(creates.Load()/100)
		// A window lets its first 500 through at once: the fastest any
		// client could make these requests.
		minimum := time.Duration(float64(max(need-limit, 1)) / limit * float64(window))
		receipts := qb.Twin.Records(quickbooks.EntitySalesReceipt)
		byDoc := map[string]int{}
		for _, r := range receipts {
			byDoc[fmt.Sprint(r["DocNumber"])]++
		}
		second := len(receipts) - len(byDoc)
		ratio := wall.Seconds() / minimum.Seconds()
		b.ReportMetric(float64(n), "orders")
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(minimum.Seconds(), "min_s")
		b.ReportMetric(ratio, "wall/min")
		b.ReportMetric(float64(admitted)/float64(n), "requests/order")
		b.ReportMetric(float64(need), "needed_requests")
		b.ReportMetric(float64(throttled), "answered_429")
		b.ReportMetric(float64(second), "duplicates")
		b.ReportMetric(float64(qb.Twin.Replayed()), "requestid_replays")
		b.Logf("%d orders in %s vs minimum %s (%.3f×): %d requests needed, %d made (%.2f an order) at %d per %s, %d answered 429, %d answers lost, %d customers; %d sales receipts, %d duplicates, %d requestid replays",
			n, wall.Round(time.Millisecond), minimum.Round(time.Millisecond), ratio, need, admitted, float64(admitted)/float64(n), limit, window,
			throttled, creates.Load()/100, len(qb.Twin.Records(quickbooks.EntityCustomer)), len(receipts), second, qb.Twin.Replayed())
		var planned []time.Time
		require.NoError(b, x.St.DB.SelectContext(context.Background(), &planned, `SELECT created_at FROM syncs WHERE flow = $1 ORDER BY created_at`, "orders.shopify_quickbooks"))
		b.Logf("syncs planned from %s to %s after the start; %s", planned[0].Sub(start).Round(time.Millisecond),
			planned[len(planned)-1].Sub(start).Round(time.Millisecond), calls.summary(start, wall))
		require.Len(b, receipts, n, "one sales receipt per order")
		require.Len(b, byDoc, n)
	}
}

// timedQB records when each call to QuickBooks' API was sent and how long
// its answer took.
type timedQB struct {
	next http.RoundTripper
	mu   sync.Mutex
	sent []time.Time
	took []time.Duration
}

func (t *timedQB) RoundTrip(r *http.Request) (*http.Response, error) {
	at := time.Now()
	res, err := t.next.RoundTrip(r)
	if strings.Contains(r.URL.Path, "/v3/company/") {
		t.mu.Lock()
		t.sent, t.took = append(t.sent, at), append(t.took, time.Since(at))
		t.mu.Unlock()
	}
	return res, err
}

// summary gives the calls sent in each 10 s from start, and the answers'
// times.
func (t *timedQB) summary(start time.Time, wall time.Duration) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	per := make([]int, int(wall/(10*time.Second))+1)
	for _, at := range t.sent {
		if i := int(at.Sub(start) / (10 * time.Second)); i >= 0 && i < len(per) {
			per[i]++
		}
	}
	took := slices.Clone(t.took)
	slices.Sort(took)
	q := func(f float64) time.Duration { return took[int(f*float64(len(took)-1))].Round(10 * time.Microsecond) }
	rates := make([]float64, len(per))
	for i, c := range per {
		rates[i] = float64(c) / 10
	}
	return fmt.Sprintf("calls a second per 10 s: %v; answers p50 %s p90 %s p99 %s", rates, q(0.5), q(0.9), q(0.99))
}
