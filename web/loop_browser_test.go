package web_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// TestBrowserMerchantLoop is the proof of issue #15: the merchant's loop on
// the demo workspace, clicked as a merchant would, from "something is wrong"
// to "fixed, and I can see it". The Overview shows the problems → Failed
// syncs grouped by cause → the location cause → Map it → Map to… → another
// admin approves → "N tried again: N fixed" → the cause is gone and the
// Overview agrees; then the cause of the products that exist only in Odoo →
// exclude all → gone, listed on Excluded records, included again, audited.
func TestBrowserMerchantLoop(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	ctx := t.Context()
	second, err := env.Store.CreateUser(ctx, store.SystemActor("test"), store.NewUser{
		Email: "bea@shop.test", Name: "Bea Approver", Role: vocab.RoleAdmin, Password: webtest.Password})
	require.NoError(t, err)

	merchant := browsertest.Tab(t)
	signIn(t, merchant, env, env.Users[vocab.RoleAdmin].Email)

	// 1. The Overview shows the problems: open failures, what to try.
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#open-failures")),
		chromedp.WaitVisible(chromedp.CSS("#try-list")),
	))
	look(t, merchant, "walk-01-overview")
	openBefore := overviewOpenFailures(t, merchant)
	require.Positive(t, openBefore, "the demo's deliberate problems are open failures")
	try, err := chromedp.Run(merchant, chromedp.Text(chromedp.CSS("#try-list")))
	require.NoError(t, err)
	require.Contains(t, try, "What to try in the demo workspace")
	t.Logf("Overview before: %d open failed syncs", openBefore)

	// 2. Failed syncs, grouped by cause: the Odoo location nobody mapped.
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Click(chromedp.CSS(`#open-failures a`)),
		chromedp.WaitVisible(chromedp.CSS("#failed-groups")),
	))
	look(t, merchant, "walk-02-failed-causes")
	require.Equal(t, openBefore, causesTotal(t, merchant), "the Overview counts what Failed syncs lists")

	// The cause of the Odoo location nobody mapped is a cause of its own;
	// "Map it" lands on the locations, filtered to it.
	locCause := `#failed-groups tbody tr:has(a[href^="/mappings/fix?"][href*="cause=location"])`
	require.NoError(t, chromedp.Do(merchant, chromedp.ScrollIntoView(chromedp.CSS(locCause))))
	look(t, merchant, "walk-02-location-cause")
	// The window is back at 1280 px, scrolled as the phone was: again.
	require.NoError(t, chromedp.Do(merchant, chromedp.ScrollIntoView(chromedp.CSS(locCause))))
	browsertest.Screenshot(t, merchant, "walk-02-location-cause-1280")
	row, err := chromedp.Run(merchant, chromedp.Text(chromedp.CSS(locCause)))
	require.NoError(t, err)
	require.Contains(t, row, "1 sync of inventory from Demo Odoo to Demo Shopify store failed because locations are not mapped in Demo Shopify store")
	require.Contains(t, row, "WH2/Stock")
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Click(chromedp.CSS(locCause+` a[href^="/mappings/fix?"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pick-sel-0`)),
	))
	loc, err := chromedp.Run(merchant, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, loc, "type=location", "locations, not variants")
	text := pageText(t, merchant)
	require.Contains(t, text, "WH2/Stock")
	require.Contains(t, text, "Showing only the location records the failed syncs are missing")
	look(t, merchant, "walk-03-unmapped-location")

	// Map to… the shop's "Shop floor", from the drop-down.
	shopFloor, err := chromedp.Run(merchant, chromedp.Evaluate[string](`[...document.querySelectorAll("#pick-sel-0 option")].find(o => o.textContent.includes("Shop floor")).value`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(merchant,
		chromedp.SetValue(chromedp.CSS(`#pick-sel-0`), shopFloor),
		chromedp.Click(chromedp.CSS(`button[form="pick-0"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.banner-success`)),
	))
	require.Contains(t, pageText(t, merchant), "Added to your draft proposed change #")
	look(t, merchant, "walk-04-picked")
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Click(chromedp.CSS(`.waiting a`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/submit"] button`)),
	))
	text = pageText(t, merchant)
	require.Contains(t, text, "Shop floor")
	require.Contains(t, text, "WH2/Stock")
	look(t, merchant, "walk-05-draft")
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Click(chromedp.CSS(`form[action$="/submit"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	loc, err = chromedp.Run(merchant, chromedp.Location())
	require.NoError(t, err)
	csPath := loc[strings.Index(loc, "/mappings/change-sets/"):]
	look(t, merchant, "walk-06-submitted")

	// 3. Another admin approves it.
	approver := browsertest.Tab(t)
	signIn(t, approver, env, second.Email)
	approve := `form[action$="/approve"] button[type="submit"]`
	require.NoError(t, chromedp.Do(approver,
		chromedp.Navigate(env.URL+csPath),
		chromedp.WaitVisible(chromedp.CSS(approve)),
	))
	look(t, approver, "walk-07-approve")
	require.NoError(t, chromedp.Do(approver,
		chromedp.Click(chromedp.CSS(approve)),
		chromedp.WaitNotPresent(chromedp.CSS(approve)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	// The follow-up tries again what the approval maps; the next round of
	// engine work carries the new attempts out.
	batches, err := env.Engine.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, batches, 1)
	_, err = env.Engine.RunScheduledOnce(ctx)
	require.NoError(t, err)

	require.NoError(t, chromedp.Do(merchant,
		chromedp.Navigate(env.URL+csPath),
		chromedp.WaitVisible(chromedp.CSS("#fix-result")),
	))
	look(t, merchant, "walk-08-fix-result")
	result, err := chromedp.Run(merchant, chromedp.Text(chromedp.CSS("#fix-result")))
	require.NoError(t, err)
	result = strings.Join(strings.Fields(result), " ")
	t.Logf("the proposed change says: %s", result)
	m := regexp.MustCompile(`^([\d,]+) tried again: ([\d,]+) fixed`).FindStringSubmatch(result)
	require.NotNil(t, m, "what became of what was tried again: %q", result)
	tried, fixed := readNumber(t, m[1]), readNumber(t, m[2])
	require.Positive(t, tried)
	// The location's problem is gone: no open failure says it is not mapped.
	var unmappedLoc int
	require.NoError(t, env.Store.DB.GetContext(ctx, &unmappedLoc, `SELECT count(*) FROM syncs WHERE status = 'failed' AND resolved_at IS NULL
  AND message LIKE '%WH2/Stock is not mapped%'`))
	require.Zero(t, unmappedLoc, "the location is mapped now")

	// Failed syncs and the Overview agree, and count one failure less per
	// fixed one.
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Navigate(env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS("#failed-groups")),
	))
	look(t, merchant, "walk-09-failed-after")
	causesAfter := causesTotal(t, merchant)
	require.Equal(t, openBefore-fixed, causesAfter)
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Navigate(env.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#open-failures")),
	))
	look(t, merchant, "walk-10-overview-after")
	openAfter := overviewOpenFailures(t, merchant)
	t.Logf("Overview: %d open failed syncs before, %d after; Failed syncs lists %d", openBefore, openAfter, causesAfter)
	require.Equal(t, causesAfter, openAfter)
	require.Equal(t, tried, fixed, "all that was tried again is fixed: %q", result)
	require.Equal(t, openBefore-tried, openAfter, "the Overview dropped by what was fixed")

	// 4. The products that exist only in Odoo: exclude all of the prices cause.
	priceCause := `#failed-groups tbody tr:has(a[href*="class=only_in_one"][href*="family=prices"])`
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Navigate(env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS(priceCause)),
	))
	row, err = chromedp.Run(merchant, chromedp.Text(chromedp.CSS(priceCause)))
	require.NoError(t, err)
	require.Contains(t, row, "exist in only one system")
	require.Contains(t, row, "does not exist in Demo Shopify store")
	n := readNumber(t, regexp.MustCompile(`Exclude all ([\d,]+) from syncing`).FindStringSubmatch(row)[1])
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Click(chromedp.CSS(priceCause+` a.btn-primary`)),
		chromedp.WaitVisible(chromedp.CSS("#act-submit")),
	))
	look(t, merchant, "walk-11-confirm-exclude")
	head, err := chromedp.Run(merchant, chromedp.Text(chromedp.CSS("h1")))
	require.NoError(t, err)
	require.Contains(t, head, strconv.Itoa(n))
	require.NoError(t, chromedp.Do(merchant,
		chromedp.SendKeys(chromedp.CSS("#act-note"), "Sold in the shop in Odoo only."),
		chromedp.Click(chromedp.CSS("#act-submit")),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	look(t, merchant, "walk-12-excluded")
	require.Contains(t, pageText(t, merchant), "excluded from syncing")
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Navigate(env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS("#failed-groups")),
	))
	gone, err := chromedp.Run(merchant, chromedp.Evaluate[int](`document.querySelectorAll('`+priceCause+`').length`))
	require.NoError(t, err)
	require.Zero(t, gone, "the cause is gone")
	require.Equal(t, openBefore-fixed-n, causesTotal(t, merchant))

	require.NoError(t, chromedp.Do(merchant,
		chromedp.Click(chromedp.CSS("#excluded-link")),
		chromedp.WaitVisible(chromedp.CSS("#exclusions table")),
	))
	look(t, merchant, "walk-13-excluded-records")
	text = pageText(t, merchant)
	require.Contains(t, text, "Sold in the shop in Odoo only.")
	require.Contains(t, text, env.Users[vocab.RoleAdmin].Name)
	first, err := chromedp.Run(merchant, chromedp.Text(chromedp.CSS(`#exclusions tbody tr:first-child strong`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Click(chromedp.CSS(`#exclusions tbody tr:first-child button`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	look(t, merchant, "walk-14-included-again")
	text = pageText(t, merchant)
	require.Contains(t, text, first+" (Demo Odoo) is synced again")
	same, err := chromedp.Run(merchant, chromedp.Evaluate[int](`[...document.querySelectorAll("#exclusions tbody strong")].filter(s => s.textContent === `+strconv.Quote(first)+`).length`))
	require.NoError(t, err)
	require.Zero(t, same, "no longer listed")

	// The audit log has both.
	require.NoError(t, chromedp.Do(merchant,
		chromedp.Navigate(env.URL+"/audit"),
		chromedp.WaitVisible(chromedp.CSS("main table")),
	))
	look(t, merchant, "walk-15-audit")
	audit := pageText(t, merchant)
	require.Contains(t, audit, "in syncing prices again", "the inclusion is audited")
	require.Regexp(t, `Excluded|excluded`, audit)
}

// look keeps the page at 1280 and 390 px (CROSSDOCK_SCREENSHOTS) and checks
// it speaks the merchant's words, not the developer's.
func look(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.ScreenshotWidths(t, ctx, name)
	text := strings.ToLower(pageText(t, ctx))
	for _, word := range []string{"replay", "change set", "master", "sweep", "entity key", "only_in_one"} {
		require.NotContains(t, text, word, "%s: a developer's word on the page", name)
	}
}

// overviewOpenFailures reads the Overview's headline number as a person does.
func overviewOpenFailures(t *testing.T, ctx context.Context) int {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#open-failures .big-number")))
	require.NoError(t, err)
	return readNumber(t, s)
}

// causesTotal adds up the Failures column of the causes on Failed syncs.
func causesTotal(t *testing.T, ctx context.Context) int {
	t.Helper()
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#failed-groups tbody tr td.num")].map(td => td.textContent)`))
	require.NoError(t, err)
	n := 0
	for _, c := range cells {
		n += readNumber(t, c)
	}
	return n
}

var numberRe = regexp.MustCompile(`^\d{1,3}(,\d{3})*$`)

// readNumber reads a number formatted with thousands commas ("4,498").
func readNumber(t *testing.T, s string) int {
	t.Helper()
	s = strings.TrimSpace(s)
	require.Regexp(t, numberRe, s, "a number formatted the product's one way")
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	require.NoError(t, err)
	return n
}
