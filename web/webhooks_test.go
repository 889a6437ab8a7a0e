package web_test

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
	"crossdock/web"
	"crossdock/web/webtest"
)

// testSecret signed the verbatim fixture: its headers file carries the real HMAC.
const testSecret = "crossdock-test-secret"

type webhookFixture struct {
	body    []byte
	headers map[string]string
}

func loadOrdersCreate(t testing.TB) webhookFixture {
	t.Helper()
	body, err := os.ReadFile("../connectors/shopify/testdata/orders-create.2026-04.json")
	require.NoError(t, err)
	raw, err := os.ReadFile("../connectors/shopify/testdata/orders-create.2026-04.headers.json")
	require.NoError(t, err)
	var h map[string]string
	require.NoError(t, json.Unmarshal(raw, &h))
	return webhookFixture{body: body, headers: h}
}

var connSeq atomic.Int64

// shopifyConnection adds a Shopify connection whose webhook secret is secret
// ("" saves none).
func shopifyConnection(t testing.TB, env *webtest.Env, secret string) store.Connection {
	t.Helper()
	secrets := map[string]string{"access_token": "shpat_test"}
	if secret != "" {
		secrets["api_secret"] = secret
	}
	c, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), testBox(t), store.ConnectionInput{
		Name: fmt.Sprintf("Webhook shop %d", connSeq.Add(1)), Kind: vocab.KindShopify, Environment: vocab.EnvTest,
		Settings: map[string]string{"shop_domain": "crossdock-test.myshopify.com"}, Secrets: secrets})
	require.NoError(t, err)
	return c
}

func testBox(t testing.TB) *secretbox.Box {
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	return box
}

func rotateSecret(t testing.TB, env *webtest.Env, c store.Connection, secret string) store.Connection {
	t.Helper()
	c, err := env.Store.UpdateConnection(t.Context(), store.SystemActor("test"), testBox(t), c.ID, store.ConnectionInput{
		Name: c.Name, Kind: c.Kind, Environment: c.Environment, Settings: c.Settings, Secrets: map[string]string{"api_secret": secret}})
	require.NoError(t, err)
	return c
}

// deliver posts body to the connection's endpoint with the given headers.
func deliver(t testing.TB, env *webtest.Env, path string, body []byte, headers map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out), "every answer to Shopify is JSON")
	require.Contains(t, res.Header.Get("Content-Type"), "application/json")
	return res, out
}

func countRows(t testing.TB, env *webtest.Env, table string, connectionID int64) int {
	t.Helper()
	var n int
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &n, `SELECT count(*) FROM `+table+` WHERE connection_id = $1`, connectionID))
	return n
}

func TestFixtureHeadersCarryTheRealSignature(t *testing.T) {
	t.Parallel()
	fx := loadOrdersCreate(t)
	require.Equal(t, fx.headers["X-Shopify-Hmac-Sha256"], sandbox.Sign(fx.body, testSecret))
}

func TestShopifyWebhookIngest(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)

	tests := []struct {
		name   string
		secret string // the connection's saved webhook secret
		// prepare changes the connection before the delivery (rotation, disabling...).
		prepare func(t *testing.T, c store.Connection)
		path    string // default: the connection's endpoint
		body    []byte // default: the verbatim fixture
		sign    string // the secret to sign a non-fixture body with
		headers func(h map[string]string)
		sends   int

		status     int
		text       string // in the JSON answer's message or status
		events     int
		reason     string // the rejection recorded, if any
		keepsBytes int    // body bytes the rejection keeps
	}{
		{name: "good signature is stored once", secret: testSecret, status: 200, text: "stored", events: 1},
		{name: "duplicate delivery answers 200 and stores nothing more", secret: testSecret, sends: 2, status: 200, text: "already received", events: 1},
		{name: "wrong secret", secret: "another-secret", status: 401, text: "Signature did not match: check the API secret key saved for this connection", reason: store.RejectBadSignature, keepsBytes: min(len(fx.body), store.RejectionSampleBytes)},
		{name: "missing HMAC header", secret: testSecret, headers: func(h map[string]string) { delete(h, "X-Shopify-Hmac-Sha256") },
			status: 401, text: "X-Shopify-Hmac-Sha256", reason: store.RejectMissingSignature},
		{name: "garbled HMAC header", secret: testSecret, headers: func(h map[string]string) { h["X-Shopify-Hmac-Sha256"] = "not base64!" },
			status: 401, text: "Signature did not match", reason: store.RejectBadSignature},
		{name: "no secret saved", secret: "", status: 401, text: "No API secret key is saved", reason: store.RejectNoSecret},
		{name: "previous secret during rotation", secret: testSecret, prepare: func(t *testing.T, c store.Connection) {
			rotateSecret(t, env, c, "the-new-secret")
		}, status: 200, text: "stored", events: 1},
		{name: "previous secret after the grace period", secret: testSecret, prepare: func(t *testing.T, c store.Connection) {
			c = rotateSecret(t, env, c, "the-new-secret")
			_, err := env.Store.DB.ExecContext(t.Context(), `UPDATE connections SET previous_secret_valid_until = now() - interval '1 minute' WHERE id = $1`, c.ID)
			require.NoError(t, err)
		}, status: 401, text: "Signature did not match", reason: store.RejectBadSignature},
		{name: "invalid JSON with a good signature is kept whole", secret: testSecret, body: []byte(`{"id": 1, "line_items": [`), sign: testSecret,
			status: 400, text: "not valid JSON", reason: store.RejectInvalidJSON, keepsBytes: 25},
		{name: "wrong content type", secret: testSecret, headers: func(h map[string]string) { h["Content-Type"] = "application/x-www-form-urlencoded" },
			status: 415, text: "application/json", reason: store.RejectContentType},
		{name: "oversized body is capped as evidence", secret: testSecret, body: bytes.Repeat([]byte("a"), 1<<20+1), sign: testSecret,
			status: 413, text: "more than the 1.0 MB", reason: store.RejectTooLarge, keepsBytes: store.RejectionSampleBytes},
		{name: "missing topic header is named", secret: testSecret, headers: func(h map[string]string) { delete(h, "X-Shopify-Topic") },
			status: 400, text: "missing header X-Shopify-Topic", reason: store.RejectMissingHeader},
		{name: "disabled connection", secret: testSecret, prepare: func(t *testing.T, c store.Connection) {
			_, err := env.Store.SetConnectionEnabled(t.Context(), store.SystemActor("test"), c.ID, false)
			require.NoError(t, err)
		}, status: 410, text: "disabled", reason: store.RejectDisabled},
		{name: "secrets that no longer decrypt", secret: testSecret, prepare: func(t *testing.T, c store.Connection) {
			_, err := env.Store.DB.ExecContext(t.Context(), `UPDATE connections SET secrets = '\x01'::bytea WHERE id = $1`, c.ID)
			require.NoError(t, err)
		}, status: 503, text: "cannot be decrypted", reason: store.RejectSecretUnreadable},
		{name: "a signed body from another shop of the same app", secret: testSecret,
			headers: func(h map[string]string) { h["X-Shopify-Shop-Domain"] = "someone-else.myshopify.com" },
			status:  403, text: `comes from the shop "someone-else.myshopify.com", but this connection is for "crossdock-test.myshopify.com"`,
			reason: store.RejectWrongShop, keepsBytes: len(fx.body)},
		{name: "the shop domain in other letter case is the same shop", secret: testSecret,
			headers: func(h map[string]string) { h["X-Shopify-Shop-Domain"] = "Crossdock-Test.myshopify.com" }, status: 200, text: "stored", events: 1},
		{name: "no shop domain saved", secret: testSecret, prepare: func(t *testing.T, c store.Connection) {
			_, err := env.Store.DB.ExecContext(t.Context(), `UPDATE connections SET settings = settings - 'shop_domain' WHERE id = $1`, c.ID)
			require.NoError(t, err)
		}, status: 403, text: "No shop domain is saved for this connection", reason: store.RejectWrongShop},
		{name: "unknown connection", secret: testSecret, path: "/webhooks/shopify/999999", status: 404, text: "No connection has this id"},
		{name: "connection id that is not a number", secret: testSecret, path: "/webhooks/shopify/main", status: 404, text: "No connection has this id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := shopifyConnection(t, env, tc.secret)
			if tc.prepare != nil {
				tc.prepare(t, c)
			}
			path := cmp.Or(tc.path, fmt.Sprintf("/webhooks/shopify/%d", c.ID))
			body, headers := fx.body, map[string]string{}
			for k, v := range fx.headers {
				headers[k] = v
			}
			if tc.body != nil {
				body = tc.body
				headers["X-Shopify-Hmac-Sha256"] = sandbox.Sign(body, tc.sign)
			}
			if tc.headers != nil {
				tc.headers(headers)
			}
			var res *http.Response
			var out map[string]any
			for range max(tc.sends, 1) {
				res, out = deliver(t, env, path, body, headers)
			}
			require.Equal(t, tc.status, res.StatusCode, "answer: %v", out)
			require.Contains(t, fmt.Sprint(out["status"], " ", out["message"]), tc.text)
			require.Equal(t, tc.events, countRows(t, env, "webhook_events", c.ID), "events stored")

			var rejections []store.WebhookRejection
			require.NoError(t, env.Store.DB.SelectContext(t.Context(), &rejections, `SELECT id, connection_id, received_at, reason, detail,
  status_code, webhook_id, topic, headers, body, octet_length(body) AS body_stored, body_size, remote_addr
FROM webhook_rejections WHERE connection_id = $1`, c.ID))
			if tc.reason == "" {
				require.Empty(t, rejections, "nothing recorded as rejected")
				return
			}
			require.Len(t, rejections, 1)
			r := rejections[0]
			require.Equal(t, tc.reason, r.Reason)
			require.Equal(t, tc.status, r.StatusCode)
			require.Equal(t, out["message"], r.Detail, "the operator reads what Shopify was told")
			require.Equal(t, int64(len(body)), r.BodySize)
			require.Equal(t, "127.0.0.1", r.RemoteAddr)
			require.Contains(t, string(r.Headers), "Shopify-Captain-Hook", "headers are kept")
			if tc.keepsBytes > 0 {
				require.Len(t, r.Body, tc.keepsBytes)
				require.Equal(t, body[:tc.keepsBytes], r.Body)
			}
		})
	}
}

func TestShopifyWebhookIsStoredByteExact(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	c := shopifyConnection(t, env, testSecret)

	res, out := deliver(t, env, fmt.Sprintf("/webhooks/shopify/%d", c.ID), fx.body, fx.headers)
	require.Equal(t, http.StatusOK, res.StatusCode)
	id := int64(out["id"].(float64))
	e, err := env.Store.WebhookEventByID(t.Context(), c.ID, id)
	require.NoError(t, err)
	require.Equal(t, fx.body, e.Payload, "the payload is the exact bytes Shopify signed")
	require.Equal(t, "orders/create", e.Topic)
	require.Equal(t, "crossdock-test.myshopify.com", e.ShopDomain)
	require.Equal(t, "2026-04", e.APIVersion)
	require.Equal(t, "5d0c3e2a-8f6b-4b7e-9a51-0e4c2f7d9b13", e.WebhookID)
	require.Equal(t, "7c5b1b9e-3f0e-4b0a-9d43-2f6e3a9c1d55", e.EventID)
	require.NotNil(t, e.TriggeredAt)
	require.WithinDuration(t, time.Date(2026, 4, 2, 9, 20, 11, 123456789, time.UTC), *e.TriggeredAt, time.Microsecond)
	require.Equal(t, store.WebhookReceived, e.Status)
	require.Nil(t, e.ProcessedAt)
	var headers map[string]string
	require.NoError(t, json.Unmarshal(e.Headers, &headers))
	require.Equal(t, "820982911946154508", headers["X-Shopify-Order-Id"])
}

func TestShopifyWebhookOverTheAppBodyLimitIsAnsweredInJSON(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := shopifyConnection(t, env, testSecret)
	// Over the webhook route's limit Fiber refuses the body as soon as it reads the
	// Content-Length, before any handler runs, and closes the connection (a
	// client still writing may only see a reset). Announce the size without
	// sending the body, so the answer can be read.
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /webhooks/shopify/%d HTTP/1.1\r\nHost: crossdock\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", c.ID, web.WebhookRouteLimit+1)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	require.Equal(t, "Too much data", out["error"])
	require.Zero(t, countRows(t, env, "webhook_rejections", c.ID), "nothing reached the handler to record")
}

func TestShopifyWebhookSecretChangeWorksAtOnce(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	c := shopifyConnection(t, env, "first-secret")
	path := fmt.Sprintf("/webhooks/shopify/%d", c.ID)
	send := func(id, secret string) int {
		h := map[string]string{}
		for k, v := range fx.headers {
			h[k] = v
		}
		h["X-Shopify-Webhook-Id"], h["X-Shopify-Hmac-Sha256"] = id, sandbox.Sign(fx.body, secret)
		res, _ := deliver(t, env, path, fx.body, h)
		return res.StatusCode
	}
	require.Equal(t, 200, send("a", "first-secret"), "the secrets are now cached")
	rotateSecret(t, env, c, testSecret)
	// The cache still holds only the first secret; a mismatch re-reads it (at
	// most once a second), so the new secret works without waiting 30 s.
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, 200, send("b", testSecret), "new secret")
	require.Equal(t, 200, send("c", "first-secret"), "previous secret, within its hour")
	require.Equal(t, 401, send("d", "never-saved"))
	require.Equal(t, 3, countRows(t, env, "webhook_events", c.ID))
}

func TestShopifyWebhookFromTheSandboxSender(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	c := shopifyConnection(t, env, testSecret)
	s := sandbox.Sender{URL: fmt.Sprintf("%s/webhooks/shopify/%d", env.URL, c.ID), Secret: testSecret, ShopDomain: "crossdock-test.myshopify.com"}
	// Shopify may deliver one event twice under two webhook ids: both are kept
	// (same event id); the engine decides what a repeat means.
	status, err := s.Send(t.Context(), "orders/create", fx.body, sandbox.SendOptions{Duplicate: true, EventID: "evt-1"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	status, err = s.Send(t.Context(), "orders/create", fx.body, sandbox.SendOptions{WebhookID: "fixed"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	status, err = s.Send(t.Context(), "orders/create", fx.body, sandbox.SendOptions{WebhookID: "fixed"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "a retried delivery is accepted")
	require.Equal(t, 3, countRows(t, env, "webhook_events", c.ID))
}

func TestWebhookPages(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	c := shopifyConnection(t, env, testSecret)
	empty := shopifyConnection(t, env, testSecret)
	path := fmt.Sprintf("/webhooks/shopify/%d", c.ID)

	res, out := deliver(t, env, path, fx.body, fx.headers)
	require.Equal(t, http.StatusOK, res.StatusCode)
	eventID := int64(out["id"].(float64))
	product := []byte(`{"id":632910392,"title":"IPod Nano - 8GB"}`)
	h := map[string]string{}
	for k, v := range fx.headers {
		h[k] = v
	}
	h["X-Shopify-Topic"], h["X-Shopify-Webhook-Id"], h["X-Shopify-Hmac-Sha256"] = "products/update", "p-1", sandbox.Sign(product, testSecret)
	res, out = deliver(t, env, path, product, h)
	require.Equal(t, http.StatusOK, res.StatusCode)
	productID := int64(out["id"].(float64))
	h["X-Shopify-Hmac-Sha256"] = sandbox.Sign(product, "wrong")
	h["X-Shopify-Webhook-Id"] = "p-2"
	res, _ = deliver(t, env, path, product, h)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	op := env.SignIn(t, vocab.RoleOperator)
	list := fmt.Sprintf("/connections/%d/webhooks", c.ID)

	t.Run("list shows the deliveries, newest first", func(t *testing.T) {
		res, body := op.Get(list)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "orders/create")
		require.Contains(t, body, "products/update")
		require.Less(t, strings.Index(body, `products/update</a>`), strings.Index(body, `orders/create</a>`), "newest first")
		require.Contains(t, body, "Waiting to be processed")
		require.Contains(t, body, "1 delivery was turned away in the last 24 hours")
	})
	t.Run("filter by topic and status", func(t *testing.T) {
		_, body := op.Get(list + "?topic=products%2Fupdate")
		require.Contains(t, body, "products/update</a>")
		require.NotContains(t, body, "orders/create</a>")
		_, body = op.Get(list + "?status=failed")
		require.Contains(t, body, "No deliveries match this filter")
		res, body := op.Get(list + "?status=bogus")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "That status is not known")
	})
	t.Run("detail shows headers, payload and status", func(t *testing.T) {
		res, body := op.Get(fmt.Sprintf("%s/%d", list, eventID))
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "gid://shopify/Order/820982911946154508")
		require.Contains(t, body, "X-Shopify-Webhook-Id")
		require.Contains(t, body, "5d0c3e2a-8f6b-4b7e-9a51-0e4c2f7d9b13")
		require.Contains(t, body, "Waiting to be processed")
		_, body = op.Get(fmt.Sprintf("%s/%d", list, productID))
		require.Contains(t, body, "{\n  &#34;id&#34;: 632910392,\n  &#34;title&#34;", "a compact payload is indented")
	})
	t.Run("an event of another connection is not found", func(t *testing.T) {
		res, _ := op.Get(fmt.Sprintf("/connections/%d/webhooks/%d", empty.ID, eventID))
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		res, _ = op.Get(fmt.Sprintf("%s/%s", list, "abc"))
		require.Equal(t, http.StatusNotFound, res.StatusCode)
	})
	t.Run("rejected tab says why in plain words", func(t *testing.T) {
		res, body := op.Get(list + "?tab=rejected")
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "Signature did not match: check the API secret key saved for this connection")
		var rid int64
		require.NoError(t, env.Store.DB.GetContext(t.Context(), &rid, `SELECT id FROM webhook_rejections WHERE connection_id = $1`, c.ID))
		res, body = op.Get(fmt.Sprintf("%s/rejected/%d", list, rid))
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, body, "IPod Nano - 8GB", "the evidence is shown")
		require.Contains(t, body, "p-2")
	})
	t.Run("empty states say what to do next", func(t *testing.T) {
		_, body := op.Get(fmt.Sprintf("/connections/%d/webhooks", empty.ID))
		require.Contains(t, body, "No webhooks received yet")
		require.Contains(t, body, fmt.Sprintf("%s/webhooks/shopify/%d", env.URL, empty.ID))
		_, body = op.Get(fmt.Sprintf("/connections/%d/webhooks?tab=rejected", empty.ID))
		require.Contains(t, body, "No deliveries were turned away")
	})
	t.Run("finance may not see webhooks", func(t *testing.T) {
		res, body := env.SignIn(t, vocab.RoleFinance).Get(list)
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Contains(t, body, "Not available for your role")
	})
	t.Run("an Odoo connection has no webhooks page", func(t *testing.T) {
		odoo, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), testBox(t), store.ConnectionInput{
			Name: "Odoo", Kind: vocab.KindOdoo, Environment: vocab.EnvTest})
		require.NoError(t, err)
		res, _ := op.Get(fmt.Sprintf("/connections/%d/webhooks", odoo.ID))
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		res, out := deliver(t, env, fmt.Sprintf("/webhooks/shopify/%d", odoo.ID), fx.body, fx.headers)
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		require.Contains(t, out["message"], "not a Shopify store")
	})
}

func TestUnsignedWebhookFloodKeepsASampleAndCountsTheRest(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := shopifyConnection(t, env, testSecret)
	path := fmt.Sprintf("/webhooks/shopify/%d", c.ID)
	headers := map[string]string{"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": "forged"}
	body := bytes.Repeat([]byte("x"), 100<<10)
	// Twice the hourly sample and some: whichever hours the flood falls in
	// (at most two), some of it is only counted.
	const sent = 2*store.RejectionsKeptPerHour + 10
	for range sent {
		res, _ := deliver(t, env, path, body, headers)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}
	var hours []struct {
		Kept    int   `db:"kept"`
		Dropped int64 `db:"dropped"`
	}
	require.NoError(t, env.Store.DB.SelectContext(t.Context(), &hours, `SELECT kept, dropped FROM webhook_rejection_hours WHERE connection_id = $1`, c.ID))
	var kept int
	var dropped int64
	for _, h := range hours {
		require.LessOrEqual(t, h.Kept, store.RejectionsKeptPerHour)
		kept += h.Kept
		dropped += h.Dropped
	}
	require.Positive(t, dropped)
	require.Equal(t, int64(sent), int64(kept)+dropped, "every delivery is kept or counted")
	require.Equal(t, kept, countRows(t, env, "webhook_rejections", c.ID))
	var largest int
	require.NoError(t, env.Store.DB.GetContext(t.Context(), &largest, `SELECT max(octet_length(body)) FROM webhook_rejections WHERE connection_id = $1`, c.ID))
	require.Equal(t, store.RejectionSampleBytes, largest)

	op := env.SignIn(t, vocab.RoleOperator)
	_, page := op.Get(fmt.Sprintf("/connections/%d/webhooks?tab=rejected", c.ID))
	require.Contains(t, page, fmt.Sprintf("%d more deliveries were turned away in the last 24 hours, only counted", dropped))

	// Retention: the periodic pruning job removes them once they are old.
	_, err := env.Store.DB.ExecContext(t.Context(), `UPDATE webhook_rejections SET received_at = received_at - interval '8 days' WHERE connection_id = $1`, c.ID)
	require.NoError(t, err)
	_, err = env.Store.DB.ExecContext(t.Context(), `UPDATE webhook_rejection_hours SET hour = hour - interval '8 days' WHERE connection_id = $1`, c.ID)
	require.NoError(t, err)
	n, err := env.Engine.PruneWebhookRejections(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(kept), n)
	require.Zero(t, countRows(t, env, "webhook_rejections", c.ID))
	require.Zero(t, countRows(t, env, "webhook_rejection_hours", c.ID))
}
