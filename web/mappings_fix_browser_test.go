package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
)

// The loop of a location that is not mapped, as a person walks it: Failed
// syncs shows the location cause → "Map it" lands on the unmapped
// locations, filtered to that location → "Map to…" picks the Shopify
// location from a drop-down → the draft is submitted → another admin
// approves → the location is mapped. Then a variant is picked with the
// search (htmx, under the strict CSP).
func TestBrowserMapItFromALocationCause(t *testing.T) {
	t.Parallel()
	e, _ := pickEnv(t)
	s := e.stock("location:7")
	s.EntityType, s.EntityKey = "inventory_level", "3 items at WH/Stock"
	s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, vocab.ClassUnmapped,
		"The Odoo location WH/Stock is not mapped to a Shopify location yet. Map it on the Mappings page, then try this sync again."
	e.insert(t, s)

	op := browsertest.Tab(t)
	signIn(t, op, e.env, e.env.Users[vocab.RoleOperator].Email)
	mapIt := `#failed-groups a[href^="/mappings/fix?"]`
	require.NoError(t, chromedp.Do(op,
		chromedp.Navigate(e.env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS(mapIt)),
	))
	browsertest.ScreenshotWidths(t, op, "mapit-failed-causes")
	label, err := chromedp.Run(op, chromedp.Text(chromedp.CSS(mapIt)))
	require.NoError(t, err)
	require.Equal(t, "Map it", strings.TrimSpace(label))

	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(mapIt)),
		chromedp.WaitVisible(chromedp.CSS(`#pick-sel-0`)),
	))
	loc, err := chromedp.Run(op, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, loc, "type=location", "locations, not variants")
	require.Contains(t, loc, "id=7")
	text := pageText(t, op)
	require.Contains(t, text, "WH/Stock")
	require.NotContains(t, text, "WH/Returns", "filtered to the location the failure misses")
	require.Contains(t, text, "Showing only the location records the failed syncs are missing")
	browsertest.ScreenshotWidths(t, op, "mapit-unmapped-locations")

	require.NoError(t, chromedp.Do(op,
		chromedp.SetValue(chromedp.CSS(`#pick-sel-0`), "gid://shopify/Location/1"),
		chromedp.Click(chromedp.CSS(`button[form="pick-0"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.banner-success`)),
	))
	text = pageText(t, op)
	require.Contains(t, text, "Added to your draft proposed change #")
	require.Regexp(t, `1 is waiting in proposed change #\d+ \(draft\)`, text)
	browsertest.ScreenshotWidths(t, op, "mapit-picked")

	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(`.waiting a`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/submit"] button`)),
	))
	text = pageText(t, op)
	require.Contains(t, text, "Submit 1 match for approval")
	require.Contains(t, text, "Main warehouse")
	browsertest.ScreenshotWidths(t, op, "mapit-draft")
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(`form[action$="/submit"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	require.Contains(t, pageText(t, op), "Submitted: 1 match wait")
	loc, err = chromedp.Run(op, chromedp.Location())
	require.NoError(t, err)
	csPath := loc[strings.Index(loc, "/mappings/change-sets/"):]

	adm := browsertest.Tab(t)
	signIn(t, adm, e.env, "admin@shop.test")
	require.NoError(t, chromedp.Do(adm,
		chromedp.Navigate(e.env.URL+csPath),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"] button[type="submit"]`)),
	))
	require.Contains(t, pageText(t, adm), "Approve and apply 1 match")
	browsertest.ScreenshotWidths(t, adm, "mapit-approve")
	require.NoError(t, chromedp.Do(adm,
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	require.Contains(t, pageText(t, adm), "Approved: 1 match applied")
	refs, unmapped, err := e.env.Store.ResolveRefs(t.Context(), e.odoo.ID, e.shop.ID, "location", []string{"7"})
	require.NoError(t, err)
	require.Empty(t, unmapped)
	require.Equal(t, "gid://shopify/Location/1", refs["7"], "WH/Stock is mapped to Main warehouse")

	// A variant: type a few letters, pick a suggestion.
	require.NoError(t, chromedp.Do(op,
		chromedp.Navigate(fmt.Sprintf("%s/mappings/unmapped?from=%d&to=%d&type=variant", e.env.URL, e.shop.ID, e.odoo.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#pick-q-0`)),
		chromedp.SendKeys(chromedp.CSS(`#pick-q-0`), "oak"),
		chromedp.WaitVisible(chromedp.CSS(`#cand-0 button`)),
	))
	browsertest.ScreenshotWidths(t, op, "mapit-variant-search")
	sugg, err := chromedp.Run(op, chromedp.Text(chromedp.CSS(`#cand-0`)))
	require.NoError(t, err)
	require.Contains(t, sugg, "Chair in oak · CHAIR-OAK")
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(`#cand-0 button`)),
		chromedp.WaitVisible(chromedp.CSS(`.banner-success`)),
	))
	require.Contains(t, pageText(t, op), "Added to your draft proposed change #")
}
