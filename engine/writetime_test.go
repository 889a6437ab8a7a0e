package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The sources of truth are checked again when a sync writes, not only at
// intake: a sync queued under one rule and run after an admin changed it is
// refused, in words, and nothing reaches the target. Intake runs before the
// engine starts, so every sync here is queued while the old rule allowed it.
func TestRuleChangedAfterQueueingRefusesTheWrite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		family vocab.Family
		before func(e *env, t *testing.T)       // the rule the sync is queued under
		queue  func(e *env, t *testing.T) int64 // the event that becomes the sync
	}{
		{"an order", vocab.Orders, func(*env, *testing.T) {}, func(e *env, t *testing.T) int64 {
			_, payload := e.order(t)
			return e.deliver(t, "orders/create", payload)
		}},
		{"a customer", vocab.Customers, func(e *env, t *testing.T) { e.customersFromShopify(t) }, func(e *env, t *testing.T) int64 {
			c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Ada", LastName: "Lovelace", Email: "ada.writetime@example.org"})
			return e.deliver(t, "customers/update", e.customerPayload(t, c.GID()))
		}},
		{"a stock level", vocab.Inventory, func(e *env, t *testing.T) {
			e.rule(t, store.SourceRuleInput{Family: vocab.Inventory, Master: e.shopConn.ID, Receivers: []int64{e.odooConn.ID}, SweepMinutes: 5})
			e.mapShopLocation()
		}, func(e *env, t *testing.T) int64 {
			return e.deliver(t, "inventory_levels/update", e.level(t, 10, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, options{})
			ctx := context.Background()
			tc.before(e, t)
			ev := tc.queue(e, t)
			n, err := e.eng.IntakeOnce(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			ss, err := e.st.SyncsOfWebhookEvent(ctx, ev)
			require.NoError(t, err)
			require.Len(t, ss, 1)
			require.Equal(t, vocab.SyncPending, ss[0].Status, "intake allowed it: %s", ss[0].Message)

			// Odoo no longer receives the family: the queued sync must not write.
			e.rule(t, store.SourceRuleInput{Family: tc.family, Master: e.shopConn.ID})
			e.start(t)
			s := e.ended(t, ss[0].ID)
			require.Equal(t, vocab.SyncRejected, s.Status, s.Message)
			require.Equal(t, vocab.ClassOwnership, s.Class())
			require.Contains(t, s.Message, "Odoo does not receive "+tc.family.Noun())
			require.Equal(t, 1, s.Attempts, "the worker ran it and refused")
			require.Empty(t, e.odoo.Writes(), "nothing was written into Odoo")
		})
	}
}

// The same for a sweep's syncs, Odoo → Shopify: stock queued by a sweep while
// Shopify received stock is refused once it no longer does, and Shopify is
// not written to.
func TestRuleChangedAfterSweepRefusesTheWrite(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	n, err := e.eng.SweepInventory(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.NotZero(t, n)
	queued, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Inventory, Limit: 200})
	require.NoError(t, err)
	require.NotEmpty(t, queued)
	for _, s := range queued {
		require.Equal(t, vocab.SyncPending, s.Status, "the sweep queued it: %s", s.Message)
	}

	e.rule(t, store.SourceRuleInput{Family: vocab.Inventory, Master: e.odooConn.ID, Trigger: rules.Scheduled, SweepMinutes: 5})
	e.start(t)
	for _, q := range queued {
		s := e.ended(t, q.ID)
		require.Equal(t, vocab.SyncRejected, s.Status, s.Message)
		require.Equal(t, vocab.ClassOwnership, s.Class())
		require.Contains(t, s.Message, "Main store does not receive "+vocab.Inventory.Noun())
	}
	require.Empty(t, e.shop.Writes(), "nothing was written into Shopify")
}

// The same for a refund: queued while its flow is paused (the order it
// refunds is in Odoo already), refused when it runs after Odoo stopped
// receiving refunds; no credit note is written.
func TestRuleChangedWhileRefundWaitedRefusesTheWrite(t *testing.T) {
	t.Parallel()
	e := setup(t, options{configure: func(c *engine.Config) { c.PausedRecheck = 50 * time.Millisecond }})
	ctx := context.Background()
	e.refundsRule(t, e.shopConn.ID, e.odooConn.ID)
	e.start(t)
	o, _ := e.placed(t)
	admin := store.SystemActor("test")
	require.NoError(t, e.st.PauseFlow(ctx, admin, "refunds", "month-end close"))
	_, payload := refundPayload(t, o, 1)
	ev := e.deliver(t, "refunds/create", payload)
	var queued store.Sync
	wait(t, "the refund to be queued", func() bool {
		ss, err := e.st.SyncsOfWebhookEvent(ctx, ev)
		require.NoError(t, err)
		if len(ss) == 0 {
			return false
		}
		queued = ss[0]
		return true
	})
	require.Equal(t, vocab.SyncPending, queued.Status, "intake allowed it: %s", queued.Message)

	e.rule(t, store.SourceRuleInput{Family: vocab.Refunds, Master: e.shopConn.ID})
	require.NoError(t, e.st.ResumeFlow(ctx, admin, "refunds"))
	s := e.ended(t, queued.ID)
	require.Equal(t, vocab.SyncRejected, s.Status, s.Message)
	require.Equal(t, vocab.ClassOwnership, s.Class())
	require.Contains(t, s.Message, "Odoo does not receive "+vocab.Refunds.Noun())
	require.Zero(t, e.odooWrites("account.move"), "no credit note was written")
}

// The same for a fulfillment swept from Odoo while its flow was paused:
// refused once Shopify no longer receives fulfillments, and not created.
func TestRuleChangedWhileFulfillmentWaitedRefusesTheWrite(t *testing.T) {
	t.Parallel()
	e := setup(t, options{configure: func(c *engine.Config) { c.PausedRecheck = 50 * time.Millisecond }})
	ctx := context.Background()
	e.rule(t, store.SourceRuleInput{Family: vocab.Fulfillments, Master: e.odooConn.ID, Receivers: []int64{e.shopConn.ID},
		Trigger: rules.Scheduled, SweepMinutes: 5})
	e.start(t)
	_, so := e.placed(t)
	admin := store.SystemActor("test")
	require.NoError(t, e.st.PauseFlow(ctx, admin, "fulfillments", "carrier change"))
	_, err := e.odoo.AddDelivery(odoosandbox.NewDelivery{SaleOrderID: so.ID, CarrierID: odoosandbox.CarrierUPS, TrackingRef: "1Z999AA10123456784", Done: true})
	require.NoError(t, err)
	e.clock.add(2 * time.Second)
	n, err := e.eng.SweepFulfillments(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	queued, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Fulfillments, Limit: 10})
	require.NoError(t, err)
	require.Len(t, queued, 1)
	require.Equal(t, vocab.SyncPending, queued[0].Status, "the sweep queued it: %s", queued[0].Message)

	e.rule(t, store.SourceRuleInput{Family: vocab.Fulfillments, Master: e.odooConn.ID, Trigger: rules.Scheduled, SweepMinutes: 5})
	require.NoError(t, e.st.ResumeFlow(ctx, admin, "fulfillments"))
	s := e.ended(t, queued[0].ID)
	require.Equal(t, vocab.SyncRejected, s.Status, s.Message)
	require.Equal(t, vocab.ClassOwnership, s.Class())
	require.Contains(t, s.Message, "Main store does not receive "+vocab.Fulfillments.Noun())
	require.Zero(t, e.fulfillmentCreates(), "no fulfillment was created in Shopify")
}
