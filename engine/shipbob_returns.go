package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

const (
	flowShipBobReturns = "returns.shipbob_shopify"
	// entityWarehouseReturn is a ShipBob return (its id); also its watermark type.
	entityWarehouseReturn = "shipbob_return"
	cursorShipBobReturns  = "shipbob_returns"
	// returnsLookBack is how far back the first check of completed returns
	// reads, and how much each later one overlaps the one before (webhooks
	// come up to a day late; the watermarks keep each return to one sync).
	returnsLookBack = 24 * time.Hour
)

// shipbobReturnsFlow refunds in Shopify what comes back to the ShipBob
// warehouse, when ShipBob is the source of refunds: once a return is
// completed (inspected, each quantity restocked, quarantined or disposed
// of), the returned lines of the order Crossdock sent become one Shopify
// refund, restocked at the location ShipBob ships for only as far as
// ShipBob restocked them, and refunding the customer's money through the
// payment Shopify suggests for those lines (unless the ShipBob connection
// records returned items only). Its webhooks say when; a scheduled check
// of the returns completed since the last one catches what they miss.
func shipbobReturnsFlow() Flow {
	return Flow{Name: flowShipBobReturns, Family: vocab.Refunds, From: vocab.KindShipBob, To: vocab.KindShopify,
		Topics: []string{shipbob.TopicReturnCreated, shipbob.TopicReturnUpdated, shipbob.TopicReturnCompleted},
		Plan:   (*Engine).planShipBobReturn,
		Sweep:  &flowSweep{job: sweepJobStock, run: (*Engine).SweepShipBobReturns},
		Lease:  leaseOn("return"),
		Run: runWith(runSpec[warehouseReturnIn, *shopify.Client]{record: "return", connect: (*Engine).shopify,
			body: (*Engine).runShipBobReturn})}
}

// warehouseReturnIn names the ShipBob return a sync refunds. The return is
// read again when the sync runs: its items and what was done with them are
// ShipBob's as they are then, never an event's copy.
type warehouseReturnIn struct {
	ReturnID  int64                `json:"shipbob_return_id"`
	Reference string               `json:"rma,omitempty"`
	Event     *shipbob.ReturnEvent `json:"event,omitempty"`
}

func (r warehouseReturnIn) label() string { return fmt.Sprintf("ShipBob return %d", r.ReturnID) }

func (e *Engine) planShipBobReturn(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	rev, err := shipbob.DecodeReturnEvent(ev.Payload)
	in := warehouseReturnIn{ReturnID: rev.ReturnID, Event: &rev}
	problem := ""
	if err != nil {
		problem = "ShipBob sent a return Crossdock cannot read (" + err.Error() + "). Nothing was refunded."
	}
	completed := rev.Status == shipbob.ReturnCompleted || (rev.Status == "" && ev.Topic == shipbob.TopicReturnCompleted)
	if problem == "" && !completed {
		p.outcome.Status = store.WebhookIgnored
		p.outcome.Error = fmt.Sprintf("%s is %s: Crossdock refunds a return in Shopify once ShipBob has completed it.", in.label(),
			cmpStr(strings.ToLower(rev.Status), "not completed yet"))
		return p
	}
	version := ev.ReceivedAt
	switch {
	case rev.Completed != nil:
		version = *rev.Completed
	case !rev.EventTime.IsZero():
		version = rev.EventTime
	}
	tgts := targets(rs, vocab.Refunds, vocab.KindShopify)
	if len(tgts) == 0 {
		p.outcome.Status, p.outcome.Error = store.WebhookIgnored, "No Shopify store is connected to receive refunds."
		return p
	}
	base := e.returnSync(ev.ConnectionID, store.TriggerWebhook, in, version)
	base.WebhookEventID = ev.ID
	return e.fanOut(p, rs, ev, base, vocab.Refunds, tgts, problem, in, func(t int64) string {
		return in.label() + " is waiting to be refunded in " + rs.Name(t) + "."
	})
}

func (e *Engine) returnSync(src int64, trigger string, in warehouseReturnIn, version time.Time) store.NewSync {
	ref := strconv.FormatInt(in.ReturnID, 10)
	return store.NewSync{Family: vocab.Refunds, Direction: vocab.ShipBobToShopify, Flow: flowShipBobReturns,
		SourceConnectionID: src, Trigger: trigger, EntityType: entityWarehouseReturn, EntityRef: ref, EntityKey: in.label(),
		SearchKeys: []string{ref, in.Reference}, SourceVersion: version, MaxAttempts: e.cfg.MaxAttempts,
		// One key per return: Shopify answers the first refund to the same
		// key again, whichever sync (webhook, check, replay) sends it.
		IdempotencyKey: fmt.Sprintf("shipbob-%d-return-%s", src, ref)}
}

// SweepShipBobReturns reads, from each ShipBob system that is the source of
// refunds, the returns completed since its last check (an hour's overlap;
// a day back the first time), and queues one sync per return not planned
// before. It returns how many syncs it queued.
func (e *Engine) SweepShipBobReturns(ctx context.Context, trigger string, force bool) (int, error) {
	rs, master, tgts, err := e.warehouseSource(ctx, vocab.Refunds)
	if err != nil || len(tgts) == 0 {
		return 0, err
	}
	cur, due, err := e.st.ClaimSweep(ctx, master.ID, cursorShipBobReturns, e.every(rs, vocab.Refunds, force))
	if err != nil || !due {
		return 0, err
	}
	cl, _, err := e.shipbob(ctx, master.ID)
	if err != nil {
		return 0, err
	}
	since := time.Now().Add(-returnsLookBack)
	if cur.PositionAt != nil {
		since = cur.PositionAt.Add(-time.Hour)
	}
	queued, newest, cursor := 0, since, ""
	for range 10000 {
		page, next, err := cl.Returns(ctx, shipbob.ReturnFilter{Statuses: []string{shipbob.ReturnCompleted}, CompletedSince: since, Cursor: cursor})
		if err != nil {
			return queued, fmt.Errorf("engine: returns check of %s: %w", master.Name, err)
		}
		n, err := e.queueWarehouseReturns(ctx, rs, master.ID, tgts, trigger, page)
		queued += n
		if err != nil {
			return queued, err
		}
		for _, r := range page {
			if r.CompletedDate != nil && r.CompletedDate.After(newest) {
				newest = *r.CompletedDate
			}
		}
		if next == "" || len(page) == 0 {
			break
		}
		cursor = next
	}
	cur.Name, cur.ConnectionID, cur.PositionAt = cursorShipBobReturns, master.ID, &newest
	return queued, e.st.SaveSyncCursor(ctx, cur)
}

// warehouseSource is what a scheduled check of ShipBob reads for a family:
// the rules, the ShipBob system that is its source (enabled), and the
// Shopify stores receiving it; none when ShipBob is not its source.
func (e *Engine) warehouseSource(ctx context.Context, f vocab.Family) (rules.Rules, rules.ConnInfo, []int64, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return rs, rules.ConnInfo{}, nil, err
	}
	rule := rs.Rule(f)
	master, ok := rs.Conn(rule.Master)
	if !ok || master.Kind != vocab.KindShipBob || !master.Enabled {
		return rs, master, nil, nil
	}
	var tgts []int64
	for _, rc := range rule.Receivers {
		if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == vocab.KindShopify {
			tgts = append(tgts, c.ID)
		}
	}
	return rs, master, tgts, nil
}

// queueWarehouseReturns queues one sync per completed return and target,
// unless a webhook or an earlier check planned it already (its completion
// is the return's watermark).
func (e *Engine) queueWarehouseReturns(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string, returns []shipbob.Return) (int, error) {
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		var marks []store.Watermark
		var done []shipbob.Return
		for _, r := range returns {
			if r.Status != shipbob.ReturnCompleted || r.CompletedDate == nil {
				continue
			}
			marks = append(marks, store.Watermark{ConnectionID: src, EntityType: entityWarehouseReturn, ExternalID: strconv.FormatInt(r.ID, 10),
				Version: *r.CompletedDate})
			done = append(done, r)
		}
		accepted, err := tx.AdvanceWatermarks(ctx, marks)
		if err != nil {
			return err
		}
		var qs []queued
		for i, r := range done {
			if !accepted[i] {
				continue
			}
			in := warehouseReturnIn{ReturnID: r.ID, Reference: r.ReferenceID}
			qs = append(qs, e.sweptSyncs(rs, src, tgts, vocab.Refunds, e.returnSync(src, trigger, in, *r.CompletedDate), in, "", in.label())...)
		}
		_, err = e.insertSyncs(ctx, tx, qs)
		n = len(qs)
		return err
	})
	return n, err
}

// returnRequest is what the flow sent to Shopify, as recorded.
type returnRequest struct {
	Refund shopify.RefundInput `json:"refund"`
	// Suggested is what Shopify suggested refunding for the lines (nil
	// when the connection records returned items only).
	Suggested *shopify.SuggestedRefund `json:"suggested_refund,omitempty"`
	// Order is the Shopify order the return's original shipment was sent for.
	Order          string `json:"shopify_order"`
	ShipBobOrder   int64  `json:"shipbob_order_id"`
	OriginalParcel int64  `json:"original_shipment_id"`
}

// returnNote is the refund's note; Crossdock finds its own refunds by it.
func returnNote(r shipbob.Return, warehouse string) string {
	return fmt.Sprintf("ShipBob return %d (RMA %s), received at %s", r.ID, cmpStr(r.ReferenceID, "none"), warehouse)
}

// runShipBobReturn refunds one completed ShipBob return in Shopify once: the
// order is the one Crossdock sent for the return's original shipment; a
// refund whose note names the return means it is there already (a second
// webhook, the check, a replay), and the idempotency key covers an attempt
// cut short after Shopify made it.
func (e *Engine) runShipBobReturn(ctx context.Context, s store.Sync, in warehouseReturnIn, cl *shopify.Client, conn store.Connection, _ verdict) result {
	var res result
	label := in.label()
	wh, whConn, err := e.shipbob(ctx, s.SourceConnectionID)
	if err != nil {
		res.err, res.system = err, whConn.Name
		return res
	}
	rt, err := wh.Return(ctx, in.ReturnID)
	if err != nil {
		res.err, res.system = err, whConn.Name
		return res
	}
	if rt.ReferenceID != "" {
		label = fmt.Sprintf("ShipBob return %d (RMA %s)", rt.ID, rt.ReferenceID)
	}
	switch rt.Status {
	case shipbob.ReturnCompleted:
	case shipbob.ReturnCancelled:
		res.status, res.response = vocab.SyncSkipped, rt
		res.message = fmt.Sprintf("%s was cancelled in %s; nothing to refund.", label, whConn.Name)
		return res
	default:
		res.status, res.response = vocab.SyncSkipped, rt
		res.message = fmt.Sprintf("%s is %s in %s, not completed: nothing is refunded until ShipBob has inspected it.", label, cmpStr(rt.Status, "open"), whConn.Name)
		return res
	}
	notOurs := func(why string) result {
		res.response = rt
		res.err = fail(vocab.ClassNotFound, fmt.Sprintf("%s %s, so Crossdock cannot tell which Shopify order it returns. Nothing was refunded; if it is a Shopify order, refund it in %s by hand.",
			label, why, conn.Name), nil)
		return res
	}
	if rt.OriginalShipmentID == 0 {
		return notOurs("names no original shipment in " + whConn.Name)
	}
	parcel, err := wh.Shipment(ctx, rt.OriginalShipmentID)
	var se *shipbob.Error
	if errors.As(err, &se) && se.Kind == shipbob.KindNotFound {
		return notOurs(fmt.Sprintf("comes from shipment %d, which %s does not have", rt.OriginalShipmentID, whConn.Name))
	} else if err != nil {
		res.err, res.system = err, whConn.Name
		return res
	}
	orderGID := parcel.ReferenceID
	sent, err := e.sentToWarehouse(ctx, whConn.ID, orderGID)
	if err != nil {
		res.err = err
		return res
	}
	if !strings.HasPrefix(orderGID, shopify.GIDPrefix("Order")) || !sent {
		return notOurs(fmt.Sprintf("is for ShipBob order %d (reference %q), which Crossdock never sent there from %s", parcel.OrderID, orderGID, conn.Name))
	}
	o, err := cl.Order(ctx, orderGID)
	var shErr *shopify.Error
	if errors.As(err, &shErr) && shErr.Kind == shopify.KindValidation && strings.Contains(shErr.Message, "does not exist") {
		res.err = fail(vocab.ClassNotFound, fmt.Sprintf("%s is for order %s, which is no longer in %s (was it deleted?). Nothing was refunded.", label, gidTail(orderGID), conn.Name), nil)
		return res
	} else if err != nil {
		res.err = err
		return res
	}
	label = fmt.Sprintf("Return %d of order %s (RMA %s)", rt.ID, o.Name, cmpStr(rt.ReferenceID, "none"))
	mine := fmt.Sprintf("ShipBob return %d ", rt.ID)
	for _, r := range o.Refunds {
		if r.Note != nil && strings.HasPrefix(*r.Note, mine) {
			res.status, res.targetRef, res.response = vocab.SyncSucceeded, r.ID, r
			res.message = fmt.Sprintf("%s was already refunded in %s; nothing was created again.", label, conn.Name)
			return res
		}
	}
	req := returnRequest{Order: orderGID, ShipBobOrder: parcel.OrderID, OriginalParcel: parcel.ID}
	lines, tally, problem := refundLines(o, rt, parcel, shipbob.LocationID(whConn.Settings))
	req.Refund = shopify.RefundInput{OrderID: orderGID, Note: returnNote(rt, whConn.Name), Lines: lines}
	res.request = req
	if problem != nil {
		res.response = map[string]any{"return": rt, "order_lines": o.LineItems.Nodes}
		problem.message = label + problem.message
		res.err = problem
		return res
	}
	if len(lines) == 0 {
		res.status, res.response = vocab.SyncSkipped, rt
		res.message = fmt.Sprintf("%s: %s processed none of its items, so there is nothing to refund.", label, whConn.Name)
		return res
	}
	money := shipbob.RefundsMoney(whConn.Settings)
	if money {
		// Shopify works out what exactly these lines are worth (their
		// discounts and tax) and what is left to refund of the payments:
		// nothing when the merchant refunded the money by hand already.
		// A retry or replay of a refund made is stopped above by its
		// note; were it missed, the same idempotency key answers the
		// first refund (same transactions) or is refused (others, as
		// once the money is refunded): never a second refund.
		sug, err := cl.SuggestRefund(ctx, orderGID, lines)
		if err != nil {
			res.err = err
			return res
		}
		req.Suggested = &sug
		req.Refund.Transactions = sug.RefundTransactions(orderGID)
		res.request = req
	}
	refund, err := cl.CreateRefund(ctx, req.Refund, s.IdempotencyKey)
	if err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef, res.response = vocab.SyncSucceeded, refund.ID, refund
	switch {
	case !money:
		res.message = fmt.Sprintf("%s: %s recorded as returned in %s%s. The money was not refunded (this ShipBob connection records returned items only): refund the customer in Shopify admin, on order %s → Refund.",
			label, items(tally.refunded), conn.Name, tally.String(), o.Name)
	case len(req.Refund.Transactions) == 0:
		res.message = fmt.Sprintf("%s: %s recorded as returned in %s%s. The money had already been refunded to the customer, so none was refunded again.",
			label, items(tally.refunded), conn.Name, tally.String())
	default:
		res.message = fmt.Sprintf("%s: refunded %s to the customer%s for %s in %s%s.", label, refundedAmount(refund, req.Refund.Transactions),
			gateways(req.Refund.Transactions), items(tally.refunded), conn.Name, tally.String())
	}
	return res
}

// refundedAmount is the money a refund gave back, as Shopify recorded it
// (the transactions sent when it did not say), written as Crossdock writes
// money in sentences: "42.50 USD".
func refundedAmount(r shopify.Refund, sent []shopify.RefundTransactionInput) string {
	m := r.TotalRefundedSet.ShopMoney
	if m.Amount == "" {
		var sum float64
		for _, t := range sent {
			f, _ := strconv.ParseFloat(t.Amount, 64)
			sum += f
		}
		m.Amount = money(sum)
	}
	return strings.TrimSpace(m.Amount + " " + m.CurrencyCode)
}

// gateways names the payment gateways a refund went through: " (paypal)".
func gateways(ts []shopify.RefundTransactionInput) string {
	var names []string
	for _, t := range ts {
		if t.Gateway != "" && !slices.Contains(names, t.Gateway) {
			names = append(names, t.Gateway)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// returnTally counts what a refund did with the returned quantities.
type returnTally struct{ refunded, restocked, quarantined, disposed int }

// String is what became of the returned items, after the refund's
// sentence: "; 2 back in stock at the warehouse's location".
func (t returnTally) String() string {
	var parts []string
	if t.restocked > 0 {
		parts = append(parts, fmt.Sprintf("%d back in stock at the warehouse's location", t.restocked))
	}
	if t.quarantined > 0 {
		parts = append(parts, fmt.Sprintf("%d quarantined by ShipBob", t.quarantined))
	}
	if t.disposed > 0 {
		parts = append(parts, fmt.Sprintf("%d disposed of by ShipBob", t.disposed))
	}
	if other := t.refunded - t.restocked - t.quarantined - t.disposed; other > 0 {
		parts = append(parts, fmt.Sprintf("%d not restocked", other))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

// refundLines turns what ShipBob received into refund lines of the order,
// by SKU: each item's processed quantity is refunded, its Restock part
// restocked at location, the rest (quarantined, disposed of) not. A line is
// never refunded beyond what was bought less earlier refunds. problem (its
// message to follow the return's label) names what cannot be matched.
func refundLines(o shopify.Order, rt shipbob.Return, parcel shipbob.Shipment, location string) ([]shopify.RefundLineInput, returnTally, *failure) {
	skuOf := map[int64]string{}
	for _, p := range parcel.Products {
		for _, ii := range p.InventoryItems {
			skuOf[ii.ID] = cmpStr(p.SKU, p.ReferenceID)
		}
	}
	left := map[string]int{}
	for _, l := range o.LineItems.Nodes {
		left[l.ID] = l.Quantity
	}
	for _, r := range o.Refunds {
		for _, n := range r.RefundLineItems.Nodes {
			left[n.LineItem.ID] -= n.Quantity
		}
	}
	var lines []shopify.RefundLineInput
	var t returnTally
	var unmatched, over []string
	take := func(sku string, want int, restock string) int {
		for _, l := range o.LineItems.Nodes {
			if want == 0 {
				break
			}
			if !strings.EqualFold(strings.TrimSpace(l.SKU), sku) || left[l.ID] <= 0 {
				continue
			}
			q := min(want, left[l.ID])
			left[l.ID] -= q
			want -= q
			in := shopify.RefundLineInput{LineItemID: l.ID, Quantity: q, RestockType: restock}
			if restock == shopify.RestockReturn {
				in.LocationID = location
			}
			lines = append(lines, in)
		}
		return want
	}
	needsLocation := false
	for _, it := range rt.Inventory {
		got := it.Received()
		if got <= 0 {
			continue
		}
		sku := strings.TrimSpace(cmpStr(it.SKU, skuOf[it.ID]))
		name := cmpStr(it.Name, sku)
		if sku == "" {
			unmatched = append(unmatched, cmpStr(name, fmt.Sprintf("inventory item %d", it.ID))+" (no SKU)")
			continue
		}
		found := false
		for _, l := range o.LineItems.Nodes {
			found = found || strings.EqualFold(strings.TrimSpace(l.SKU), sku)
		}
		if !found {
			unmatched = append(unmatched, fmt.Sprintf("%s (SKU %s)", name, sku))
			continue
		}
		restock := min(it.Taken(shipbob.ActionRestock), got)
		needsLocation = needsLocation || restock > 0
		short := take(sku, restock, shopify.RestockReturn) + take(sku, got-restock, shopify.RestockNone)
		if short > 0 {
			over = append(over, fmt.Sprintf("%d of %s (SKU %s)", short, name, sku))
		}
		t.refunded += got - short
		t.restocked += restock
		t.quarantined += min(it.Taken(shipbob.ActionQuarantine), got-restock)
		t.disposed += min(it.Taken(shipbob.ActionDispose), got-restock)
	}
	switch {
	case len(unmatched) > 0:
		return nil, t, fail(vocab.ClassUnmapped, fmt.Sprintf(" holds %s, which order %s has no line for (matched by SKU). Nothing was refunded; give the product the same SKU in Shopify and ShipBob, then try again.",
			strings.Join(unmatched, ", "), o.Name), nil)
	case len(over) > 0:
		return nil, t, fail(vocab.ClassConflict, fmt.Sprintf(": ShipBob received %s more than order %s has left to refund. Nothing was refunded; check the order's refunds in Shopify.",
			strings.Join(over, ", "), o.Name), nil)
	case needsLocation && location == "":
		return nil, t, fail(vocab.ClassValidation, ": no Shopify location is set on the ShipBob connection, so Crossdock cannot tell where to restock. Nothing was refunded; enter the Shopify location ShipBob ships from, then try again.", nil)
	}
	return lines, t, nil
}

// sentToWarehouse reports whether the orders flow sent a Shopify order to a
// ShipBob connection (a sync of it succeeded there).
func (e *Engine) sentToWarehouse(ctx context.Context, warehouse int64, orderGID string) (bool, error) {
	_, ok, err := e.lastSentToWarehouse(ctx, warehouse, orderGID, nil)
	return ok, err
}

// lastSentToWarehouse is the newest succeeded sync of the orders flow of a
// Shopify order into a ShipBob connection that keep accepts (nil: any).
func (e *Engine) lastSentToWarehouse(ctx context.Context, warehouse int64, orderGID string, keep func(store.Sync) bool) (store.Sync, bool, error) {
	if orderGID == "" {
		return store.Sync{}, false, nil
	}
	ss, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Status: vocab.SyncSucceeded, Family: vocab.Orders, TargetConnectionID: warehouse,
		Search: orderGID, Limit: 50})
	if err != nil {
		return store.Sync{}, false, err
	}
	for _, s := range ss {
		if s.Flow == flowShipBobOrders && s.EntityRef == orderGID && (keep == nil || keep(s)) {
			return s, true, nil
		}
	}
	return store.Sync{}, false, nil
}
