package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// The Overview of the demo workspace, as an admin sees it after loading it:
// the "what to try" list, the open failures as Failed syncs counts them, the
// connections' health and the flows; then the list is hidden.
func TestBrowserOverviewOnTheDemoWorkspace(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	tab := browsertest.Tab(t)
	signIn(t, tab, env, "admin@shop.test")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/"),
		chromedp.Click(chromedp.CSS(`form[action="/demo"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))

	// Some deliberate problems on the demo systems (which come with their
	// sources): failures of stock and of orders (some resolved).
	ctx := t.Context()
	st := env.Store
	shop, odoo := mustConn(t, env, "Demo Shopify store"), mustConn(t, env, "Demo Odoo")
	e := syncsEnv{env: env, shop: store.Connection{ID: shop}, odoo: store.Connection{ID: odoo}}
	var ns []store.NewSync
	for i := range 1204 {
		f := e.stock(fmt.Sprintf("SKU-%06d-WHT", i))
		f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassUnmapped, "Not mapped yet — Map it on the Mappings page."
		ns = append(ns, f)
	}
	for i := range 3 {
		f := e.order(fmt.Sprintf("#D%d", 1001+i))
		f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassValidation, "Odoo refused the order."
		ns = append(ns, f)
	}
	var ok []store.NewSync
	for i := range 900 {
		ok = append(ok, e.stock(fmt.Sprintf("SKU-OK-%06d", i)))
	}
	e.insert(t, ns...)
	e.succeed(t, e.insert(t, ok...))
	// Loading the demo read both catalogues through the engine: real calls,
	// written to the connections when the engine flushes them (every 10 s
	// when it runs; here the test flushes).
	require.NoError(t, env.Engine.FlushConnectionHealth(ctx))
	for _, id := range []int64{shop, odoo} {
		calls, err := st.ConnectionCallStats(ctx, id, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.Positive(t, calls.OK)
		t.Logf("connection %d: %d calls while loading the demo, written by one flush", id, calls.OK)
	}

	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#try-list")),
		chromedp.WaitVisible(chromedp.CSS(`#flows [data-family="inventory"]`)),
	))
	browsertest.ScreenshotWidths(t, tab, "overview-demo")
	// Further down, at both widths: the connections' health and the flows.
	for _, w := range []struct {
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{{390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile}}, {1280, 900, nil}} {
		require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(w.width, w.height, w.opts...),
			chromedp.ScrollIntoView(chromedp.CSS("[data-connection] .connection-health"))))
		browsertest.Screenshot(t, tab, fmt.Sprintf("overview-demo-connections-%d", w.width))
		require.NoError(t, chromedp.Do(tab, chromedp.ScrollIntoView(chromedp.CSS(`#flows [data-family="inventory"]`))))
		browsertest.Screenshot(t, tab, fmt.Sprintf("overview-demo-flows-%d", w.width))
	}
	text := pageText(t, tab)
	require.Contains(t, text, "What to try in the demo workspace")
	require.Contains(t, text, "Map the stock location that is not mapped")
	require.Contains(t, text, "Open failed syncs")
	require.Contains(t, text, "1,207")
	require.Contains(t, text, "Working — last answered just now")
	require.NotContains(t, text, "Not used yet")
	require.Contains(t, text, "Set CROSSDOCK_BASE_URL")
	inv, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`#flows [data-family="inventory"]`)))
	require.NoError(t, err)
	require.Contains(t, inv, "Failing")
	require.Contains(t, inv, "2,104 attempts, 1,204 failed (57%)")
	require.NotContains(t, inv, "Healthy")

	// The open failures link leads to Failed syncs, which counts the same.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`#open-failures a`)),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
	))
	text = pageText(t, tab)
	require.Contains(t, text, "More than 1,000 failures match", "Failed syncs counts up to 1,000 on a page: the Overview says 1,207")

	// Hiding the steps: they go at once, and stay gone.
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#try-list")),
		chromedp.Click(chromedp.CSS(`#try-list button`)),
		chromedp.WaitNotPresent(chromedp.CSS("#try-list")),
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#open-failures")),
	))
	require.NotContains(t, pageText(t, tab), "What to try in the demo workspace")
	browsertest.ScreenshotWidths(t, tab, "overview-demo-dismissed")
}
