package web_test

import (
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

// collectionsSetup puts GOOD-1 (60 % margin) and DIFF-2 in a Shopify
// collection, as the prices run reads it, and builds the review again.
func collectionsSetup(t *testing.T) (*webtest.Env, string) {
	t.Helper()
	env := financeSetup(t)
	db := env.Store.DB
	var run, shop int64
	require.NoError(t, db.Get(&run, `SELECT max(id) FROM recon_runs WHERE family = 'prices'`))
	require.NoError(t, db.Get(&shop, `SELECT id FROM connections WHERE kind = 'shopify'`))
	_, err := db.Exec(`UPDATE recon_prices SET product_ref = 'gid://shopify/Product/' || variant_id WHERE connection_id = $1`, shop)
	require.NoError(t, err)
	premium := "gid://shopify/Collection/77"
	require.NoError(t, env.Store.AddCollectionSnapshot(t.Context(), run, shop, []store.CollectionRow{
		{ProductRef: "gid://shopify/Product/1", CollectionRef: premium, Title: "Premium"},
		{ProductRef: "gid://shopify/Product/2", CollectionRef: premium, Title: "Premium"},
	}))
	buildFinance(t, env)
	return env, premium
}

func TestFinanceCollectionThresholdsPage(t *testing.T) {
	t.Parallel()
	env, premium := collectionsSetup(t)
	fin := env.SignIn(t, vocab.RoleFinance)
	admin := env.SignIn(t, vocab.RoleAdmin)

	res, body := fin.Get("/finance/collections")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Premium")
	require.Contains(t, body, "takes the strictest")
	require.Contains(t, body, "Only admins change thresholds.")
	require.NotContains(t, body, `action="/finance/collections/thresholds"`)
	require.Equal(t, http.StatusForbidden, fin.PostForm("/finance/collections/thresholds",
		url.Values{"collection": {premium}, "critical": {"70"}, "high": {"80"}, "medium": {"90"}}).StatusCode)

	cases := []struct {
		name       string
		form       url.Values
		status     int
		want, next string
	}{
		{"not a number", url.Values{"critical": {"lots"}, "high": {"80"}, "medium": {"90"}}, http.StatusUnprocessableEntity,
			"Enter a number of percent from 0 to 100", ""},
		{"not going up", url.Values{"critical": {"80"}, "high": {"70"}, "medium": {"90"}}, http.StatusUnprocessableEntity,
			"The low threshold must be above the critical one (80 %).", ""},
		{"above 100", url.Values{"critical": {"70"}, "high": {"80"}, "medium": {"120"}}, http.StatusUnprocessableEntity,
			"The below target threshold is a percent from 0 to 100.", ""},
		{"saved", url.Values{"critical": {"70"}, "high": {"80"}, "medium": {"90"}}, http.StatusSeeOther, "", "/finance/collections"},
	}
	for _, tc := range cases {
		tc.form.Set("collection", premium)
		tc.form.Set("title", "Premium")
		res, body := admin.PostFormBody("/finance/collections/thresholds", tc.form)
		require.Equal(t, tc.status, res.StatusCode, tc.name)
		if tc.want != "" {
			require.Contains(t, body, tc.want, tc.name)
			require.Contains(t, body, `value="`+tc.form.Get("medium")+`"`, "%s: the form keeps what was typed", tc.name)
		}
		if tc.next != "" {
			require.Equal(t, tc.next, res.Header.Get("Location"))
		}
	}
	_, body = admin.Get("/finance/collections")
	require.Contains(t, body, "The thresholds of Premium are saved")
	require.Contains(t, body, "Its own thresholds")

	// GOOD-1's 60 % is critical against Premium's 70 %; LOSS-3 and NOCOST-4
	// (no collection) keep the global thresholds.
	_, body = fin.Get("/finance?flag=critical")
	require.Contains(t, body, "GOOD-1")
	require.Contains(t, body, "Its collection&#39;s thresholds: critical under 70 %")
	require.Contains(t, body, "Margin critical (under 10 %, or the collection&#39;s own)</dt><dd>2</dd>", "GOOD-1 and DIFF-2 (33 %)")
	_, body = fin.Get("/finance?flag=negative")
	require.Contains(t, body, "LOSS-3")

	res = admin.PostForm("/finance/collections/thresholds/clear", url.Values{"collection": {premium}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = fin.Get("/finance")
	require.Contains(t, body, "Margin critical (under 10 %)</dt><dd>0</dd>")
	require.True(t, strings.Contains(body, "Margin below target (20 to 30 %)</dt><dd>0</dd>"), "GOOD-1 is fine again")
}

// An admin sets a collection's thresholds in the browser and the review
// shows the variant measured against them.
func TestBrowserFinanceCollectionThresholds(t *testing.T) {
	t.Parallel()
	env, _ := collectionsSetup(t)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, env.Users[vocab.RoleAdmin].Email)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/finance/collections"),
		chromedp.WaitVisible(chromedp.CSS("#finance-collections table")),
		chromedp.SetValue(chromedp.CSS("#c0-critical"), "70"),
		chromedp.SetValue(chromedp.CSS("#c0-high"), "80"),
		chromedp.SetValue(chromedp.CSS("#c0-medium"), "90"),
		chromedp.Click(chromedp.Search(`//button[text()="Save thresholds of Premium"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "The thresholds of Premium are saved")]`)),
	))
	browsertest.Screenshot(t, ctx, "finance-collections")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/finance?flag=critical"),
		chromedp.WaitVisible(chromedp.CSS("#finance-rows table")),
	))
	text := pageText(t, ctx)
	require.Contains(t, text, "GOOD-1")
	require.Contains(t, text, "Its collection's thresholds: critical under 70 %")
	browsertest.Screenshot(t, ctx, "finance-review-collection-thresholds")
}
