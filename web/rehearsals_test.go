package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// startEngine runs a real engine on the console's database, delivering to
// the console's own webhook address.
func startEngine(t testing.TB, env *webtest.Env) {
	t.Helper()
	eng, err := engine.New(engine.Config{Store: env.Store, SecretKey: []byte(webtest.SecretKey), BaseURL: env.URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ManualSweepsOnly: true, ManualAlertsOnly: true,
		FetchPollInterval: 50 * time.Millisecond, IntakeInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, eng.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Stop(ctx) //nolint:errcheck
	})
}

// prepareRehearsal loads the demo workspace — its catalogue comes mapped by
// SKU and its main Shopify location to WH/Stock — and makes Shopify the
// source of truth of orders and stock, with the demo Odoo receiving them,
// the way an admin would. It waits until the demo's own orders have reached
// Odoo (or been refused), so what a rehearsal adds is counted alone.
func prepareRehearsal(t testing.TB, env *webtest.Env, admin *webtest.Client) (shop, erp int64) {
	t.Helper()
	ctx := t.Context()
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/demo", nil).StatusCode)
	shop, erp = mustConn(t, env, "Demo Shopify store"), mustConn(t, env, "Demo Odoo")
	proposer := store.Actor{UserID: env.Users[vocab.RoleAdmin].ID, Label: env.Users[vocab.RoleAdmin].Email}
	for _, f := range []vocab.Family{vocab.Orders, vocab.Inventory} {
		_, err := env.Store.SaveSourceRule(ctx, proposer, store.SourceRuleInput{Family: f, Master: shop, Receivers: []int64{erp},
			Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins, Version: currentVersion(t, env, f)})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		var waiting int
		require.NoError(t, env.Store.DB.GetContext(ctx, &waiting, `SELECT (SELECT count(*) FROM webhook_events WHERE status = 'received')
  + (SELECT count(*) FROM syncs WHERE family = 'orders' AND status IN ('pending', 'running', 'retrying'))`))
		return waiting == 0
	}, 15*time.Minute, 100*time.Millisecond) // a bound on a hang, not a speed check
	return shop, erp
}

// A short rehearsal (60 orders with one stock update each, over 10 s) runs
// end to end against the demo's sandbox twins: signed deliveries to the real
// webhook endpoint, intake, queue, connectors, and real quotations and stock
// in the Odoo twin. Its report agrees with what the endpoint stored, what
// the engine made of it and what the Odoo twin holds.
func TestRehearsalRunsEndToEndAndReportsWhatHappened(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	startEngine(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)
	shop, _ := prepareRehearsal(t, env, admin)
	erpOrdersBefore := len(env.Server.DemoWorkspace().Odoo.SaleOrders())
	// The demo's own orders are real: they make the busiest hour so far.
	bestBefore, _, err := env.Store.BusiestOrderHour(t.Context(), time.Now().Add(-time.Hour))
	require.NoError(t, err)

	_, body := admin.Get("/rehearsals")
	require.Contains(t, body, "Demo Shopify store", "the demo's test store is offered")
	admin.RefreshCSRF("/rehearsals")
	res := admin.PostForm("/rehearsals", url.Values{"connection": {fmt.Sprint(shop)}, "profile": {"rate"}, "orders_per_min": {"360"},
		"minutes": {fmt.Sprint(10.0 / 60)}, "updates_per_order": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	rs, err := env.Store.ListRehearsals(t.Context(), 10)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	id := rs[0].ID
	require.Equal(t, 10, rs[0].DurationSeconds)
	var r store.Rehearsal
	require.Eventually(t, func() bool {
		r, err = env.Store.Rehearsal(t.Context(), id)
		return err == nil && r.Done()
	}, 15*time.Minute, 200*time.Millisecond) // a bound on a hang, not a speed check
	require.Equal(t, store.RehearsalFinished, r.State, r.Error)
	rep, err := r.Report()
	require.NoError(t, err)

	// What was asked was sent, and the endpoint stored every delivery.
	require.Equal(t, 60, rep.OrdersSent)
	require.Equal(t, 60, rep.UpdatesSent)
	require.Equal(t, 120, rep.WebhooksAccepted)
	require.Zero(t, rep.WebhooksRefused)
	start := *r.StartedAt
	stored, unprocessed, err := env.Store.RehearsalWebhooks(t.Context(), shop, start.Add(-time.Second))
	require.NoError(t, err)
	require.Equal(t, 120, stored, "every accepted webhook is a stored event")
	require.Zero(t, unprocessed)
	require.True(t, rep.Drained)
	// Not a speed check: the sent rate is computed over the time the 60
	// orders were asked to take (59 intervals of 1/6 s), or took when a busy
	// machine sent them more slowly, so it is never above the asked rate.
	require.InDelta(t, float64(rep.OrdersSent)/math.Max(rep.SendSeconds, 59.0/6)*60, rep.SentOrdersPerMin, 0.01)
	require.LessOrEqual(t, rep.SentOrdersPerMin, 360*60/59.0+0.01)
	require.Greater(t, rep.AnswerP99Ms, 0.0)
	require.GreaterOrEqual(t, rep.AnswerP99Ms, rep.AnswerP50Ms)
	require.NotEmpty(t, rep.Lag)

	// End to end: every order is a quotation in the Odoo twin, the stock
	// levels were applied, and the latencies are measured.
	require.Equal(t, 250, rep.Variants, "the demo maps its whole catalogue; a rehearsal takes at most 250 variants")
	require.Equal(t, 1, rep.Locations)
	require.Equal(t, []string{"Demo Odoo"}, rep.Targets)
	require.Equal(t, 60, rep.OrdersSynced, "every order reached Odoo: %v", rep.FailedByClass)
	require.Equal(t, erpOrdersBefore+60, len(env.Server.DemoWorkspace().Odoo.SaleOrders()), "60 quotations were created in the Odoo twin")
	// Every stock level sent is accounted for, exactly: applied, superseded
	// by a newer level of the same item and location (however late or
	// however batched it arrived), or failed; none is still waiting.
	require.Positive(t, rep.StockSynced, "%v %v", rep.ByStatus, rep.FailedByClass)
	require.Equal(t, 1, rep.StockReceivers)
	require.Zero(t, rep.StockWaiting)
	require.Equal(t, rep.UpdatesSent, rep.StockSynced+rep.StockSuperseded+rep.StockFailed,
		"applied %d + superseded %d + failed %d", rep.StockSynced, rep.StockSuperseded, rep.StockFailed)
	var atIntake int
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &atIntake, `SELECT count(*) FROM webhook_events
WHERE connection_id = $1 AND topic = 'inventory_levels/update' AND error LIKE 'Superseded:%'`, shop))
	t.Logf("stock levels: %d applied, %d superseded (%d of them at intake, which once left no sync), %d failed",
		rep.StockSynced, rep.StockSuperseded, atIntake, rep.StockFailed)
	require.Positive(t, rep.OrderE2EP50Ms)
	require.GreaterOrEqual(t, rep.OrderE2EP99Ms, rep.OrderE2EP50Ms)
	require.Positive(t, rep.StockE2EP99Ms)
	// Not a speed check: the rate is computed over the right window (a busy
	// machine may be slower, never faster than asked).
	require.Positive(t, rep.SyncedOrdersPerMin)
	require.LessOrEqual(t, rep.SyncedOrdersPerMin, 360*60/59.0+0.01)
	require.Zero(t, rep.Failed)

	// The budgets: Shopify's cost bucket as its answers reported it (the
	// stock flow asks Shopify which variant an item is), and Odoo's calls.
	require.Positive(t, rep.ShopifyCalls)
	require.Positive(t, rep.ShopifyCost)
	require.Equal(t, 4000.0, rep.ShopifyMax, "the demo store's bucket size (Advanced plan), as Shopify reports it")
	require.Less(t, rep.ShopifyLowest, rep.ShopifyMax)
	require.GreaterOrEqual(t, rep.OdooCalls, 60, "at least one call per order")
	require.Zero(t, rep.OdooFailed)
	require.Equal(t, rep.ShopifyCalls+rep.OdooCalls, rep.APICalls)

	// The report's syncs are the engine's: the same count by status.
	byStatus, byClass, byFlow, err := env.Store.RehearsalSyncCounts(t.Context(), shop, start.Add(-time.Second))
	require.NoError(t, err)
	require.Equal(t, byStatus, rep.ByStatus)
	require.Equal(t, rep.StockSuperseded, byFlow["inventory.shopify_odoo"]["skipped"])
	require.Equal(t, byClass, rep.FailedByClass)
	n := 0
	for _, c := range byStatus {
		n += c
	}
	require.Equal(t, n, rep.Syncs)
	require.Equal(t, rep.Syncs, rep.Succeeded+rep.Failed+rep.Waiting+byStatus["skipped"])
	if engine.KeptUp(rep) {
		require.Contains(t, r.Verdict, "60 orders reached Demo Odoo")
	} else {
		require.Contains(t, r.Verdict, "Does not keep up")
	}
	best, _, err := env.Store.BusiestOrderHour(t.Context(), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, bestBefore, best, "a rehearsal's own orders do not raise the busiest hour")

	_, body = admin.Get(fmt.Sprintf("/rehearsals/%d", id))
	require.Contains(t, body, r.Verdict[:20])
	require.Contains(t, body, "<polyline")
	require.Contains(t, body, "Webhook answer time, 99 in 100")
	require.Contains(t, body, "Orders created in Demo Odoo")
	require.Contains(t, body, "60 of 60")
	require.Contains(t, body, fmt.Sprintf("%d superseded by a newer level of the same item at the same location", rep.StockSuperseded))
	require.Regexp(t, `spent [0-9,]+ cost points; the bucket went down to [0-9,]+ of 4,000`, body)
	_, body = admin.Get("/rehearsals")
	require.Contains(t, body, fmt.Sprintf("/rehearsals/%d", id), "the report is kept in the list")
	// The kept reports read together, in the same words as the engine's.
	summary := engine.RehearsalsSummary([]store.Rehearsal{r}, bestBefore) // measured against the demo's own busiest hour
	require.NotEmpty(t, summary)
	require.Contains(t, body, html.EscapeString(summary))

	// Cancelling a finished rehearsal changes nothing.
	admin.RefreshCSRF(fmt.Sprintf("/rehearsals/%d", id))
	res = admin.PostForm(fmt.Sprintf("/rehearsals/%d/cancel", id), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	r2, err := env.Store.Rehearsal(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, store.RehearsalFinished, r2.State)
}

// A rehearsal that could not reach a test ERP is refused before it starts,
// with the fix named: no orders rule, no stock rule for stock updates, no
// mapped variant, a production system among the receivers.
func TestRehearsalRefusesWhatCannotRunEndToEnd(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	startEngine(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)
	ctx := t.Context()
	a := store.SystemActor("test")
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/demo", nil).StatusCode)
	shop, erp := mustConn(t, env, "Demo Shopify store"), mustConn(t, env, "Demo Odoo")
	admin.RefreshCSRF("/rehearsals")
	startOn := func(conn int64, updates string) string {
		t.Helper()
		res, body := admin.PostFormBody("/rehearsals", url.Values{"connection": {fmt.Sprint(conn)}, "profile": {"rate"}, "orders_per_min": {"60"},
			"minutes": {"1"}, "updates_per_order": {updates}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		return body
	}
	start := func(updates string) string { t.Helper(); return startOn(shop, updates) }
	ruleOf := func(master int64, f vocab.Family, receivers ...int64) {
		t.Helper()
		_, err := env.Store.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: f, Master: master, Receivers: receivers,
			Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins, Version: currentVersion(t, env, f)})
		require.NoError(t, err)
	}
	rule := func(f vocab.Family, receivers ...int64) { t.Helper(); ruleOf(shop, f, receivers...) }

	// The demo comes with Shopify deciding orders: take that away first.
	ruleOf(0, vocab.Orders)
	require.Contains(t, start("0"), "Set Demo Shopify store as the source of truth for orders")
	rule(vocab.Orders, erp)
	require.Contains(t, start("1"), "Set Demo Shopify store as the source of truth for stock levels")
	require.Contains(t, start("1"), "Or ask for 0 stock updates per order.")
	// The demo's catalogue comes mapped; a second store's is not.
	other := env.SandboxShopify(t, "Second store")
	ruleOf(other.ID, vocab.Orders, erp)
	require.Contains(t, startOn(other.ID, "0"), "Map at least one variant of Second store to a product of Demo Odoo")

	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	live, err := env.Store.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Live Odoo", Kind: vocab.KindOdoo, Environment: vocab.EnvProduction,
		Settings: map[string]string{"url": "https://erp.example.com", "database": "live", "username": "api", "protocol": "json2"},
		Secrets:  map[string]string{"api_key": "secret"}})
	require.NoError(t, err)
	rule(vocab.Orders, erp, live.ID)
	require.Contains(t, start("0"), "Live Odoo receives orders and is a production system")

	rs, err := env.Store.ListRehearsals(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, rs, "nothing was queued")
}

func currentVersion(t testing.TB, env *webtest.Env, f vocab.Family) int64 {
	t.Helper()
	rs, err := env.Store.SourceRules(t.Context())
	require.NoError(t, err)
	return rs.Rule(f).Version
}

// Production connections are refused in plain words; nothing is queued.
func TestRehearsalRefusesProductionAndBadInput(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	prod, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), box, store.ConnectionInput{
		Name: "Live store", Kind: vocab.KindShopify, Environment: vocab.EnvProduction,
		Settings: map[string]string{"shop_domain": "live.myshopify.com"}, Secrets: map[string]string{"access_token": "x", "api_secret": "y"}})
	require.NoError(t, err)
	test := env.SandboxShopify(t, "Test store")
	admin := env.SignIn(t, vocab.RoleAdmin)
	admin.RefreshCSRF("/rehearsals")

	res, body := admin.PostFormBody("/rehearsals", url.Values{"connection": {fmt.Sprint(prod.ID)}, "profile": {"rate"}, "orders_per_min": {"100"},
		"minutes": {"1"}, "updates_per_order": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "is a production store")

	res, body = admin.PostFormBody("/rehearsals", url.Values{"connection": {fmt.Sprint(test.ID)}, "profile": {"rate"}, "orders_per_min": {"lots"},
		"minutes": {"1"}, "updates_per_order": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "Enter the orders per minute as a number")
	require.Contains(t, body, `value="lots"`, "what was typed is kept")

	res, body = admin.PostFormBody("/rehearsals", url.Values{"connection": {fmt.Sprint(test.ID)}, "profile": {"best_hour"}, "multiple": {"3"},
		"minutes": {"1"}, "updates_per_order": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "no busiest hour to multiply")

	rs, err := env.Store.ListRehearsals(t.Context(), 10)
	require.NoError(t, err)
	require.Empty(t, rs)
}
