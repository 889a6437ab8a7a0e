package web_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// The demo's warehouse (ShipBob, one fulfilment centre mapped to the
// store's main location) counts a few variants differently from the store:
// the Reconciliation page's "Stock at the warehouse" lists them by
// product, centre and Shopify location, the CSV export carries them, and
// the margin per order shows what the warehouse billed for shipping, or
// "not billed yet".
func TestBrowserWarehouseStockAndShipping(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	tab := browsertest.Tab(t)
	signIn(t, tab, env, env.Users[vocab.RoleAdmin].Email)

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/reconciliation"),
		chromedp.WaitVisible(chromedp.CSS("main")),
	))
	waitForText(t, tab, "Stock at the warehouse")
	browsertest.ScreenshotWidths(t, tab, "reconciliation-warehouse-stock")

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/reconciliation/discrepancies?family=warehouse_stock"),
		chromedp.WaitVisible(chromedp.CSS("main table")),
	))
	waitForText(t, tab, "Stock at the warehouse differs")
	browsertest.ScreenshotWidths(t, tab, "warehouse-stock-differences")
	text := pageText(t, tab)
	main := env.Server.DemoWorkspace().Shop.Locations()[0].Name
	require.Contains(t, text, " at Cicero (IL) ("+main+" in Shopify)", "named by the centre and the Shopify location")
	require.NotContains(t, text, "gid://", "no ids where names are known")

	c := env.SignIn(t, vocab.RoleAdmin)
	res, body := c.Get("/reconciliation/discrepancies.csv?family=warehouse_stock")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Stock at the warehouse differs")
	require.Contains(t, body, "Cicero (IL)")

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/payouts"),
		chromedp.WaitVisible(chromedp.CSS("#margins-orders table")),
		chromedp.ScrollIntoView(chromedp.CSS("#margins-orders")),
	))
	browsertest.ScreenshotWidths(t, tab, "margins-warehouse-shipping", "#margins-orders")
	text = pageText(t, tab)
	require.Contains(t, text, "Warehouse shipping")
	require.Contains(t, text, "not billed yet")
	require.Regexp(t, `Warehouse shipping[\s\S]*\d+\.\d\d USD`, text)

	// Each variant carries its share of its orders' warehouse shipping.
	require.NoError(t, chromedp.Do(tab, chromedp.ScrollIntoView(chromedp.CSS("#margins-variants"))))
	browsertest.ScreenshotWidths(t, tab, "margins-variants-warehouse", "#margins-variants")
	variants, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('#margins-variants').innerText`))
	require.NoError(t, err)
	require.Contains(t, variants, "warehouse shipping are shared among its lines")
	require.Regexp(t, `Warehouse shipping`, variants)
}
