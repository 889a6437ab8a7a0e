package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// An admin of the demo workspace pins its Shopify store to an API version
// Shopify no longer supports: the connection's page and the Connections list
// both say so, with what to do, before anything breaks. (2025-10 ended on
// 1 October 2026, so the words never depend on the day the test runs.)
func TestBrowserConnectionsWarnOfAnEndedAPIVersion(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	shop := mustConn(t, env, "Demo Shopify store")
	tab := browsertest.Tab(t)
	signIn(t, tab, env, "admin@shop.test")

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(fmt.Sprintf("%s/connections/%d", env.URL, shop)),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	))
	page, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.NotContains(t, page, "supporting the API version", "the demo uses Crossdock's own API version: nothing to warn of")

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(fmt.Sprintf("%s/connections/%d/edit", env.URL, shop)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="f_api_version"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="f_api_version"]`), "2025-10"),
		chromedp.Click(chromedp.CSS(`form[action="/connections/`+fmt.Sprint(shop)+`"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-critical")),
	))
	banner, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".banner-critical")))
	require.NoError(t, err)
	require.Contains(t, banner, "Shopify stopped supporting the API version this connection uses (2025-10) on 1 October 2026.")
	require.Contains(t, banner, "set the API version to 2026-04")
	browsertest.ScreenshotWidths(t, tab, "connection-api-version-ended")

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/connections"),
		chromedp.WaitVisible(chromedp.CSS(".banner-critical")),
	))
	listed, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".banner-critical")))
	require.NoError(t, err)
	require.Contains(t, listed, "Demo Shopify store")
	require.Contains(t, listed, "2025-10")
	browsertest.ScreenshotWidths(t, tab, "connections-api-version-ended")
}
