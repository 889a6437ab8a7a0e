package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/web/browsertest"
)

// An operator opens a discrepancy from the list, acknowledges it with a note
// and sends Odoo's value; the page says what happened.
func TestBrowserReconciliationAcknowledgeAndSend(t *testing.T) {
	t.Parallel()
	e := reconSetup(t)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, e.env, "operator@shop.test")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.env.URL+"/reconciliation"),
		chromedp.WaitVisible(chromedp.CSS("#recon-inventory")),
	))
	browsertest.Screenshot(t, ctx, "reconciliation")
	require.Contains(t, pageText(t, ctx), "Compare stock levels now")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/reconciliation/runs/%d", e.env.URL, e.run)),
		chromedp.WaitVisible(chromedp.CSS(".trend-chart")),
	))
	browsertest.Screenshot(t, ctx, "reconciliation-run")

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
	browsertest.Screenshot(t, ctx, "discrepancy")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//button[text()="Send 12 to Main store"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "is on its way as sync")]`)),
	))
	text := pageText(t, ctx)
	require.Contains(t, text, "Resolved")
	require.NotContains(t, text, "Ignore this difference", "a resolved discrepancy has no actions left")
}
