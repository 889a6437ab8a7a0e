package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shipbob"
	shipbobsandbox "crossdock/connectors/shipbob/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// refundsFromShipBob makes ShipBob the source of refunds, Shopify receiving them.
func (w *warehouseEnv) refundsFromShipBob(t *testing.T) {
	t.Helper()
	w.x.SourceRule(t, store.SourceRuleInput{Family: vocab.Refunds, Master: w.sbConn.ID, Receivers: []int64{w.shopConn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
}

func (w *warehouseEnv) client(t *testing.T) *shipbob.Client {
	t.Helper()
	cl, err := shipbob.NewClient(shipbob.Config{BaseURL: w.sbConn.Settings["api_base_url"], AccessToken: "pat-warehouse", ChannelID: 100101})
	require.NoError(t, err)
	return cl
}

// shippedToCustomer places a Shopify order, sends it to ShipBob through the
// orders flow and ships it; it returns the order and ShipBob's shipment.
func (w *warehouseEnv) shippedToCustomer(t *testing.T, lines ...shopsandbox.NewLine) (shopsandbox.Order, shipbob.Shipment) {
	t.Helper()
	o, payload := w.placeShipped(t, lines...)
	return o, w.ship(t, o, payload)
}

// paidAndShipped places an order paid as in sets it (its gateway, tax and
// discount), sends it to ShipBob and ships it.
func (w *warehouseEnv) paidAndShipped(t *testing.T, in shopsandbox.NewOrder) (shopsandbox.Order, shipbob.Shipment) {
	t.Helper()
	o, err := w.shop.AddOrder(in)
	require.NoError(t, err)
	payload, err := w.shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)
	return o, w.ship(t, o, withShippingAddress(t, payload))
}

// ship sends a placed order to ShipBob through the orders flow and ships it.
func (w *warehouseEnv) ship(t *testing.T, o shopsandbox.Order, payload []byte) shipbob.Shipment {
	t.Helper()
	s := w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	sbo, ok := w.sb.OrderByReference(o.GID())
	require.True(t, ok)
	require.NoError(t, w.sb.Ship(sbo.Shipments[0].ID, true))
	sh, ok := w.sb.Shipment(sbo.Shipments[0].ID)
	require.True(t, ok)
	return sh
}

// sendBack creates a return of every unit of a shipment, as the customer
// sends it back.
func (w *warehouseEnv) sendBack(t *testing.T, sh shipbob.Shipment, rma string) shipbob.Return {
	t.Helper()
	var inv []shipbob.ReturnInventory
	for _, p := range sh.Products {
		for _, ii := range p.InventoryItems {
			inv = append(inv, shipbob.ReturnInventory{ID: ii.ID, Quantity: ii.Quantity, RequestedAction: shipbob.ActionDefault})
		}
	}
	rt, err := w.client(t).CreateReturn(context.Background(), shipbob.NewReturn{ReferenceID: rma, FulfillmentCenter: shipbob.Facility{ID: 11},
		OriginalShipmentID: sh.ID, Inventory: inv})
	require.NoError(t, err)
	return rt
}

// returnEvent is the body of a return webhook as the twin sends it.
func returnEvent(t *testing.T, rt shipbob.Return) map[string]any {
	t.Helper()
	b, err := json.Marshal(rt)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	m["event_time"] = time.Now().UTC().Format(time.RFC3339Nano)
	return m
}

func (w *warehouseEnv) refundCreates() int {
	n := 0
	for _, wr := range w.shop.Writes() {
		if wr.Op == "refundCreate" && wr.Result == "ok" {
			n++
		}
	}
	return n
}

func (w *warehouseEnv) returnSync(t *testing.T, eventID int64) store.Sync {
	t.Helper()
	ss := w.endedSyncs(t, eventID)
	require.Len(t, ss, 1)
	require.Equal(t, "returns.shipbob_shopify", ss[0].Flow)
	return ss[0]
}

func TestShipBobCompletedReturnIsOneRefundWithRestock(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	o, sh := w.shippedToCustomer(t)
	loc := w.shop.Locations()[0].GID()
	item := w.shop.Variants()[0].InventoryItemGID()
	before, _, ok := w.shop.InventoryLevel(item, loc)
	require.True(t, ok)

	rt := w.sendBack(t, sh, "RMA-1001")
	done, err := w.sb.CompleteReturnDirect(rt.ID, nil)
	require.NoError(t, err)
	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "Return ")
	// The order was paid by hand (no gateway named): "manual".
	paid := w.shop.Variants()[0].Price
	require.Contains(t, s.Message, "of order "+o.Name+" (RMA RMA-1001): refunded "+twice(t, paid)+
		" USD to the customer (manual) for 2 items in Main store; 2 back in stock at the warehouse's location.")

	got := w.shopOrder(t, o.GID())
	require.Len(t, got.Refunds, 1)
	r := got.Refunds[0]
	require.True(t, strings.HasPrefix(r.Note, "ShipBob return "), r.Note)
	require.Len(t, r.Lines, 1)
	require.Equal(t, 2, r.Lines[0].Quantity)
	require.Equal(t, "RETURN", r.Lines[0].RestockType)
	after, _, _ := w.shop.InventoryLevel(item, loc)
	require.Equal(t, before+2, after, "restocked at the location ShipBob ships for")
}

// What ShipBob quarantines (or disposes of) is refunded but never restocked.
func TestShipBobQuarantinedItemIsNotRestocked(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	o, sh := w.shippedToCustomer(t)
	loc := w.shop.Locations()[0].GID()
	item := w.shop.Variants()[0].InventoryItemGID()
	before, _, _ := w.shop.InventoryLevel(item, loc)
	rt := w.sendBack(t, sh, "RMA-Q")
	done, err := w.sb.CompleteReturnDirect(rt.ID, map[int64][]shipbob.ActionTaken{rt.Inventory[0].ID: {
		{Action: shipbob.ActionRestock, QuantityProcessed: 1}, {Action: shipbob.ActionQuarantine, ActionReason: "Damaged", QuantityProcessed: 1}}})
	require.NoError(t, err)
	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "for 2 items in Main store; 1 back in stock at the warehouse's location, 1 quarantined by ShipBob.")
	r := w.shopOrder(t, o.GID()).Refunds
	require.Len(t, r, 1)
	types := map[string]int{}
	for _, l := range r[0].Lines {
		types[l.RestockType] += l.Quantity
	}
	require.Equal(t, map[string]int{"RETURN": 1, "NO_RESTOCK": 1}, types)
	after, _, _ := w.shop.InventoryLevel(item, loc)
	require.Equal(t, before+1, after, "only the restocked unit is back in stock")
}

// A return of an order Crossdock never sent to ShipBob fails on its own, in
// words, and the next return goes on.
func TestShipBobReturnOfAnOrderCrossdockNeverSentFailsAlone(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	ctx := context.Background()
	cl := w.client(t)
	other, _, err := cl.CreateOrder(ctx, shipbob.NewOrder{ReferenceID: "AMAZON-77", Type: "DTC", ShippingMethod: "Standard",
		Recipient: shipbob.Recipient{Name: "Ada", Address: shipbob.Address{Address1: "1 Main", City: "Chicago", Country: "US"}},
		Products:  []shipbob.OrderProduct{{ReferenceID: w.shop.Variants()[0].SKU, Quantity: 1}}})
	require.NoError(t, err)
	require.NoError(t, w.sb.Ship(other.Shipments[0].ID, true))
	foreign, _ := w.sb.Shipment(other.Shipments[0].ID)
	bad, err := w.sb.CompleteReturnDirect(w.sendBack(t, foreign, "RMA-X").ID, nil)
	require.NoError(t, err)
	o, sh := w.shippedToCustomer(t)
	good, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-OK").ID, nil)
	require.NoError(t, err)

	badEv := w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, bad))
	goodEv := w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, good))
	s := w.returnSync(t, badEv)
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassNotFound, s.Class())
	require.Contains(t, s.Message, `(RMA RMA-X) is for ShipBob order`)
	require.Contains(t, s.Message, `(reference "AMAZON-77"), which Crossdock never sent there from Main store`)
	require.Contains(t, s.Message, "Nothing was refunded")
	require.Equal(t, vocab.SyncSucceeded, w.returnSync(t, goodEv).Status)
	require.Len(t, w.shopOrder(t, o.GID()).Refunds, 1)
	require.Equal(t, 1, w.refundCreates())
}

// Webhooks come twice and out of order, the scheduled check finds the same
// return again, a person replays it: Shopify gets one refund.
func TestShipBobReturnIsRefundedOnce(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	ctx := context.Background()
	o, sh := w.shippedToCustomer(t)
	rt := w.sendBack(t, sh, "RMA-DUP")
	arrived := returnEvent(t, rt)
	arrived["status"] = shipbob.ReturnArrived
	done, err := w.sb.CompleteReturnDirect(rt.ID, nil)
	require.NoError(t, err)
	body := returnEvent(t, done)

	first := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, body))
	require.Equal(t, vocab.SyncSucceeded, first.Status, first.Message)
	for _, ev := range []int64{w.shipbobEvent(t, shipbob.TopicReturnCompleted, body), w.shipbobEvent(t, shipbob.TopicReturnUpdated, arrived)} {
		var e store.WebhookEvent
		wait(t, "the late event to be handled", func() bool {
			var err error
			e, err = w.st.WebhookEventByID(ctx, w.sbConn.ID, ev)
			require.NoError(t, err)
			return e.Status != store.WebhookReceived
		})
		require.Equal(t, store.WebhookIgnored, e.Status, e.Error)
	}
	ss, _, err := w.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Refunds, Limit: 10})
	require.NoError(t, err)
	require.Len(t, ss, 1, "a duplicate or an older status plans nothing")
	n, err := w.eng.SweepShipBobReturns(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Zero(t, n, "the check finds it planned already")

	r, err := w.eng.Replay(ctx, store.SystemActor("test"), first.ID)
	require.NoError(t, err)
	r = w.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "was already refunded in Main store; nothing was created again")
	require.Len(t, w.shopOrder(t, o.GID()).Refunds, 1)
	require.Equal(t, 1, w.refundCreates())
}

// A return whose webhook never came is found by the scheduled check of the
// returns completed since the last one.
func TestShipBobReturnsCheckFindsWhatWebhooksMissed(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	ctx := context.Background()
	o, sh := w.shippedToCustomer(t)
	_, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-SWEEP").ID, nil)
	require.NoError(t, err)
	n, err := w.eng.SweepShipBobReturns(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	wait(t, "the refund", func() bool { return len(w.shopOrder(t, o.GID()).Refunds) == 1 })
	wait(t, "the sync to end", func() bool {
		ss, _, err := w.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Refunds, Status: vocab.SyncSucceeded, Limit: 5})
		require.NoError(t, err)
		return len(ss) == 1 && ss[0].Flow == "returns.shipbob_shopify"
	})
	n, err = w.eng.SweepShipBobReturns(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 1, w.refundCreates())
}

// Unless ShipBob is the source of refunds, a completed return writes
// nothing into Shopify; the refusal is recorded, as every flow's is.
func TestShipBobReturnIsNotRefundedWhenShipBobIsNotTheSourceOfRefunds(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{twin: shipbobsandbox.Options{}})
	w.x.SourceRule(t, store.SourceRuleInput{Family: vocab.Refunds, Master: w.shopConn.ID, Receivers: []int64{w.odooConn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	o, sh := w.shippedToCustomer(t)
	done, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-NO").ID, nil)
	require.NoError(t, err)
	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncRejected, s.Status, s.Message)
	require.Equal(t, vocab.ClassOwnership, s.Class())
	n, err := w.eng.SweepShipBobReturns(context.Background(), store.TriggerManual, true)
	require.NoError(t, err)
	require.Zero(t, n, "the check runs only for a ShipBob that is the source of refunds")
	require.Empty(t, w.shopOrder(t, o.GID()).Refunds)
	require.Zero(t, w.refundCreates())
}

// twice is two units of a price ("12.34" → "24.68").
func twice(t *testing.T, price string) string {
	t.Helper()
	whole, frac, _ := strings.Cut(price, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	require.NoError(t, err)
	f, err := strconv.ParseInt((frac + "00")[:2], 10, 64)
	require.NoError(t, err)
	c := 2 * (w*100 + f)
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}

// paidOrder is 2 × 25.00 with 10.00 off and 6.25 % tax on the 40.00 left
// (2.50): the customer paid 42.50 through Shopify Payments.
func (w *warehouseEnv) paidOrder(t *testing.T) shopsandbox.NewOrder {
	t.Helper()
	v := w.shop.Variants()[0]
	require.NoError(t, w.shop.SetPriceDirect(v.GID(), "25.00"))
	return shopsandbox.NewOrder{Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 2}}, Discount: "10.00",
		Tax: &shopsandbox.Tax{Title: "IL State Tax", Rate: 0.0625}, Gateway: "shopify_payments"}
}

// refundTxs are the REFUND transactions of an order in the twin.
func refundTxs(o shopsandbox.Order) []string {
	var out []string
	for _, t := range o.Transactions {
		if t.Kind == "REFUND" {
			out = append(out, t.Gateway+" "+t.Amount+" "+t.Status)
		}
	}
	return out
}

// A received return gives the customer's money back, once: what Shopify
// suggests for the returned lines (their discount and tax included),
// through the payment they were paid with. A replay refunds nothing again.
func TestShipBobReturnRefundsTheMoneyOnce(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	ctx := context.Background()
	o, sh := w.paidAndShipped(t, w.paidOrder(t))
	require.Equal(t, "42.50", o.Transactions[0].Amount, "the customer paid the discounted lines and their tax")
	done, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-CASH").ID, nil)
	require.NoError(t, err)

	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, fmt.Sprintf("Return %d of order %s (RMA RMA-CASH): refunded 42.50 USD to the customer (shopify_payments) for 2 items in Main store; 2 back in stock at the warehouse's location.",
		done.ID, o.Name), s.Message)
	got := w.shopOrder(t, o.GID())
	require.Equal(t, "42.50", got.TotalRefunded())
	require.Equal(t, []string{"shopify_payments 42.50 SUCCESS"}, refundTxs(got))
	require.Len(t, got.Refunds, 1)
	require.Equal(t, "42.50", got.Refunds[0].Amount)
	require.Equal(t, 2, got.Refunds[0].Lines[0].Quantity)
	require.Equal(t, "REFUNDED", got.FinancialStatus)

	r, err := w.eng.Replay(ctx, store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = w.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "was already refunded in Main store; nothing was created again")
	got = w.shopOrder(t, o.GID())
	require.Len(t, got.Refunds, 1, "the replay created no refund")
	require.Equal(t, "42.50", got.TotalRefunded(), "and moved no money")
	require.Equal(t, []string{"shopify_payments 42.50 SUCCESS"}, refundTxs(got))
	require.Equal(t, 1, w.refundCreates())
}

// With "record the returned items only", the refund records the lines and
// their restock and moves no money; the message says where to refund it.
func TestShipBobReturnItemsOnlyMovesNoMoney(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{onReturn: shipbob.ReturnItemsOnly})
	w.refundsFromShipBob(t)
	o, sh := w.paidAndShipped(t, w.paidOrder(t))
	done, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-ITEMS").ID, nil)
	require.NoError(t, err)

	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, fmt.Sprintf("Return %d of order %s (RMA RMA-ITEMS): 2 items recorded as returned in Main store; 2 back in stock at the warehouse's location. "+
		"The money was not refunded (this ShipBob connection records returned items only): refund the customer in Shopify admin, on order %s → Refund.",
		done.ID, o.Name, o.Name), s.Message)
	got := w.shopOrder(t, o.GID())
	require.Len(t, got.Refunds, 1)
	require.Equal(t, 2, got.Refunds[0].Lines[0].Quantity)
	require.Empty(t, got.Refunds[0].TransactionIDs)
	require.Equal(t, "0.00", got.TotalRefunded())
	require.Empty(t, refundTxs(got))
	require.Equal(t, "PAID", got.FinancialStatus)
}

// The merchant refunded the money by hand before the parcel came back:
// Shopify has nothing left to refund, so the refund records the lines and
// the message says the money was refunded already.
func TestShipBobReturnOfAnOrderRefundedByHand(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	o, sh := w.paidAndShipped(t, w.paidOrder(t))
	require.NoError(t, w.shop.RefundDirect(o.GID(), "42.50", "Refunded on the phone"))
	done, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-HAND").ID, nil)
	require.NoError(t, err)

	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, fmt.Sprintf("Return %d of order %s (RMA RMA-HAND): 2 items recorded as returned in Main store; 2 back in stock at the warehouse's location. "+
		"The money had already been refunded to the customer, so none was refunded again.", done.ID, o.Name), s.Message)
	got := w.shopOrder(t, o.GID())
	require.Len(t, got.Refunds, 2, "the one by hand and the return's")
	require.Equal(t, 2, got.Refunds[1].Lines[0].Quantity)
	require.Empty(t, got.Refunds[1].TransactionIDs)
	require.Equal(t, "42.50", got.TotalRefunded(), "refunded once, by hand")
	require.Equal(t, []string{"shopify_payments 42.50 SUCCESS"}, refundTxs(got))
}

// Shopify makes the refund but its answer is lost: the sync is retried,
// finds the refund made, and the customer's money is refunded once.
func TestShipBobReturnRetriedAfterALostAnswerRefundsOnce(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	o, sh := w.paidAndShipped(t, w.paidOrder(t))
	done, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-LOST").ID, nil)
	require.NoError(t, err)
	w.shop.LoseAnswerOf("refundCreate", 1)

	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 2, s.Attempts, "the first attempt's answer was lost")
	require.Contains(t, s.Message, "was already refunded in Main store; nothing was created again")
	got := w.shopOrder(t, o.GID())
	require.Len(t, got.Refunds, 1)
	require.Equal(t, "42.50", got.TotalRefunded())
	require.Equal(t, []string{"shopify_payments 42.50 SUCCESS"}, refundTxs(got))
	require.Equal(t, 1, w.refundCreates())
}

// Part of the money was refunded by hand: the return refunds what is left.
func TestShipBobReturnRefundsWhatIsLeftAfterAPartialRefundByHand(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.refundsFromShipBob(t)
	o, sh := w.paidAndShipped(t, w.paidOrder(t))
	require.NoError(t, w.shop.RefundDirect(o.GID(), "20.00", "Goodwill"))
	done, err := w.sb.CompleteReturnDirect(w.sendBack(t, sh, "RMA-PART").ID, nil)
	require.NoError(t, err)

	s := w.returnSync(t, w.shipbobEvent(t, shipbob.TopicReturnCompleted, returnEvent(t, done)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "(RMA RMA-PART): refunded 22.50 USD to the customer (shopify_payments) for 2 items in Main store;")
	got := w.shopOrder(t, o.GID())
	require.Equal(t, "42.50", got.TotalRefunded())
	require.Equal(t, []string{"shopify_payments 20.00 SUCCESS", "shopify_payments 22.50 SUCCESS"}, refundTxs(got))
}
