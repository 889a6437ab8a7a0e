package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// An operator accepts the suggested SKU matches of the demo into a change set;
// an admin who did not propose it approves it; the mappings then exist.
func TestBrowserOperatorProposesAndAdminApprovesMappings(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	res := admin.PostForm("/demo", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	shopID, odooID := mustConn(t, env, "Demo Shopify store"), mustConn(t, env, "Demo Odoo")

	op := browsertest.Tab(t)
	signIn(t, op, env, "operator@shop.test")
	require.NoError(t, chromedp.Do(op,
		chromedp.Navigate(fmt.Sprintf("%s/mappings/unmapped?from=%d&to=%d&type=variant", env.URL, shopID, odooID)),
		chromedp.WaitVisible(chromedp.CSS(`button[form="accept-form"][name="all"]`)),
	))
	browsertest.Screenshot(t, op, "mappings-unmapped")
	require.Contains(t, pageText(t, op), "Same SKU")
	require.NoError(t, chromedp.Do(op,
		chromedp.SendKeys(chromedp.CSS("#u-reason"), "SKU matches from the demo catalogues"),
		chromedp.Click(chromedp.CSS(`button[form="accept-form"][name="all"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/submit"]`)),
	))
	browsertest.Screenshot(t, op, "mappings-draft")
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(`form[action$="/submit"] button`)),
		// The draft page had a success banner too: wait for the page after the post.
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	loc, err := chromedp.Run(op, chromedp.Location())
	require.NoError(t, err)
	csPath := loc[strings.Index(loc, "/mappings/change-sets/"):]
	require.NotContains(t, pageText(t, op), "Approve and apply", "the proposer is not offered approval")

	adm := browsertest.Tab(t)
	signIn(t, adm, env, "admin@shop.test")
	nav, err := chromedp.Run(adm, chromedp.Text(chromedp.CSS("nav.sidebar")))
	require.NoError(t, err)
	require.Regexp(t, `Mappings\s+1\s+waiting for approval`, nav, "the approvals count in the navigation")
	require.NoError(t, chromedp.Do(adm,
		chromedp.Navigate(env.URL+csPath),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"]`)),
	))
	browsertest.Screenshot(t, adm, "mappings-approve")
	require.NoError(t, chromedp.Do(adm,
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	require.Contains(t, pageText(t, adm), "Approved")

	// Every demo variant is mapped now, not just the first page.
	rows, _, err := env.Store.ListUnmapped(t.Context(), store.UnmappedFilter{From: shopID, To: odooID, EntityType: "variant", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, rows, "no Shopify variant is left without its Odoo counterpart")
	refs, unmapped, err := env.Store.ResolveRefs(t.Context(), shopID, odooID, "variant", []string{"gid://shopify/ProductVariant/44000000000001"})
	require.NoError(t, err)
	require.Empty(t, unmapped)
	require.Len(t, refs, 1)
}
