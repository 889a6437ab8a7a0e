package web_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
	"crossdock/web/browsertest"
)

func TestOverviewChartsOverSevenDays(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	st := e.env.Store
	_, err := st.SaveSourceRule(ctx, store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Orders, Master: e.shop.ID,
		Receivers: []int64{e.odoo.ID}, Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins})
	require.NoError(t, err)
	old := e.order("#3001")
	old.Status, old.ErrorClass, old.Message = vocab.SyncFailed, vocab.ClassValidation, "Refused."
	e.insert(t, old, e.order("#3002"))
	_, err = st.DB.ExecContext(ctx, `UPDATE syncs SET created_at = now() - interval '3 days', updated_at = now() - interval '3 days'`)
	require.NoError(t, err)

	c := e.env.SignIn(t, vocab.RoleOperator)
	_, body := c.Get("/")
	orders := flowCard(t, body, "orders")
	require.Contains(t, orders, "Attempts, last 24 hours: 0 succeeded, 0 failed.")

	res, body := c.Get("/?range=7d")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, `hx-get="/overview/flows?range=7d"`, "the refresh keeps the period")
	orders = flowCard(t, body, "orders")
	require.Contains(t, orders, "Attempts, last 7 days: 0 succeeded, 1 failed.")
	require.Contains(t, orders, `viewBox="0 0 280 52"`)
	require.Contains(t, orders, "7 days ago")

	_, frag := c.Get("/overview/flows?range=7d")
	require.Contains(t, flowCard(t, frag, "orders"), "Attempts, last 7 days: 0 succeeded, 1 failed.")
	// An unknown period falls back to the last 24 hours.
	_, frag = c.Get("/overview/flows?range=forever")
	require.Contains(t, flowCard(t, frag, "orders"), "Attempts, last 24 hours")
}

func TestBrowserOverviewSevenDays(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	_, err := e.env.Store.SaveSourceRule(ctx, store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Orders, Master: e.shop.ID,
		Receivers: []int64{e.odoo.ID}, Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins})
	require.NoError(t, err)
	f := e.order("#4001")
	f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassUnmapped, "Not mapped."
	e.insert(t, f, e.order("#4002"))
	tab := browsertest.Tab(t)
	signIn(t, tab, e.env, "operator@shop.test")
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`.range a[href="/?range=7d"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.range a[aria-current="true"][href="/?range=7d"]`))))
	browsertest.Screenshot(t, tab, "overview-7-days")
	text, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`#flows [data-family="orders"]`)))
	require.NoError(t, err)
	require.Contains(t, text, "Attempts, last 7 days")
	require.Contains(t, text, "Failing")
}
