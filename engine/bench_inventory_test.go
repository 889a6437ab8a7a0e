package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/odoo"
	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// costMeter is the engine's HTTP transport in BenchmarkInventory100k: it reads
// extensions.cost of every Shopify answer, so the points the engine asked for
// (and was charged) are counted from what the sandbox reported, per kind of
// call, without touching the client or the sandbox.
type costMeter struct {
	host string // the Shopify sandbox's host:port

	mu sync.Mutex
	// by kind: "write" (inventorySetQuantities) or "read" (everything else).
	calls, throttled   map[string]int
	requested, charged map[string]float64
	firstThrottleAt    time.Time
}

func newCostMeter(host string) *costMeter {
	return &costMeter{host: host, calls: map[string]int{}, throttled: map[string]int{},
		requested: map[string]float64{}, charged: map[string]float64{}}
}

func (m *costMeter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != m.host || r.Body == nil {
		return http.DefaultTransport.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	kind := "read"
	if bytes.Contains(body, []byte("inventorySetQuantities")) {
		kind = "write"
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return resp, nil
	}
	var ans struct {
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
		Extensions struct {
			Cost *struct {
				Requested float64  `json:"requestedQueryCost"`
				Actual    *float64 `json:"actualQueryCost"`
			} `json:"cost"`
		} `json:"extensions"`
	}
	_ = json.Unmarshal(raw, &ans)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[kind]++
	throttled := resp.StatusCode == http.StatusTooManyRequests
	for _, e := range ans.Errors {
		throttled = throttled || e.Extensions.Code == "THROTTLED"
	}
	if throttled {
		m.throttled[kind]++
		if m.firstThrottleAt.IsZero() {
			m.firstThrottleAt = time.Now()
		}
	}
	if c := ans.Extensions.Cost; c != nil && !throttled {
		m.requested[kind] += c.Requested
		if c.Actual != nil {
			m.charged[kind] += *c.Actual
		}
	}
	return resp, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInventory100k is the end-to-end inventory benchmark: N stock
// changes made in Odoo at once, swept and sent to a Shopify Plus shop (the
// plan's real rate limit: 20,000-point bucket, 1,000 points/s), with the
// engine running its syncs. It reports the wall time against the minimum the
// API budget allows, throttled answers, and the CPU the process used, and
// checks that every changed level arrived, in ceil(N/250) writes.
//
// The minimum is (points charged − the 20,000 the bucket starts with) / 1,000
// points/s, floor 0. It is reported twice: for the inventorySetQuantities
// writes alone (10 points each: 400 writes cost 4,000 points, less than the
// bucket holds, so this minimum is 0) and for every Shopify call the sweep
// needs, including the reads that look up the variants' inventory items (the
// engine caches them per process; this run starts cold), which are what the
// budget really bounds.
//
//	go test -run '^$' -bench Inventory100k -benchtime 1x ./engine/   # 20,000
//	CROSSDOCK_BENCH_QUANTS=100000 go test -run '^$' -bench Inventory100k -benchtime 1x -timeout 60m ./engine/
//	CROSSDOCK_BENCH_PER_CONNECTION=16 CROSSDOCK_BENCH_WORKERS=32 go test ...  # engine concurrency
func BenchmarkInventory100k(b *testing.B) {
	// Default 20,000: at 100,000 the run takes over 15 minutes on 2 cores,
	// bound by the Odoo sandbox's search ("id in [1,000 ids]" is evaluated
	// per record against the list), not by the engine or Shopify's budget.
	n := envInt("CROSSDOCK_BENCH_QUANTS", 20000)
	workers := envInt("CROSSDOCK_BENCH_WORKERS", 32)
	perConn := envInt("CROSSDOCK_BENCH_PER_CONNECTION", 8)
	const (
		planBucket, planRate = 20000.0, 1000.0
		writeCost            = 10.0 // a mutation's root field, in the sandbox's cost model (as Shopify's)
		batch                = 250
	)
	ctx := context.Background()
	for b.Loop() {
		// Shopify products have 1–3 variants (2 on average), Odoo products 3
		// (one per colour): seed both with a margin and pair the SKUs.
		seed := n/2 + n/20 + 10
		shop := shopsandbox.New(shopsandbox.Options{Seed: seed, Plan: "plus"})
		size, rate := shop.Limits()
		require.Equal(b, planBucket, size)
		require.Equal(b, planRate, rate)
		clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		od := odoosandbox.New(odoosandbox.Options{Seed: seed, Now: clk.now})
		shopSrv, odooSrv := httptest.NewServer(shop), httptest.NewServer(od)
		b.Cleanup(shopSrv.Close)
		b.Cleanup(odooSrv.Close)

		st := storetest.New(b)
		st.DB.SetMaxOpenConns(60)
		st.DB.SetMaxIdleConns(60)
		require.NoError(b, st.MigrateQueue(ctx))
		box, err := secretbox.New(secretKey)
		require.NoError(b, err)
		a := store.SystemActor("bench")
		shopConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
			Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": shop.Domain(), "api_base_url": shopSrv.URL},
			Secrets: map[string]string{"access_token": shop.AccessToken(), "api_secret": "whsec"}})
		require.NoError(b, err)
		db, _, _, key := od.Credentials()
		odooConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo,
			Environment: vocab.EnvTest, Settings: map[string]string{"url": odooSrv.URL, "database": db, "protocol": "json2"},
			Secrets: map[string]string{"api_key": key}})
		require.NoError(b, err)
		_, err = st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Orders, Master: shopConn.ID,
			Receivers: []int64{odooConn.ID}, Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
		require.NoError(b, err)
		_, err = st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Inventory, Master: odooConn.ID,
			Receivers: []int64{shopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
		require.NoError(b, err)

		// Pair the first n Shopify variants with the Odoo product of the same SKU.
		productBySKU := map[string]int{}
		for _, p := range od.Products() {
			productBySKU[p.DefaultCode] = p.ID
		}
		var mapped []store.ItemInput
		type pair struct {
			productID int
			item      string
		}
		var pairs []pair
		for _, v := range shop.Variants() {
			if len(pairs) == n {
				break
			}
			if pid, ok := productBySKU[v.SKU]; ok {
				mapped = append(mapped, variantItems(shopConn.ID, odooConn.ID, v, pid)...)
				pairs = append(pairs, pair{pid, v.InventoryItemGID()})
			}
		}
		require.Len(b, pairs, n, "not enough SKUs in both sandboxes")
		loc := shop.Locations()[0].GID()
		// Approved through a change set and resolved through the store, as
		// the server does.
		approveMappings(b, st, append(mapped, locationItems(shopConn.ID, odooConn.ID, loc)...))

		// The last sweep ran now: only what changes after it is read.
		last := clk.now()
		require.NoError(b, st.SaveSyncCursor(ctx, store.SyncCursor{ConnectionID: odooConn.ID, Name: "odoo_quants", PositionAt: &last}))

		meter := newCostMeter(strings.TrimPrefix(shopSrv.URL, "http://"))
		eng, err := engine.New(engine.Config{Store: st, SecretKey: secretKey,
			HTTPClient: &http.Client{Timeout: 60 * time.Second, Transport: meter},
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			Workers:    workers, PerConnection: perConn,
			RetryBase: 100 * time.Millisecond, IntakeInterval: 10 * time.Millisecond,
			FetchCooldown: 2 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, RulesTTL: time.Second,
			ManualSweepsOnly: true})
		require.NoError(b, err)
		require.NoError(b, eng.Start(ctx))
		b.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = eng.Stop(sctx)
		})

		// n stock changes in Odoo at once, all at WH/Stock (mapped). Quantities
		// stay above what the seed reserves (≤ 2), so none is negative.
		clk.add(time.Minute)
		sets := make([]odoosandbox.QuantSet, n)
		for i, p := range pairs {
			sets[i] = odoosandbox.QuantSet{ProductID: p.productID, LocationID: odoosandbox.LocationStock, Quantity: float64(3 + (i*13)%97)}
		}
		od.SetQuantsDirect(sets)

		cpu0, t0 := cpuTime(), time.Now()
		queued, err := eng.SweepInventory(ctx, store.TriggerManual, true)
		require.NoError(b, err)
		sweepTime := time.Since(t0)
		var open, total int
		deadline := time.Now().Add(25 * time.Minute)
		for {
			require.NoError(b, st.DB.GetContext(ctx, &total, `SELECT count(*) FROM syncs WHERE family = 'inventory'`))
			require.NoError(b, st.DB.GetContext(ctx, &open, `SELECT count(*) FROM syncs WHERE family = 'inventory' AND finished_at IS NULL`))
			if open == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d inventory syncs still open", open, total)
			}
			time.Sleep(20 * time.Millisecond)
		}
		wall := time.Since(t0)
		cpu := cpuTime() - cpu0

		// Correctness: every sync succeeded, every level is Odoo's, one write per 250.
		var notOK []struct {
			Status  string `db:"status"`
			Message string `db:"message"`
			N       int    `db:"n"`
		}
		require.NoError(b, st.DB.SelectContext(ctx, &notOK, `SELECT status, left(message, 200) AS message, count(*) AS n
FROM syncs WHERE family = 'inventory' AND status <> 'succeeded' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10`))
		for _, r := range notOK {
			b.Logf("%d × %s: %s", r.N, r.Status, r.Message)
		}
		require.Empty(b, notOK, "inventory syncs that did not succeed")

		cl, err := odoo.NewClient(odoo.Config{URL: odooSrv.URL, Database: db, Secret: key, Protocol: odoo.ProtocolJSON2})
		require.NoError(b, err)
		want := make(map[int]int, n)
		for start := 0; start < n; start += 1000 {
			ids := make([]int, 0, 1000)
			for _, p := range pairs[start:min(start+1000, n)] {
				ids = append(ids, p.productID)
			}
			qs, err := cl.Quants(ctx, []int{odoosandbox.LocationStock}, ids)
			require.NoError(b, err)
			for _, q := range qs {
				want[q.Product.ID] += int(q.Available())
			}
		}
		mismatched := 0
		for _, p := range pairs {
			got, _, ok := shop.InventoryLevel(p.item, loc)
			if !ok || got != want[p.productID] {
				if mismatched < 5 {
					b.Logf("product %d (%s): Shopify has %d (level exists: %v), Odoo %d", p.productID, p.item, got, ok, want[p.productID])
				}
				mismatched++
			}
		}
		writes, keys, items := 0, map[string]bool{}, 0
		for _, w := range shop.Writes() {
			if w.Op != "inventorySetQuantities" {
				continue
			}
			writes++
			keys[w.IdempotencyKey] = true
			var in struct {
				Quantities []any `json:"quantities"`
			}
			if json.Unmarshal(w.Input, &in) == nil {
				items += len(in.Quantities)
			}
		}
		wantWrites := (n + batch - 1) / batch
		require.Zero(b, mismatched, "levels in Shopify that differ from Odoo")
		require.Equal(b, wantWrites, writes, "inventorySetQuantities calls")
		require.Len(b, keys, writes, "idempotency keys used twice")
		require.Equal(b, wantWrites, queued, "syncs queued by the sweep")

		meter.mu.Lock()
		writePts, readPts := meter.charged["write"], meter.charged["read"]
		writeReq, readReq := meter.requested["write"], meter.requested["read"]
		calls, throttledW, throttledR := meter.calls["write"]+meter.calls["read"], meter.throttled["write"], meter.throttled["read"]
		readCalls, firstThrottle := meter.calls["read"], meter.firstThrottleAt
		meter.mu.Unlock()
		if items > 0 {
			require.Equal(b, n, items, "quantities sent")
		}
		require.InDelta(b, float64(writes)*writeCost, writeReq, 0.5, "points requested by the writes")
		minimum := func(points float64) float64 { return math.Max(0, (points-planBucket)/planRate) }
		minWrites, minAll := minimum(writeReq), minimum(writeReq+readReq)
		ratio := func(m float64) float64 {
			if m == 0 {
				return math.Inf(1)
			}
			return wall.Seconds() / m
		}
		cores := runtime.NumCPU()
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(minWrites, "min_writes_s")
		b.ReportMetric(minAll, "min_all_s")
		if minAll > 0 { // no ratio to a zero minimum
			b.ReportMetric(ratio(minAll), "wall/min_all")
		}
		b.ReportMetric(float64(throttledW+throttledR), "throttled")
		b.ReportMetric(cpu.Seconds(), "cpu_s")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu_%")
		b.ReportMetric(float64(writes), "writes")
		b.ReportMetric(float64(n)/wall.Seconds(), "levels/s")
		since := "never"
		if !firstThrottle.IsZero() {
			since = firstThrottle.Sub(t0).Round(time.Millisecond).String()
		}
		b.Logf("%d levels in %d writes (%.0f points requested, %.0f charged) + %d reads (%.0f points requested, %.0f charged) of %d calls; Plus bucket %.0f, %.0f/s",
			n, writes, writeReq, writePts, readCalls, readReq, readPts, calls, planBucket, planRate)
		b.Logf("wall %s (sweep returned after %s); minimum for the writes alone %.1f s (ratio %.2f), for all points %.1f s (ratio %.2f); throttled %d writes + %d reads (first after %s); CPU %.1f s = %.0f %% of one core (%d cores)",
			wall.Round(time.Millisecond), sweepTime.Round(time.Millisecond), minWrites, ratio(minWrites), minAll, ratio(minAll),
			throttledW, throttledR, since, cpu.Seconds(), 100*cpu.Seconds()/wall.Seconds(), cores)
		b.Logf("engine: %d workers, %d per connection", workers, perConn)
	}
}
