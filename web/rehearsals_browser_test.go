package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// An admin starts a short rehearsal from the page and reads its report.
func TestBrowserAdminRehearsesAPeak(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	startEngine(t, env)
	prepareRehearsal(t, env, env.SignIn(t, vocab.RoleAdmin))

	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, "admin@shop.test")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/rehearsals"),
		chromedp.WaitVisible(chromedp.CSS("#new-rehearsal")),
		chromedp.SetValue(chromedp.CSS("#orders_per_min"), "240"),
		chromedp.SetValue(chromedp.CSS("#minutes"), "0.1"),
		chromedp.SetValue(chromedp.CSS("#updates_per_order"), "2"),
		chromedp.Click(chromedp.CSS(`#new-rehearsal button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#verdict")),
	))
	rs, err := env.Store.ListRehearsals(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	require.Eventually(t, func() bool {
		r, err := env.Store.Rehearsal(t.Context(), rs[0].ID)
		return err == nil && r.Done()
	}, 15*time.Minute, 200*time.Millisecond) // a bound on a hang, not a speed check
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/rehearsals/%d", env.URL, rs[0].ID)),
		chromedp.WaitVisible(chromedp.CSS("#figures-h")),
	))
	browsertest.Screenshot(t, ctx, "rehearsal-report")
	verdict, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#verdict")))
	require.NoError(t, err)
	require.Contains(t, verdict, "240 orders a minute")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/rehearsals"), chromedp.WaitVisible(chromedp.CSS("#past-rehearsals"))))
	browsertest.Screenshot(t, ctx, "rehearsals")
	summary, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#rehearsals-summary")))
	require.NoError(t, err)
	require.Contains(t, summary, "240 orders a minute", "the kept reports read together name the load rehearsed")
}
