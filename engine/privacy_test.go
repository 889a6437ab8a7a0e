package engine_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
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

// customerOrder places an order of customer in the Shopify sandbox and
// delivers its orders/create webhook; it returns the order and its sync.
func (e *env) customerOrder(t *testing.T, customer string, v shopsandbox.Variant) (shopsandbox.Order, store.Sync) {
	t.Helper()
	o, err := e.shop.AddOrder(shopsandbox.NewOrder{CustomerID: customer, Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 2}}})
	require.NoError(t, err)
	payload, err := e.shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)
	return o, e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
}

// The proof of a data request: for a customer with a partner in Odoo, an
// order, its refund and a failed order, the export holds all of them (with
// their payloads, requests and answers, and the webhook deliveries they came
// from), and nothing of another customer.
func TestPrivacyDataRequestHoldsTheCustomersOrdersRefundsAndFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.refundsRule(t, e.shopConn.ID, e.odooConn.ID)
	e.start(t)
	vs := e.shop.Variants()

	ada := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Ada", LastName: "Byron", Email: "ada@example.org",
		Phone: "+44 20 7946 0000", Address1: "12 St James's Square", City: "London", Zip: "SW1Y 4JH", Country: "GB"})
	other := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.org"})
	partner := e.endedSyncs(t, e.deliver(t, "customers/create", e.customerPayload(t, ada.GID())))[0]
	require.Equal(t, store.SyncSucceeded, partner.Status, partner.Message)

	order, placed := e.customerOrder(t, ada.GID(), vs[0])
	require.Equal(t, store.SyncSucceeded, placed.Status, placed.Message)
	_, payload := refundPayload(t, order, 1)
	refund := e.endedSyncs(t, e.deliver(t, "refunds/create", payload))[0]
	require.Equal(t, store.SyncSucceeded, refund.Status, refund.Message)
	e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", vs[1].GID())
	_, failed := e.customerOrder(t, ada.GID(), vs[1])
	require.Equal(t, store.SyncFailed, failed.Status, failed.Message)
	_, theirs := e.customerOrder(t, other.GID(), vs[0])

	id := strings.TrimPrefix(ada.GID(), "gid://shopify/Customer/")
	body := fmt.Sprintf(`{"shop_id":954889,"shop_domain":%q,"orders_requested":[%d],"customer":{"id":%s,"email":"ada@example.org","phone":"+44 20 7946 0000"},"data_request":{"id":9999}}`,
		e.shop.Domain(), order.ID, id)
	require.Equal(t, store.WebhookProcessed, e.event(t, e.deliverPrivacy(t, "customers/data_request", "evt-ada", []byte(body))).Status)
	req := e.privacyRequests(t)[0]

	x, err := e.st.PrivacyExport(ctx, req.ID, time.Now())
	require.NoError(t, err)
	got := map[int64]store.Sync{}
	for _, s := range x.Data.Syncs {
		got[s.ID] = s
	}
	for what, s := range map[string]store.Sync{"the customer": partner, "the order": placed, "its refund": refund, "the failed order": failed} {
		held, ok := got[s.ID]
		require.True(t, ok, "the export holds %s", what)
		require.NotEmpty(t, held.Payload, what)
		require.NotNil(t, held.WebhookEventID, what)
	}
	require.NotEmpty(t, got[placed.ID].Request, "what was sent to Odoo")
	require.NotEmpty(t, got[placed.ID].Response, "and what Odoo answered")
	require.NotContains(t, got, theirs.ID, "another customer's order is not in the export")
	require.Len(t, x.Data.Syncs, 4)
	require.Len(t, x.Data.Events, 4, "the deliveries the syncs came from, with their bodies")
	for _, ev := range x.Data.Events {
		require.NotEmpty(t, ev.Payload)
	}
	require.NotEmpty(t, x.Data.Attempts)
	require.Equal(t, "Odoo", x.Systems[partner.TargetConnectionID].Name)
	require.NotEmpty(t, got[partner.ID].TargetRef, "the partner's id in Odoo: the copy Odoo holds")
}
