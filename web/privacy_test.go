package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// The privacy pages' access rows: admins only. ":id<int>" is a privacy
// request of the role's own (privacyRouteRecord).
func init() {
	writesNowhere["POST /privacy/:id<int>/answered"] = "records that a data request was answered"
	addRoutes(
		routeRow{"GET", "/privacy", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"GET", "/privacy/map", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"GET", "/privacy/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/privacy/:id<int>/answered", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/privacy/:id<int>/export", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"GET", "/privacy/:id<int>/download", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		// An empty form is refused in words (303 with a message) before any record is read.
		routeRow{"POST", "/privacy/settings/erasures", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/privacy/:id<int>/systems/retry", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		// The route table's request is a data request: confirming a shop's erasure of it is refused in words.
		routeRow{"POST", "/privacy/:id<int>/erase-shop", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	)
}

// The privacy routes that write into a connected system check the scope:
// an admin limited to test systems cannot send erasures to, or erase the
// shop's data of, a production system.
func init() {
	writeRoutes = append(writeRoutes,
		writeRoute{"send erasures to a system", "POST /privacy/settings/erasures", vocab.RoleAdmin, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
			body := flashAfter(t, c, c.PostForm("/privacy/settings/erasures", url.Values{"connection_id": {fmt.Sprint(e.odooConn.ID)}, "send": {"on"}}))
			require.Contains(t, body, scopeRefusal("Odoo live")+" The setting is unchanged.")
			require.Zero(t, e.count(t, `SELECT count(*) FROM privacy_erasure_settings`))
		}},
		writeRoute{"send a customer's erasure again", "POST /privacy/:id<int>/systems/retry", vocab.RoleAdmin, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
			id := privacyRouteRecord(t, e.env, e.shopConn.ID, "scope")
			_, err := e.env.Store.DB.ExecContext(t.Context(), `INSERT INTO privacy_system_erasures (request_id, connection_id, outcome, detail)
VALUES ($1, $2, 'failed', 'failed: Odoo live did not answer')`, id, e.odooConn.ID)
			require.NoError(t, err)
			body := flashAfter(t, c, c.PostForm(fmt.Sprintf("/privacy/%d/systems/retry", id), url.Values{"connection_id": {fmt.Sprint(e.odooConn.ID)}}))
			require.Contains(t, body, scopeRefusal("Odoo live")+" Nothing was sent.")
			require.Zero(t, e.count(t, `SELECT count(*) FROM privacy_system_erasures WHERE outcome = 'sending'`))
		}},
		writeRoute{"erase a shop's data", "POST /privacy/:id<int>/erase-shop", vocab.RoleAdmin, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
			var id int64
			require.NoError(t, e.env.Store.DB.GetContext(t.Context(), &id, `INSERT INTO privacy_requests (connection_id, kind, shop_domain, received_at, due_at)
VALUES ($1, 'shop_redact', 'live-shop.myshopify.com', now(), now() + interval '30 days') RETURNING id`, e.shopConn.ID))
			body := flashAfter(t, c, c.PostForm(fmt.Sprintf("/privacy/%d/erase-shop", id), nil))
			require.Contains(t, body, scopeRefusal("Main store")+" Nothing was erased.")
			conn, err := e.env.Store.ConnectionByID(t.Context(), e.shopConn.ID)
			require.NoError(t, err)
			require.True(t, conn.Enabled, "the shop stays enabled")
			require.Zero(t, e.count(t, `SELECT count(*) FROM privacy_requests WHERE shop_confirmed_at IS NOT NULL`))
		}},
	)
}

// privacyRouteRecord stores a privacy request for the access table.
func privacyRouteRecord(t *testing.T, env *webtest.Env, connectionID int64, role string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &id, `INSERT INTO privacy_requests (connection_id, kind, shop_domain, customer_id, received_at, due_at)
VALUES ($1, 'data_request', 'route-shop.myshopify.com', $2, now(), now() + interval '30 days') RETURNING id`, connectionID, "route-"+role))
	return id
}

// deliverPrivacy posts one of Shopify's documented privacy payloads, signed,
// to the connection's webhook address as Shopify would.
func deliverPrivacy(t *testing.T, env *webtest.Env, conn store.Connection, topic, fixture, eventID string) {
	t.Helper()
	b, err := os.ReadFile("../engine/testdata/" + fixture)
	require.NoError(t, err)
	body := []byte(strings.ReplaceAll(string(b), "{shop}.myshopify.com", "crossdock-test.myshopify.com"))
	res, out := deliver(t, env, fmt.Sprintf("/webhooks/shopify/%d", conn.ID), body, map[string]string{
		"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": "crossdock-test.myshopify.com",
		"X-Shopify-API-Version": "2026-04", "X-Shopify-Webhook-Id": eventID + "-delivery", "X-Shopify-Event-Id": eventID,
		"X-Shopify-Triggered-At": time.Now().UTC().Format(time.RFC3339Nano), "X-Shopify-Hmac-Sha256": sandbox.Sign(body, testSecret),
	})
	require.Equal(t, http.StatusOK, res.StatusCode, out)
}

// Signed privacy webhooks reach the Privacy page through intake: each
// request with its customer (by name when Crossdock knows them), its kind,
// its due date in words and its progress. A wrong signature is refused
// with 401, as Shopify requires of these topics.
func TestPrivacyRequestsPage(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	startEngine(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)

	_, body := admin.Get("/privacy")
	require.Contains(t, body, "No privacy request yet")

	conn := shopifyConnection(t, env, testSecret)
	// The customer is known to the catalogue by name.
	_, err := env.Store.DB.ExecContext(t.Context(), `INSERT INTO external_records (connection_id, entity_type, external_id, email, name)
VALUES ($1, 'customer', 'gid://shopify/Customer/191167', 'john@example.com', 'John Smith')`, conn.ID)
	require.NoError(t, err)
	deliverPrivacy(t, env, conn, "customers/data_request", "customers-data-request.json", "privacy-data")
	// (An erasure is walked in privacy_browser_test.go: the engine here
	// would carry it out at once.)
	deliverPrivacy(t, env, conn, "shop/redact", "shop-redact.json", "privacy-shop")

	res, _ := deliver(t, env, fmt.Sprintf("/webhooks/shopify/%d", conn.ID), []byte(`{"shop_id":1}`), map[string]string{
		"Content-Type": "application/json", "X-Shopify-Topic": "shop/redact", "X-Shopify-Shop-Domain": "crossdock-test.myshopify.com",
		"X-Shopify-API-Version": "2026-04", "X-Shopify-Webhook-Id": "forged", "X-Shopify-Hmac-Sha256": sandbox.Sign([]byte(`{"shop_id":1}`), "wrong"),
	})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	require.Eventually(t, func() bool {
		_, body = admin.Get("/privacy")
		// Each request links to its page (the map's and the settings' links are not one).
		return strings.Count(body, `href="/privacy/`)-strings.Count(body, `href="/privacy/map"`)-strings.Count(body, `href="/privacy/settings"`) == 2
	}, 20*time.Second, 50*time.Millisecond, "the two requests are listed")
	for _, want := range []string{"John Smith", "john@example.com · Shopify customer 191167", "Data request",
		"Erase the shop", "The whole shop", "Due in 30 days", "Not started", "2 requests open, none past its due date"} {
		require.Contains(t, body, want)
	}

	// Past its due date, a request says so in words.
	_, err = env.Store.DB.ExecContext(t.Context(), `UPDATE privacy_requests SET received_at = now() - interval '33 days', due_at = now() - interval '3 days'
WHERE kind = 'shop_redact'`)
	require.NoError(t, err)
	_, body = admin.Get("/privacy")
	require.Contains(t, body, "Overdue by 3 days")
	require.Contains(t, body, "1 request past its due date")

	var id int64
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &id, `SELECT id FROM privacy_requests WHERE kind = 'data_request'`))
	res, body = admin.Get(fmt.Sprintf("/privacy/%d", id))
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, want := range []string{"Data request: John Smith", "john@example.com", "555-625-1199", "3 orders", "Shopify data request id", "9999",
		"Send the store owner everything Crossdock holds about this customer"} {
		require.Contains(t, body, want)
	}

	// The answer: a printable page and a JSON file of what is held, each
	// taken recorded in the audit log.
	res, body = admin.Get(fmt.Sprintf("/privacy/%d/export", id))
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, want := range []string{"Data held about John Smith (john@example.com)", "Systems that hold a copy", "records, as last read",
		"Crossdock has moved nothing about this customer between systems."} {
		require.Contains(t, body, want)
	}
	res, body = admin.Get(fmt.Sprintf("/privacy/%d/download", id))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, fmt.Sprintf(`attachment; filename="crossdock-privacy-request-%d.json"`, id), res.Header.Get("Content-Disposition"))
	var doc struct {
		Request struct {
			ShopifyRequestID string   `json:"shopify_data_request_id"`
			CustomerName     string   `json:"customer_name"`
			Orders           []string `json:"shopify_order_ids"`
		} `json:"request"`
		Copies []struct {
			System   string `json:"system"`
			RecordID string `json:"record_id"`
		} `json:"systems_holding_a_copy"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	require.Equal(t, "9999", doc.Request.ShopifyRequestID)
	require.Equal(t, "John Smith", doc.Request.CustomerName)
	require.Equal(t, []string{"299938", "280263", "220458"}, doc.Request.Orders)
	require.Len(t, doc.Copies, 1)
	require.Equal(t, "gid://shopify/Customer/191167", doc.Copies[0].RecordID)
	var exported int
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &exported, `SELECT count(*) FROM audit_log WHERE action = 'privacy_request.exported' AND object_id = $1`, fmt.Sprint(id)))
	require.Equal(t, 2, exported)

	// Answered: the request says so, and by whom.
	require.Equal(t, http.StatusSeeOther, admin.PostForm(fmt.Sprintf("/privacy/%d/answered", id), nil).StatusCode)
	_, body = admin.Get(fmt.Sprintf("/privacy/%d", id))
	require.Contains(t, body, "Answered in time")
	require.Contains(t, body, "The data held was sent to the customer by Ada Admin.")
	require.NotContains(t, body, "Mark as answered")

	// Operators and finance meet the refusal every admin page gives.
	for _, role := range []vocab.Role{vocab.RoleOperator, vocab.RoleFinance} {
		res, body := env.SignIn(t, role).Get(fmt.Sprintf("/privacy/%d", id))
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Contains(t, body, "Not available for your role")
		require.NotContains(t, body, "john@example.com")
	}
}

// The erasure forms refuse bad values one by one, in words, and change
// nothing: a NUL byte, a word, an unknown system, a system that cannot
// erase, a value other than on or off. Good ones take effect and are audited.
func TestPrivacyErasureForms(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	ctx := t.Context()
	admin := env.SignIn(t, vocab.RoleAdmin)
	shop := shopifyConnection(t, env, testSecret)
	erp, err := env.Store.CreateConnection(ctx, store.SystemActor("test"), testBox(t), store.ConnectionInput{Name: "Main ERP", Kind: vocab.KindOdoo,
		Environment: vocab.EnvTest, Settings: map[string]string{"url": "https://erp.example.com", "database": "db", "username": "bot"}, Secrets: map[string]string{"api_key": "k"}})
	require.NoError(t, err)

	_, body := admin.Get("/privacy")
	require.Contains(t, body, "Erasures in connected systems")
	require.Contains(t, body, "Send erasures to Main ERP")
	require.NotContains(t, body, "Send erasures to "+shop.Name, "a store erases its own data")

	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"a word", url.Values{"connection_id": {"abc"}, "send": {"on"}}, "Choose a system and whether erasures are sent to it"},
		{"neither on nor off", url.Values{"connection_id": {fmt.Sprint(erp.ID)}, "send": {"maybe"}}, "Choose a system and whether erasures are sent to it"},
		{"a huge number", url.Values{"connection_id": {strings.Repeat("9", 5000)}, "send": {"on"}}, "Choose a system and whether erasures are sent to it"},
		{"nobody", url.Values{"connection_id": {"999999"}, "send": {"on"}}, "That system no longer exists."},
		{"a store", url.Values{"connection_id": {fmt.Sprint(shop.ID)}, "send": {"on"}}, "Crossdock cannot erase customers in " + shop.Name + "; erase them by hand there."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := flashAfter(t, admin, admin.PostForm("/privacy/settings/erasures", tc.form))
			require.Contains(t, body, tc.want)
		})
	}
	// A NUL byte is refused before any handler, in words (web/middleware.go).
	res, body := admin.PostFormBody("/privacy/settings/erasures", url.Values{"connection_id": {fmt.Sprint(erp.ID) + "\x00"}, "send": {"on"}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, body, "nothing was changed")
	var n int
	require.NoError(t, env.Store.DB.GetContext(ctx, &n, `SELECT count(*) FROM privacy_erasure_settings`))
	require.Zero(t, n, "no bad value changed a setting")

	body = flashAfter(t, admin, admin.PostForm("/privacy/settings/erasures", url.Values{"connection_id": {fmt.Sprint(erp.ID)}, "send": {"on"}}))
	require.Contains(t, body, "erasures are now sent to this system.")
	require.Contains(t, body, "Stop sending erasures to Main ERP")
	require.NoError(t, env.Store.DB.GetContext(ctx, &n, `SELECT count(*) FROM audit_log WHERE action = 'privacy.erasure_setting'`))
	require.Equal(t, 1, n)

	// A customer's erasure that failed in the ERP.
	var id int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &id, `INSERT INTO privacy_requests (connection_id, kind, shop_domain, customer_id, received_at, due_at, status, progress, completed_at)
VALUES ($1, 'customer_redact', 'crossdock-test.myshopify.com', '191167', now(), now() + interval '30 days', 'done', 'Erased from Crossdock.', now()) RETURNING id`, shop.ID))
	_, err = env.Store.DB.ExecContext(ctx, `INSERT INTO privacy_system_erasures (request_id, connection_id, outcome, detail, attempts)
VALUES ($1, $2, 'failed', 'failed: Main ERP did not answer in time', 10)`, id, erp.ID)
	require.NoError(t, err)
	var part string
	_, body = admin.Get(fmt.Sprintf("/privacy/%d", id))
	for _, want := range []string{"In the connected systems", "Main ERP", "Failed", "Failed: Main ERP did not answer in time.",
		"Tried 10 times; Crossdock stopped trying.", "Send the erasure to Main ERP again"} {
		require.Contains(t, body, want)
	}
	res, part = admin.Get(fmt.Sprintf("/privacy/%d?part=systems", id))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.HasPrefix(strings.TrimSpace(part), `<section class="card" id="privacy-systems"`), "just the section: %.80s", part)

	retry := fmt.Sprintf("/privacy/%d/systems/retry", id)
	for _, bad := range []string{"", "x", "-4", strings.Repeat("7", 3000)} {
		body = flashAfter(t, admin, admin.PostForm(retry, url.Values{"connection_id": {bad}}))
		require.Contains(t, body, "Choose the system to send the erasure to")
	}
	body = flashAfter(t, admin, admin.PostForm(retry, url.Values{"connection_id": {fmt.Sprint(shop.ID)}}))
	require.Contains(t, body, "never meant for that system")
	body = flashAfter(t, admin, admin.PostForm(retry, url.Values{"connection_id": {fmt.Sprint(erp.ID)}}))
	require.Contains(t, body, "The erasure is being sent again")
	require.Contains(t, body, "Sending")
	require.Contains(t, body, "Waiting to be sent.")
	require.NotContains(t, body, "did not answer in time", "the old failure is not shown as the news")
	require.Contains(t, body, `hx-trigger="every 3s"`, "the section follows the erasure on its way")
	body = flashAfter(t, admin, admin.PostForm(retry, url.Values{"connection_id": {fmt.Sprint(erp.ID)}}))
	require.Contains(t, body, "already on its way")
	_, body = admin.Get("/privacy")
	require.Contains(t, body, "Main ERP: sending", "the list says where each system stands")

	body = flashAfter(t, admin, admin.PostForm(fmt.Sprintf("/privacy/%d/erase-shop", id), nil))
	require.Contains(t, body, "erases a shop; this request is about one customer")
}
