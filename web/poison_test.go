package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// orderWebhook is the orders/create fixture turned into another order (id,
// name, line SKU), signed with testSecret: what Shopify would deliver.
func orderWebhook(t *testing.T, fx webhookFixture, id int64, name, sku string, noLines bool) ([]byte, map[string]string) {
	t.Helper()
	var o map[string]any
	require.NoError(t, json.Unmarshal(fx.body, &o))
	o["id"], o["admin_graphql_api_id"], o["name"] = id, fmt.Sprintf("gid://shopify/Order/%d", id), name
	for i, l := range o["line_items"].([]any) {
		l := l.(map[string]any)
		l["variant_id"] = 4401 + i
		if i == 0 {
			l["sku"] = sku
		}
	}
	if noLines {
		o["line_items"] = []any{}
	}
	body, err := json.Marshal(o)
	require.NoError(t, err)
	// Bytes that are not UTF-8 go in after marshalling, which would mend them.
	body = bytes.ReplaceAll(body, []byte("~FF~"), []byte{0xff})
	headers := map[string]string{}
	for k, v := range fx.headers {
		headers[k] = v
	}
	headers["X-Shopify-Webhook-Id"] = fmt.Sprintf("poison-%d", id)
	headers["X-Shopify-Hmac-Sha256"] = sandbox.Sign(body, testSecret)
	return body, headers
}

// ordersIntoOdoo sets up a Shopify connection whose orders an Odoo receives.
// The Odoo is never called: intake only plans the syncs.
func ordersIntoOdoo(t *testing.T, env *webtest.Env) (shop, erp store.Connection) {
	t.Helper()
	shop = shopifyConnection(t, env, testSecret)
	erp, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), testBox(t), store.ConnectionInput{
		Name: fmt.Sprintf("Poison Odoo %d", connSeq.Add(1)), Kind: vocab.KindOdoo, Environment: vocab.EnvTest,
		Settings: map[string]string{"url": "http://127.0.0.1:9", "database": "odoo", "protocol": "json2"},
		Secrets:  map[string]string{"api_key": "key"}})
	require.NoError(t, err)
	_, err = env.Store.SaveSourceRule(t.Context(), store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Orders,
		Master: shop.ID, Receivers: []int64{erp.ID}, Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)
	return shop, erp
}

func webhookEventID(t *testing.T, env *webtest.Env, connectionID int64, webhookID string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &id,
		`SELECT id FROM webhook_events WHERE connection_id = $1 AND webhook_id = $2`, connectionID, webhookID))
	return id
}

// A signed order whose name or line SKU holds U+0000 must fail alone, in
// words; the good order delivered after it becomes a sync, and intake goes on.
func TestOrderWebhookWithNULFailsAlone(t *testing.T) {
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	shop, _ := ordersIntoOdoo(t, env)
	path := fmt.Sprintf("/webhooks/shopify/%d", shop.ID)

	cases := []struct {
		id        int64
		name, sku string
		noLines   bool
		bad       string // what the reason names; "" for a good order
		noSync    bool   // refused by the database itself: the event alone says why
	}{
		{id: 1001, name: "#1001\x00", sku: "SKU-1", bad: "The order's name contains a character that cannot be stored (a NUL byte)."},
		{id: 1002, name: "#1002", sku: "SKU\x00-2", bad: "The order's line 1 SKU contains a character that cannot be stored (a NUL byte)."},
		// A cause nothing checks for: the failed sync's raw payload holds a
		// byte that is not UTF-8, which jsonb refuses. The batch falls back
		// to one event per transaction, and only this one fails.
		{id: 1004, name: "#1004~FF~", sku: "SKU-4", noLines: true, noSync: true,
			bad: "Crossdock could not record this event: it holds a character that cannot be stored"},
		{id: 1003, name: "#1003", sku: "SKU-3"},
	}
	for _, tc := range cases {
		body, headers := orderWebhook(t, fx, tc.id, tc.name, tc.sku, tc.noLines)
		res, out := deliver(t, env, path, body, headers)
		require.Equal(t, http.StatusOK, res.StatusCode, "answer: %v", out)
	}

	n, err := env.Engine.IntakeOnce(t.Context())
	require.NoError(t, err, "one bad event must not stop intake")
	require.Equal(t, len(cases), n)

	for _, tc := range cases {
		evID := webhookEventID(t, env, shop.ID, fmt.Sprintf("poison-%d", tc.id))
		ev, err := env.Store.WebhookEventByID(t.Context(), shop.ID, evID)
		require.NoError(t, err)
		syncs, err := env.Store.SyncsOfWebhookEvent(t.Context(), evID)
		require.NoError(t, err)
		if tc.noSync {
			require.Equal(t, store.WebhookFailed, ev.Status, "order %d", tc.id)
			require.Contains(t, ev.Error, tc.bad)
			require.Empty(t, syncs)
			continue
		}
		require.Len(t, syncs, 1, "order %d became one sync", tc.id)
		s := syncs[0]
		if tc.bad == "" {
			require.Equal(t, store.WebhookProcessed, ev.Status)
			require.Equal(t, vocab.SyncPending, s.Status, s.Message)
			continue
		}
		require.Equal(t, store.WebhookFailed, ev.Status, "order %d", tc.id)
		require.Contains(t, ev.Error, tc.bad)
		require.Equal(t, vocab.SyncFailed, s.Status)
		require.Equal(t, vocab.ClassValidation, s.Class())
		require.Equal(t, ev.Error, s.Message)
		require.NotContains(t, s.EntityKey+s.Message, "\x00")
	}

	// Nothing is left behind: the next pass finds no work.
	n, err = env.Engine.IntakeOnce(t.Context())
	require.NoError(t, err)
	require.Zero(t, n)
}

// An event left waiting longer than the "webhook intake stuck" threshold (5
// minutes on install) turns /readyz to 503 with words and fires the alert;
// once intake takes it, both clear.
func TestStuckWebhookIntakeShowsOnReadyzAndAlerts(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	shop := shopifyConnection(t, env, testSecret)
	res, out := deliver(t, env, fmt.Sprintf("/webhooks/shopify/%d", shop.ID), fx.body, fx.headers)
	require.Equal(t, http.StatusOK, res.StatusCode, "answer: %v", out)

	readyz := func() (int, map[string]any) {
		res, err := http.Get(env.URL + "/readyz")
		require.NoError(t, err)
		defer res.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		return res.StatusCode, out
	}
	stuckAlerts := func() []store.AlertNotice {
		notices, err := env.Engine.EvaluateAlerts(t.Context())
		require.NoError(t, err)
		var out []store.AlertNotice
		for _, n := range notices {
			if n.Alert.Kind == store.AlertIntakeStuck {
				out = append(out, n)
			}
		}
		return out
	}

	status, body := readyz()
	require.Equal(t, http.StatusOK, status, "an event received just now is not stuck: %v", body)
	require.Equal(t, "ok", body["webhook_intake"])
	require.Empty(t, stuckAlerts())

	_, err := env.Store.DB.ExecContext(t.Context(), `UPDATE webhook_events SET received_at = now() - interval '12 minutes' WHERE connection_id = $1`, shop.ID)
	require.NoError(t, err)
	status, body = readyz()
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "stuck", body["webhook_intake"])
	require.Contains(t, body["message"], "Webhook intake is stuck: the oldest event has waited 12 minutes to become syncs (the limit is 5 minutes")
	alerts := stuckAlerts()
	require.Len(t, alerts, 1)
	require.Equal(t, "Webhook intake is stuck: the oldest event has waited 12 minutes", alerts[0].Alert.Title)

	n, err := env.Engine.IntakeOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	status, body = readyz()
	require.Equal(t, http.StatusOK, status, "intake took the event: %v", body)
	var open int
	_, err = env.Engine.EvaluateAlerts(t.Context())
	require.NoError(t, err)
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &open, `SELECT count(*) FROM alerts WHERE kind = $1 AND state <> 'resolved'`, store.AlertIntakeStuck))
	require.Zero(t, open, "the alert resolved by itself")
}

// Reading a catalogue whose product title holds U+0000 used to put the raw
// database error on the page. Now the refresh goes through and says, in
// words, which record holds the character.
func TestCatalogueRefreshWithANULTitleSaysSoInWords(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop := sandbox.New(sandbox.Options{Plan: "plus", AccessToken: "shpat_sandbox", Seed: 5, ShopDomain: "nul-shop.myshopify.com"})
	ts := httptest.NewServer(shop)
	t.Cleanup(ts.Close)
	conn, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), testBox(t), store.ConnectionInput{
		Name: "NUL shop", Kind: vocab.KindShopify, Environment: vocab.EnvTest,
		Settings: map[string]string{"shop_domain": "nul-shop.myshopify.com", "api_base_url": ts.URL},
		Secrets:  map[string]string{"access_token": "shpat_sandbox", "api_secret": "s"}})
	require.NoError(t, err)
	v := shop.Variants()[0]
	_, err = shop.EditProduct(v.ProductGID(), func(p *sandbox.Product, _ []*sandbox.Variant) { p.Title = "Oak\x00 chair" })
	require.NoError(t, err)

	op := env.SignIn(t, vocab.RoleOperator)
	res := op.PostForm(fmt.Sprintf("/connections/%d/catalogue", conn.ID), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body := op.Get(res.Header.Get("Location"))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, fmt.Sprintf("Read %d variants", len(shop.Variants())))
	require.Contains(t, body, "a character that cannot be stored (a NUL byte), kept with � in its place: Oak� chair (SKU "+v.SKU)
	require.NotContains(t, body, "pq:")
	require.NotContains(t, body, "invalid byte sequence")
}
