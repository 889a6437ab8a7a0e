package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/odoo/sandbox"
	shopifysandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

func TestAddShopifyConnectionAndTestIt(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop := shopifysandbox.New(shopifysandbox.Options{Plan: "advanced", AccessToken: "shpat_good", Seed: 3, ShopDomain: "demo-shop.myshopify.com"})
	ts := httptest.NewServer(shop)
	t.Cleanup(ts.Close)
	admin := env.SignIn(t, vocab.RoleAdmin)

	form := url.Values{"kind": {"shopify"}, "name": {"Main store"}, "environment": {"test"},
		"f_shop_domain": {"Demo-Shop.myshopify.com"}, "f_access_token": {"shpat_good"}, "f_api_secret": {"whsec-1"}, "f_api_base_url": {ts.URL}}
	res := admin.PostForm("/connections", form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/connections/"))

	_, body := admin.Get(loc)
	require.Contains(t, body, "Main store")
	require.Contains(t, body, "Not used yet")
	require.Contains(t, body, "demo-shop.myshopify.com", "domain normalised to lower case")

	// Test connection, as htmx sends it.
	req, _ := http.NewRequest(http.MethodPost, env.URL+loc+"/test", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", admin.CSRF)
	res, body = admin.Do(req)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, `id="check-result"`)
	require.Contains(t, body, "Everything Crossdock needs is granted")
	require.Contains(t, body, "rate limit 4000 points, refilling 200/s", "the Advanced plan's bucket, read from the answer")

	_, body = admin.Get(loc)
	require.Contains(t, body, "Working")
	require.Contains(t, body, "of 4000 points available")

	// Secrets are never sent back to the browser.
	_, body = admin.Get(loc + "/edit")
	require.NotContains(t, body, "shpat_good")
	require.NotContains(t, body, "whsec-1")
	require.Contains(t, body, "Saved and hidden")

	// Saving without retyping secrets keeps them working.
	form.Set("f_access_token", "")
	form.Set("f_api_secret", "")
	form.Set("name", "Main store EU")
	res = admin.PostForm(loc, form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res = admin.PostForm(loc+"/test", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get(loc)
	require.Contains(t, body, "Everything Crossdock needs is granted", "the flash after a non-htmx test")
}

func TestConnectionTestExplainsWrongCredentials(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop := shopifysandbox.New(shopifysandbox.Options{AccessToken: "shpat_right", ShopDomain: "x.myshopify.com"})
	ts := httptest.NewServer(shop)
	t.Cleanup(ts.Close)
	admin := env.SignIn(t, vocab.RoleAdmin)
	res := admin.PostForm("/connections", url.Values{"kind": {"shopify"}, "name": {"Wrong token"}, "environment": {"production"},
		"f_shop_domain": {"x.myshopify.com"}, "f_access_token": {"shpat_wrong"}, "f_api_secret": {"s"}, "f_api_base_url": {ts.URL}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	res = admin.PostForm(loc+"/test", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := admin.Get(loc)
	require.Contains(t, body, "Shopify refused the access token")
	require.Contains(t, body, "Last call failed")
	require.Contains(t, body, "Production")
}

func TestAddOdooConnectionBothProtocols(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	odoo := sandbox.New(sandbox.Options{Database: "shop", Login: "api@shop.test", Password: "pw", APIKey: "key-19", Seed: 2, Version: "19.0"})
	ts := httptest.NewServer(odoo)
	t.Cleanup(ts.Close)
	admin := env.SignIn(t, vocab.RoleAdmin)
	for _, tc := range []struct{ protocol, user, secret string }{{"jsonrpc", "api@shop.test", "pw"}, {"json2", "", "key-19"}} {
		t.Run(tc.protocol, func(t *testing.T) {
			res := admin.PostForm("/connections", url.Values{"kind": {"odoo"}, "name": {"Odoo " + tc.protocol}, "environment": {"test"},
				"f_url": {ts.URL}, "f_database": {"shop"}, "f_username": {tc.user}, "f_api_key": {tc.secret}, "f_protocol": {tc.protocol}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			loc := res.Header.Get("Location")
			res = admin.PostForm(loc+"/test", nil)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			_, body := admin.Get(loc)
			require.Contains(t, body, "Connected to Odoo 19.0")
		})
	}
}

func TestConnectionFormErrors(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	tests := []struct {
		name string
		form url.Values
		text string
	}{
		{"no kind", url.Values{"name": {"X"}}, "Choose the kind of system"},
		{"public domain", url.Values{"kind": {"shopify"}, "name": {"X"}, "environment": {"test"}, "f_shop_domain": {"www.shop.com"}, "f_access_token": {"t"}, "f_api_secret": {"s"}}, "ending in .myshopify.com"},
		{"missing token", url.Values{"kind": {"shopify"}, "name": {"X"}, "environment": {"test"}, "f_shop_domain": {"x.myshopify.com"}, "f_api_secret": {"s"}}, "Admin API access token is required."},
		{"bad version", url.Values{"kind": {"shopify"}, "name": {"X"}, "environment": {"test"}, "f_shop_domain": {"x.myshopify.com"}, "f_access_token": {"t"}, "f_api_secret": {"s"}, "f_api_version": {"latest"}}, "API versions look like 2026-04"},
		{"no environment", url.Values{"kind": {"odoo"}, "name": {"X"}, "f_url": {"https://o.example"}, "f_database": {"d"}, "f_username": {"u"}, "f_api_key": {"k"}}, "production or a test system"},
		{"odoo url", url.Values{"kind": {"odoo"}, "name": {"X"}, "environment": {"test"}, "f_url": {"odoo.example"}, "f_database": {"d"}, "f_username": {"u"}, "f_api_key": {"k"}}, "full address starting with https://"},
		{"odoo jsonrpc without user", url.Values{"kind": {"odoo"}, "name": {"X"}, "environment": {"test"}, "f_url": {"https://o.example"}, "f_database": {"d"}, "f_api_key": {"k"}, "f_protocol": {"jsonrpc"}}, "The user is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := admin.PostFormBody("/connections", tc.form)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			require.Contains(t, body, tc.text)
		})
	}
	cs, err := env.Store.ListConnections(t.Context())
	require.NoError(t, err)
	require.Empty(t, cs, "nothing saved")
}

func TestDisableConnectionIsAudited(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	conn := env.SandboxShopify(t, "Shop")
	admin := env.SignIn(t, vocab.RoleAdmin)
	res := admin.PostForm(fmt.Sprintf("/connections/%d/disable", conn.ID), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := admin.Get(fmt.Sprintf("/connections/%d", conn.ID))
	require.Contains(t, body, "This connection is disabled")
	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "connection"})
	require.NoError(t, err)
	require.Equal(t, "connection.disabled", entries[0].Action)
	require.Equal(t, "Ada Admin", entries[0].ActorLabel)
}

func TestSubscriptionsShowMissingTopics(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	conn := env.SandboxShopify(t, "Shop")
	admin := env.SignIn(t, vocab.RoleAdmin)
	res, body := admin.Get(fmt.Sprintf("/connections/%d/subscriptions", conn.ID))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "orders/create")
	require.Contains(t, body, fmt.Sprintf("Register %d missing subscriptions", len(connectors.ShopifyTopics)))
	// Shopify only delivers to https addresses; the test console runs on http.
	res, body = admin.PostFormBody(fmt.Sprintf("/connections/%d/subscriptions", conn.ID), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Registered 0, then Shopify refused")
}
