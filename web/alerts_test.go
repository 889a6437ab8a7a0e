package web_test

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// fireAlert opens an alert as the evaluator would.
func fireAlert(t *testing.T, env *webtest.Env, key, title string) store.Alert {
	t.Helper()
	rs, err := env.Store.AlertRules(t.Context())
	require.NoError(t, err)
	_, err = env.Store.ApplyAlertConditions(t.Context(), rs[3:4], []store.AlertCondition{{Kind: store.AlertFailedSyncsBurst, Key: key,
		Title: title, Message: "Open Syncs, filter on the flow and group by cause; fix the cause and replay them.", Value: 12}}, time.Now())
	require.NoError(t, err)
	open, _, err := env.Store.ListAlerts(t.Context(), store.AlertFilter{Open: true})
	require.NoError(t, err)
	for _, a := range open {
		if a.Key == key {
			return a
		}
	}
	t.Fatalf("alert %s not open", key)
	return store.Alert{}
}

func TestAlertsPageAndAcknowledge(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	a := fireAlert(t, env, "orders", "Orders: 12 syncs failed in the last 10 minutes")

	fin := env.SignIn(t, vocab.RoleFinance)
	res, body := fin.Get("/alerts")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Orders: 12 syncs failed in the last 10 minutes")
	require.Contains(t, body, "Needs attention")
	require.Contains(t, body, "No alert channel is set up")
	require.NotContains(t, body, "I'm on it", "finance does not acknowledge")

	op := env.SignIn(t, vocab.RoleOperator)
	_, body = op.Get("/alerts")
	require.Contains(t, body, "I'm on it")
	res = op.PostForm(fmt.Sprintf("/alerts/%d/acknowledge", a.ID), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get("/alerts")
	require.Contains(t, body, "is no longer sent again")
	require.Contains(t, body, "Someone is on it")
	require.Contains(t, body, "Acknowledged by Operator User")
	// Twice is harmless and says so.
	res = op.PostForm(fmt.Sprintf("/alerts/%d/acknowledge", a.ID), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get("/alerts")
	require.Contains(t, html.UnescapeString(body), "is already Someone is on it")

	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "alert"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func TestAlertSettingsForms(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	res, body := admin.Get("/alerts/settings")
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, title := range []string{"Webhooks failing", "Queue lag per flow", "Freshness target missed", "Failed syncs burst", "System unavailable", "Shopify webhook subscription missing"} {
		require.Contains(t, body, title)
	}

	tests := []struct {
		name   string
		path   string
		form   url.Values
		status int
		text   string
	}{
		{"impossible failure rate", "/alerts/rules/webhook_failure_rate", url.Values{"enabled": {"1"}, "threshold": {"100"}, "window_minutes": {"15"}, "repeat_minutes": {"60"}},
			422, "at 100 nothing ever could"},
		{"repeat too often", "/alerts/rules/breaker_open", url.Values{"enabled": {"1"}, "window_minutes": {"1"}, "repeat_minutes": {"1"}}, 422, "from 5 to 10080"},
		{"a rule that does not exist", "/alerts/rules/moon_phase", url.Values{"window_minutes": {"1"}, "repeat_minutes": {"60"}}, 404, ""},
		{"good rule", "/alerts/rules/queue_lag", url.Values{"enabled": {"1"}, "threshold": {"20"}, "window_minutes": {"1"}, "repeat_minutes": {"30"}}, 303, ""},
		{"channel without address", "/alerts/channels", url.Values{"kind": {"slack"}, "name": {"Slack"}, "target": {"not a url"}}, 422, "starting with https://"},
		{"webhook without secret", "/alerts/channels", url.Values{"kind": {"webhook"}, "name": {"Pager"}, "target": {"https://pager.example/hook"}}, 422, "signing secret of at least 16"},
		{"smtp with a url as host", "/alerts/smtp", url.Values{"host": {"https://mail"}, "port": {"587"}, "from": {"a@b.c"}}, 422, "no port, no https://"},
		{"test e-mail without address", "/alerts/smtp/test", url.Values{"to": {""}}, 422, "Enter the e-mail address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := admin.PostFormBody(tc.path, tc.form)
			require.Equal(t, tc.status, res.StatusCode, body)
			require.Contains(t, html.UnescapeString(body), tc.text)
		})
	}
	rs, err := env.Store.AlertRules(t.Context())
	require.NoError(t, err)
	require.Equal(t, 20.0, rs[1].Threshold)
	require.Equal(t, 5.0, rs[0].Threshold, "the refused rule kept its value")

	// A channel that answers: the test button says it went through.
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(ok.Close)
	res = admin.PostForm("/alerts/channels", url.Values{"kind": {"slack"}, "name": {"Slack #ops"}, "target": {ok.URL}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	chans, err := env.Store.AlertChannels(t.Context())
	require.NoError(t, err)
	require.Len(t, chans, 1)
	res = admin.PostForm(fmt.Sprintf("/alerts/channels/%d/test", chans[0].ID), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get("/alerts/settings")
	require.Contains(t, body, "The test alert was accepted")

	// A mail server nobody listens on: the reason, in plain words.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	res = admin.PostForm("/alerts/smtp", url.Values{"host": {"127.0.0.1"}, "port": {strconv.Itoa(port)}, "from": {"crossdock@shop.test"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res = admin.PostForm("/alerts/smtp/test", url.Values{"to": {"ops@shop.test"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get("/alerts/settings")
	require.Contains(t, body, "The test e-mail was not sent: the mail server 127.0.0.1:"+strconv.Itoa(port)+" could not be reached (connection refused)")

	res = admin.PostForm(fmt.Sprintf("/alerts/channels/%d/delete", chans[0].ID), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "alert_channel"})
	require.NoError(t, err)
	require.Len(t, entries, 2, "added and removed")
}

func TestBrowserAlertsPage(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	// The first clears before the second fires: one open alert, one in the history.
	fireAlert(t, env, "orders", "Orders: 12 syncs failed in the last 10 minutes")
	fireAlert(t, env, "inventory", "Inventory: 3 syncs failed in the last 10 minutes")
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, "operator@shop.test")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/alerts"), chromedp.WaitVisible(chromedp.CSS(`#open-alerts`))))
	browsertest.Screenshot(t, ctx, "alerts")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#open-alerts form button`)), chromedp.WaitVisible(chromedp.CSS(`.banner-success`))))
	browsertest.Screenshot(t, ctx, "alerts-acknowledged")
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#open-alerts`)))
	require.NoError(t, err)
	require.Contains(t, text, "Acknowledged by Operator User")

	// An admin sets a rule; an impossible value is refused next to its field.
	admin := browsertest.Tab(t)
	signIn(t, admin, env, "admin@shop.test")
	require.NoError(t, chromedp.Do(admin, chromedp.Navigate(env.URL+"/alerts/settings"), chromedp.WaitVisible(chromedp.CSS(`#rule-webhook_failure_rate`)),
		chromedp.SetValue(chromedp.CSS(`#th-webhook_failure_rate`), "100"),
		chromedp.Click(chromedp.CSS(`#rule-webhook_failure_rate button`)),
		chromedp.WaitVisible(chromedp.CSS(`#th-webhook_failure_rate-error`))))
	browsertest.Screenshot(t, admin, "alert-settings-refused")
	msg, err := chromedp.Run(admin, chromedp.Text(chromedp.CSS(`#th-webhook_failure_rate-error`)))
	require.NoError(t, err)
	require.Contains(t, msg, "nothing ever could")
}
