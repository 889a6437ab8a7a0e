package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/webtest"
)

// financeSetup stores a prices comparison of four variants, as a run would:
// a healthy margin, a price that differs from Odoo's, a loss, no cost.
func financeSetup(t *testing.T) *webtest.Env {
	t.Helper()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	db := env.Store.DB
	var run int64
	require.NoError(t, db.Get(&run, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at) VALUES ('prices', 'manual', 'succeeded', now(), now()) RETURNING id`))
	_, err := db.Exec(`INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, label, price, compare_at, cost, currency) VALUES
  ($1, $2, '1', 1, 'GOOD-1', 100, NULL, 40, ''), ($1, $3, 'gid://shopify/ProductVariant/1', 1, 'GOOD-1', 100, 120, 40, 'EUR'),
  ($1, $2, '2', 2, 'DIFF-2', 50, NULL, 30, ''), ($1, $3, 'gid://shopify/ProductVariant/2', 2, 'DIFF-2', 45, NULL, 30, 'EUR'),
  ($1, $2, '3', 3, 'LOSS-3', 20, NULL, 25, ''), ($1, $3, 'gid://shopify/ProductVariant/3', 3, 'LOSS-3', 20, NULL, NULL, 'EUR'),
  ($1, $2, '4', 4, 'NOCOST-4', 10, NULL, 0, ''), ($1, $3, 'gid://shopify/ProductVariant/4', 4, 'NOCOST-4', 10, NULL, NULL, 'EUR')`,
		run, odoo.ID, shop.ID)
	require.NoError(t, err)
	buildFinance(t, env)
	return env
}

// buildFinance computes the review of the latest prices run, as the run
// does when it ends.
func buildFinance(t *testing.T, env *webtest.Env) {
	t.Helper()
	var run, odoo, shop int64
	db := env.Store.DB
	require.NoError(t, db.Get(&run, `SELECT max(id) FROM recon_runs WHERE family = 'prices'`))
	require.NoError(t, db.Get(&odoo, `SELECT id FROM connections WHERE kind = 'odoo'`))
	require.NoError(t, db.Get(&shop, `SELECT id FROM connections WHERE kind = 'shopify'`))
	_, err := env.Store.BuildFinanceReview(t.Context(), run, odoo, shop)
	require.NoError(t, err)
}

func TestFinanceReviewFlagsTotalsAndExport(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	c := env.SignIn(t, vocab.RoleFinance)

	res, body := c.Get("/finance")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Variants reviewed</dt><dd>4</dd>")
	require.Contains(t, body, "Sold at a loss</dt><dd>1</dd>")
	require.Contains(t, body, "Cost missing</dt><dd>1</dd>")
	// Lowest margin first: no margin, then the loss.
	require.Less(t, strings.Index(body, "NOCOST-4"), strings.Index(body, "LOSS-3"))
	require.Less(t, strings.Index(body, "LOSS-3"), strings.Index(body, "DIFF-2"))
	require.Contains(t, body, "-25.0 %")

	_, body = c.Get("/finance?flag=price_differs")
	require.Contains(t, body, "DIFF-2")
	require.NotContains(t, body, "GOOD-1")

	res, csv := c.Get("/finance.csv?flag=negative")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Disposition"), "finance-review_flag-negative.csv")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 2)
	require.True(t, strings.HasPrefix(lines[1], "LOSS-3,20,,20,25,,EUR,-5,-25,false,negative,false"), lines[1])

	// Only admins set the thresholds; a higher critical threshold flags more.
	require.Equal(t, http.StatusForbidden, c.PostForm("/finance/thresholds", url.Values{"critical": {"50"}, "high": {"60"}, "medium": {"70"}}).StatusCode)
	admin := env.SignIn(t, vocab.RoleAdmin)
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/finance/thresholds", url.Values{"critical": {"50"}, "high": {"40"}, "medium": {"70"}}).StatusCode)
	_, body = admin.Get("/finance")
	require.Contains(t, body, "Thresholds go up from critical to medium")
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/finance/thresholds", url.Values{"critical": {"50"}, "high": {"60"}, "medium": {"70"}}).StatusCode)
	_, body = admin.Get("/finance")
	require.Contains(t, body, "Margin critical (under 50 %)</dt><dd>1</dd>", "DIFF-2 (33 %) is critical now")
	require.Contains(t, body, "Margin below target (60 to 70 %)</dt><dd>1</dd>", "GOOD-1 (60 %) is below target now")
}

// Odoo and Shopify pricing a variant in two currencies: no margin and no
// price difference across them, a flag that says what was not compared.
func TestFinanceReviewCurrenciesDiffer(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	_, err := env.Store.DB.Exec(`UPDATE recon_prices SET currency = 'USD' WHERE variant_ref IN ('1', '2')`)
	require.NoError(t, err)
	buildFinance(t, env)
	c := env.SignIn(t, vocab.RoleFinance)

	_, body := c.Get("/finance")
	require.Contains(t, body, "Currencies differ</dt><dd>2</dd>")
	require.Contains(t, body, "Odoo prices it in USD, Shopify in EUR: Crossdock does not convert currencies")
	require.Contains(t, body, "100.00 USD", "Odoo's list price says its currency")
	require.Contains(t, body, "Storefront price differs from Odoo</dt><dd>0</dd>", "45 EUR against 50 USD is not a price difference")

	_, body = c.Get("/finance?flag=currency_differs")
	require.Contains(t, body, "GOOD-1")
	require.Contains(t, body, "DIFF-2")
	require.NotContains(t, body, "LOSS-3")

	res, csv := c.Get("/finance.csv?flag=currency_differs")
	require.Contains(t, res.Header.Get("Content-Disposition"), "finance-review_flag-currency_differs.csv")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 3)
	// No margin, no level, no price difference; the currencies are named.
	require.Contains(t, csv, "GOOD-1,100,120,100,40,40,EUR,,,false,,false,,,,USD,true")
}
