package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
	"crossdock/web/browsertest"
)

// flowCard cuts one family's card out of a page.
func flowCard(t *testing.T, body, family string) string {
	t.Helper()
	i := strings.Index(body, `data-family="`+family+`"`)
	require.GreaterOrEqual(t, i, 0, "no card for %s", family)
	card := body[i:]
	if j := strings.Index(card[1:], `data-family="`); j >= 0 {
		card = card[:j+1]
	}
	return card
}

func TestOverviewFlows(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	st := e.env.Store
	a := store.SystemActor("test")
	_, err := st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Orders, Master: e.shop.ID, Receivers: []int64{e.odoo.ID},
		Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins})
	require.NoError(t, err)
	_, err = st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Inventory, Master: e.odoo.ID, Receivers: []int64{e.shop.ID},
		Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins})
	require.NoError(t, err)

	// Orders: three failures and no success: failing. Stock: two successes: healthy.
	var failed []store.NewSync
	for _, ref := range []string{"#1001", "#1002", "#1003"} {
		f := e.order(ref)
		f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassValidation, "Refused."
		failed = append(failed, f)
	}
	e.insert(t, failed...)
	for _, id := range e.insert(t, e.stock("SKU-1"), e.stock("SKU-2")) {
		s, err := st.BeginSyncAttempt(ctx, id)
		require.NoError(t, err)
		require.NoError(t, st.FinishSyncAttempt(ctx, store.SyncOutcome{ID: id, Attempt: s.Attempts, Status: vocab.SyncSucceeded}))
	}

	for _, role := range []vocab.Role{vocab.RoleOperator, vocab.RoleFinance} {
		c := e.env.SignIn(t, role)
		res, body := c.Get("/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, `id="flows"`)
		require.Contains(t, body, `hx-get="/overview/flows"`)

		orders := flowCard(t, body, "orders")
		require.Contains(t, orders, "Main store decides orders")
		require.Contains(t, orders, "Failing")
		require.NotContains(t, orders, "Healthy")
		// Operators are sent to the failed syncs; finance, who may not
		// open them, to the problems on the Syncs page.
		if role == vocab.RoleFinance {
			require.Contains(t, orders, "Every sync that ended in the last hour failed (3); nothing has succeeded yet. 3 failures are open in Syncs → Problems.")
			require.Contains(t, orders, `href="/syncs?family=orders&amp;problems=1"`)
		} else {
			require.Contains(t, orders, "Every sync that ended in the last hour failed (3); nothing has succeeded yet. 3 failures are open in Failed syncs.")
			require.Contains(t, orders, `href="/failed?family=orders"`)
		}
		require.Contains(t, orders, "3 attempts, 3 failed (100%)")
		require.Contains(t, orders, "None yet")
		require.Contains(t, orders, "Attempts, last 24 hours: 0 succeeded, 3 failed.")
		require.Contains(t, orders, "<title>")

		stock := flowCard(t, body, "inventory")
		require.Contains(t, stock, "Healthy")
		require.Contains(t, stock, "2 attempts, 0 failed (0%)")
		require.Contains(t, stock, "last change sent just now; target: within 2 minutes")
		require.Contains(t, stock, "nothing waiting")
		require.Contains(t, stock, "Attempts, last 24 hours: 2 succeeded, 0 failed.")

		require.Contains(t, body, "Nobody decides customers yet")
		require.NotContains(t, body, `data-family="customers"`)

		res, frag := c.Get("/overview/flows")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.True(t, strings.HasPrefix(strings.TrimSpace(frag), `<section id="flows"`), "only the fragment: %.200s", frag)
		require.NotContains(t, frag, "<html")
		require.Contains(t, flowCard(t, frag, "orders"), "Failing")
	}
}

func TestBrowserOverviewShowsFlowStates(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	st := e.env.Store
	a := store.SystemActor("test")
	_, err := st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Orders, Master: e.shop.ID, Receivers: []int64{e.odoo.ID},
		Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins})
	require.NoError(t, err)
	f := e.order("#2001")
	f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassUnmapped, "SKU-000001-BLK is not mapped to an Odoo product yet."
	e.insert(t, f)

	ctx2 := browsertest.Tab(t)
	signIn(t, ctx2, e.env, "operator@shop.test")
	require.NoError(t, chromedp.Do(ctx2, chromedp.WaitVisible(chromedp.CSS(`#flows [data-family="orders"]`))))
	browsertest.Screenshot(t, ctx2, "overview-flows")
	card, err := chromedp.Run(ctx2, chromedp.Text(chromedp.CSS(`#flows [data-family="orders"]`)))
	require.NoError(t, err)
	require.Contains(t, card, "Failing")
	require.Contains(t, card, "open in Failed syncs.")
}

func TestAdminPausesAndResumesAFlow(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	_, err := e.env.Store.SaveSourceRule(ctx, store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Orders, Master: e.shop.ID,
		Receivers: []int64{e.odoo.ID}, Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins})
	require.NoError(t, err)

	op := e.env.SignIn(t, vocab.RoleOperator)
	_, body := op.Get("/")
	require.NotContains(t, body, "Pause Orders", "operators do not pause flows")
	res := op.PostForm("/flows/orders/pause", url.Values{"reason": {"no"}})
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	admin := e.env.SignIn(t, vocab.RoleAdmin)
	_, body = admin.Get("/")
	require.Contains(t, body, "Pause Orders")
	res = admin.PostForm("/flows/orders/pause", url.Values{"reason": {"Odoo maintenance tonight"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get("/")
	card := flowCard(t, body, "orders")
	require.Contains(t, card, "Paused")
	require.Contains(t, card, "Paused by Ada Admin just now: Odoo maintenance tonight")
	require.Contains(t, card, "Resume Orders")
	pauses, err := e.env.Store.FlowPauses(ctx)
	require.NoError(t, err)
	require.Contains(t, pauses, "orders")

	res = admin.PostForm("/flows/orders/resume", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get("/")
	require.Contains(t, body, "The orders flow is resumed")
	require.NotContains(t, flowCard(t, body, "orders"), "Resume Orders")

	res = admin.PostForm("/flows/nonsense/pause", nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}
