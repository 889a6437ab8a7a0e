package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
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
			if tc.kind == store.PrivacyCustomerRedact && got.Status == store.PrivacyDone {
				// The running engine erased the customer already, and with
				// them the request's own copy of the e-mail.
				require.Empty(t, got.CustomerEmail)
			} else {
				require.Equal(t, tc.email, got.CustomerEmail)
			}
			require.Equal(t, "954889", got.ShopID)
			require.Equal(t, e.shop.Domain(), got.ShopDomain)
			require.Equal(t, tc.requestID, got.ShopifyRequestID)
			require.ElementsMatch(t, tc.orders, []string(got.OrderIDs))
			require.WithinDuration(t, ev.ReceivedAt.Add(30*24*time.Hour), got.DueAt, time.Millisecond)
			if tc.kind == store.PrivacyCustomerRedact {
				// The running engine starts erasing at once: the request may
				// already be on its way.
				require.Contains(t, []string{store.PrivacyReceived, store.PrivacyInProgress, store.PrivacyDone}, got.Status)
			} else {
				require.Equal(t, store.PrivacyReceived, got.Status)
			}

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

// customerStory is a customer with a partner in Odoo, an order, its refund
// and a failed order, beside another customer with an order of their own.
type customerStory struct {
	ada, grace                              shopsandbox.Customer
	order                                   shopsandbox.Order
	partner, placed, refund, failed, theirs store.Sync
}

func (e *env) customerStory(t *testing.T) customerStory {
	t.Helper()
	e.customersFromShopify(t)
	e.refundsRule(t, e.shopConn.ID, e.odooConn.ID)
	e.start(t)
	vs := e.shop.Variants()
	var st customerStory
	st.ada = e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Ada", LastName: "Byron", Email: "ada@example.org",
		Phone: "+44 20 7946 0000", Address1: "12 St James's Square", City: "London", Zip: "SW1Y 4JH", Country: "GB"})
	st.grace = e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.org"})
	st.partner = e.endedSyncs(t, e.deliver(t, "customers/create", e.customerPayload(t, st.ada.GID())))[0]
	require.Equal(t, vocab.SyncSucceeded, st.partner.Status, st.partner.Message)

	st.order, st.placed = e.customerOrder(t, st.ada.GID(), vs[0])
	require.Equal(t, vocab.SyncSucceeded, st.placed.Status, st.placed.Message)
	_, payload := refundPayload(t, st.order, 1)
	st.refund = e.endedSyncs(t, e.deliver(t, "refunds/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, st.refund.Status, st.refund.Message)
	e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", vs[1].GID())
	_, st.failed = e.customerOrder(t, st.ada.GID(), vs[1])
	require.Equal(t, vocab.SyncFailed, st.failed.Status, st.failed.Message)
	_, st.theirs = e.customerOrder(t, st.grace.GID(), vs[0])
	return st
}

// privacyBody is a privacy webhook's body about the story's customer.
func (e *env) privacyBody(st customerStory, orders string) []byte {
	id := strings.TrimPrefix(st.ada.GID(), "gid://shopify/Customer/")
	return []byte(fmt.Sprintf(`{"shop_id":954889,"shop_domain":%q,%s:[%d],"customer":{"id":%s,"email":"ada@example.org","phone":"+44 20 7946 0000"},"data_request":{"id":9999}}`,
		e.shop.Domain(), orders, st.order.ID, id))
}

// The proof of a data request: for a customer with a partner in Odoo, an
// order, its refund and a failed order, the export holds all of them (with
// their payloads, requests and answers, and the webhook deliveries they came
// from), and nothing of another customer.
func TestPrivacyDataRequestHoldsTheCustomersOrdersRefundsAndFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, options{})
	st := e.customerStory(t)
	require.Equal(t, store.WebhookProcessed, e.event(t, e.deliverPrivacy(t, "customers/data_request", "evt-ada", e.privacyBody(st, `"orders_requested"`))).Status)
	req := e.privacyRequests(t)[0]

	x, err := e.st.PrivacyExport(ctx, req.ID, time.Now())
	require.NoError(t, err)
	got := map[int64]store.Sync{}
	for _, s := range x.Data.Syncs {
		got[s.ID] = s
	}
	for what, s := range map[string]store.Sync{"the customer": st.partner, "the order": st.placed, "its refund": st.refund, "the failed order": st.failed} {
		held, ok := got[s.ID]
		require.True(t, ok, "the export holds %s", what)
		require.NotEmpty(t, held.Payload, what)
		require.NotNil(t, held.WebhookEventID, what)
	}
	require.NotEmpty(t, got[st.placed.ID].Request, "what was sent to Odoo")
	require.NotEmpty(t, got[st.placed.ID].Response, "and what Odoo answered")
	require.NotContains(t, got, st.theirs.ID, "another customer's order is not in the export")
	require.Len(t, x.Data.Syncs, 4)
	require.Len(t, x.Data.Events, 4, "the deliveries the syncs came from, with their bodies")
	for _, ev := range x.Data.Events {
		require.NotEmpty(t, ev.Payload)
	}
	require.NotEmpty(t, x.Data.Attempts)
	require.Equal(t, "Odoo", x.Systems[st.partner.TargetConnectionID].Name)
	require.NotEmpty(t, got[st.partner.ID].TargetRef, "the partner's id in Odoo: the copy Odoo holds")
}

// The proof of an erasure: the customer's personal data is gone from every
// payload, request, answer and webhook body Crossdock keeps of them, while
// amounts, SKUs, ids and order totals stay as they were, and another
// customer's records are not touched at all.
func TestPrivacyRedactErasesTheCustomerAndNothingElse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t, options{})
	st := e.customerStory(t)
	theirsBefore := e.sync(t, st.theirs.ID)
	theirEvent, err := e.st.WebhookEventByID(ctx, e.shopConn.ID, *theirsBefore.WebhookEventID)
	require.NoError(t, err)
	placedBefore := e.sync(t, st.placed.ID)
	refundBefore := e.sync(t, st.refund.ID)

	require.Equal(t, store.WebhookProcessed, e.event(t, e.deliverPrivacy(t, "customers/redact", "evt-ada-redact", e.privacyBody(st, `"orders_to_redact"`))).Status)
	var req store.PrivacyRequest
	wait(t, "the erasure to finish", func() bool {
		req = e.privacyRequests(t)[0]
		return req.Status == store.PrivacyDone
	})
	require.Contains(t, req.Progress, "Erased from Crossdock: the customer's personal data in 4 syncs, 4 webhook deliveries")
	require.Empty(t, req.CustomerEmail, "the request itself forgets the e-mail")
	require.Empty(t, req.CustomerPhone)

	personal := []string{"ada@example.org", "Byron", "7946 0000", "James's Square", "SW1Y 4JH", "London"}
	for _, s := range []store.Sync{st.partner, st.placed, st.refund, st.failed} {
		s = e.sync(t, s.ID)
		for _, stored := range []string{string(s.Payload), string(s.Request), string(s.Response), s.EntityKey, s.Message, strings.Join(s.SearchKeys, " ")} {
			for _, p := range personal {
				require.NotContains(t, stored, p, "sync %d (%s)", s.ID, s.Family)
			}
		}
		ev, err := e.st.WebhookEventByID(ctx, e.shopConn.ID, *s.WebhookEventID)
		require.NoError(t, err)
		for _, p := range personal {
			require.NotContains(t, string(ev.Payload), p, "webhook delivery %d", ev.ID)
		}
	}
	placed, refund := e.sync(t, st.placed.ID), e.sync(t, st.refund.ID)
	require.Equal(t, placedBefore.EntityRef, placed.EntityRef, "ids stay")
	require.Equal(t, placedBefore.TargetRef, placed.TargetRef)
	require.Equal(t, refundBefore.EntityKey, refund.EntityKey)
	for _, field := range []string{"total", "currency", "name", "lines"} {
		require.Equal(t, jsonField(t, placedBefore.Payload, field), jsonField(t, placed.Payload, field), "the order's %s stays", field)
	}
	require.Contains(t, string(placed.Payload), `"[redacted]"`)
	require.Equal(t, string(refundBefore.Request), string(refund.Request), "the credit note sent to Odoo held nothing personal: amounts and lines unchanged")

	theirsAfter := e.sync(t, st.theirs.ID)
	require.Equal(t, string(theirsBefore.Payload), string(theirsAfter.Payload), "another customer's order is untouched")
	require.Equal(t, string(theirsBefore.Request), string(theirsAfter.Request))
	require.Equal(t, theirsBefore.SearchKeys, theirsAfter.SearchKeys)
	theirEventAfter, err := e.st.WebhookEventByID(ctx, e.shopConn.ID, theirEvent.ID)
	require.NoError(t, err)
	require.Equal(t, theirEvent.Payload, theirEventAfter.Payload)

	ss, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Search: "ada@example.org", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, ss, "searching by the erased e-mail finds nothing")
}

// jsonField is one top-level field of a stored JSON object, as stored.
func jsonField(t *testing.T, b []byte, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m))
	return string(m[field])
}
