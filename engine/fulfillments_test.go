package engine_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/odoo"
	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// setupFulfillments makes Odoo decide fulfillments and Shopify receive them,
// and starts the engine.
func setupFulfillments(t *testing.T) *env {
	t.Helper()
	e := setup(t, options{})
	_, err := e.st.SaveSourceRule(context.Background(), store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Fulfillments,
		Master: e.odooConn.ID, Receivers: []int64{e.shopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15,
		Policy: rules.MasterWins})
	require.NoError(t, err)
	e.start(t)
	return e
}

// ship validates a delivery in Odoo, sweeps, and returns the ended syncs the
// sweep queued.
func (e *env) ship(t *testing.T, d odoosandbox.NewDelivery) (odoosandbox.Picking, []store.Sync) {
	t.Helper()
	d.Done = true
	p, err := e.odoo.AddDelivery(d)
	require.NoError(t, err)
	e.clock.add(2 * time.Second)
	return p, e.sweepFulfillments(t)
}

func (e *env) sweepFulfillments(t *testing.T) []store.Sync {
	t.Helper()
	ctx := context.Background()
	n, err := e.eng.SweepFulfillments(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	if n == 0 {
		return nil
	}
	var out []store.Sync
	wait(t, "the fulfillment syncs to end", func() bool {
		ss, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Fulfillments, Limit: n})
		require.NoError(t, err)
		for _, s := range ss {
			if s.FinishedAt == nil {
				return false
			}
		}
		out = ss
		return len(ss) == n
	})
	return out
}

func (e *env) fulfillmentCreates() int {
	n := 0
	for _, w := range e.shop.Writes() {
		if w.Op == "fulfillmentCreate" {
			n++
		}
	}
	return n
}

func (e *env) shopOrder(t *testing.T, gid string) shopsandbox.Order {
	t.Helper()
	for _, o := range e.shop.Orders() {
		if o.GID() == gid {
			return o
		}
	}
	t.Fatalf("no order %s in the Shopify sandbox", gid)
	return shopsandbox.Order{}
}

func TestFulfillmentWithTrackingShipsTheOrderOnce(t *testing.T) {
	t.Parallel()
	e := setupFulfillments(t)
	o, so := e.placed(t)
	p, ss := e.ship(t, odoosandbox.NewDelivery{SaleOrderID: so.ID, CarrierID: odoosandbox.CarrierUPS, TrackingRef: "1Z999AA10123456784"})
	require.Len(t, ss, 1)
	s := ss[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "Delivery "+p.Name+" of order "+o.Name)
	require.Contains(t, s.Message, "Tracking 1Z999AA10123456784 (UPS) was added")
	require.Contains(t, s.SearchKeys, "1z999aa10123456784")

	got := e.shopOrder(t, o.GID())
	require.Len(t, got.Fulfillments, 1)
	f := got.Fulfillments[0]
	require.Equal(t, "1Z999AA10123456784", f.Number)
	require.Equal(t, "UPS", f.Company)
	require.Equal(t, "https://www.ups.com/track?tracknum=1Z999AA10123456784", f.URL)
	require.Equal(t, s.TargetRef, shopsandboxGID("Fulfillment", f.ID))
	fos, err := e.shop.FulfillmentOrders(o.GID())
	require.NoError(t, err)
	require.Equal(t, "CLOSED", fos[0].Status)
	require.Equal(t, 1, e.fulfillmentCreates())

	// The next sweep finds nothing new; a replay finds the tracking there.
	require.Empty(t, e.sweepFulfillments(t))
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "nothing was created again")
	require.Equal(t, 1, e.fulfillmentCreates())
	require.Len(t, e.shopOrder(t, o.GID()).Fulfillments, 1)
}

func shopsandboxGID(kind string, id int64) string {
	return "gid://shopify/" + kind + "/" + strconv.FormatInt(id, 10)
}

func TestFulfillmentPartialDeliveriesFulfilLineByLine(t *testing.T) {
	t.Parallel()
	e := setupFulfillments(t)
	vs := e.shop.Variants()
	a, b := vs[0], vs[1]
	o, so := e.placed(t, shopsandbox.NewLine{VariantID: a.GID(), Quantity: 3}, shopsandbox.NewLine{VariantID: b.GID(), Quantity: 1})
	pa, pb := e.productBySKU[a.SKU].ID, e.productBySKU[b.SKU].ID

	_, ss := e.ship(t, odoosandbox.NewDelivery{SaleOrderID: so.ID, CarrierID: odoosandbox.CarrierDHL, TrackingRef: "JD01",
		Lines: []odoosandbox.DeliveryLine{{ProductID: pa, Quantity: 2}}})
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "(2 items)")
	fos, err := e.shop.FulfillmentOrders(o.GID())
	require.NoError(t, err)
	require.Equal(t, "IN_PROGRESS", fos[0].Status)
	require.Equal(t, []int{1, 1}, []int{fos[0].Lines[0].Remaining, fos[0].Lines[1].Remaining})

	_, ss = e.ship(t, odoosandbox.NewDelivery{SaleOrderID: so.ID, CarrierID: odoosandbox.CarrierDHL, TrackingRef: "JD02",
		Lines: []odoosandbox.DeliveryLine{{ProductID: pa, Quantity: 1}, {ProductID: pb, Quantity: 1}}})
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	fos, err = e.shop.FulfillmentOrders(o.GID())
	require.NoError(t, err)
	require.Equal(t, "CLOSED", fos[0].Status)
	got := e.shopOrder(t, o.GID())
	require.Len(t, got.Fulfillments, 2)
	require.Equal(t, []int{2}, []int{got.Fulfillments[0].Lines[0].Quantity})
	require.Equal(t, 2, e.fulfillmentCreates())
}

func TestFulfillmentWithoutTrackingIsShippedAndSaysSo(t *testing.T) {
	t.Parallel()
	e := setupFulfillments(t)
	o, so := e.placed(t)
	_, ss := e.ship(t, odoosandbox.NewDelivery{SaleOrderID: so.ID})
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "has no tracking reference in Odoo")
	got := e.shopOrder(t, o.GID())
	require.Len(t, got.Fulfillments, 1)
	require.Empty(t, got.Fulfillments[0].Number)

	// A replay of an untracked delivery finds everything shipped since it began.
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), ss[0].ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "nothing was created again")
	require.Equal(t, 1, e.fulfillmentCreates())
}

func TestFulfillmentBadInput(t *testing.T) {
	t.Parallel()

	t.Run("order unknown in Shopify", func(t *testing.T) {
		t.Parallel()
		e := setupFulfillments(t)
		db, _, _, key := e.odoo.Credentials()
		cl, err := odoo.NewClient(odoo.Config{URL: e.odooConn.Settings["url"], Database: db, Secret: key, Protocol: odoo.ProtocolJSON2})
		require.NoError(t, err)
		p := e.odoo.Products()[0]
		soID, _, err := cl.CreateSaleOrder(context.Background(), odoo.SaleOrder{PartnerID: e.odoo.Partners()[0].ID, Origin: "Shopify #9999",
			Lines: []odoo.SaleOrderLine{{ProductID: p.ID, Quantity: 1, PriceUnit: 10}}}, "gid://shopify/Order/424242424242")
		require.NoError(t, err)
		_, ss := e.ship(t, odoosandbox.NewDelivery{SaleOrderID: soID, TrackingRef: "ABC"})
		require.Len(t, ss, 1)
		require.Equal(t, vocab.SyncFailed, ss[0].Status)
		require.Equal(t, vocab.ClassNotFound, ss[0].Class())
		require.Contains(t, ss[0].Message, "Main store has no order #9999 (was it deleted?)")
		require.Zero(t, e.fulfillmentCreates())
	})

	t.Run("fulfillment order already closed", func(t *testing.T) {
		t.Parallel()
		e := setupFulfillments(t)
		o, so := e.placed(t)
		require.NoError(t, e.shop.FulfillDirect(o.GID(), "DHL Express", "BYHAND1"))
		_, ss := e.ship(t, odoosandbox.NewDelivery{SaleOrderID: so.ID, CarrierID: odoosandbox.CarrierUPS, TrackingRef: "1ZOTHER"})
		require.Len(t, ss, 1)
		require.Equal(t, vocab.SyncFailed, ss[0].Status)
		require.Equal(t, vocab.ClassConflict, ss[0].Class())
		require.Contains(t, ss[0].Message, "is already marked as fulfilled in Main store")
		require.Contains(t, ss[0].Message, "not with tracking 1ZOTHER")
		require.Zero(t, e.fulfillmentCreates())
	})

	t.Run("orders that did not come from Shopify are not swept", func(t *testing.T) {
		t.Parallel()
		e := setupFulfillments(t)
		_, err := e.odoo.AddDelivery(odoosandbox.NewDelivery{Lines: []odoosandbox.DeliveryLine{{ProductID: e.odoo.Products()[0].ID, Quantity: 1}}, Done: true})
		require.NoError(t, err)
		require.Empty(t, e.sweepFulfillments(t))
	})
}

func TestFulfillmentRefusedWhenShopifyIsTheMaster(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	_, err := e.st.SaveSourceRule(context.Background(), store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Fulfillments,
		Master: e.shopConn.ID, Receivers: []int64{e.odooConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15,
		Policy: rules.MasterWins})
	require.NoError(t, err)
	e.start(t)
	_, so := e.placed(t)
	_, ss := e.ship(t, odoosandbox.NewDelivery{SaleOrderID: so.ID, TrackingRef: "X"})
	require.Empty(t, ss, "Odoo is not the master of fulfillments: nothing is swept from it")
	require.Zero(t, e.fulfillmentCreates())
}

func TestFulfillmentWaitsForAnotherDeliveryOfTheSameOrder(t *testing.T) {
	t.Parallel()
	e := setupFulfillments(t)
	ctx := context.Background()
	o, so := e.placed(t)
	// Another delivery of the same order is being sent (on any replica).
	lease := "fulfillment-order:" + strconv.FormatInt(e.shopConn.ID, 10) + ":" + o.GID()
	got, err := e.st.AcquireLease(ctx, lease, 1<<40, time.Minute)
	require.NoError(t, err)
	require.True(t, got)
	_, err = e.odoo.AddDelivery(odoosandbox.NewDelivery{SaleOrderID: so.ID, TrackingRef: "W1", Done: true})
	require.NoError(t, err)
	n, err := e.eng.SweepFulfillments(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var s store.Sync
	wait(t, "the delivery to wait for the other one", func() bool {
		ss, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Fulfillments, Limit: 1})
		require.NoError(t, err)
		s = ss[0]
		return s.Status == vocab.SyncRetrying
	})
	require.Contains(t, s.Message, "Another delivery of order "+o.Name+" is being sent right now.")
	require.Zero(t, e.fulfillmentCreates())

	require.NoError(t, e.st.ReleaseLease(ctx, lease, 1<<40))
	s = e.ended(t, s.ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 1, e.fulfillmentCreates())
}
