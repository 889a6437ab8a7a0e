package web

import (
	"cmp"
	"context"
	"crypto/subtle"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// EngineObserver is what the metrics read from the sync engine of this
// replica (*engine.Engine implements it).
type EngineObserver interface {
	Connections() []engine.ConnectionState
	SyncCounts() []engine.SyncCount
}

// metrics is the console's Prometheus registry: counters and histograms kept
// in memory per replica (HTTP latency, webhook deliveries), and gauges read
// from PostgreSQL and the engine at scrape time.
type metrics struct {
	reg      *prometheus.Registry
	httpDur  *prometheus.HistogramVec
	received *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

func newMetrics(st *store.Store, eng EngineObserver) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		httpDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crossdock_http_request_duration_seconds",
			Help: "Time to answer HTTP requests, by route (the route pattern, not the path) and status code.",
			// Up to Shopify's 5 s webhook limit and beyond.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_webhooks_received_total",
			Help: "Webhook deliveries received from Shopify, by topic (accepted or not).",
		}, []string{"topic"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crossdock_webhooks_rejected_total",
			Help: "Webhook deliveries answered with an error (bad signature, unknown connection, malformed...), by topic and status code.",
		}, []string{"topic", "code"}),
	}
	m.reg.MustRegister(m.httpDur, m.received, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{st: st, eng: eng})
	return m
}

// topicRe bounds the topic label: the header is the sender's to choose, and
// an unauthenticated sender must not create unbounded label values.
var topicRe = regexp.MustCompile(`^[a-z_]{1,40}(/[a-z_]{1,40}|(\.[a-z_]{1,40}){1,3})$`)

func metricTopic(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if topicRe.MatchString(h) {
		return h
	}
	if h == "" {
		return "none"
	}
	return "other"
}

// observeRequests times every request by its route pattern and counts
// webhook deliveries.
func (s *Server) observeRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		status = statusOf(err)
	}
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "" && !(r.Method == "USE" && r.Path == "/") {
		route = r.Path
	}
	code := strconv.Itoa(status)
	s.metrics.httpDur.WithLabelValues(c.Method(), route, code).Observe(time.Since(start).Seconds())
	if c.Method() == fiber.MethodPost && strings.HasPrefix(c.Path(), "/webhooks/") {
		// Shopify names the topic in X-Shopify-Topic; Standard Webhooks senders (ShipBob) in X-Webhook-Topic.
		topic := metricTopic(cmp.Or(c.Get("X-Shopify-Topic"), c.Get("X-Webhook-Topic")))
		s.metrics.received.WithLabelValues(topic).Inc()
		if status < 200 || status > 299 {
			s.metrics.rejected.WithLabelValues(topic, code).Inc()
		}
	}
	return err
}

// MetricsHandler serves the metrics without a token, for a listener of its
// own (CROSSDOCK_METRICS_ADDR) that only the monitoring network reaches.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// serveMetrics is /metrics on the console's own address: it answers only a
// request carrying the configured bearer token, and 404 when none is
// configured (metrics then live on CROSSDOCK_METRICS_ADDR, or are off).
func (s *Server) serveMetrics() fiber.Handler {
	h := adaptor.HTTPHandler(s.MetricsHandler())
	return func(c *fiber.Ctx) error {
		if s.cfg.MetricsToken == "" {
			return fiber.ErrNotFound
		}
		got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.MetricsToken)) != 1 {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="crossdock metrics"`)
			return c.Status(fiber.StatusUnauthorized).SendString("Metrics need the token set in CROSSDOCK_METRICS_TOKEN, sent as 'Authorization: Bearer <token>'.\n")
		}
		return h(c)
	}
}

// stateCollector reads the state gauges at scrape time: PostgreSQL for what
// all replicas share (queue, problems, intake, breakers open on any replica), the engine for what this
// replica knows (breakers, API budgets, finished attempts).
type stateCollector struct {
	st  *store.Store
	eng EngineObserver
}

var (
	descQueueDepth = prometheus.NewDesc("crossdock_queue_depth", "Syncs waiting or running, by family and status.",
		[]string{"family", "status"}, nil)
	descQueueLag = prometheus.NewDesc("crossdock_queue_lag_seconds", "Age of the oldest sync still waiting (pending or retrying), by family; 0 when none waits.",
		[]string{"family"}, nil)
	descUnresolved = prometheus.NewDesc("crossdock_syncs_unresolved", "Failed, retrying and rejected syncs nobody resolved yet, by family, status and error class.",
		[]string{"family", "status", "error_class"}, nil)
	descFinished = prometheus.NewDesc("crossdock_syncs_total", "Sync attempts finished by this replica since it started, by family, status and error class.",
		[]string{"family", "status", "error_class"}, nil)
	descIntakeBacklog = prometheus.NewDesc("crossdock_webhook_intake_backlog", "Webhook deliveries stored but not yet turned into syncs.", nil, nil)
	descIntakeLag     = prometheus.NewDesc("crossdock_webhook_intake_lag_seconds", "Age of the oldest webhook delivery not yet turned into syncs; 0 when none waits.", nil, nil)
	descBudget        = prometheus.NewDesc("crossdock_api_budget_available", "Rate-limit points this replica estimates available now, per connection (Shopify's leaky bucket).",
		[]string{"connection_id", "connection", "kind"}, nil)
	descBudgetMax = prometheus.NewDesc("crossdock_api_budget_maximum", "Size of the connection's rate-limit bucket, as the system reported it.",
		[]string{"connection_id", "connection", "kind"}, nil)
	descBreaker = prometheus.NewDesc("crossdock_circuit_breaker_open", "1 while this replica's circuit breaker for the connection is open.",
		[]string{"connection_id", "connection", "kind"}, nil)
	descBreakerReplicas = prometheus.NewDesc("crossdock_circuit_breaker_open_replicas",
		"Replicas whose circuit breaker for the connection is open, from the states every replica publishes (the same on every replica's scrape).",
		[]string{"connection_id", "connection", "kind"}, nil)
	descRecon = prometheus.NewDesc("crossdock_reconciliation_discrepancies", "Open or acknowledged reconciliation discrepancies, by data family.",
		[]string{"family"}, nil)
	descAlertsOpen  = prometheus.NewDesc("crossdock_alerts_open", "Alerts firing or acknowledged and not yet resolved.", nil, nil)
	descScrapeError = prometheus.NewDesc("crossdock_metrics_read_errors", "Parts of this scrape that could not be read (1 each).",
		[]string{"part"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueDepth, descQueueLag, descUnresolved, descFinished, descIntakeBacklog,
		descIntakeLag, descBudget, descBudgetMax, descBreaker, descBreakerReplicas, descRecon, descAlertsOpen, descScrapeError} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	failed := func(part string) {
		ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, 1, part)
	}
	if qs, err := c.st.QueueStats(ctx); err != nil {
		failed("queue")
	} else {
		for _, q := range qs {
			ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(q.Pending), q.Family, string(vocab.SyncPending))
			ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(q.Retrying), q.Family, string(vocab.SyncRetrying))
			ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(q.Running), q.Family, string(vocab.SyncRunning))
			lag := 0.0
			if q.OldestWaitingAt != nil {
				lag = max(0, now.Sub(*q.OldestWaitingAt).Seconds())
			}
			ch <- prometheus.MustNewConstMetric(descQueueLag, prometheus.GaugeValue, lag, q.Family)
		}
	}
	if ps, err := c.st.ProblemCounts(ctx); err != nil {
		failed("problems")
	} else {
		for _, p := range ps {
			ch <- prometheus.MustNewConstMetric(descUnresolved, prometheus.GaugeValue, float64(p.N), p.Family, string(p.Status), string(p.Class))
		}
	}
	if b, err := c.st.WebhookIntakeBacklog(ctx); err != nil {
		failed("intake")
	} else {
		lag := 0.0
		if b.OldestReceivedAt != nil {
			lag = max(0, now.Sub(*b.OldestReceivedAt).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(descIntakeBacklog, prometheus.GaugeValue, float64(b.Waiting))
		ch <- prometheus.MustNewConstMetric(descIntakeLag, prometheus.GaugeValue, lag)
	}
	if n, err := c.st.CountOpenAlerts(ctx); err != nil {
		failed("alerts")
	} else {
		ch <- prometheus.MustNewConstMetric(descAlertsOpen, prometheus.GaugeValue, float64(n))
	}
	if rs, err := c.st.ReconCounts(ctx); err != nil {
		failed("reconciliation")
	} else {
		for family, n := range rs {
			ch <- prometheus.MustNewConstMetric(descRecon, prometheus.GaugeValue, float64(n), family)
		}
	}
	if ss, err := c.st.SharedConnectionStates(ctx, store.ReplicaStatesFresh, ""); err != nil {
		failed("breakers")
	} else {
		for _, s := range ss {
			ch <- prometheus.MustNewConstMetric(descBreakerReplicas, prometheus.GaugeValue, float64(s.OpenReplicas),
				strconv.FormatInt(s.ConnectionID, 10), s.Name, s.Kind)
		}
	}
	if c.eng == nil {
		return
	}
	for _, s := range c.eng.SyncCounts() {
		ch <- prometheus.MustNewConstMetric(descFinished, prometheus.CounterValue, float64(s.N), s.Family, s.Status, s.Class)
	}
	for _, cs := range c.eng.Connections() {
		id := strconv.FormatInt(cs.ConnectionID, 10)
		open := 0.0
		if cs.BreakerOpen {
			open = 1
		}
		ch <- prometheus.MustNewConstMetric(descBreaker, prometheus.GaugeValue, open, id, cs.Name, cs.Kind)
		if cs.BudgetKnown {
			ch <- prometheus.MustNewConstMetric(descBudget, prometheus.GaugeValue, cs.BudgetAvailable, id, cs.Name, cs.Kind)
			ch <- prometheus.MustNewConstMetric(descBudgetMax, prometheus.GaugeValue, cs.BudgetMax, id, cs.Name, cs.Kind)
		}
	}
}
