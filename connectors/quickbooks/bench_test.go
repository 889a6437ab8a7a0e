package quickbooks_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	"crossdock/connectors/quickbooks/sandbox"
)

// BenchmarkOrdersIntoTwin sends QB_BENCH_ORDERS orders [10,000] into the
// twin as the orders flow does (look the document number up, then create
// with a requestid: 2 calls an order), from 10 workers sharing one client,
// and reports wall time ÷ the rate limit's theoretical minimum (calls ÷
// rate) and the duplicates (0 expected). Every 50th create's answer is sent
// again with the same requestid, as a retry after a lost answer would.
//
// The twin's limit is QuickBooks' 500 requests a minute times QB_BENCH_SCALE
// [20], and the client paces to the same: at the real rate, 10,000 orders
// take 40 minutes; the scale shortens the clock, not the ratio measured.
func BenchmarkOrdersIntoTwin(b *testing.B) {
	orders := envInt("QB_BENCH_ORDERS", 10000)
	scale := envInt("QB_BENCH_SCALE", 20)
	rate := quickbooks.RatePerMinute * scale
	for range b.N {
		tw := newTwinTB(b, sandbox.Options{RatePerMinute: rate, Concurrency: quickbooks.Concurrency,
			Items: []sandbox.SeedItem{{SKU: "SKU-1", Name: "Tent", Price: 120}}})
		id, secret := tw.srv.ClientCredentials()
		cl, err := quickbooks.NewClient(quickbooks.Config{BaseURL: tw.url, TokenURL: sandbox.TokenURL(tw.url), RealmID: tw.srv.RealmID(),
			ClientID: id, ClientSecret: secret, RefreshToken: tw.srv.IssueRefreshToken(), RatePerMinute: rate, ThrottleWait: 10 * time.Millisecond})
		require.NoError(b, err)
		ctx := context.Background()
		item, _ := tw.srv.ItemBySKU("SKU-1")
		var cust quickbooks.Customer
		require.NoError(b, cl.Create(ctx, quickbooks.EntityCustomer, "bench-customer", quickbooks.Customer{DisplayName: "Bench"}, &cust))
		callsBefore, _ := tw.srv.Calls()

		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, quickbooks.Concurrency)
		start := time.Now()
		b.ResetTimer()
		for range quickbooks.Concurrency {
			wg.Go(func() {
				for {
					n := next.Add(1)
					if n > int64(orders) {
						return
					}
					doc := strconv.FormatInt(100000+n, 10)
					if _, found, err := cl.TxnByDocNumber(ctx, quickbooks.EntitySalesReceipt, doc); err != nil || found {
						errs <- fmt.Errorf("order %s: found %v, %v", doc, found, err)
						return
					}
					txn := quickbooks.Txn{DocNumber: doc, CustomerRef: &quickbooks.Ref{Value: cust.ID}, Line: []quickbooks.Line{{Amount: 120,
						DetailType: "SalesItemLineDetail", SalesItemLineDetail: &quickbooks.SalesItemLineDetail{ItemRef: quickbooks.Ref{Value: item}, Qty: 1, UnitPrice: 120}}}}
					rid := quickbooks.RequestID("gid://shopify/Order/" + doc)
					tries := 1
					if n%50 == 0 {
						tries = 2 // the answer was "lost": the retry sends the same requestid
					}
					for range tries {
						if err := cl.Create(ctx, quickbooks.EntitySalesReceipt, rid, txn, nil); err != nil {
							errs <- fmt.Errorf("order %s: %w", doc, err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		wall := time.Since(start)
		b.StopTimer()
		close(errs)
		for err := range errs {
			require.NoError(b, err)
		}
		callsAfter, throttled := tw.srv.Calls()
		calls := callsAfter - callsBefore
		minimum := time.Duration(float64(calls) / float64(rate) * float64(time.Minute))
		receipts := tw.srv.Records(quickbooks.EntitySalesReceipt)
		seen := map[string]bool{}
		dups := 0
		for _, r := range receipts {
			d, _ := r["DocNumber"].(string)
			if seen[d] {
				dups++
			}
			seen[d] = true
		}
		require.Len(b, receipts, orders)
		b.ReportMetric(wall.Seconds()/minimum.Seconds(), "wall/min")
		b.ReportMetric(float64(dups), "duplicates")
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(throttled), "throttled")
		b.Logf("%d orders, %d calls at %d/min: wall %s, theoretical minimum %s (%.3f×), %d throttled, %d duplicates",
			orders, calls, rate, wall.Round(time.Millisecond), minimum.Round(time.Millisecond), wall.Seconds()/minimum.Seconds(), throttled, dups)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
