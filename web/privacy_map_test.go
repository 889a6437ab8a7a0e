package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/webtest"
)

// The personal-data map on the demo: orders and customers go from the demo
// store to the demo Odoo with the personal fields their flows declare, and
// families whose flows carry none have no row. Operators and finance are
// refused.
func TestPrivacyMapPage(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	admin := env.SignIn(t, vocab.RoleAdmin)
	resp, body := admin.Get("/privacy/map")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	tbody := body[strings.Index(body, "<tbody>"):strings.Index(body, "</tbody>")]
	rows := regexp.MustCompile(`(?s)<tr>.*?</tr>`).FindAllString(tbody, -1)
	tags := regexp.MustCompile(`<[^>]+>`)
	byFamily := map[string]string{}
	for _, r := range rows {
		text := tags.ReplaceAllString(r, "|")
		// A family may travel several routes (orders to the ERP and to the warehouse).
		byFamily[strings.Trim(strings.SplitN(strings.Trim(text, "|"), "|", 2)[0], " ")] += text
	}
	for _, f := range []vocab.Family{vocab.Orders, vocab.Customers} {
		row, ok := byFamily[f.Label()]
		require.True(t, ok, "no row for %s in %q", f.Label(), tbody)
		require.Contains(t, row, "from Demo Shopify store to Demo Odoo")
		require.Contains(t, row, "name, email, phone and address")
	}
	for _, f := range []vocab.Family{vocab.Products, vocab.Prices, vocab.Inventory, vocab.Refunds} {
		require.NotContains(t, byFamily, f.Label(), "a family with no personal fields has a row")
	}

	for _, role := range []vocab.Role{vocab.RoleOperator, vocab.RoleFinance} {
		resp, _ := env.SignIn(t, role).Get("/privacy/map")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, role)
	}
}

// With no system connected the map says so and where to start; once a
// store is connected but no source of truth is set, each family that would
// carry personal data says nothing flows there yet and where to set it.
func TestPrivacyMapNothingFlowsYet(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	_, body := admin.Get("/privacy/map")
	require.Contains(t, body, "No system is connected yet")
	require.Contains(t, body, `href="/connections/new"`)

	shopifyConnection(t, env, testSecret)
	_, body = admin.Get("/privacy/map")
	require.NotContains(t, body, "<table>")
	require.Contains(t, body, "Orders (name, email, phone and address): nothing flows there yet.")
	require.Contains(t, body, "Customers (name, email, phone and address): nothing flows there yet.")
	require.Contains(t, body, `<a href="/sources">Sources of truth</a>`)
}
