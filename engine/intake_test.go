package engine_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

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
