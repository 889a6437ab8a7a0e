package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
)

// The month-end summary: totals, review states and the flagged variants
// only.
func TestFinanceSummary(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	fin := env.SignIn(t, vocab.RoleFinance)
	fin.PostForm("/finance/variants/3/accept", url.Values{"note": {"clearance sale"}})

	res, body := fin.Get("/finance/summary")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Finance summary, ")
	require.Contains(t, body, "Variants reviewed</dt><dd>4</dd>")
	// DIFF-2 (price differs), LOSS-3 (loss), NOCOST-4 (no cost); GOOD-1 is fine.
	require.Contains(t, body, "Flagged</dt><dd>3</dd>")
	require.Contains(t, body, "Accepted with a reason</dt><dd>1</dd>")
	require.Contains(t, body, "Not reviewed</dt><dd>2</dd>")
	for _, sku := range []string{"DIFF-2", "LOSS-3", "NOCOST-4"} {
		require.Contains(t, body, sku)
	}
	require.NotContains(t, body, "GOOD-1")
	require.Contains(t, body, "Accepted: clearance sale")
}

// Finance accepts a price with its reason in the browser, then prints the
// summary: on paper there is no navigation.
func TestBrowserFinanceReviewAndSummary(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, "finance@shop.test")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/finance"),
		chromedp.WaitVisible(chromedp.CSS("#finance-rows table")),
		chromedp.Click(chromedp.Search(`//summary[@aria-label="Review DIFF-2"]`)),
		chromedp.SendKeys(chromedp.CSS("#note-2"), "promo until Friday"),
		chromedp.Click(chromedp.Search(`//button[text()="Accept" and ancestor::form[contains(@action, "/finance/variants/2/")]]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "The price is accepted")]`)),
	))
	text := pageText(t, ctx)
	require.Contains(t, text, "promo until Friday")
	browsertest.Screenshot(t, ctx, "finance-review")

	display := chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.sidebar')).display`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/finance/summary"),
		chromedp.WaitVisible(chromedp.CSS("#summary-rows")),
	))
	sidebar, err := chromedp.Run(ctx, display)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	})))
	sidebarPrint, err := chromedp.Run(ctx, display)
	require.NoError(t, err)
	require.NotEqual(t, "none", sidebar)
	require.Equal(t, "none", sidebarPrint, "the navigation does not print")
	text = pageText(t, ctx)
	require.True(t, strings.Contains(text, "Accepted: promo until Friday"), text)
	browsertest.Screenshot(t, ctx, "finance-summary-print")
}
