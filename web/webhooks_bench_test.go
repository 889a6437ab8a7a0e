package web_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/web/webtest"
)

var (
	webhookBenchRequests    = flag.Int("webhook.requests", 20000, "BenchmarkWebhookIngest: deliveries per run")
	webhookBenchConcurrency = flag.Int("webhook.concurrency", 32, "BenchmarkWebhookIngest: concurrent clients")
)

// BenchmarkWebhookIngest measures what Shopify's side of a flash sale sees:
// the real console (webtest.Start) receiving the verbatim orders/create
// fixture, correctly signed, each delivery with its own webhook id, from 32
// concurrent clients. It reports accepted webhooks/s and latency, then
// inserts the same payload into the same table with the INSERT the endpoint
// runs, called directly through
// the store's own statement (same pool, same concurrency) and reports the
// share of that raw rate the endpoint reaches. Goals: ≥ 50 % of the raw rate, p99 < 50 ms.
//
//	go test -run '^$' -bench Webhook -benchtime 1x ./web/
//	go test -run '^$' -bench Webhook -benchtime 1x ./web/ -args -webhook.requests=50000 -webhook.concurrency=64
//
// The test database runs without fsync (see storetest); set
// TEST_DATABASE_URL to measure against a durable server.
//
// Against a running console, with its real pool and durable PostgreSQL:
// start `crossdock serve`, add a Shopify connection whose API secret key is
// crossdock-test-secret (the fixture's headers carry that HMAC), note its id
// (7 here), and drive it with wrk, giving every delivery its own webhook id:
//
//	cat > /tmp/shopify.lua <<'EOF'
//	wrk.method = "POST"
//	wrk.body = io.open("connectors/shopify/testdata/orders-create.2026-04.json", "rb"):read("*a")
//	wrk.headers["Content-Type"] = "application/json"
//	wrk.headers["X-Shopify-Hmac-Sha256"] = "L60X3vPv93hTQByfUGgmkiZWLdbK+EAU3WJE88YEAio="
//	wrk.headers["X-Shopify-Topic"] = "orders/create"
//	wrk.headers["X-Shopify-Shop-Domain"] = "crossdock-test.myshopify.com"
//	wrk.headers["X-Shopify-API-Version"] = "2026-04"
//	local threads = 0
//	function setup(thread) threads = threads + 1; thread:set("tid", threads) end
//	function init(args) n = 0; run = os.time() end
//	function request()
//	  n = n + 1
//	  wrk.headers["X-Shopify-Webhook-Id"] = string.format("wrk-%d-%d-%d", run, tid, n)
//	  return wrk.format()
//	end
//	EOF
//	wrk -t2 -c32 -d10s --latency -s /tmp/shopify.lua http://127.0.0.1:8080/webhooks/shopify/7
//
// hey cannot vary a header per request: every delivery after the first is a
// duplicate, so it measures the dedupe path (still one INSERT ... DO NOTHING):
//
//	hey -n 20000 -c 32 -m POST -T application/json -D connectors/shopify/testdata/orders-create.2026-04.json \
//	  -H 'X-Shopify-Hmac-Sha256: L60X3vPv93hTQByfUGgmkiZWLdbK+EAU3WJE88YEAio=' -H 'X-Shopify-Topic: orders/create' \
//	  -H 'X-Shopify-Shop-Domain: crossdock-test.myshopify.com' -H 'X-Shopify-API-Version: 2026-04' \
//	  -H 'X-Shopify-Webhook-Id: hey-1' http://127.0.0.1:8080/webhooks/shopify/7
func BenchmarkWebhookIngest(b *testing.B) {
	env := webtest.Start(b)
	fx := loadOrdersCreate(b)
	n, workers := *webhookBenchRequests, *webhookBenchConcurrency
	ctx := context.Background()

	// The raw baseline first, so the endpoint meets the larger table.
	rawConn := shopifyConnection(b, env, testSecret)
	raw := runLoad(n, workers, func(i int) error {
		_, err := rawIntake(ctx, env, rawConn.ID, fmt.Sprint("raw-", i), fx)
		return err
	})
	require.Zero(b, raw.failed, "raw inserts failed: %v", raw.firstErr)

	c := shopifyConnection(b, env, testSecret)
	url := fmt.Sprintf("%s/webhooks/shopify/%d", env.URL, c.ID)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	post := func(webhookID string) error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(fx.body))
		if err != nil {
			return err
		}
		for k, v := range fx.headers {
			req.Header.Set(k, v)
		}
		req.Header.Set("X-Shopify-Webhook-Id", webhookID)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body) //nolint:errcheck
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}
	// Warm up: connections open, secrets cached.
	for i := range workers {
		require.NoError(b, post(fmt.Sprint("warm-up-", i)))
	}

	b.ResetTimer()
	var web loadResult
	for iter := range b.N {
		web = runLoad(n, workers, func(i int) error { return post(fmt.Sprintf("bench-%d-%d", iter, i)) })
	}
	b.StopTimer()
	require.Zero(b, web.failed, "deliveries failed: %v", web.firstErr)
	require.Equal(b, b.N*n+workers, countRows(b, env, "webhook_events", c.ID), "every accepted delivery is stored")

	b.ReportMetric(web.rate(), "webhooks/s")
	b.ReportMetric(ms(web.percentile(50)), "p50_ms")
	b.ReportMetric(ms(web.percentile(99)), "p99_ms")
	b.ReportMetric(raw.rate(), "raw_inserts/s")
	b.ReportMetric(ms(raw.percentile(99)), "raw_p99_ms")
	b.ReportMetric(100*web.rate()/raw.rate(), "%_of_raw")
	b.Logf("%d deliveries of %d bytes, %d clients: %.0f webhooks/s (p50 %.1f ms, p99 %.1f ms); raw INSERT %.0f/s (p99 %.1f ms); %.0f%% of raw",
		n, len(fx.body), workers, web.rate(), ms(web.percentile(50)), ms(web.percentile(99)), raw.rate(), ms(raw.percentile(99)), 100*web.rate()/raw.rate())
}

// rawIntake stores a delivery of fx with the statement the endpoint runs,
// without HTTP: the baseline of BenchmarkWebhookIngest. It goes through the
// store's InsertWebhookEvent so that both sides send the same statement with
// the payload encoded the same way; a hand-written INSERT sent the payload as
// []byte, which lib/pq hex-encodes (~30 % slower than the text the endpoint
// sends), and flattered the endpoint's share of it.
func rawIntake(ctx context.Context, env *webtest.Env, connectionID int64, webhookID string, fx webhookFixture) (inserted bool, err error) {
	_, inserted, err = env.Store.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: connectionID,
		WebhookID: webhookID, EventID: "evt", Topic: "orders/create", ShopDomain: "crossdock-test.myshopify.com",
		APIVersion: "2026-04", TriggeredAt: time.Date(2026, 4, 2, 9, 20, 11, 0, time.UTC), Headers: fx.headers, Payload: fx.body})
	return inserted, err
}

// The baseline runs the endpoint's statement: a delivery stored twice is
// stored once, as ON CONFLICT DO NOTHING does, and the payload is kept byte
// for byte.
func TestWebhookBaselineRunsTheIntakeStatement(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	c := shopifyConnection(t, env, testSecret)
	for i, want := range []bool{true, false} {
		inserted, err := rawIntake(t.Context(), env, c.ID, "baseline-1", fx)
		require.NoError(t, err, "delivery %d", i+1)
		require.Equal(t, want, inserted, "delivery %d", i+1)
	}
	require.Equal(t, 1, countRows(t, env, "webhook_events", c.ID))
	var payload []byte
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &payload, `SELECT payload FROM webhook_events WHERE connection_id = $1`, c.ID))
	require.Equal(t, fx.body, payload)
}

type loadResult struct {
	elapsed   time.Duration
	latencies []time.Duration
	failed    int
	firstErr  error
}

func (r loadResult) rate() float64 {
	return float64(len(r.latencies)-r.failed) / r.elapsed.Seconds()
}

func (r loadResult) percentile(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[(len(r.latencies)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runLoad calls do(0..n-1) from workers goroutines and times each call.
func runLoad(n, workers int, do func(i int) error) loadResult {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var mu sync.Mutex
	res := loadResult{}
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				err := do(i)
				lat[i] = time.Since(t)
				if err != nil {
					mu.Lock()
					res.failed++
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(lat)
	res.latencies = lat
	return res
}
