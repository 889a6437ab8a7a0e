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

	"crossdock/engine"
	"crossdock/store"
	"crossdock/web/webtest"
)

// BenchmarkRehearsalCeiling measures the rehearsal's own ceiling on this
// machine: it runs 20 s rehearsals (one stock update per order) against the
// demo twins at rising rates and reports the highest rate that kept up
// (queue lag under 1 minute, every webhook answered within 5 s, 95 % of the
// asked rate delivered) and the webhook p99 at that rate. Rates:
// CROSSDOCK_REHEARSAL_RATES (comma-separated orders/min) [600,1200,2400,4800].
//
//	go test -run '^$' -bench RehearsalCeiling -benchtime 1x ./web/
func BenchmarkRehearsalCeiling(b *testing.B) {
	rates := []float64{600, 1200, 2400, 4800}
	if v := os.Getenv("CROSSDOCK_REHEARSAL_RATES"); v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			require.NoError(b, err)
			rates = append(rates, r)
		}
	}
	for range b.N {
		env := webtest.Start(b)
		startEngine(b, env)
		admin := env.SignIn(b, store.RoleAdmin)
		require.Equal(b, http.StatusSeeOther, admin.PostForm("/demo", nil).StatusCode)
		cs, err := env.Store.ListConnections(b.Context())
		require.NoError(b, err)
		var shop int64
		for _, c := range cs {
			if c.Kind == store.KindShopify {
				shop = c.ID
			}
		}
		admin.RefreshCSRF("/rehearsals")
		ceiling, p99 := 0.0, 0.0
		for _, rate := range rates {
			res := admin.PostForm("/rehearsals", url.Values{"connection": {fmt.Sprint(shop)}, "profile": {"rate"},
				"orders_per_min": {fmt.Sprint(rate)}, "minutes": {fmt.Sprint(20.0 / 60)}, "updates_per_order": {"1"}})
			require.Equal(b, http.StatusSeeOther, res.StatusCode)
			rs, err := env.Store.ListRehearsals(b.Context(), 1)
			require.NoError(b, err)
			var r store.Rehearsal
			require.Eventually(b, func() bool {
				r, err = env.Store.Rehearsal(b.Context(), rs[0].ID)
				return err == nil && r.Done()
			}, 5*time.Minute, 250*time.Millisecond)
			rep, err := r.Report()
			require.NoError(b, err)
			b.Logf("asked %.0f/min: received %.0f/min, synced %.0f/min, webhook p50 %.1f ms p99 %.1f ms, max lag %.1f s, drained %v after %.1f s, %d syncs (%d failed) — %s",
				rate, rep.SentOrdersPerMin, rep.ProcessedOrdersPerMin, rep.AnswerP50Ms, rep.AnswerP99Ms, rep.MaxLagSec, rep.Drained, rep.DrainSeconds, rep.Syncs, rep.Failed, r.Verdict)
			if !engine.KeptUp(rep) {
				break
			}
			ceiling, p99 = rate, rep.AnswerP99Ms
		}
		b.ReportMetric(ceiling, "orders/min")
		b.ReportMetric(p99, "p99-ms")
	}
}
