package web_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// TestBrowserShopifyQuickBooksDemo: an admin loads the Shopify + QuickBooks
// demo from the Overview, sees an order become a sales receipt, and finds
// the tax code mapping on Mappings, with the city tax left to map.
func TestBrowserShopifyQuickBooksDemo(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{DemoSeed: 60})
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, env.Users[vocab.RoleAdmin].Email)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#demo-shopify-quickbooks")),
	))
	require.Contains(t, pageText(t, ctx), "Load the Shopify + Odoo demo", "both demos are offered side by side")
	look(t, ctx, "qbdemo-01-overview")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#demo-shopify-quickbooks"))))
	waitForText(t, ctx, "a sandbox Shopify store and a sandbox QuickBooks Online company")
	text := pageText(t, ctx)
	require.Contains(t, text, "Demo QuickBooks")
	require.NotContains(t, text, "Demo Odoo", "no Odoo in this demo")
	require.Contains(t, text, "Map the tax that is not mapped", "what to try is about this demo")
	require.NotContains(t, text, "stock location")
	look(t, ctx, "qbdemo-02-loaded")

	// The engine carries the demo's orders: they become sales receipts.
	w := env.Server.DemoWorkspace()
	require.NotNil(t, w)
	var receipt map[string]any
	for round := 0; receipt == nil && round < 20; round++ {
		_, err := env.Engine.RunScheduledOnce(context.Background())
		require.NoError(t, err)
		if rs := w.Books.Records(quickbooks.EntitySalesReceipt); len(rs) > 0 {
			receipt = rs[0]
		}
	}
	require.NotNil(t, receipt, "an order of the demo is a sales receipt in the demo QuickBooks")
	doc, _ := receipt["DocNumber"].(string)
	require.NotEmpty(t, doc)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/syncs?q="+url.QueryEscape(doc)),
		chromedp.WaitVisible(chromedp.CSS("main")),
	))
	openSyncSaying(t, ctx, env, "as sales receipt "+doc)
	text = pageText(t, ctx)
	require.Contains(t, text, "Order #"+doc+" was created in Demo QuickBooks as sales receipt "+doc)
	look(t, ctx, "qbdemo-03-sync")

	// Mappings: the store's state tax is QuickBooks' CA Sales Tax.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/mappings?type=tax_code"),
		chromedp.WaitVisible(chromedp.CSS("main")),
	))
	waitForText(t, ctx, "CA Sales Tax")
	text = pageText(t, ctx)
	require.Contains(t, text, "CA State Tax 7.25%")
	look(t, ctx, "qbdemo-04-tax-mappings")

	// The city tax nobody mapped waits on the unmapped list, QuickBooks'
	// tax codes offered by name.
	conns, err := env.Store.ListConnections(context.Background())
	require.NoError(t, err)
	var shop, books int64
	for _, c := range conns {
		switch c.Kind {
		case vocab.KindShopify:
			shop = c.ID
		case vocab.KindQuickBooks:
			books = c.ID
		}
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/mappings/unmapped?type=tax_code&from="+strconv.FormatInt(shop, 10)+"&to="+strconv.FormatInt(books, 10)),
		chromedp.WaitVisible(chromedp.CSS("main")),
	))
	waitForText(t, ctx, "SF City Tax 1.25%")
	options, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("select[name=match] option")].map(o => o.textContent.trim())`))
	require.NoError(t, err)
	require.Contains(t, strings.Join(options, "|"), "CA Sales Tax")
	require.Contains(t, strings.Join(options, "|"), "NON")
	look(t, ctx, "qbdemo-05-unmapped-tax")
}
