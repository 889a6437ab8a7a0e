package engine_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
)

// event waits until intake has decided a webhook event and returns it.
func (e *env) event(t testing.TB, id int64) store.WebhookEvent {
	t.Helper()
	var ev store.WebhookEvent
	wait(t, "the event to be decided", func() bool {
		var err error
		ev, err = e.st.WebhookEventByID(context.Background(), e.shopConn.ID, id)
		require.NoError(t, err)
		return ev.Status != store.WebhookReceived
	})
	return ev
}

// Shopify signs the body, not the topic: a captured signed body sent again
// under another topic verifies. It must fail, in words, and write nothing.
func TestIntakeActsOnlyOnBodiesOfTheirTopic(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.refundsRule(t, e.shopConn.ID, e.odooConn.ID)
	e.start(t)
	_, order := e.order(t)
	customer, err := os.ReadFile("testdata/customers-create.2026-04.json")
	require.NoError(t, err)
	refund, err := os.ReadFile("testdata/refunds-create.2026-04.json")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, topic string
		body        []byte
		want        string
	}{
		{"an order sent as a customer change", "customers/update", order, "the body is not a customer: it has line_items"},
		{"a customer sent as an order", "orders/create", customer, "the body is not an order: it has no line_items"},
		{"a refund sent as an order", "orders/create", refund, "the body is not an order"},
		{"an order sent as a stock level", "inventory_levels/update", order, "the body is not a stock level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := e.deliver(t, tc.topic, tc.body)
			ev := e.event(t, id)
			require.Equal(t, store.WebhookFailed, ev.Status)
			require.Contains(t, ev.Error, "Shopify sent this as "+tc.topic)
			require.Contains(t, ev.Error, tc.want)
			ss, err := e.st.SyncsOfWebhookEvent(context.Background(), id)
			require.NoError(t, err)
			require.Empty(t, ss, "nothing is planned from a body of another topic")
		})
	}
	require.Zero(t, e.odooWrites("res.partner"), "no contact was created from an order")
	require.Zero(t, e.odooWrites("sale.order"))
	require.Zero(t, e.odooWrites("account.move"))
}

// A customers/update stored right after the customers rule was saved is
// decided by that rule, even while the engine holds a snapshot of the rules
// from before it (a long RulesTTL makes the race certain).
func TestIntakeReadsTheRuleSavedJustBeforeTheEvent(t *testing.T) {
	t.Parallel()
	e := setup(t, options{configure: func(c *engine.Config) { c.RulesTTL = time.Hour }})
	e.start(t)
	before, err := e.eng.Rules(context.Background()) // the snapshot: nobody decides customers
	require.NoError(t, err)
	require.Zero(t, before.Rule("customers").Master)

	e.customersFromShopify(t)
	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.org"})
	ss := e.endedSyncs(t, e.deliver(t, "customers/update", e.customerPayload(t, c.GID())))
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, store.SyncSucceeded, s.Status, s.Message)
	require.Len(t, e.partnersWithEmail("grace@example.org"), 1)
}

// A change refused because nobody decided customers yet is not "handled":
// once an admin saves the rule, replaying the refusal sends it, and the same
// version delivered again is sent too rather than dropped as already seen.
func TestRefusedCustomerChangeComesThroughOnceTheRuleExists(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.start(t)
	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Ada", LastName: "Byron", Email: "ada.b@example.org"})
	payload := e.customerPayload(t, c.GID())
	ss := e.endedSyncs(t, e.deliver(t, "customers/update", payload))
	require.Len(t, ss, 1)
	refused := e.sync(t, ss[0].ID)
	require.Equal(t, store.SyncRejected, refused.Status)
	require.Contains(t, refused.Message, "Nobody decides customers yet")
	require.Empty(t, e.partnersWithEmail("ada.b@example.org"))

	e.customersFromShopify(t)
	replay, err := e.eng.Replay(context.Background(), store.SystemActor("test"), refused.ID)
	require.NoError(t, err)
	r := e.ended(t, replay.ID)
	require.Equal(t, store.SyncSucceeded, r.Status, r.Message)
	require.Len(t, e.partnersWithEmail("ada.b@example.org"), 1)

	again := e.endedSyncs(t, e.deliver(t, "customers/update", payload))
	require.Len(t, again, 1, "the same version, delivered again, is not dropped as already handled")
	s := e.sync(t, again[0].ID)
	require.Contains(t, []string{store.SyncSucceeded, store.SyncSkipped}, s.Status, s.Message)
	require.Len(t, e.partnersWithEmail("ada.b@example.org"), 1, "one contact, however many times the change came")
}
