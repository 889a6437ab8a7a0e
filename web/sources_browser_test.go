package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// An admin sets who decides stock levels the way a person does: from the
// family's card, through the labelled form, past a mistake, back to the card.
func TestBrowserAdminChoosesWhoDecidesStockLevels(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, "admin@shop.test")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/sources"),
		chromedp.WaitVisible(chromedp.CSS("#inventory")),
	))
	card, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#inventory")))
	require.NoError(t, err)
	require.Contains(t, card, "Nobody decides stock levels yet, so Crossdock does not sync them.")
	require.Contains(t, card, "No source yet")
	browsertest.Screenshot(t, ctx, "sources-empty")

	// Ticking the master as a receiver too is refused, next to the field.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#inventory a[href="/sources/inventory/edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`label[for="master"]`)),
		chromedp.SetValue(chromedp.CSS("#master"), fmt.Sprint(odoo.ID)),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#receivers-%d", shop.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#receivers-%d", odoo.ID))),
		chromedp.SetValue(chromedp.CSS("#sweep_minutes"), "1"),
		chromedp.SetValue(chromedp.CSS("#freshness_minutes"), "2"),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("fieldset .error")),
	))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("fieldset .error")))
	require.NoError(t, err)
	require.Contains(t, msg, "The system that decides stock levels cannot also receive them")
	browsertest.Screenshot(t, ctx, "source-edit")

	// The form kept the choices: untick Odoo, tick "edited by hand" in the store, save.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#receivers-%d", odoo.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#by_hand-%d", shop.ID))),
		chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	text := pageText(t, ctx)
	require.Contains(t, text, "Saved. Odoo decides stock levels; Main store is updated within 2 minutes.")
	card, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#inventory")))
	require.NoError(t, err)
	require.Contains(t, card, "People also edit stock levels by hand in Main store.")
	require.Contains(t, card, "Fix: Make those edits in Odoo instead")
	require.Contains(t, card, "Never more than 2 minutes out of date")
	browsertest.Screenshot(t, ctx, "sources")
}
