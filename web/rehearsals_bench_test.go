package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// BenchmarkRehearsalCeiling measures the rehearsal's own ceiling on this
// machine, end to end: against the demo twins readied as an admin would
// (250 mapped variants, the main location mapped, Shopify the source of
// truth of orders and stock with the demo Odoo receiving them), it runs one
// rehearsal per step of a rising profile — each order a quotation created in
// the Odoo twin, each stock update applied there — and reports per step the
// asked and achieved orders/min (created in Odoo), the longest queue lag,
// the webhook p99 and the webhook-to-Odoo p99.
//
// The ceiling is the highest step, all steps below it passing too, that was
// sustained: queue lag under 1 minute, drained, and orders created in Odoo
// at 95 % of the asked rate or more. A short step can keep its lag under a
// minute while Odoo falls behind; below 95 % the lag grows for as long as
// the peak lasts, so that rate is not sustained. The profile stops at a step
// that did not drain (the next would start behind).
//
//	CROSSDOCK_REHEARSAL_RATES         orders/min per step [300,600,1200,1800,2400,3600,4800]
//	CROSSDOCK_REHEARSAL_STEP_SECONDS  length of each step [30]
//	CROSSDOCK_REHEARSAL_UPDATES       stock updates per order [1]
//
//	flock /tmp/bench.lock go test -run '^$' -bench RehearsalCeiling -benchtime 1x -timeout 60m ./web/
func BenchmarkRehearsalCeiling(b *testing.B) {
	rates := []float64{300, 600, 1200, 1800, 2400, 3600, 4800}
	if v := os.Getenv("CROSSDOCK_REHEARSAL_RATES"); v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			require.NoError(b, err)
			rates = append(rates, r)
		}
	}
	envInt := func(name string, def int) int {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			require.NoError(b, err, name)
			return n
		}
		return def
	}
	stepSeconds, updates := envInt("CROSSDOCK_REHEARSAL_STEP_SECONDS", 30), envInt("CROSSDOCK_REHEARSAL_UPDATES", 1)
	for range b.N {
		env := webtest.Start(b)
		startEngine(b, env)
		admin := env.SignIn(b, vocab.RoleAdmin)
		shop, _ := prepareRehearsal(b, env, admin)
		admin.RefreshCSRF("/rehearsals")
		var ceiling, p99, e2e99, synced float64
		sustained := true
		for _, rate := range rates {
			res := admin.PostForm("/rehearsals", url.Values{"connection": {fmt.Sprint(shop)}, "profile": {"rate"},
				"orders_per_min": {fmt.Sprint(rate)}, "minutes": {fmt.Sprint(float64(stepSeconds) / 60)}, "updates_per_order": {strconv.Itoa(updates)}})
			require.Equal(b, http.StatusSeeOther, res.StatusCode)
			rs, err := env.Store.ListRehearsals(b.Context(), 1)
			require.NoError(b, err)
			var r store.Rehearsal
			require.Eventually(b, func() bool {
				r, err = env.Store.Rehearsal(b.Context(), rs[0].ID)
				return err == nil && r.Done()
			}, 30*time.Minute, 250*time.Millisecond)
			require.Equal(b, store.RehearsalFinished, r.State, r.Error)
			rep, err := r.Report()
			require.NoError(b, err)
			b.Logf("step %.0f orders/min for %d s: received %.0f/min, created in Odoo %.0f/min (%d of %d orders; %d of %d stock levels applied, %d superseded, %d failed); "+
				"max queue lag %.1f s, drained %v after %.1f s; webhook p50 %.1f ms p99 %.1f ms; Shopify→Odoo order p50 %.0f ms p99 %.0f ms, stock p99 %.0f ms; "+
				"Shopify: %d calls, %.0f cost points, bucket down to %.0f of %.0f, %d throttled; Odoo: %d calls, %d failed; failed syncs by class %v",
				rate, stepSeconds, rep.SentOrdersPerMin, rep.SyncedOrdersPerMin, rep.OrdersSynced, rep.OrdersSent, rep.StockSynced, rep.UpdatesSent, rep.StockSuperseded, rep.StockFailed,
				rep.MaxLagSec, rep.Drained, rep.DrainSeconds, rep.AnswerP50Ms, rep.AnswerP99Ms, rep.OrderE2EP50Ms, rep.OrderE2EP99Ms, rep.StockE2EP99Ms,
				rep.ShopifyCalls, rep.ShopifyCost, rep.ShopifyLowest, rep.ShopifyMax, rep.ShopifyThrottled, rep.OdooCalls, rep.OdooFailed, rep.FailedByClass)
			if rep.Drained && rep.WebhooksRefused == 0 {
				require.Equal(b, rep.UpdatesSent*rep.StockReceivers, rep.StockSynced+rep.StockSuperseded+rep.StockFailed,
					"every stock level is applied, superseded or failed")
			}
			sustained = sustained && rep.MaxLagSec < 60 && rep.Drained && rep.SyncedOrdersPerMin >= 0.95*rate
			if sustained {
				ceiling, p99, e2e99, synced = rate, rep.AnswerP99Ms, rep.OrderE2EP99Ms, rep.SyncedOrdersPerMin
			}
			if !rep.Drained {
				break
			}
		}
		b.ReportMetric(ceiling, "orders/min")
		b.ReportMetric(synced, "synced-orders/min")
		b.ReportMetric(p99, "webhook-p99-ms")
		b.ReportMetric(e2e99, "e2e-p99-ms")
	}
}
