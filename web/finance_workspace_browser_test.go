package web_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// reviewVisible says whether the first row's review action is inside the
// review table's visible box (not scrolled away to the right, not cut off).
const reviewVisible = `(() => {
  const s = document.querySelector('#finance-rows tbody tr summary');
  const wrap = document.querySelector('#finance-rows');
  if (!s || !wrap) return false;
  const a = s.getBoundingClientRect(), b = wrap.getBoundingClientRect();
  return a.width > 0 && a.left >= b.left && a.right <= b.right && a.right <= window.innerWidth;
})()`

// Finance on the demo workspace, on its own: starts a comparison, reviews a
// variant sold at a loss, sends it to an operator, who answers it; back as
// finance the answer is on the row, and the month is exported.
func TestBrowserFinanceWorkspace(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	db := env.Store.DB

	// Someone lowered the store's price of a variant already sold at a
	// loss, by hand in Shopify: its next comparison shows a bigger loss and
	// a price that differs from Odoo's.
	var loss struct {
		SKU   string  `db:"sku"`
		Ref   string  `db:"variant_ref"`
		Price float64 `db:"price"`
	}
	require.NoError(t, db.Get(&loss, `SELECT r.sku, p.variant_ref, p.price::float8 AS price FROM finance_rows r
JOIN recon_prices p ON p.run_id = r.run_id AND p.variant_id = r.variant_id
JOIN connections c ON c.id = p.connection_id AND c.kind = 'shopify'
WHERE r.margin < 0 ORDER BY r.variant_id LIMIT 1`))
	require.NoError(t, env.Server.DemoWorkspace().Shop.SetPriceDirect(loss.Ref, strconv.FormatFloat(loss.Price*0.9, 'f', 2, 64)))

	fin := browsertest.Tab(t)
	require.NoError(t, chromedp.Do(fin, chromedp.EmulateViewport(1280, 900))) // a laptop
	signIn(t, fin, env, env.Users[vocab.RoleFinance].Email)
	require.NoError(t, chromedp.Do(fin,
		chromedp.Navigate(env.URL+"/finance"),
		chromedp.WaitVisible(chromedp.CSS("#finance-rows table")),
		chromedp.Click(chromedp.Search(`//button[text()="Compare prices and costs now"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "waiting to start")]`)),
	))
	// The engine's worker, as it runs in the background of a real console.
	_, err := env.Engine.RunScheduledOnce(context.Background())
	require.NoError(t, err)

	// The loss-making variants, most money at stake first.
	require.NoError(t, chromedp.Do(fin,
		chromedp.Navigate(env.URL+"/finance?flag=negative&review=none&sort=stake"),
		chromedp.WaitVisible(chromedp.CSS("#finance-compared")),
	))
	text := pageText(t, fin)
	require.Contains(t, text, "just now")
	require.NotContains(t, text, "waiting to start")
	for _, width := range []int64{1280, 1366} {
		require.NoError(t, chromedp.Do(fin, chromedp.EmulateViewport(width, 900)))
		ok, err := chromedp.Run(fin, chromedp.Evaluate[bool](reviewVisible))
		require.NoError(t, err)
		require.True(t, ok, "the review action is visible at %d px", width)
	}
	require.NoError(t, chromedp.Do(fin, chromedp.ScrollIntoView(chromedp.CSS("#finance-rows"))))
	browsertest.Screenshot(t, fin, "finance-workspace-review-1366")
	shotRows(t, fin, "finance-workspace-review-rows")
	browsertest.ScreenshotWidths(t, fin, "finance-workspace-review")

	opUser := env.Users[vocab.RoleOperator]
	var variant int64
	require.NoError(t, db.Get(&variant, `SELECT variant_id FROM finance_rows WHERE sku = $1 ORDER BY run_id DESC LIMIT 1`, loss.SKU))
	id := strconv.FormatInt(variant, 10)
	require.NoError(t, chromedp.Do(fin,
		chromedp.Click(chromedp.Search(`//summary[@aria-label="Review `+loss.SKU+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#note-"+id)),
		chromedp.SendKeys(chromedp.CSS("#note-"+id), "Odoo has the right price"),
		chromedp.SetValue(chromedp.CSS("#assignee-"+id), strconv.FormatInt(opUser.ID, 10)),
	))
	shotRows(t, fin, "finance-workspace-review-open")
	require.NoError(t, chromedp.Do(fin,
		chromedp.Click(chromedp.Search(`//form[@action="/finance/variants/`+id+`/acknowledge"]//button[text()="Send to operators as a price fix"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "now carries your request")]`)),
	))

	// The operator: a badge in the navigation, the filter, the request.
	op := browsertest.Tab(t)
	require.NoError(t, chromedp.Do(op, chromedp.EmulateViewport(1280, 900))) // a laptop
	signIn(t, op, env, opUser.Email)
	var disc int64
	require.NoError(t, db.Get(&disc, `SELECT discrepancy_id FROM finance_reviews WHERE variant_id = $1`, variant))
	require.NoError(t, chromedp.Do(op,
		chromedp.WaitVisible(chromedp.CSS("[data-sent-to-operators]")),
		chromedp.Navigate(env.URL+"/reconciliation/discrepancies?sent=operators"),
		chromedp.WaitVisible(chromedp.CSS("#discrepancies table")),
	))
	list := pageText(t, op)
	require.Contains(t, list, loss.SKU)
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(`#discrepancies table a[href="/reconciliation/discrepancies/`+strconv.FormatInt(disc, 10)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#finance-request")),
	))
	require.Contains(t, pageText(t, op), "Their note: Odoo has the right price")
	browsertest.ScreenshotWidths(t, op, "finance-workspace-operator")
	// The operator sends Odoo's price to the store, then answers finance.
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.Search(`//div[@id="disc-actions"]//button[starts-with(text(), "Send ")]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "is on its way as sync")]`)),
		chromedp.WaitVisible(chromedp.CSS("#answer-note")),
		chromedp.SendKeys(chromedp.CSS("#answer-note"), "Odoo's price is on the store now"),
		chromedp.Click(chromedp.Search(`//button[text()="Done: the price is fixed"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "Finance is told the price is fixed")]`)),
	))

	// Back as finance: the answer on the row; the price fixed since.
	require.NoError(t, chromedp.Do(fin,
		chromedp.Navigate(env.URL+"/finance?review=sent"),
		chromedp.WaitVisible(chromedp.CSS(".finance-outcome")),
	))
	text = pageText(t, fin)
	require.Regexp(t, `Done\s+`+opUser.Name+`: Odoo's price is on the store now`, text)
	require.Contains(t, text, "Price now fixed")
	require.Regexp(t, `Fixed since the comparison, .*: Odoo's price was sent to the storefront by sync #\d+\.`, text)
	shotRows(t, fin, "finance-workspace-answered")

	// The month: printable, and its decisions as CSV.
	require.NoError(t, chromedp.Do(fin,
		chromedp.Navigate(env.URL+"/finance/summary"),
		chromedp.WaitVisible(chromedp.CSS("#summary-decisions")),
	))
	text = pageText(t, fin)
	require.Contains(t, text, "Sent to the operators as a price fix")
	require.Contains(t, text, "Price fix done (operators)")
	browsertest.ScreenshotWidths(t, fin, "finance-workspace-summary")
	href, err := chromedp.Run(fin, chromedp.Evaluate[string](`document.querySelector('a[download][href^="/finance/summary.csv"]').getAttribute('href')`))
	require.NoError(t, err)
	csv, err := chromedp.Run(fin, chromedp.Evaluate[string](`fetch(`+strconv.Quote(href)+`).then(r => r.text())`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Contains(t, csv, loss.SKU)
	require.Contains(t, csv, "Odoo has the right price")
	require.Contains(t, csv, "Odoo's price is on the store now")
}

// shotRows saves the review's rows as a person sees them on a phone and a
// laptop (when CROSSDOCK_SCREENSHOTS names a folder).
func shotRows(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range []int64{390, 1280} {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(w, 900), chromedp.ScrollIntoView(chromedp.CSS("#finance-rows"))))
		browsertest.Screenshot(t, ctx, name+"-"+strconv.FormatInt(w, 10))
	}
}
