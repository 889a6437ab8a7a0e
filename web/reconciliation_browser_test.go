package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/web/browsertest"
)

// An operator opens a discrepancy from the list, acknowledges it with a note
// and sends Odoo's value; the page says what happened. (The overview and run
// pages are checked over HTTP in reconciliation_test.go.)
func TestBrowserReconciliationAcknowledgeAndSend(t *testing.T) {
	t.Parallel()
	e := reconSetup(t)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, e.env, "operator@shop.test")

	// One page load less per step: the tab has a minute in all, on a shared machine.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.env.URL+"/reconciliation/discrepancies"),
		chromedp.WaitVisible(chromedp.CSS("#discrepancies table")),
	))
	browsertest.Screenshot(t, ctx, "discrepancies")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[text()="CHAIR-RED at WH/Stock"]`)),
		chromedp.WaitVisible(chromedp.CSS("#disc-actions")),
		chromedp.SendKeys(chromedp.CSS("#ack-note"), "Counting on Monday"),
		chromedp.Click(chromedp.Search(`//button[text()="Acknowledge"]`)),
		chromedp.WaitVisible(chromedp.CSS("#disc-note")),
	))
	require.Contains(t, pageText(t, ctx), "Counting on Monday")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[text()="Send 12 to Main store"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "is on its way as sync")]`)),
	))
	text := pageText(t, ctx)
	require.Contains(t, text, "Resolved")
	require.NotContains(t, text, "Ignore this difference", "a resolved discrepancy has no actions left")
}
