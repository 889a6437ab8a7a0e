package shopify

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crossdock/connectors/shopify/sandbox"
)

// WriteLoadResult is what a sustained write run against the sandbox measured.
type WriteLoadResult struct {
	Writes    int64
	Throttled int64
	Elapsed   time.Duration
	// BudgetUsed is points spent / (bucket size + restore rate × elapsed).
	BudgetUsed float64
}

// runWriteLoad sends inventorySetQuantities (10 points each) from `clients`
// clients with `workers` goroutines each, for d, against one sandbox shop.
func runWriteLoad(tb testing.TB, plan string, d time.Duration, clients, workers int) WriteLoadResult {
	shop := sandbox.New(sandbox.Options{Plan: plan, Seed: 50})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	vs := shop.Variants()
	loc := shop.Locations()[0]
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var writes, seq atomic.Int64
	var wg sync.WaitGroup
	cs := make([]*Client, clients)
	for i := range cs {
		c, err := NewClient(Config{BaseURL: srv.URL, AccessToken: shop.AccessToken()})
		if err != nil {
			tb.Fatal(err)
		}
		cs[i] = c
	}
	start := time.Now()
	for _, c := range cs {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					n := seq.Add(1)
					v := vs[int(n)%len(vs)]
					_, err := c.SetInventoryQuantities(ctx, SetQuantitiesInput{Name: "available", Reason: "correction",
						Quantities: []QuantityInput{{InventoryItemID: v.InventoryItemGID(), LocationID: loc.GID(), Quantity: int(n % 100)}}},
						"bench-"+strconv.FormatInt(n, 10))
					if err == nil {
						writes.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	el := time.Since(start)
	size, rate := shop.Limits()
	var throttled int64
	for _, c := range cs {
		throttled += c.Stats().Throttled
	}
	return WriteLoadResult{Writes: writes.Load(), Throttled: throttled, Elapsed: el,
		BudgetUsed: float64(writes.Load()*10) / (size + rate*el.Seconds())}
}

// BenchmarkThrottledWrites measures how much of the plan's point budget
// sustained writes use, and how many THROTTLED answers they cause. Default
// 10 s per case; CROSSDOCK_BENCH_SECONDS=60 for the sustained variant.
func BenchmarkThrottledWrites(b *testing.B) {
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	for _, tc := range []struct {
		plan             string
		clients, workers int
	}{
		{"standard", 1, 4},
		{"standard", 2, 4},
		{"plus", 1, 8},
	} {
		b.Run(fmt.Sprintf("%s/%dclients", tc.plan, tc.clients), func(b *testing.B) {
			var r WriteLoadResult
			for range b.N {
				r = runWriteLoad(b, tc.plan, time.Duration(secs)*time.Second, tc.clients, tc.workers)
			}
			b.ReportMetric(r.BudgetUsed*100, "%budget")
			b.ReportMetric(float64(r.Throttled), "throttled")
			b.ReportMetric(float64(r.Writes)/r.Elapsed.Seconds(), "writes/s")
		})
	}
}
