package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// TestBrowserQuickBooksDemo: an admin loads the demo with QuickBooks,
// connects the demo QuickBooks company by signing in, and watches an order
// become a sales receipt, its number shown on the sync.
func TestBrowserQuickBooksDemo(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{DemoSeed: 60})
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, env.Users[vocab.RoleAdmin].Email)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#demo-quickbooks")),
	))
	look(t, ctx, "qb-01-overview")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#demo-quickbooks")),
		chromedp.WaitVisible(chromedp.CSS("#sign-in")),
	))
	text := pageText(t, ctx)
	require.Contains(t, text, "Demo QuickBooks")
	require.Contains(t, text, "Not connected yet")
	look(t, ctx, "qb-02-not-connected")

	// Connect: through the twin's sign-in page and back.
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#reconnect-by")),
	)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("signing in: %v; at %s: %s", err, loc, pageText(t, ctx))
	}
	text = pageText(t, ctx)
	require.Contains(t, text, "Connected Demo QuickBooks to QuickBooks company")
	require.Contains(t, text, "Reconnect needed by")
	require.NotContains(t, text, "Not connected yet")
	look(t, ctx, "qb-03-connected")

	// Test connection names the company.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[hx-post$="/test"]`)),
		chromedp.WaitVisible(chromedp.CSS("#check-result table")),
	))
	text = pageText(t, ctx)
	require.Contains(t, text, "Crossdock Demo Company")
	require.Contains(t, text, "Inventory tracking")
	look(t, ctx, "qb-04-tested")

	// A shopper orders; the engine carries it.
	w := env.Server.DemoWorkspace()
	require.NotNil(t, w)
	var shopConn store.Connection
	conns, err := env.Store.ListConnections(context.Background())
	require.NoError(t, err)
	for _, c := range conns {
		if c.Kind == vocab.KindShopify {
			shopConn = c
		}
	}
	var line shopsandbox.NewLine
	for _, v := range w.Shop.Variants() {
		if _, ok := w.Books.ItemBySKU(v.SKU); ok {
			line = shopsandbox.NewLine{VariantID: v.GID(), Quantity: 2}
			break
		}
	}
	require.NotEmpty(t, line.VariantID)
	o, err := w.Shop.AddOrder(shopsandbox.NewOrder{Lines: []shopsandbox.NewLine{line}})
	require.NoError(t, err)
	payload, err := w.Shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)
	_, _, err = env.Store.InsertWebhookEvent(context.Background(), store.NewWebhookEvent{ConnectionID: shopConn.ID, WebhookID: "qb-browser-1",
		EventID: "qb-browser-1", Topic: "orders/create", ShopDomain: w.Config.ShopDomain, APIVersion: "2026-04", Payload: payload})
	require.NoError(t, err)
	_, err = env.Engine.RunScheduledOnce(context.Background())
	require.NoError(t, err)

	var receipt map[string]any
	doc := strings.TrimPrefix(o.Name, "#")
	for _, r := range w.Books.Records(quickbooks.EntitySalesReceipt) {
		if r["DocNumber"] == doc {
			receipt = r
		}
	}
	if receipt == nil {
		ss, _, _ := env.Store.ListSyncs(context.Background(), store.SyncFilter{Search: doc, Limit: 20})
		for _, s := range ss {
			t.Logf("sync %d %s %s %s", s.ID, s.Flow, s.Status, s.Message)
		}
		for _, c := range w.Books.Records("Customer") {
			t.Logf("customer %v %v %v %v", c["Id"], c["DisplayName"], c["Active"], c["PrimaryEmailAddr"])
		}
		for _, wr := range w.Books.Writes() {
			t.Logf("write %+v", wr)
		}
	}
	require.NotNil(t, receipt, "the order is a sales receipt in the demo QuickBooks")

	// The person finds it on Syncs by its order number, and sees the receipt's number.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/syncs?q="+strings.TrimPrefix(o.Name, "#")),
		chromedp.WaitVisible(chromedp.CSS("main")),
	))
	look(t, ctx, "qb-05-syncs")
	openSyncSaying(t, ctx, env, "as sales receipt "+doc)
	text = pageText(t, ctx)
	require.Contains(t, text, "Order "+o.Name+" was created in Demo QuickBooks as sales receipt "+doc)
	require.NotContains(t, text, "gid://shopify/Order", "no raw ids outside the technical detail")
	look(t, ctx, "qb-06-sync")
}

// openSyncSaying opens, among the syncs the Syncs page lists, the one whose
// page says text, as a person clicks through them.
func openSyncSaying(t *testing.T, ctx context.Context, env *webtest.Env, text string) {
	t.Helper()
	hrefs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('a[href^="/syncs/"]')].map(a => a.getAttribute("href")).filter(h => /^\/syncs\/\d+(\?|$)/.test(h))`))
	require.NoError(t, err)
	for _, h := range hrefs {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+h), chromedp.WaitVisible(chromedp.CSS("main"))))
		if strings.Contains(pageText(t, ctx), text) {
			return
		}
	}
	t.Fatalf("no sync page says %q; links: %v", text, hrefs)
}
