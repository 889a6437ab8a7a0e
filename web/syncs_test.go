package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web"
	"crossdock/web/webtest"
)

type syncsEnv struct {
	env        *webtest.Env
	shop, odoo store.Connection
}

func syncsSetup(t *testing.T) syncsEnv {
	t.Helper()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	return syncsEnv{env: env, shop: shop, odoo: odoo}
}

func (e syncsEnv) order(ref string, keys ...string) store.NewSync {
	return store.NewSync{Family: "orders", Direction: "shopify_to_odoo", Flow: "orders.shopify_odoo",
		SourceConnectionID: e.shop.ID, TargetConnectionID: e.odoo.ID, Trigger: store.TriggerWebhook, EntityType: "order",
		EntityRef: ref, EntityKey: ref, SearchKeys: keys, Payload: map[string]string{"name": ref}, IdempotencyKey: "order-" + ref,
		MaxAttempts: 8, Message: "Order " + ref + " is waiting to be sent to Odoo."}
}

func (e syncsEnv) stock(ref string, keys ...string) store.NewSync {
	return store.NewSync{Family: "inventory", Direction: "odoo_to_shopify", Flow: "inventory.odoo_shopify",
		SourceConnectionID: e.odoo.ID, TargetConnectionID: e.shop.ID, Trigger: store.TriggerSweep, EntityType: "stock",
		EntityRef: ref, EntityKey: ref, SearchKeys: keys, Payload: map[string]any{"sku": ref, "quantity": 4}, IdempotencyKey: "stock-" + ref,
		MaxAttempts: 8, Message: "Stock of " + ref + " is waiting to be sent to Shopify."}
}

func (e syncsEnv) insert(t *testing.T, ns ...store.NewSync) []int64 {
	t.Helper()
	ids, err := e.env.Store.InsertSyncs(t.Context(), ns)
	require.NoError(t, err)
	return ids
}

func TestSyncsListShowsEveryStatusNewestFirst(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	failed := e.order("#1001", "#1001", "ada@example.com", "SKU-RED")
	failed.Status, failed.ErrorClass, failed.Message = vocab.SyncFailed, vocab.ClassUnmapped, "The SKU SKU-RED has no Odoo product yet."
	e.insert(t, e.stock("SKU-BLUE", "SKU-BLUE"), failed)

	for _, role := range []vocab.Role{vocab.RoleAdmin, vocab.RoleOperator, vocab.RoleFinance} {
		res, body := e.env.SignIn(t, role).Get("/syncs")
		require.Equal(t, http.StatusOK, res.StatusCode, role)
		require.Contains(t, body, `href="/syncs" aria-current="page"`, "the nav marks Syncs")
		require.Contains(t, body, "The SKU SKU-RED has no Odoo product yet.")
		require.Contains(t, body, "Stock of SKU-BLUE is waiting to be sent to Shopify.")
		require.Less(t, strings.Index(body, "#1001"), strings.Index(body, "SKU-BLUE"), "newest first")
		require.Contains(t, body, `badge badge-critical">Failed<`)
		require.Contains(t, body, `badge badge-info">Waiting<`)
		require.Contains(t, body, "Main store")
		require.Contains(t, body, `badge badge-warning">Production<`)
		require.Contains(t, body, `<label for="f-q">SKU, order number or email</label>`)
		if role == vocab.RoleFinance {
			require.NotContains(t, body, "Check all systems now", "finance may not start a stock check")
		} else {
			require.Contains(t, body, "Check all systems now")
		}
		require.NotContains(t, body, "style=", "no inline styles (CSP)")
	}
}

func TestSyncsEmptyStateSaysWhatToDo(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := env.SignIn(t, vocab.RoleAdmin)
	_, body := c.Get("/syncs")
	require.Contains(t, body, "Nothing has been synced yet")
	require.Contains(t, body, `href="/connections"`)

	shop, _ := sourceSystems(t, env)
	_, body = c.Get("/syncs")
	require.Contains(t, body, `href="/sources"`, "with systems connected, the next step is the sources of truth")

	_, body = c.Get("/syncs?q=nothing-like-this&source=" + fmt.Sprint(shop.ID))
	require.Contains(t, body, "No syncs match these filters")
	require.Contains(t, body, `value="nothing-like-this"`, "the search stays in the box")
}

func TestSyncsFiltersAndSearch(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	failed := e.order("#1001", "#1001", "ada@example.com", "SKU-RED")
	failed.Status, failed.ErrorClass, failed.Message = vocab.SyncFailed, vocab.ClassUnmapped, "SKU-RED has no Odoo product yet."
	refused := e.order("#1002", "#1002", "bob@example.com")
	refused.Status, refused.ErrorClass, refused.Message = vocab.SyncRejected, vocab.ClassOwnership, "Orders are not sent into Odoo by the rules."
	e.insert(t, failed, refused, e.order("#1003", "#1003", "cy@example.com"), e.stock("SKU-BLUE", "SKU-BLUE"))
	c := e.env.SignIn(t, vocab.RoleFinance)

	tests := []struct {
		query      string
		want, not_ []string
	}{
		{"family=inventory", []string{"SKU-BLUE"}, []string{"#1001", "#1002", "#1003"}},
		{"status=rejected", []string{"#1002"}, []string{"#1001", "#1003", "SKU-BLUE"}},
		{"class=unmapped", []string{"#1001"}, []string{"#1002", "#1003", "SKU-BLUE"}},
		{"problems=1", []string{"#1001", "#1002"}, []string{"#1003", "SKU-BLUE"}},
		{"source=" + fmt.Sprint(e.odoo.ID), []string{"SKU-BLUE"}, []string{"#1001", "#1002", "#1003"}},
		{"target=" + fmt.Sprint(e.odoo.ID), []string{"#1001", "#1002", "#1003"}, []string{"SKU-BLUE"}},
		{"q=" + url.QueryEscape(" ADA@example.com "), []string{"#1001"}, []string{"#1002", "#1003", "SKU-BLUE"}},
		{"q=sku-red", []string{"#1001"}, []string{"#1002", "#1003", "SKU-BLUE"}},
		{"q=%231003", []string{"#1003"}, []string{"#1001", "#1002", "SKU-BLUE"}},
		{"status=bogus&family=orders", []string{"were not understood", "#1001", "#1002", "#1003"}, []string{"SKU-BLUE"}},
	}
	for _, tc := range tests {
		res, body := c.Get("/syncs?" + tc.query)
		require.Equal(t, http.StatusOK, res.StatusCode, tc.query)
		for _, w := range tc.want {
			require.Contains(t, body, w, tc.query)
		}
		for _, n := range tc.not_ {
			require.NotContains(t, body, ">"+n+"<", tc.query)
		}
	}
	_, body := c.Get("/syncs?problems=1&family=orders")
	require.Contains(t, body, `id="f-problems" name="problems" value="1" checked`, "the toggle stays on")
	require.Contains(t, body, `<option value="orders" selected>`)
}

func TestSyncsKeysetPages(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	var ns []store.NewSync
	for i := range 55 {
		ns = append(ns, e.stock(fmt.Sprintf("SKU-%03d", i)))
	}
	e.insert(t, ns...)
	c := e.env.SignIn(t, vocab.RoleOperator)

	_, body := c.Get("/syncs?family=inventory")
	require.Contains(t, body, ">SKU-054<")
	require.Contains(t, body, ">SKU-005<")
	require.NotContains(t, body, ">SKU-004<")
	require.NotContains(t, body, "← Newest")
	next := regexpHref(t, body, "Older →")
	require.Contains(t, next, "family=inventory", "the next page keeps the filters")
	require.Contains(t, next, "before_id=")

	_, body = c.Get(next)
	for i := range 5 {
		require.Contains(t, body, fmt.Sprintf(">SKU-%03d<", i))
	}
	require.NotContains(t, body, ">SKU-005<")
	require.NotContains(t, body, "Older →")
	require.Contains(t, body, "← Newest")
}

// regexpHref returns the href of the link whose text is text.
func regexpHref(t *testing.T, body, text string) string {
	t.Helper()
	end := strings.Index(body, ">"+text+"<")
	require.GreaterOrEqual(t, end, 0, "no link %q", text)
	start := strings.LastIndex(body[:end], `href="`)
	require.GreaterOrEqual(t, start, 0)
	href := body[start+len(`href="`):]
	href = href[:strings.Index(href, `"`)]
	return strings.ReplaceAll(href, "&amp;", "&")
}

func TestSyncDetail(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	ids := e.insert(t, e.order("#1001", "#1001"))
	st := e.env.Store
	_, err := st.BeginSyncAttempt(ctx, ids[0])
	require.NoError(t, err)
	require.NoError(t, st.FinishSyncAttempt(ctx, store.SyncOutcome{ID: ids[0], Attempt: 1, Status: vocab.SyncFailed,
		ErrorClass: vocab.ClassValidation, Message: "Odoo refused the order: the customer has no address.",
		Request: map[string]string{"partner": "Ada"}, Response: map[string]string{"error": "missing address"}}))

	for _, role := range []vocab.Role{vocab.RoleAdmin, vocab.RoleOperator, vocab.RoleFinance} {
		c := e.env.SignIn(t, role)
		res, body := c.Get(fmt.Sprintf("/syncs/%d?back=%s", ids[0], url.QueryEscape("family=orders&evil=1")))
		require.Equal(t, http.StatusOK, res.StatusCode, role)
		msg := strings.Index(body, "Odoo refused the order: the customer has no address.")
		tech := strings.Index(body, "Technical detail")
		require.Greater(t, msg, 0)
		require.Greater(t, tech, msg, "the plain-language summary comes first")
		require.Contains(t, body, `<details id="sync-technical">`)
		require.Contains(t, body, "Orders")
		require.Contains(t, body, "A change reported by Shopify")
		require.Contains(t, body, "1 of at most 8")
		require.Contains(t, body, "Data was refused")
		require.Contains(t, body, "&#34;name&#34;: &#34;#1001&#34;", "the payload is indented JSON")
		require.Contains(t, body, "&#34;partner&#34;: &#34;Ada&#34;")
		require.Contains(t, body, "&#34;error&#34;: &#34;missing address&#34;")
		require.Contains(t, body, `<table id="sync-attempts">`)
		require.Contains(t, body, `href="/syncs?family=orders"`, "the way back keeps the list's filters, and only those")
	}

	res, _ := e.env.SignIn(t, vocab.RoleFinance).Get("/syncs/999999")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestSyncDetailLinksFromTheList(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ids := e.insert(t, e.order("#1001", "#1001"))
	c := e.env.SignIn(t, vocab.RoleOperator)
	_, body := c.Get("/syncs?status=pending")
	href := regexpHref(t, body, "#1001")
	require.Equal(t, fmt.Sprintf("/syncs/%d?back=status%%3Dpending", ids[0]), href)
	res, body := c.Get(href)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "No attempt has run yet.")
	require.Contains(t, body, "Nothing has been sent yet.")
	require.Contains(t, body, `href="/syncs?status=pending"`)
}

func TestSyncSweepQueuesAStockCheck(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := env.SignIn(t, vocab.RoleOperator)
	c.RefreshCSRF("/syncs")
	res := c.PostForm("/syncs/sweep", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/syncs", res.Header.Get("Location"))
	_, body := c.Get("/syncs")
	require.Contains(t, body, "A check of every system is queued: stock, prices, fulfillments, customers and products. Results appear below within a minute.")
	var queued int
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &queued,
		`SELECT count(*) FROM river_job WHERE kind = 'crossdock_inventory_sweep'`))
	require.Equal(t, 1, queued, "the engine queued one forced sweep")

	res = env.SignIn(t, vocab.RoleFinance).PostForm("/syncs/sweep", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
}

// Without an engine (a console started without the sync engine) the stock
// check button is hidden and the action answers 503. The second server shares
// the first one's database and key, so the signed-in session works on both.
func TestSyncSweepWithoutEngine(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := env.SignIn(t, vocab.RoleAdmin)
	c.RefreshCSRF("/syncs")
	bare, err := web.New(web.Config{Store: env.Store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SecretKey: []byte(webtest.SecretKey), Version: "test", BaseURL: env.URL})
	require.NoError(t, err)
	u, err := url.Parse(env.URL)
	require.NoError(t, err)
	do := func(req *http.Request) (*http.Response, string) {
		for _, ck := range c.HTTP.Jar.Cookies(u) {
			req.AddCookie(ck)
		}
		res, err := bare.App.Test(req, 10_000)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}

	res, body := do(httptest.NewRequest(http.MethodGet, "/syncs", nil))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NotContains(t, body, "Check all systems now")

	req := httptest.NewRequest(http.MethodPost, "/syncs/sweep", strings.NewReader(url.Values{"_csrf": {c.CSRF}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, _ = do(req)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
}
