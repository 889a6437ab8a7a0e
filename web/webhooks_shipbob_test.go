package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shipbob"
	shipbobsandbox "crossdock/connectors/shipbob/sandbox"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

const shipbobSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// shipbobConnection adds a ShipBob connection whose webhook secret is secret
// ("" saves none).
func shipbobConnection(t testing.TB, env *webtest.Env, secret string) store.Connection {
	t.Helper()
	secrets := map[string]string{"access_token": "pat-test"}
	if secret != "" {
		secrets["api_secret"] = secret
	}
	c, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), testBox(t), store.ConnectionInput{
		Name: fmt.Sprintf("Warehouse %d", connSeq.Add(1)), Kind: vocab.KindShipBob, Environment: vocab.EnvTest,
		Settings: map[string]string{"environment": "sandbox", "shopify_location_id": "1"}, Secrets: secrets})
	require.NoError(t, err)
	return c
}

// The receiver every kind shares takes ShipBob's Standard Webhooks
// deliveries with the same rules as Shopify's: rejection records,
// deduplication, content type, rotation grace — plus the replay window.
func TestShipBobWebhookIngest(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	body, err := os.ReadFile("../connectors/shipbob/testdata/shipbob-webhook-tracking-received.json")
	require.NoError(t, err)

	tests := []struct {
		name    string
		secret  string
		prepare func(t *testing.T, c store.Connection)
		sign    string    // the secret the delivery is signed with
		at      time.Time // when it was signed (now when zero)
		body    []byte
		headers func(h map[string]string)
		sends   int
		path    func(c store.Connection) string

		status int
		text   string
		events int
		reason string
	}{
		{name: "genuine delivery is stored once", secret: shipbobSecret, sign: shipbobSecret, status: 200, text: "stored", events: 1},
		{name: "ShipBob's retry with the same webhook-id is a duplicate", secret: shipbobSecret, sign: shipbobSecret, sends: 2, status: 200, text: "already received", events: 1},
		{name: "wrong secret", secret: shipbobSecret, sign: "whsec_b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVy", status: 401,
			text: "Signature did not match: check the Webhook signing secret saved for this connection", reason: store.RejectBadSignature},
		{name: "no signature", secret: shipbobSecret, sign: shipbobSecret, headers: func(h map[string]string) { delete(h, "Webhook-Signature") },
			status: 401, text: "no Webhook-Signature signature header, so it cannot be shown to come from ShipBob", reason: store.RejectMissingSignature},
		{name: "no timestamp", secret: shipbobSecret, sign: shipbobSecret, headers: func(h map[string]string) { delete(h, "Webhook-Timestamp") },
			status: 401, text: "an incomplete signature", reason: store.RejectMissingSignature},
		{name: "a genuine delivery replayed an hour later", secret: shipbobSecret, sign: shipbobSecret, at: time.Now().Add(-time.Hour),
			status: 401, text: "made too long ago", reason: store.RejectStale},
		{name: "no secret saved", secret: "", sign: shipbobSecret, status: 401, text: "No Webhook signing secret is saved", reason: store.RejectNoSecret},
		{name: "previous secret during rotation", secret: "whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xk", sign: "whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xk",
			prepare: func(t *testing.T, c store.Connection) { rotateSecret(t, env, c, shipbobSecret) }, status: 200, text: "stored", events: 1},
		{name: "missing topic is named", secret: shipbobSecret, sign: shipbobSecret, headers: func(h map[string]string) { delete(h, "X-Webhook-Topic") },
			status: 400, text: "A ShipBob webhook header is missing or malformed: missing header X-Webhook-Topic", reason: store.RejectMissingHeader},
		{name: "invalid JSON with a good signature", secret: shipbobSecret, sign: shipbobSecret, body: []byte(`{"order_id": 1, "tracking": {`),
			status: 400, text: "not valid JSON", reason: store.RejectInvalidJSON},
		{name: "wrong content type", secret: shipbobSecret, sign: shipbobSecret, headers: func(h map[string]string) { h["Content-Type"] = "text/plain" },
			status: 415, text: "application/json", reason: store.RejectContentType},
		{name: "a ShipBob connection at the Shopify address", secret: shipbobSecret, sign: shipbobSecret,
			path:   func(c store.Connection) string { return "/webhooks/shopify/" + strconv.FormatInt(c.ID, 10) },
			status: 404, text: "This connection is not a Shopify store", reason: store.RejectWrongKind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := shipbobConnection(t, env, tc.secret)
			if tc.prepare != nil {
				tc.prepare(t, c)
			}
			b := body
			if tc.body != nil {
				b = tc.body
			}
			at := tc.at
			if at.IsZero() {
				at = time.Now()
			}
			id := fmt.Sprintf("msg_%d_%d", c.ID, time.Now().UnixNano())
			h := map[string]string{"Content-Type": "application/json", "Webhook-Id": id, "Webhook-Timestamp": strconv.FormatInt(at.Unix(), 10),
				"Webhook-Signature": shipbob.Sign(tc.sign, id, at, b), "X-Webhook-Topic": "order.shipment.tracking_received"}
			if tc.headers != nil {
				tc.headers(h)
			}
			path := fmt.Sprintf("/webhooks/shipbob/%d", c.ID)
			if tc.path != nil {
				path = tc.path(c)
			}
			var res *http.Response
			var out map[string]any
			for range max(tc.sends, 1) {
				res, out = deliver(t, env, path, b, h)
			}
			require.Equal(t, tc.status, res.StatusCode, "answer: %v", out)
			require.Contains(t, fmt.Sprint(out["status"], " ", out["message"]), tc.text)
			require.Equal(t, tc.events, countRows(t, env, "webhook_events", c.ID), "events stored")
			var rs []store.WebhookRejection
			require.NoError(t, env.Store.DB.SelectContext(t.Context(), &rs, `SELECT id, connection_id, received_at, reason, detail,
  status_code, webhook_id, topic, headers, body, octet_length(body) AS body_stored, body_size, remote_addr
FROM webhook_rejections WHERE connection_id = $1`, c.ID))
			if tc.reason == "" {
				require.Empty(t, rs)
				return
			}
			require.Len(t, rs, 1)
			require.Equal(t, tc.reason, rs[0].Reason)
			require.Equal(t, out["message"], rs[0].Detail)
			if _, ok := h["X-Webhook-Topic"]; ok && tc.path == nil {
				require.Equal(t, id, rs[0].WebhookID, "the delivery id is kept with the rejection")
				require.Equal(t, "order.shipment.tracking_received", rs[0].Topic)
			}
		})
	}

	t.Run("a Shopify connection at the ShipBob address", func(t *testing.T) {
		t.Parallel()
		c := shopifyConnection(t, env, testSecret)
		res, out := deliver(t, env, fmt.Sprintf("/webhooks/shipbob/%d", c.ID), body, map[string]string{"Content-Type": "application/json"})
		require.Equal(t, http.StatusNotFound, res.StatusCode)
		require.Contains(t, out["message"], "This connection is not a ShipBob connection, so it cannot receive ShipBob webhooks")
	})
}

// The twin's own deliveries — signed, late, twice — pass the receiver and
// are kept once each, with what the event says.
func TestShipBobWebhookFromTheTwin(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := shipbobConnection(t, env, shipbobSecret)
	tw := shipbobsandbox.New(shipbobsandbox.Options{AccessToken: "pat-test", Duplicate: true, Jitter: 50 * time.Millisecond})
	tw.SubscribeDirect(fmt.Sprintf("%s/webhooks/shipbob/%d", env.URL, c.ID), shipbobSecret, shipbob.TopicShipped)
	srvOrder := func(ref string) int64 {
		rec := httptest.NewRecorder()
		tw.ServeHTTP(rec, shipbobOrderRequest(t, ref))
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		o, ok := tw.OrderByReference(ref)
		require.True(t, ok)
		return o.Shipments[0].ID
	}
	for _, ref := range []string{"gid://shopify/Order/1", "gid://shopify/Order/2"} {
		require.NoError(t, tw.Ship(srvOrder(ref), true))
	}
	tw.WaitDeliveries()
	ds := tw.Deliveries()
	require.Len(t, ds, 4, "two events, each delivered twice")
	for _, d := range ds {
		require.Equal(t, http.StatusOK, d.Status, "delivery %s", d.ID)
	}
	require.Equal(t, 2, countRows(t, env, "webhook_events", c.ID), "one event kept per webhook-id")
	evs, _, err := env.Store.ListWebhookEvents(t.Context(), store.WebhookEventFilter{ConnectionID: c.ID, Limit: 10})
	require.NoError(t, err)
	for _, e := range evs {
		require.Equal(t, shipbob.TopicShipped, e.Topic)
		require.NotNil(t, e.TriggeredAt, "event_time is read from the body")
	}
}

func shipbobOrderRequest(t *testing.T, ref string) *http.Request {
	t.Helper()
	b, err := json.Marshal(shipbob.NewOrder{ReferenceID: ref, Type: "DTC", ShippingMethod: "Standard",
		Recipient: shipbob.Recipient{Name: "Ada", Address: shipbob.Address{Address1: "1 Main St", City: "Chicago", Country: "US"}},
		Products:  []shipbob.OrderProduct{{ReferenceID: "SKU-1", Quantity: 1}}})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/"+shipbobsandbox.Version+"/order", bytes.NewReader(b))
	r.Header.Set("Authorization", "Bearer pat-test")
	r.Header.Set(shipbob.HeaderChannel, "100101")
	return r
}
