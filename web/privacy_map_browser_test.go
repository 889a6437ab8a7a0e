package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// TestBrowserPrivacyMap opens the personal data map from the Privacy page
// on the demo workspace, as an admin.
func TestBrowserPrivacyMap(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	tab := browsertest.Tab(t)
	signIn(t, tab, env, env.Users[vocab.RoleAdmin].Email)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(env.URL+"/privacy"), chromedp.WaitVisible(chromedp.CSS("#privacy-map-link")),
		chromedp.Click(chromedp.CSS("#privacy-map-link")), chromedp.WaitVisible(chromedp.CSS("#privacy-map table"))))
	text := pageText(t, tab)
	require.Contains(t, text, "Personal data map")
	require.Contains(t, text, "from Demo Shopify store to Demo Odoo")
	require.Contains(t, text, "name, email, phone and address")
	browsertest.ScreenshotWidths(t, tab, "privacy-map")
}
