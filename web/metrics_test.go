package web_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

const metricsToken = "metrics-token-0123456789"

// scrape reads /metrics with the token and parses the Prometheus text format.
func scrape(t *testing.T, env *webtest.Env, token string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.URL+"/metrics", nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	require.Contains(t, res.Header.Get("Content-Type"), "text/plain")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	require.NoError(t, err)
	return res.StatusCode, fams
}

// value sums the samples of a family whose labels include want (histograms:
// their counts); ok is false if none matched.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (sum float64, ok bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		ok = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, ok
}

func TestMetricsNeedTheToken(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{MetricsToken: metricsToken})
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "metrics-token-wrong-000000", http.StatusUnauthorized},
		{"right token", metricsToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _ := scrape(t, env, tc.token)
			require.Equal(t, tc.status, status)
		})
	}
	// A signed-in session is not a token: the scraper is a machine.
	c := env.SignIn(t, vocab.RoleAdmin)
	res, body := c.Get("/metrics")
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Contains(t, body, "CROSSDOCK_METRICS_TOKEN")
}

func TestMetricsScrapeCountsWhatHappened(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{MetricsToken: metricsToken})
	e := syncsEnv{env: env}
	e.shop, e.odoo = sourceSystems(t, env)

	// Two orders wait, a stock change failed unmapped, another is retrying.
	failed := e.stock("SKU-RED", "SKU-RED")
	failed.Status, failed.ErrorClass, failed.Message = vocab.SyncFailed, vocab.ClassUnmapped, "SKU-RED has no Shopify variant."
	e.insert(t, e.order("#1001"), e.order("#1002"), failed)

	// Webhook deliveries: one accepted, one with a bad signature, one with a
	// made-up topic that must not become a label of its own.
	fx := loadOrdersCreate(t)
	conn := shopifyConnection(t, env, testSecret)
	path := fmt.Sprintf("/webhooks/shopify/%d", conn.ID)
	res, _ := deliver(t, env, path, fx.body, fx.headers)
	require.Equal(t, http.StatusOK, res.StatusCode)
	bad := map[string]string{}
	for k, v := range fx.headers {
		bad[k] = v
	}
	bad["X-Shopify-Webhook-Id"] = "another-delivery"
	bad["X-Shopify-Hmac-Sha256"] = "bm90IHRoZSByaWdodCBzaWduYXR1cmU="
	res, _ = deliver(t, env, path, fx.body, bad)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	bad["X-Shopify-Topic"] = strings.Repeat("x", 500)
	res, _ = deliver(t, env, path, fx.body, bad)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	fireAlert(t, env, "orders", "Orders: 12 syncs failed in the last 10 minutes")

	status, fams := scrape(t, env, metricsToken)
	require.Equal(t, http.StatusOK, status)

	for _, tc := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"deliveries by topic", "crossdock_webhooks_received_total", map[string]string{"topic": "orders/create"}, 2},
		{"rejected by topic and code", "crossdock_webhooks_rejected_total", map[string]string{"topic": "orders/create", "code": "401"}, 1},
		{"odd topics are bounded", "crossdock_webhooks_rejected_total", map[string]string{"topic": "other", "code": "401"}, 1},
		{"orders waiting", "crossdock_queue_depth", map[string]string{"family": "orders", "status": "pending"}, 2},
		{"unresolved by class", "crossdock_syncs_unresolved", map[string]string{"family": "inventory", "status": "failed", "error_class": "unmapped"}, 1},
		{"intake backlog", "crossdock_webhook_intake_backlog", nil, 1},
		{"open alerts", "crossdock_alerts_open", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := value(fams, tc.metric, tc.labels)
			require.True(t, ok, "%s%v missing from the scrape", tc.metric, tc.labels)
			require.Equal(t, tc.want, got)
		})
	}
	lag, ok := value(fams, "crossdock_queue_lag_seconds", map[string]string{"family": "orders"})
	require.True(t, ok)
	require.GreaterOrEqual(t, lag, 0.0)

	// Latency histograms are by route pattern, never by raw path.
	n, ok := value(fams, "crossdock_http_request_duration_seconds", map[string]string{"route": "/webhooks/shopify/:connection", "method": "POST"})
	require.True(t, ok)
	require.Equal(t, 3.0, n)
	for _, m := range fams["crossdock_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" {
				require.NotContains(t, l.GetValue(), fmt.Sprint(conn.ID), "a raw path became a label")
			}
		}
	}
}

// The breakers every replica publishes are one gauge, the same whichever
// replica is scraped: how many replicas have a connection's breaker open.
func TestMetricsShowBreakersOpenOnAnyReplica(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{MetricsToken: metricsToken})
	shop, odoo := sourceSystems(t, env)
	until := time.Now().Add(time.Minute)
	ctx := t.Context()
	require.NoError(t, env.Store.PublishReplicaStates(ctx, "replica-a", []store.ReplicaConnState{{ConnectionID: odoo.ID, BreakerOpenUntil: &until}, {ConnectionID: shop.ID}}))
	require.NoError(t, env.Store.PublishReplicaStates(ctx, "replica-b", []store.ReplicaConnState{{ConnectionID: odoo.ID, BreakerOpenUntil: &until}}))
	_, fams := scrape(t, env, metricsToken)
	n, ok := value(fams, "crossdock_circuit_breaker_open_replicas", map[string]string{"connection_id": strconv.FormatInt(odoo.ID, 10), "kind": "odoo"})
	require.True(t, ok)
	require.Equal(t, 2.0, n)
	n, ok = value(fams, "crossdock_circuit_breaker_open_replicas", map[string]string{"connection_id": strconv.FormatInt(shop.ID, 10)})
	require.True(t, ok)
	require.Zero(t, n)

	require.NoError(t, env.Store.ForgetReplica(ctx, "replica-b"))
	_, fams = scrape(t, env, metricsToken)
	n, _ = value(fams, "crossdock_circuit_breaker_open_replicas", map[string]string{"connection_id": strconv.FormatInt(odoo.ID, 10)})
	require.Equal(t, 1.0, n, "a stopped replica's breakers no longer count")
}
