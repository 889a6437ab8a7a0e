package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// sourceSystems adds a production Shopify store and a production Odoo.
func sourceSystems(t *testing.T, env *webtest.Env) (shop, odoo store.Connection) {
	t.Helper()
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	a := store.SystemActor("test")
	shop, err = env.Store.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
		Environment: vocab.EnvProduction, Settings: map[string]string{"shop_domain": "main.myshopify.com"}})
	require.NoError(t, err)
	odoo, err = env.Store.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo,
		Environment: vocab.EnvProduction, Settings: map[string]string{"url": "https://odoo.example", "database": "shop"}})
	require.NoError(t, err)
	return shop, odoo
}

func inventoryForm(shop, odoo store.Connection) url.Values {
	return url.Values{"version": {"0"}, "master": {fmt.Sprint(odoo.ID)}, "receivers": {fmt.Sprint(shop.ID)}, "trigger": {"realtime"},
		"sweep_minutes": {"1"}, "freshness_minutes": {"2"}, "policy": {"master_wins"}}
}

func TestSourcesEmptyStateSaysWhatToDoFirst(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	tests := []struct {
		role vocab.Role
		want string
	}{
		{vocab.RoleAdmin, `href="/connections"`},
		{vocab.RoleOperator, `href="/connections"`},
		{vocab.RoleFinance, "Ask an admin to connect your systems."},
	}
	for _, tc := range tests {
		t.Run(string(tc.role), func(t *testing.T) {
			t.Parallel()
			res, body := env.SignIn(t, tc.role).Get("/sources")
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Contains(t, body, "Add your Shopify store and your ERP first")
			require.Contains(t, body, tc.want)
			require.NotContains(t, body, "/sources/inventory/edit")
		})
	}
}

func TestAdminChoosesWhoDecidesStockLevels(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)

	// Every family is listed, even the ones nobody set up yet.
	_, body := admin.Get("/sources")
	for _, f := range vocab.AllFamilies() {
		require.Contains(t, body, fmt.Sprintf(`id="%s"`, f))
	}
	require.Contains(t, body, "Nobody decides stock levels yet, so Crossdock does not sync them.")
	require.Contains(t, body, "Fix: Choose the system that decides prices.")
	require.Contains(t, body, `href="/sources/inventory/edit"`)

	res, body := admin.Get("/sources/inventory/edit")
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, label := range []string{`<label for="master">`, fmt.Sprintf(`<label for="receivers-%d">`, shop.ID),
		fmt.Sprintf(`<label for="by_hand-%d">People also edit stock levels by hand in Main store`, shop.ID),
		`<label for="trigger-realtime">`, `<label for="sweep_minutes">`, `<label for="freshness_minutes">`, `<label for="policy-hold">`} {
		require.Contains(t, body, label)
	}
	require.Contains(t, body, "Odoo (Odoo, production)", "the select shows each system's environment")
	require.NotContains(t, body, "owner_sku", "field ownership is for products only")

	res = admin.PostForm("/sources/inventory", inventoryForm(shop, odoo))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/sources#inventory", res.Header.Get("Location"))
	_, body = admin.Get("/sources")
	require.Contains(t, body, "Saved. Odoo decides stock levels; Main store is updated within 2 minutes.")
	require.Contains(t, body, "Never more than 2 minutes out of date")
	require.Contains(t, body, "Odoo does not send webhooks", "a note, not a warning")

	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "source_rule"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, env.Users[vocab.RoleAdmin].Name, entries[0].ActorLabel)
	require.NotNil(t, entries[0].After)

	// The engine's view of what was saved.
	rs, err := env.Store.SourceRules(t.Context())
	require.NoError(t, err)
	require.False(t, rs.Decide(vocab.Inventory, shop.ID, odoo.ID, nil).Allowed, "never written into the master")

	// Operators and finance see the rules but cannot change them.
	for _, role := range []vocab.Role{vocab.RoleOperator, vocab.RoleFinance} {
		c := env.SignIn(t, role)
		res, body := c.Get("/sources")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "Odoo decides stock levels; Main store is updated within 2 minutes.")
		require.Contains(t, body, "Only an admin can change these rules.")
		require.NotContains(t, body, "/sources/inventory/edit")
		res, _ = c.Get("/sources/inventory/edit")
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		res, _ = c.PostFormBody("/sources/inventory", inventoryForm(odoo, shop))
		require.Equal(t, http.StatusForbidden, res.StatusCode)
	}
	rs, err = env.Store.SourceRules(t.Context())
	require.NoError(t, err)
	require.Equal(t, odoo.ID, rs.Rule(vocab.Inventory).Master, "nothing changed")
}

func TestSourceFormErrors(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)
	tests := []struct {
		name   string
		change func(f url.Values)
		text   string
	}{
		{"receiver is the master", func(f url.Values) { f.Add("receivers", fmt.Sprint(odoo.ID)) }, "The system that decides stock levels cannot also receive them"},
		{"sweep not a number", func(f url.Values) { f.Set("sweep_minutes", "often") }, "Enter a whole number of minutes from 1 to 1440 (a day)."},
		{"sweep over a day", func(f url.Values) { f.Set("sweep_minutes", "1441") }, "from 1 to 1440"},
		{"freshness zero", func(f url.Values) { f.Set("freshness_minutes", "0") }, "Enter a whole number of minutes from 1 to 10080 (a week)."},
		{"no policy", func(f url.Values) { f.Del("policy") }, "Choose what happens on a conflict"},
		{"no trigger", func(f url.Values) { f.Del("trigger") }, "Choose real time or a schedule."},
		{"master not connected", func(f url.Values) { f.Set("master", "999999") }, "That system is not connected (any more)"},
		{"garbled id", func(f url.Values) { f.Set("receivers", "abc") }, "One of the choices was not understood."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := inventoryForm(shop, odoo)
			tc.change(f)
			res, body := admin.PostFormBody("/sources/inventory", f)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			require.Contains(t, body, tc.text)
			require.Contains(t, body, `action="/sources/inventory"`, "the form is shown again")
		})
	}
	t.Run("typed values are kept", func(t *testing.T) {
		f := inventoryForm(shop, odoo)
		f.Set("sweep_minutes", "often")
		_, body := admin.PostFormBody("/sources/inventory", f)
		require.Contains(t, body, `value="often"`)
	})
	res, _ := admin.Get("/sources/taxes/edit")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = admin.PostFormBody("/sources/taxes", inventoryForm(shop, odoo))
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	rs, err := env.Store.SourceRules(t.Context())
	require.NoError(t, err)
	require.Zero(t, rs.Version, "nothing saved")
}

func TestSourceFormBasedOnOldRulesIsNotSaved(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/sources/inventory", inventoryForm(shop, odoo)).StatusCode)
	// A second tab still shows version 0.
	stale := inventoryForm(odoo, shop)
	stale.Del("receivers")
	res := admin.PostForm("/sources/inventory", stale)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/sources/inventory/edit", res.Header.Get("Location"))
	_, body := admin.Get("/sources/inventory/edit")
	require.Contains(t, body, "Someone else changed the rules for stock levels while you were editing them")
	require.Contains(t, body, `name="version" value="1"`)
	rs, err := env.Store.SourceRules(t.Context())
	require.NoError(t, err)
	require.Equal(t, odoo.ID, rs.Rule(vocab.Inventory).Master)
}

func TestSourcesWarnAboutRiskySetups(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)

	// Stock levels also typed by hand in Shopify.
	f := inventoryForm(shop, odoo)
	f.Set("by_hand", fmt.Sprint(shop.ID))
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/sources/inventory", f).StatusCode)
	// Products from Shopify, SKU and cost from Odoo; costs decided by Shopify: two masters for cost.
	products := url.Values{"version": {"0"}, "master": {fmt.Sprint(shop.ID)}, "receivers": {fmt.Sprint(odoo.ID)}, "trigger": {"realtime"},
		"sweep_minutes": {"15"}, "freshness_minutes": {"15"}, "policy": {"hold"}, "owner_sku": {fmt.Sprint(odoo.ID)}, "owner_cost": {fmt.Sprint(odoo.ID)}, "owner_title": {""}}
	res, body := admin.PostFormBody("/sources/products", products)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, snippet(body))
	costs := url.Values{"version": {"0"}, "master": {fmt.Sprint(shop.ID)}, "receivers": {fmt.Sprint(odoo.ID)}, "trigger": {"realtime"},
		"sweep_minutes": {"15"}, "freshness_minutes": {"60"}, "policy": {"master_wins"}}
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/sources/costs", costs).StatusCode)

	_, body = admin.Get("/sources")
	for _, want := range []string{
		"People also edit stock levels by hand in Main store. Odoo wins, so their edits are overwritten within 2 minutes.",
		"Fix: Make those edits in Odoo instead, or make Main store the master of stock levels.",
		"(also edited by hand)",
		"Two systems decide cost: Main store for costs, and Odoo for the product&#39;s cost field.",
		"Main store decides product content; Odoo is updated within 15 minutes. Odoo decides SKU and Cost.",
		"Nobody decides refunds and returns yet, so Crossdock does not sync them.",
		"Fix: Choose the system that decides fulfillments.",
	} {
		require.Contains(t, body, want)
	}
	require.Equal(t, 1, strings.Count(body, `<td>SKU</td>`), "the field table lists SKU once")

	// The edit form of products shows who owns which field.
	_, body = admin.Get("/sources/products/edit")
	require.Contains(t, body, `<label for="owner_sku">SKU</label>`)
	require.Contains(t, body, "Follows the source of product content (Main store)")
	require.Contains(t, body, "Follows the source of costs (Main store)")
}
