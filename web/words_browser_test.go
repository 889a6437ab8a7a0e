package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// The pages of the words part (and the Overview, Failed syncs and Mappings,
// which use the shared styles) on the demo workspace, as an admin, at a
// laptop's 1280 px and a phone's 390 px: the page never scrolls sideways (a
// wide table scrolls inside its own box or stacks into cards).
func TestBrowserPagesFitTheScreen(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	d := wordsDemo(t, env, env.SignIn(t, vocab.RoleAdmin))

	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, env.Users[vocab.RoleAdmin].Email)
	pages := append([]string{"/", "/failed", "/mappings"}, wordsPages...)
	for _, width := range []int64{1280, 390} {
		var opts []chromedp.EmulateViewportOption
		if width == 390 {
			opts = append(opts, chromedp.EmulateMobile)
		}
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(width, 900, opts...)))
		for _, page := range pages {
			path := d.fill.Replace(page)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1"))))
			sizes := eval[struct{ Scroll, Client int }](t, ctx,
				`({Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth})`)
			if sizes.Scroll > sizes.Client {
				wide := eval[string](t, ctx, widestElement)
				t.Errorf("%s at %d px scrolls sideways: %d px wide in %d px (%s)", path, width, sizes.Scroll, sizes.Client, wide)
			}
			browsertest.Screenshot(t, ctx, fmt.Sprintf("words%s-%d", strings.NewReplacer("/", "-", "?", "-", "=", "-", ":", "").Replace(page), width))
		}
	}
}

// eval runs a script in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	require.NoError(t, err, script)
	return v
}

// widestElement names the element that sticks out furthest to the right.
const widestElement = `(() => { let w = 0, who = "";
  for (const el of document.querySelectorAll("main *")) { const r = el.getBoundingClientRect().right;
    if (r > w) { w = r; who = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && el.className.baseVal === undefined ? "." + el.className : ""); } }
  return who + " reaches " + Math.round(w) + " px"; })()`

// A done action says so in a toast that floats over the page: the page's
// heading stays where it was.
func TestBrowserDoneActionsToast(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, env.Users[vocab.RoleAdmin].Email)
	const top = `document.querySelector("main h1").getBoundingClientRect().top`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(env.URL+"/users"),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	))
	before := eval[float64](t, ctx, top)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/users/new"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Tomas Toast"),
		chromedp.SendKeys(chromedp.CSS("#email"), "tomas@shop.test"),
		chromedp.SendKeys(chromedp.CSS("#password"), webtest.Password),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#toasts .toast.banner-success")),
	))
	after := eval[float64](t, ctx, top)
	browsertest.Screenshot(t, ctx, "words-toast")
	toast, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#toasts .toast")))
	require.NoError(t, err)
	require.Contains(t, toast, "Tomas Toast can now sign in")
	require.Zero(t, eval[int](t, ctx, `document.querySelectorAll("main .banner-success").length`), "the confirmation is not a banner in the page")
	require.Equal(t, before, after, "the page does not move for the toast")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#toasts .toast [data-dismiss]")),
		chromedp.WaitNotPresent(chromedp.CSS("#toasts .toast")),
	))

	// An htmx answer's toast (handlers.Toast sets HX-Trigger; htmx fires the
	// event on the element that asked): its words are shown as text.
	eval[bool](t, ctx, `document.querySelector("main h1").dispatchEvent(new CustomEvent("crossdock:toast",
  {bubbles: true, detail: {kind: "success", message: "<b>Registered</b> 14 webhook subscriptions."}}))`)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#toasts .toast.banner-success"))))
	toast, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#toasts .toast")))
	require.NoError(t, err)
	require.Contains(t, toast, "<b>Registered</b> 14 webhook subscriptions.", "text, not markup")
	require.Equal(t, before, eval[float64](t, ctx, top), "the page does not move for the toast")
}

// The table script: a numeric column sorts 1, 10, 100 as numbers (and
// "1,200" after "100"), text sorts SKU-2 before SKU-10; the tick-all box
// ticks the page's rows and the bulk bar counts them.
func TestBrowserTableSortAndBulkBar(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, env.Users[vocab.RoleAdmin].Email)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	))
	// The markup app.js documents, as a page would render it; the
	// script arms tables on DOMContentLoaded and after htmx swaps.
	eval[bool](t, ctx, `(() => {
  const f = document.createElement("form");
  f.setAttribute("data-bulk", "");
  f.innerHTML = '<div class="bulk-bar" data-bulk-bar data-one="row" data-noun="rows" data-matching="2,431" hidden>' +
    '<span class="bulk-count" data-bulk-count></span>' +
    '<label data-bulk-matching hidden><input type="checkbox" name="all_matching" value="1"> all matching</label></div>' +
    '<div class="table-wrap"><table id="t" data-sortable><thead><tr><th class="tick"><input type="checkbox" data-tick-all></th>' +
    '<th data-sort="text">SKU</th><th data-sort="num">Count</th></tr></thead><tbody>' +
    [["SKU-10", "100"], ["SKU-2", "1,200"], ["SKU-1", "10"], ["SKU-100", "1"], ["SKU-20", ""]].map(r =>
      '<tr><td class="tick"><input type="checkbox" name="ids" value="' + r[0] + '" data-tick></td><td>' + r[0] + '</td><td>' + r[1] + '</td></tr>').join("") +
    '</tbody></table></div>';
  document.querySelector("main").appendChild(f);
  document.dispatchEvent(new Event("DOMContentLoaded"));
  return true;
})()`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#t th:nth-child(3) button"))))
	col := func(n int) []string {
		return eval[[]string](t, ctx, fmt.Sprintf(
			`Array.from(document.querySelectorAll("#t tbody tr")).map(r => r.cells[%d].textContent)`, n))
	}
	require.Equal(t, []string{"1", "10", "100", "1,200", ""}, col(2), "numbers sort as numbers, empty cells last")
	require.Equal(t, "ascending", eval[string](t, ctx, `document.querySelector("#t th:nth-child(3)").getAttribute("aria-sort")`))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#t th:nth-child(3) button"))))
	require.Equal(t, []string{"1,200", "100", "10", "1", ""}, col(2), "descending, empty cells still last")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#t th:nth-child(2) button"))))
	require.Equal(t, []string{"SKU-1", "SKU-2", "SKU-10", "SKU-20", "SKU-100"}, col(1), "numbers inside text sort as numbers")

	// Tick all: the bar shows with the count and offers every matching row.
	bar := func() (hidden bool, count string, matchingHidden, indeterminate bool) {
		return eval[bool](t, ctx, `document.querySelector("[data-bulk-bar]").hidden`),
			eval[string](t, ctx, `document.querySelector("[data-bulk-count]").textContent`),
			eval[bool](t, ctx, `document.querySelector("[data-bulk-matching]").hidden`),
			eval[bool](t, ctx, `document.querySelector("[data-tick-all]").indeterminate`)
	}
	hidden, _, _, _ := bar()
	require.True(t, hidden, "no bar before a box is ticked")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("[data-tick-all]"))))
	hidden, count, matchingHidden, _ := bar()
	require.False(t, hidden)
	require.Equal(t, "5 rows selected", count)
	require.False(t, matchingHidden, "all of the page ticked: all matching is offered")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("[data-bulk-matching] input"))))
	_, count, _, _ = bar()
	require.Equal(t, "All 2,431 matching rows selected", count)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#t tbody tr:first-child [data-tick]`))))
	_, count, matchingHidden, indeterminate := bar()
	require.Equal(t, "4 rows selected", count)
	require.True(t, matchingHidden, "not all of the page: all matching is withdrawn")
	require.True(t, indeterminate, "the tick-all box is half-ticked")
	require.False(t, eval[bool](t, ctx, `document.querySelector("[data-bulk-matching] input").checked`), "all matching is unticked with it")
}
