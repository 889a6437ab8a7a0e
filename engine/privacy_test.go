package engine_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/store"
)

// deliverPrivacy stores a privacy webhook as ingest does, under its own
// Shopify event id, and returns the event id.
func (e *env) deliverPrivacy(t testing.TB, topic, eventID string, body []byte) int64 {
	t.Helper()
	id, inserted, err := e.st.InsertWebhookEvent(context.Background(), store.NewWebhookEvent{ConnectionID: e.shopConn.ID,
		WebhookID: fmt.Sprintf("wh-%s-%d", eventID, time.Now().UnixNano()), EventID: eventID, Topic: topic,
		ShopDomain: e.shop.Domain(), APIVersion: "2026-04", Payload: body})
	require.NoError(t, err)
	require.True(t, inserted)
	return id
}

// privacyFixture is one of Shopify's documented privacy payloads, for this
// test's shop (the documented body names the shop "{shop}").
func (e *env) privacyFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return []byte(strings.ReplaceAll(string(b), "{shop}.myshopify.com", e.shop.Domain()))
}

func (e *env) privacyRequests(t testing.TB) []store.PrivacyRequest {
	t.Helper()
	rs, _, err := e.st.ListPrivacyRequests(context.Background(), store.PrivacyFilter{Limit: 200})
	require.NoError(t, err)
	return rs
}

// Shopify's three privacy webhooks become privacy requests due 30 days after
// they were received, once each however often Shopify delivers them.
func TestPrivacyWebhooksBecomeRequests(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	for _, tc := range []struct {
		topic, fixture, kind string
		customer, email      string
		orders               []string
		requestID            string
	}{
		{"customers/data_request", "customers-data-request.json", store.PrivacyDataRequest, "191167", "john@example.com", []string{"299938", "280263", "220458"}, "9999"},
		{"customers/redact", "customers-redact.json", store.PrivacyCustomerRedact, "191167", "john@example.com", []string{"299938", "280263", "220458"}, ""},
		{"shop/redact", "shop-redact.json", store.PrivacyShopRedact, "", "", nil, ""},
	} {
		t.Run(tc.topic, func(t *testing.T) {
			evID := e.deliverPrivacy(t, tc.topic, "evt-"+tc.kind, e.privacyFixture(t, tc.fixture))
			ev := e.event(t, evID)
			require.Equal(t, store.WebhookProcessed, ev.Status, ev.Error)
			var got *store.PrivacyRequest
			for _, r := range e.privacyRequests(t) {
				if r.WebhookEventID != nil && *r.WebhookEventID == evID {
					got = &r
				}
			}
			require.NotNil(t, got, "the event became a privacy request")
			require.Equal(t, tc.kind, got.Kind)
			require.Equal(t, tc.customer, got.CustomerID)
			require.Equal(t, tc.email, got.CustomerEmail)
			require.Equal(t, "954889", got.ShopID)
			require.Equal(t, e.shop.Domain(), got.ShopDomain)
			require.Equal(t, tc.requestID, got.ShopifyRequestID)
			require.ElementsMatch(t, tc.orders, []string(got.OrderIDs))
			require.WithinDuration(t, ev.ReceivedAt.Add(30*24*time.Hour), got.DueAt, time.Millisecond)
			require.Equal(t, store.PrivacyReceived, got.Status)

			// The same event delivered again (a new webhook id, Shopify's
			// event id unchanged) is the same request.
			again := e.event(t, e.deliverPrivacy(t, tc.topic, "evt-"+tc.kind, e.privacyFixture(t, tc.fixture)))
			require.Equal(t, store.WebhookIgnored, again.Status)
			require.Contains(t, again.Error, fmt.Sprintf("it is privacy request #%d", got.ID))
		})
	}
	require.Len(t, e.privacyRequests(t), 3)
	ss, _, err := e.st.ListSyncs(context.Background(), store.SyncFilter{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, ss, "a privacy request moves nothing between systems")
}

// A body that names no customer, or another shop, is kept as a failed
// event with the reason, and becomes no request.
func TestPrivacyWebhooksThatCannotBeActedOn(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	for _, tc := range []struct {
		name, topic, body, want string
	}{
		{"no customer", "customers/redact", `{"shop_id":1,"shop_domain":"` + e.shop.Domain() + `","orders_to_redact":[]}`, "names no customer"},
		{"another shop", "customers/data_request", `{"shop_id":1,"shop_domain":"other.myshopify.com","customer":{"id":5,"email":"a@b.test"}}`, `names the shop "other.myshopify.com"`},
		{"not an object", "shop/redact", `[1,2]`, "cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := e.event(t, e.deliverPrivacy(t, tc.topic, "evt-"+tc.name, []byte(tc.body)))
			require.Equal(t, store.WebhookFailed, ev.Status)
			require.Contains(t, ev.Error, tc.want)
		})
	}
	require.Empty(t, e.privacyRequests(t))
}

// The request is written in the intake transaction: when the database
// refuses it, the event is marked failed with the reason and no request is
// left behind, while the events after it go on.
func TestPrivacyRequestAndItsEventTogether(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	bad := e.deliverPrivacy(t, "customers/redact", "evt-nul", []byte(`{"shop_id":1,"shop_domain":"`+e.shop.Domain()+`","customer":{"id":7,"email":"a\u0000@b.test"}}`))
	good := e.deliverPrivacy(t, "shop/redact", "evt-shop", e.privacyFixture(t, "shop-redact.json"))
	for {
		n, err := e.eng.IntakeOnce(context.Background())
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, bad)
	require.NoError(t, err)
	require.Equal(t, store.WebhookFailed, ev.Status)
	require.Contains(t, ev.Error, "Crossdock could not record this event")
	ev, err = e.st.WebhookEventByID(context.Background(), e.shopConn.ID, good)
	require.NoError(t, err)
	require.Equal(t, store.WebhookProcessed, ev.Status)
	rs := e.privacyRequests(t)
	require.Len(t, rs, 1)
	require.Equal(t, store.PrivacyShopRedact, rs[0].Kind)
	require.Equal(t, engine.PrivacyDue, rs[0].DueAt.Sub(rs[0].ReceivedAt))
}
