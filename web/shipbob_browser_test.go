package web_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// TestBrowserOrderToTrackingNumber follows one order of the demo workspace
// from the store to the warehouse and back: the order reaches the ShipBob
// twin, the warehouse ships it, its signed webhook comes back through the
// console's receiver, and the merchant finds the tracking number on the
// order's syncs — the same number the Shopify twin's fulfillment carries.
func TestBrowserOrderToTrackingNumber(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	ctx := t.Context()
	w := env.Server.DemoWorkspace()
	require.NotNil(t, w)

	// The demo's newest order is in the warehouse, under the Shopify order's id.
	orders := w.Shop.Orders()
	o := orders[len(orders)-1]
	sbo, ok := w.ShipBob.OrderByReference(o.GID())
	require.True(t, ok, "order %s reached the warehouse", o.Name)
	require.Len(t, sbo.Shipments, 1)

	// The warehouse ships it; its webhook comes back, signed, to the console.
	require.NoError(t, w.ShipBob.Ship(sbo.Shipments[0].ID, true))
	w.ShipBob.WaitDeliveries()
	for _, d := range w.ShipBob.Deliveries() {
		require.Equal(t, 200, d.Status, "the console took the webhook %s", d.ID)
	}
	_, err := env.Engine.RunScheduledOnce(ctx)
	require.NoError(t, err)
	shipped, _ := w.ShipBob.OrderByReference(o.GID())
	number := shipped.Shipments[0].TrackingNumber()
	require.NotEmpty(t, number)

	// The Shopify twin's order is fulfilled with that number.
	var fulfilled bool
	for _, so := range w.Shop.Orders() {
		if so.GID() == o.GID() {
			for _, f := range so.Fulfillments {
				fulfilled = fulfilled || f.Number == number
			}
		}
	}
	require.True(t, fulfilled, "Shopify has the fulfillment with tracking %s", number)

	// The merchant finds the order's syncs by its number and reads the tracking.
	tab := browsertest.Tab(t)
	signIn(t, tab, env, env.Users[vocab.RoleOperator].Email)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/syncs?q="+strings.TrimPrefix(o.Name, "#")),
		chromedp.WaitVisible(chromedp.CSS("main table")),
	))
	look(t, tab, "shipbob-01-order-syncs")
	list := pageText(t, tab)
	require.Contains(t, list, "Demo ShipBob warehouse", "the warehouse is named, not an id")
	require.NotContains(t, list, "gid://", "no raw ids on the list")

	require.Contains(t, list, fmt.Sprintf("was sent to Demo ShipBob warehouse as ShipBob order %d", sbo.ID))

	// The warehouse's order number leads to its shipments.
	require.NoError(t, chromedp.Do(tab,
		chromedp.SetValue(chromedp.CSS(`input[name="q"]`), strconv.FormatInt(sbo.ID, 10)),
		chromedp.Submit(chromedp.CSS(`input[name="q"]`)),
		chromedp.WaitVisible(chromedp.CSS("main table")),
	))
	look(t, tab, "shipbob-02-warehouse-order")
	list = pageText(t, tab)
	// The order's fulfillment sync, as the merchant clicks it on the list.
	href, err := chromedp.Run(tab, chromedp.Evaluate[string](`(() => {
		for (const tr of document.querySelectorAll('main table tbody tr')) {
			const a = tr.querySelector('a[href^="/syncs/"]');
			if (a && tr.textContent.includes('marked as shipped')) { return a.getAttribute('href'); }
		}
		return ''; })()`))
	require.NoError(t, err)
	require.NotEmpty(t, href, "the list shows the shipment's sync: %s", list)
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`main a[href="`+href+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	))
	look(t, tab, "shipbob-03-tracking")
	detail := pageText(t, tab)
	require.Contains(t, detail, "marked as shipped in Demo Shopify store with tracking "+number+" (USPS)")
	require.Contains(t, detail, "Shipments of order "+o.Name)
	// Its webhook, or the scheduled check that also looked: whichever came first sent it.
	require.True(t, strings.Contains(detail, "A change reported by ShipBob") || strings.Contains(detail, "The scheduled check"), detail)
	require.NotContains(t, detail, "reported by Shopify")
}
