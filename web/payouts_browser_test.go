package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// Finance reconciles the demo's payouts: the dashboard shows the month,
// the payout whose deposit is 3 ‰ short says so; its difference, in money
// and per mille, is acknowledged with a note, then accepted with a reason,
// through the same workflow as every discrepancy.
func TestBrowserPayoutsReconcileShortDeposit(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	short := env.Server.DemoWorkspace().Payouts.Short
	require.NotZero(t, short.ID)
	tab := browsertest.Tab(t)
	signIn(t, tab, env, env.Users[vocab.RoleFinance].Email)

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/payouts"),
		chromedp.WaitVisible(chromedp.CSS("#payouts-list table")),
	))
	browsertest.ScreenshotWidths(t, tab, "payouts")
	require.NoError(t, chromedp.Do(tab, chromedp.ScrollIntoView(chromedp.CSS("#payouts-list"))))
	browsertest.ScreenshotWidths(t, tab, "payouts-list")
	require.NoError(t, chromedp.Do(tab, chromedp.ScrollIntoView(chromedp.CSS("#margins-orders"))))
	browsertest.ScreenshotWidths(t, tab, "payouts-margins")
	text := pageText(t, tab)
	require.Contains(t, text, "Matched to a deposit")
	require.Contains(t, text, "Differs")

	label := "Payout of " + short.IssuedAt.UTC().Format("2 Jan 2006")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.Search(`//a[text()="`+label+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#payout-differences table")),
	))
	browsertest.ScreenshotWidths(t, tab, "payout-short")
	text = pageText(t, tab)
	require.Contains(t, text, "Deposit differs from the payout")
	require.Contains(t, text, "(3.0 ‰)")

	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.Search(`//a[text()="Deposit differs from the payout"]`)),
		chromedp.WaitVisible(chromedp.CSS("#disc-actions")),
		chromedp.SendKeys(chromedp.CSS("#ack-note"), "Asked the bank about the missing 3 per mille"),
		chromedp.Click(chromedp.Search(`//button[text()="Acknowledge"]`)),
		chromedp.WaitVisible(chromedp.CSS("#disc-note")),
	))
	require.Contains(t, pageText(t, tab), "Asked the bank about the missing 3 per mille")
	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS("#ignore-note"), "Bank charge for the transfer, booked as a fee"),
		chromedp.Click(chromedp.Search(`//button[text()="Ignore this difference"]`)),
		chromedp.WaitNotPresent(chromedp.CSS("#disc-actions")),
	))
	browsertest.ScreenshotWidths(t, tab, "payout-short-accepted")
	text = pageText(t, tab)
	require.Contains(t, text, "Bank charge for the transfer, booked as a fee")
	require.NotContains(t, text, "Ignore this difference", "an accepted difference has no actions left")
}
