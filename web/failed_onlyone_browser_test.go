package web_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
)

// A demo-like workspace: Odoo decides prices and stock, and products that
// exist only in Odoo fail for both, next to a few failures of other causes.
// The operator takes the stock cause of the Odoo-only products, ticks the
// page, excludes everything matching after the confirmation, finds the
// records on Excluded records and includes one again.
func TestBrowserFailedOnlyInOneSystemExcluded(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	const products = 60
	e.onlyInOneMany(t, "prices", 1, products)
	e.onlyInOneMany(t, "inventory", 1, products)
	e.insert(t,
		e.failure("#1001", vocab.ClassUnmapped, "#1001 cannot be sent to Odoo: SKU-RED is not mapped to an Odoo product yet.", "#1001", "sku-red"),
		e.failure("#1002", vocab.ClassValidation, "Odoo refused the change: customer 41 has no country.", "#1002"))

	ctx := browsertest.Tab(t)
	signIn(t, ctx, e.env, e.env.Users[vocab.RoleOperator].Email)
	stockCause := `#failed-groups tbody tr:has(a[href*="class=only_in_one"][href*="family=inventory"])`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS(stockCause)),
	))
	browsertest.ScreenshotWidths(t, ctx, "onlyone-1-failed-causes")
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(stockCause)))
	require.NoError(t, err)
	require.Contains(t, row, "60 syncs of inventory from Odoo to Main store failed because the records exist in only one system: Odoo, not Main store (60 SKUs)")
	require.Contains(t, row, "does not exist in Main store")
	require.Contains(t, row, "Exclude all 60 from syncing")

	// The cause's failures: the header box ticks the whole page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(stockCause+` td:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS("#tick-all")),
		chromedp.Click(chromedp.CSS("#tick-all")),
	))
	ticked, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#failed-list input[name=id]:checked").length`))
	require.NoError(t, err)
	require.Equal(t, 50, ticked, "every failure of the page (50 a page)")
	said, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#ticked-count")))
	require.NoError(t, err)
	require.Equal(t, "50 ticked", said)
	browsertest.ScreenshotWidths(t, ctx, "onlyone-2-cause-ticked")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#tick-all"))))
	ticked, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#failed-list input[name=id]:checked").length`))
	require.NoError(t, err)
	require.Zero(t, ticked)

	// Everything matching: the confirmation counts all 60, not the page's 50.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#exclude-all")),
		chromedp.WaitVisible(chromedp.CSS("#act-submit")),
	))
	browsertest.ScreenshotWidths(t, ctx, "onlyone-3-confirm-exclude")
	head, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	require.NoError(t, err)
	require.Equal(t, "Exclude the records of all 60 matching failures from syncing?", head)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#act-note"), "These products are sold in Odoo only."),
		chromedp.Click(chromedp.CSS("#act-submit")),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	browsertest.ScreenshotWidths(t, ctx, "onlyone-4-excluded-toast")
	text := pageText(t, ctx)
	require.Contains(t, text, "60 records excluded from syncing; 60 failures closed.")
	require.Contains(t, text, "No failures match")

	// Gone from the causes; the prices cause of the same products is its own.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS("#failed-groups")),
	))
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+stockCause+`').length`))
	require.NoError(t, err)
	require.Zero(t, n, "the stock cause is gone")
	require.Contains(t, pageText(t, ctx), "60 syncs of prices from Odoo to Main store failed because the records exist in only one system")

	// Listed on Excluded records, reachable from Failed syncs.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#excluded-link")),
		chromedp.WaitVisible(chromedp.CSS("#exclusions table")),
	))
	browsertest.ScreenshotWidths(t, ctx, "onlyone-5-excluded-records")
	text = pageText(t, ctx)
	require.Contains(t, text, "60 records are excluded from syncing.")
	require.Contains(t, text, "Linen shirt 1, white")
	require.Contains(t, text, "These products are sold in Odoo only.")
	require.Contains(t, text, "Operator User")

	// Reversible: include one again.
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#exclusions tbody tr:first-child strong`)))
	require.NoError(t, err)
	require.Regexp(t, `^Linen shirt \d+, white$`, first)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#exclusions tbody tr:first-child button`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	browsertest.ScreenshotWidths(t, ctx, "onlyone-6-included-again")
	text = pageText(t, ctx)
	require.Contains(t, text, "is synced again")
	require.Contains(t, text, "59 records are excluded from syncing.")
	require.Contains(t, text, first+" (Odoo) is synced again for inventory")
	same, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("#exclusions tbody strong")].filter(s => s.textContent === `+strconv.Quote(first)+`).length`))
	require.NoError(t, err)
	require.Zero(t, same, "no longer listed")
	var active int
	require.NoError(t, e.env.Store.DB.GetContext(t.Context(), &active, `SELECT count(*) FROM exclusions WHERE included_at IS NULL`))
	require.Equal(t, products-1, active)
}
