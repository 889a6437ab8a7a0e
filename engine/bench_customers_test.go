package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/vocab"
)

// BenchmarkCustomers delivers customers/update webhooks for
// CROSSDOCK_BENCH_CUSTOMERS/4 customers (default 2,000/4) — each edited four
// times, every fifth delivery sent twice (2,400 deliveries) — all at once, and measures how fast
// they become Odoo partners: exactly one partner per customer, holding the
// newest version, is required.
func BenchmarkCustomers(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_CUSTOMERS", 2000)
	people := max(1, n/4)
	for b.Loop() {
		e := setup(b, options{seed: 20, realMappings: true, configure: func(c *engine.Config) {
			c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			c.FetchCooldown, c.FetchPollInterval = 2*time.Millisecond, 50*time.Millisecond
		}})
		e.customersFromShopify(b)
		ctx := context.Background()
		gids := make([]string, people)
		for i := range people {
			gids[i] = e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Bench", LastName: fmt.Sprint(i),
				Email: fmt.Sprintf("bench-%05d@example.com", i)}).GID()
		}
		var payloads [][]byte
		for v := range 4 {
			for i, g := range gids {
				_, err := e.shop.EditCustomer(g, func(c *shopsandbox.Customer) { c.City = fmt.Sprintf("City %d", v) })
				require.NoError(b, err)
				p := e.customerPayload(b, g)
				payloads = append(payloads, p)
				if (i+v)%5 == 0 {
					payloads = append(payloads, p) // a duplicate delivery
				}
			}
		}
		t0 := time.Now()
		for _, p := range payloads {
			e.deliver(b, "customers/update", p)
		}
		e.start(b)
		wait(b, "every delivery to be handled", func() bool {
			var left int
			require.NoError(b, e.st.DB.GetContext(ctx, &left, `SELECT count(*) FROM webhook_events WHERE status = 'received'`))
			return left == 0
		})
		deadline := time.Now().Add(5 * time.Minute)
		for {
			var open int
			require.NoError(b, e.st.DB.GetContext(ctx, &open, `SELECT count(*) FROM syncs WHERE flow = 'customers.shopify_odoo' AND finished_at IS NULL`))
			if open == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d customer syncs still open", open)
			}
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(t0)
		partners, creates := 0, 0
		for _, p := range e.odoo.Partners() {
			if len(p.Email) > 6 && p.Email[:6] == "bench-" {
				partners++
				require.Equal(b, "City 3", p.City, "the newest version wins")
			}
		}
		for _, w := range e.odoo.Writes() {
			if w.Model == "res.partner" && w.Method == "create" {
				creates++
			}
		}
		require.Equal(b, people, partners, "one partner per customer")
		var failed int
		require.NoError(b, e.st.DB.GetContext(ctx, &failed, `SELECT count(*) FROM syncs WHERE flow = 'customers.shopify_odoo' AND status = $1`, vocab.SyncFailed))
		require.Zero(b, failed)
		b.ReportMetric(float64(len(payloads))/elapsed.Seconds(), "webhooks/s")
		b.ReportMetric(float64(creates-people), "duplicate_partners")
		b.ReportMetric(float64(len(payloads)), "webhooks")
	}
}
