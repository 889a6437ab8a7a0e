package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/secretbox"
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

// A short rehearsal (60 orders with one stock update each, over 10 s) runs
// end to end against the demo's sandbox twins: signed deliveries to the real
// webhook endpoint, intake, queue, connectors. Its report agrees with what
// the endpoint stored and what the engine made of it.
func TestRehearsalRunsEndToEndAndReportsWhatHappened(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	startEngine(t, env)
	admin := env.SignIn(t, store.RoleAdmin)
	res := admin.PostForm("/demo", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	shop := mustConn(t, env, "Demo Shopify store")

	_, body := admin.Get("/rehearsals")
	require.Contains(t, body, "Demo Shopify store", "the demo's test store is offered")
	admin.RefreshCSRF("/rehearsals")
	res = admin.PostForm("/rehearsals", url.Values{"connection": {fmt.Sprint(shop)}, "profile": {"rate"}, "orders_per_min": {"360"},
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
	}, 3*time.Minute, 200*time.Millisecond)
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
	require.InDelta(t, 360, rep.SentOrdersPerMin, 36, "the asked rate was delivered")
	require.Greater(t, rep.AnswerP99Ms, 0.0)
	require.GreaterOrEqual(t, rep.AnswerP99Ms, rep.AnswerP50Ms)
	require.NotEmpty(t, rep.Lag)

	// The report's syncs are the engine's: the same count by status.
	byStatus, byClass, err := env.Store.RehearsalSyncCounts(t.Context(), shop, start.Add(-time.Second))
	require.NoError(t, err)
	require.Equal(t, byStatus, rep.ByStatus)
	require.Equal(t, byClass, rep.FailedByClass)
	n := 0
	for _, c := range byStatus {
		n += c
	}
	require.Equal(t, n, rep.Syncs)
	require.Equal(t, rep.Syncs, rep.Succeeded+rep.Failed+rep.Waiting+byStatus["skipped"])
	require.Positive(t, rep.Syncs, "the orders became syncs")
	require.NotEmpty(t, r.Verdict)
	best, _, err := env.Store.BusiestOrderHour(t.Context(), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, best, "a rehearsal's own orders do not raise the busiest hour")

	_, body = admin.Get(fmt.Sprintf("/rehearsals/%d", id))
	require.Contains(t, body, r.Verdict[:20])
	require.Contains(t, body, "<polyline")
	require.Contains(t, body, "Webhook answer time, 99 in 100")
	_, body = admin.Get("/rehearsals")
	require.Contains(t, body, fmt.Sprintf("/rehearsals/%d", id), "the report is kept in the list")

	// Cancelling a finished rehearsal changes nothing.
	admin.RefreshCSRF(fmt.Sprintf("/rehearsals/%d", id))
	res = admin.PostForm(fmt.Sprintf("/rehearsals/%d/cancel", id), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	r2, err := env.Store.Rehearsal(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, store.RehearsalFinished, r2.State)
}

// Production connections are refused in plain words; nothing is queued.
func TestRehearsalRefusesProductionAndBadInput(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	prod, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), box, store.ConnectionInput{
		Name: "Live store", Kind: store.KindShopify, Environment: store.EnvProduction,
		Settings: map[string]string{"shop_domain": "live.myshopify.com"}, Secrets: map[string]string{"access_token": "x", "api_secret": "y"}})
	require.NoError(t, err)
	test := env.SandboxShopify(t, "Test store")
	admin := env.SignIn(t, store.RoleAdmin)
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
