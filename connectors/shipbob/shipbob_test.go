package shipbob_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shipbob/sandbox"
)

// fixture reads a verbatim sample (testdata/README.md says where each is from).
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

// The Standard Webhooks specification's own test vector: ShipBob signs the
// same way, so a signature made here is one ShipBob would make.
func TestSignMatchesTheStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	got := shipbob.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", got)
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	k := shipbob.Kind()
	const secret, old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xk"
	body := fixture(t, "shipbob-webhook-tracking-received.json")
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	headers := func(sig string, at time.Time) http.Header {
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", fmt.Sprint(at.Unix()))
		h.Set("webhook-signature", sig)
		h.Set("x-webhook-topic", "order.shipment.tracking_received")
		return h
	}
	good := shipbob.Sign(secret, "msg_1", now, body)
	tests := []struct {
		name    string
		h       http.Header
		body    []byte
		secrets []string
		want    error
	}{
		{"genuine", headers(good, now), body, []string{secret}, nil},
		{"signed with the previous secret during a rotation", headers(shipbob.Sign(old, "msg_1", now, body), now), body, []string{secret, old}, nil},
		{"one of several signatures matches", headers("v1,AAAA "+good, now), body, []string{secret}, nil},
		{"another secret", headers(good, now), body, []string{old}, connectors.ErrBadSignature},
		{"body changed", headers(good, now), append([]byte(" "), body...), []string{secret}, connectors.ErrBadSignature},
		{"the id is signed too", func() http.Header { h := headers(good, now); h.Set("webhook-id", "msg_2"); return h }(), body, []string{secret}, connectors.ErrBadSignature},
		{"no signature", headers("", now), body, []string{secret}, connectors.ErrNoSignature},
		{"no timestamp", func() http.Header { h := headers(good, now); h.Del("webhook-timestamp"); return h }(), body, []string{secret}, connectors.ErrNoSignature},
		{"a genuine delivery replayed an hour later", headers(shipbob.Sign(secret, "msg_1", now.Add(-time.Hour), body), now.Add(-time.Hour)), body, []string{secret}, connectors.ErrStale},
		{"signed in the future", headers(shipbob.Sign(secret, "msg_1", now.Add(10*time.Minute), body), now.Add(10*time.Minute)), body, []string{secret}, connectors.ErrStale},
		{"four minutes old is within the window", headers(shipbob.Sign(secret, "msg_1", now.Add(-4*time.Minute), body), now.Add(-4*time.Minute)), body, []string{secret}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := k.VerifyWebhookAt(tc.body, tc.h, tc.secrets, now)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestReadWebhookAndDecodeTheFixture(t *testing.T) {
	t.Parallel()
	body := fixture(t, "shipbob-webhook-tracking-received.json")
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("x-webhook-topic", "order.shipment.tracking_received")
	evs, err := shipbob.Kind().ReadWebhook(h, body)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, "msg_1", evs[0].DeliveryID)
	require.Equal(t, "order.shipment.tracking_received", evs[0].Topic)
	require.Equal(t, time.Date(2025, 10, 23, 15, 55, 9, 361476700, time.UTC), evs[0].At.UTC())

	ev, err := shipbob.DecodeShipmentEvent(body)
	require.NoError(t, err)
	require.Equal(t, int64(100000001), ev.OrderID)
	require.Equal(t, "TEST101", ev.ReferenceID)
	require.Equal(t, "9261290306529427911297", ev.Tracking.TrackingNumber, "the sample names it tracking_id")
	require.Equal(t, "USPS", ev.Tracking.Carrier)
	require.Contains(t, ev.Tracking.TrackingURL, "tools.usps.com")

	h.Del("x-webhook-topic")
	_, err = shipbob.ReadWebhook(h, body)
	require.ErrorContains(t, err, "missing header X-Webhook-Topic")
	_, err = shipbob.ReadWebhook(http.Header{"X-Webhook-Topic": {"order.shipped"}}, []byte(`{"id":`))
	require.ErrorIs(t, err, connectors.ErrWebhookBody)
	_, err = shipbob.DecodeShipmentEvent([]byte(`{"status":"Completed"}`))
	require.ErrorContains(t, err, "names no order")
}

// twin starts a sandbox with opt and a client of it.
func twin(t *testing.T, opt sandbox.Options, cfg shipbob.Config) (*sandbox.Server, *shipbob.Client) {
	t.Helper()
	opt.AccessToken = "pat-test"
	sb := sandbox.New(opt)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cfg.BaseURL, cfg.AccessToken = srv.URL, "pat-test"
	if cfg.ChannelID == 0 {
		cfg.ChannelID = 100101
	}
	cl, err := shipbob.NewClient(cfg)
	require.NoError(t, err)
	return sb, cl
}

func newOrder(ref string) shipbob.NewOrder {
	return shipbob.NewOrder{ReferenceID: ref, OrderNumber: "#" + ref, Type: "DTC", ShippingMethod: "Standard",
		Recipient: shipbob.Recipient{Name: "Ada Lovelace", Address: shipbob.Address{Address1: "1 Main St", City: "Chicago", Country: "US", ZipCode: "60601"}},
		Products:  []shipbob.OrderProduct{{ReferenceID: "SKU-1", Name: "Chair", Quantity: 2}, {ReferenceID: "SKU-2", Name: "Table", Quantity: 1}}}
}

func TestCreateOrderTwiceMakesOneOrder(t *testing.T) {
	t.Parallel()
	sb, cl := twin(t, sandbox.Options{}, shipbob.Config{})
	first, created, err := cl.CreateOrder(t.Context(), newOrder("gid://shopify/Order/1001"))
	require.NoError(t, err)
	require.True(t, created)
	again, created, err := cl.CreateOrder(t.Context(), newOrder("gid://shopify/Order/1001"))
	require.NoError(t, err, "the duplicate's 422 is answered by looking the order up")
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)
	require.Len(t, sb.Orders(), 1)
	st := sb.Stats()
	require.Equal(t, sandbox.Stats{Created: 1, Duplicates: 1, Requests: map[string]int{"POST /order": 2, "GET /order": 1}}, st,
		"the second POST was refused and the first order read back by its reference")
}

func TestErrorEnvelopes(t *testing.T) {
	t.Parallel()
	dup, limit := fixture(t, "shipbob-error-duplicate-reference-id.json"), fixture(t, "shipbob-error-rate-limit.json")
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    []byte
		kind    shipbob.ErrorKind
		message string
		retry   time.Duration
		explain string
	}{
		{"duplicate reference (fixture)", 422, nil, dup, shipbob.KindDuplicate, "Cannot insert order with existing ReferenceId", 0, "no second order"},
		{"rate limit with x-retry-after (fixture body)", 429, map[string]string{"x-retry-after": "25", "x-remaining-calls": "0"}, limit, shipbob.KindThrottled,
			"Rate limit is exceeded. Try again in 25 seconds.", 25 * time.Second, "waits 25 seconds"},
		{"rate limit read from the sentence when the header is missing", 429, nil, limit, shipbob.KindThrottled, "Rate limit is exceeded", 25 * time.Second, "150 requests a minute"},
		{"field errors", 422, nil, []byte(`{"Recipient.Address": ["Address1, City and Country are required."]}`), shipbob.KindValidation,
			"Recipient.Address: Address1, City and Country are required.", 0, "ShipBob refused it: Recipient.Address"},
		{"problem details", 400, nil, []byte(`{"title":"One or more validation errors occurred.","status":400,"errors":{"PageSize":["too big"]}}`), shipbob.KindValidation,
			"One or more validation errors occurred.", 0, "refused it"},
		{"token refused", 401, nil, []byte(`{"message":"Authorization has been denied for this request."}`), shipbob.KindAuth, "Authorization has been denied", 0, "API Tokens"},
		{"server error", 503, nil, []byte(`<html>down</html>`), shipbob.KindTransient, "<html>down</html>", 0, "usually temporary"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write(tc.body)
			}))
			defer srv.Close()
			cl, err := shipbob.NewClient(shipbob.Config{BaseURL: srv.URL, AccessToken: "x", MaxThrottleWait: time.Millisecond})
			require.NoError(t, err)
			_, err = cl.Channels(t.Context())
			var se *shipbob.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.kind, se.Kind, se.Error())
			require.Contains(t, se.Message, tc.message)
			require.Equal(t, tc.retry, se.RetryAfter)
			sentence, ok := shipbob.Explain(err)
			require.True(t, ok)
			require.Contains(t, sentence, tc.explain)
		})
	}
}

// A burst over the twin's window meets its 429: the client waits the
// answer's x-retry-after and goes on, so every call succeeds, and callers
// sharing the client wait with it.
func TestRateLimitIsHonoured(t *testing.T) {
	t.Parallel()
	sb, cl := twin(t, sandbox.Options{RateLimit: 4, RateWindow: time.Second}, shipbob.Config{RateLimit: 100, MaxThrottleWait: 10 * time.Second})
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := cl.Channels(t.Context())
			errs <- err
		}()
	}
	for range 10 {
		require.NoError(t, <-errs)
	}
	require.Positive(t, sb.Stats().Throttled, "the burst met the twin's limit")

	// With the client's window set to the twin's, every call goes through
	// without a single 429, even sent from several goroutines at once on a
	// loaded machine: a place frees a window after its request's answer,
	// and the twin counted that request before it answered.
	sb2, cl2 := twin(t, sandbox.Options{RateLimit: 4, RateWindow: time.Second}, shipbob.Config{RateLimit: 4, RateWindow: time.Second, MaxThrottleWait: 10 * time.Second})
	errs2 := make(chan error, 9)
	for range 9 {
		go func() {
			_, err := cl2.Channels(t.Context())
			errs2 <- err
		}()
	}
	for range 9 {
		require.NoError(t, <-errs2)
	}
	require.Zero(t, sb2.Stats().Throttled, "the client keeps to the window")
	require.Equal(t, 9, sb2.Admitted())
	used, limit := cl2.Used()
	require.Equal(t, 4, limit)
	require.LessOrEqual(t, used, 4)

	// A caller that cannot wait gets a throttled error in words.
	_, cl3 := twin(t, sandbox.Options{RateLimit: 1, RateWindow: time.Minute}, shipbob.Config{RateLimit: 100, MaxThrottleWait: time.Second})
	_, err := cl3.Channels(t.Context())
	require.NoError(t, err)
	_, err = cl3.Channels(t.Context())
	var se *shipbob.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, shipbob.KindThrottled, se.Kind)
	require.InDelta(t, time.Minute.Seconds(), se.RetryAfter.Seconds(), 1)
}

func TestInventoryLevelsFollowPages(t *testing.T) {
	t.Parallel()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	for i := range 600 {
		sb.SetStockDirect(fmt.Sprintf("SKU-%04d", i), "", i, 1)
	}
	levels, err := cl.InventoryLevels(t.Context())
	require.NoError(t, err)
	require.Len(t, levels, 600)
	seen := map[string]bool{}
	for _, lv := range levels {
		require.False(t, seen[lv.SKU], "no item twice")
		seen[lv.SKU] = true
	}
	require.Equal(t, 41, levels[42].OnHand-1)
}

func TestShipmentsAndTrackingPolling(t *testing.T) {
	t.Parallel()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1, SplitOver: 2}, shipbob.Config{})
	o, _, err := cl.CreateOrder(t.Context(), newOrder("R-1"))
	require.NoError(t, err)
	require.Len(t, o.Shipments, 2, "3 units over SplitOver 2: two parcels")
	require.NoError(t, sb.Ship(o.Shipments[0].ID, false))
	waiting, err := cl.OrdersAwaitingTracking(t.Context(), 1)
	require.NoError(t, err)
	require.Empty(t, waiting, "shipped before its tracking: nothing to poll yet")

	tr, err := sb.AddTracking(o.Shipments[0].ID)
	require.NoError(t, err)
	waiting, err = cl.OrdersAwaitingTracking(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, waiting, 1)
	ships, err := cl.Shipments(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, tr.TrackingNumber, ships[0].TrackingNumber())
	require.Empty(t, ships[1].TrackingNumber())

	require.NoError(t, cl.MarkTrackingUploaded(t.Context(), []int64{ships[0].ID}))
	waiting, err = cl.OrdersAwaitingTracking(t.Context(), 1)
	require.NoError(t, err)
	require.Empty(t, waiting)

	require.Error(t, cl.CancelOrder(t.Context(), o.ID), "a shipped order cannot be cancelled")
}

func TestCheckNamesTheChannel(t *testing.T) {
	t.Parallel()
	ro := shipbob.Channel{ID: 7, Name: "Read only", Scopes: []string{"orders_read"}}
	rw := shipbob.Channel{ID: 8, Name: "Crossdock", Scopes: []string{"orders_read", "orders_write"}}
	for _, tc := range []struct {
		channel int64
		ok      bool
		summary string
	}{
		{8, true, "orders are created for the channel Crossdock"},
		{7, false, "cannot create orders"},
		{0, false, "Choose the channel orders are created for (enter its number on the connection): Crossdock (8)"},
		{9, false, "has no channel 9"},
	} {
		t.Run(fmt.Sprint(tc.channel), func(t *testing.T) {
			t.Parallel()
			_, cl := twin(t, sandbox.Options{Channels: []shipbob.Channel{ro, rw}}, shipbob.Config{ChannelID: tc.channel})
			if tc.channel == 0 {
				var err error
				cl, err = shipbob.ClientFor(connectors.Conn{Settings: map[string]string{"api_base_url": cl.Endpoint()}, Secrets: map[string]string{"access_token": "pat-test"}}, nil)
				require.NoError(t, err)
			}
			res := shipbob.Kind().Check(context.Background(), cl)
			require.Equal(t, tc.ok, res.OK, res.Summary)
			require.Contains(t, res.Summary, tc.summary)
		})
	}
}

func TestKindForm(t *testing.T) {
	t.Parallel()
	k := shipbob.Kind()
	r := connectors.MustRegistry(k)
	fe := r.Validate(k.Key, map[string]string{"environment": "sandbox", "shipbob_channel_id": "12x", "shopify_location_id": "gid://shopify/Location/55",
		"api_version": "2026-02", "on_return": "refund later"}, map[string]string{"access_token": "pat"}, nil)
	require.Contains(t, fe["shipbob_channel_id"], "is a number")
	require.Equal(t, "When a return is received must be one of: refund the money and the items, record the returned items only.", fe["on_return"])
	require.True(t, shipbob.RefundsMoney(map[string]string{}), "refunding the money is the default")
	require.True(t, shipbob.RefundsMoney(map[string]string{"on_return": shipbob.ReturnRefundsMoney}))
	require.False(t, shipbob.RefundsMoney(map[string]string{"on_return": "record the returned items only"}))
	require.Contains(t, fe["api_version"], "2026-01")
	require.NotContains(t, fe, "shopify_location_id", "a location's GID is accepted")
	require.Equal(t, "gid://shopify/Location/55", shipbob.LocationID(map[string]string{"shopify_location_id": "gid://shopify/Location/55"}))

	end, ok := k.EndOfSupport("2026-01")
	require.True(t, ok)
	require.Equal(t, time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), end, "24 months")
	s := k.Support(map[string]string{}, time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC))
	require.True(t, s.Ending)
	require.Contains(t, s.Notice, "ShipBob stops supporting the API version this connection uses (2026-01) on 1 January 2028")
	require.Equal(t, "https://sandbox-api.shipbob.com", k.Address(map[string]string{"environment": "sandbox"}))
	require.True(t, strings.HasPrefix(k.Address(map[string]string{"environment": "production"}), "https://api.shipbob.com"))
}

// The client keeps webhook subscriptions as connectors.Subscriber: the
// missing topics are registered at the console's address, with the
// connection's secret, and found registered afterwards.
func TestWebhookSubscriptions(t *testing.T) {
	t.Parallel()
	sb, cl := twin(t, sandbox.Options{}, shipbob.Config{WebhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	var sub connectors.Subscriber = cl
	const callback = "https://crossdock.example.com/webhooks/shipbob/7"
	subs, err := connectors.Subscriptions(t.Context(), sub, callback)
	require.NoError(t, err)
	require.Len(t, subs, len(cl.WebhookTopics()))
	require.False(t, subs[0].Registered)
	n, err := connectors.RegisterMissing(t.Context(), sub, callback)
	require.NoError(t, err)
	require.Equal(t, len(cl.WebhookTopics()), n)
	subs, err = connectors.Subscriptions(t.Context(), sub, callback)
	require.NoError(t, err)
	for _, s := range subs {
		require.True(t, s.Registered, s.Topic)
	}
	for _, s := range sb.Subscriptions() {
		require.Equal(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", s.Secret, "deliveries verify with the connection's secret at once")
	}

	// The documented create answer reads as a subscription.
	var created shipbob.Subscription
	require.NoError(t, json.Unmarshal(fixture(t, "shipbob-webhook-subscription-create-response.json"), &created))
	require.Equal(t, "12345", created.ID)
	require.Equal(t, []string{"order.shipped"}, created.Topics)
}
