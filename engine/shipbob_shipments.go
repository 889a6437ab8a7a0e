package engine

import (
	"context"
	"encoding/json"
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
	flowShipBobShipments = "shipments.shipbob_shopify"
	// entityWarehouseOrder is a ShipBob order (its id); also its watermark type.
	entityWarehouseOrder  = "shipbob_order"
	cursorShipBobTracking = "shipbob_tracking"
)

// shipbobShipmentsFlow marks Shopify orders as shipped, with carrier and
// tracking, from ShipBob's shipments: its webhooks say when, and a
// scheduled check of the shipments whose tracking Crossdock has not sent
// yet catches what the webhooks miss — "shipped" can come before the
// tracking, and some changes send no webhook at all.
func shipbobShipmentsFlow() Flow {
	return Flow{Name: flowShipBobShipments, Family: vocab.Fulfillments, From: vocab.KindShipBob, To: vocab.KindShopify,
		Topics: []string{shipbob.TopicShipped, shipbob.TopicTrackingUpdated, "order.shipment.tracking_received", shipbob.TopicDelivered},
		Plan:   (*Engine).planShipBobShipment,
		Sweep:  &flowSweep{job: sweepJobStock, run: (*Engine).SweepShipBobTracking},
		Lease:  leaseOn("fulfillment"), Personal: []string{"tracking number"},
		Run: runWith(runSpec[warehouseShipmentsIn, *shopify.Client]{record: "shipment", connect: (*Engine).shopify,
			body: (*Engine).runShipBobShipments})}
}

// warehouseShipmentsIn names the ShipBob order whose shipments a sync
// carries to Shopify. The shipments themselves are read again from ShipBob
// when the sync runs: webhooks come late, twice and out of order, so the
// order's shipments as they are now decide, never an event's copy.
type warehouseShipmentsIn struct {
	OrderID     int64  `json:"shipbob_order_id"`
	ReferenceID string `json:"reference_id"` // the Shopify order GID
	OrderName   string `json:"order_name,omitempty"`
	// Event is what the webhook said, as evidence.
	Event *shipbob.ShipmentEvent `json:"event,omitempty"`
	// Shipments are the order's shipments as the tracking check listed them
	// at ListedAt: the list read already holds them, so a first attempt
	// soon after needs not ask ShipBob again (listedFresh).
	Shipments []shipbob.Shipment `json:"shipments,omitempty"`
	ListedAt  *time.Time         `json:"listed_at,omitempty"`
}

// listedFor is how long after the tracking check its list of an order's
// shipments stands for a read of them. Shipped parcels with tracking do not
// change back; one added since is listed by the next check.
const listedFor = 10 * time.Minute

// listed returns the shipments the tracking check listed, when this is the
// sync's first attempt (not a retry or a replay) and the list is recent.
func (w warehouseShipmentsIn) listed(s store.Sync) ([]shipbob.Shipment, bool) {
	if w.ListedAt == nil || len(w.Shipments) == 0 || retriedOrReplayed(s) || time.Since(*w.ListedAt) > listedFor {
		return nil, false
	}
	return w.Shipments, true
}

func (w warehouseShipmentsIn) label() string {
	if w.OrderName != "" {
		return "Shipments of order " + w.OrderName
	}
	// The Shopify order's number is not in ShipBob's webhook: name the
	// warehouse's order rather than show a raw id.
	return fmt.Sprintf("Shipments of ShipBob order %d", w.OrderID)
}

func (e *Engine) planShipBobShipment(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	sev, err := shipbob.DecodeShipmentEvent(ev.Payload)
	in := warehouseShipmentsIn{OrderID: sev.OrderID, ReferenceID: sev.ReferenceID, Event: &sev}
	problem := ""
	if err != nil {
		problem = "ShipBob sent a shipment Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	} else if sev.OrderID == 0 {
		problem = "ShipBob's shipment names no order id, so Crossdock cannot look its shipments up. Nothing was sent on."
	}
	version := sev.EventTime
	if version.IsZero() {
		version = ev.ReceivedAt
	}
	base := e.shipmentSync(ev.ConnectionID, store.TriggerWebhook, in, version)
	base.WebhookEventID = ev.ID
	tgts := targets(rs, vocab.Fulfillments, vocab.KindShopify)
	if len(tgts) == 0 {
		p.outcome.Status, p.outcome.Error = store.WebhookIgnored, "No Shopify store is connected to receive fulfillments."
		return p
	}
	return e.fanOut(p, rs, ev, base, vocab.Fulfillments, tgts, problem, in, func(t int64) string {
		return in.label() + " are waiting to be sent to " + rs.Name(t) + "."
	})
}

func (e *Engine) shipmentSync(src int64, trigger string, in warehouseShipmentsIn, version time.Time) store.NewSync {
	ref := strconv.FormatInt(in.OrderID, 10)
	keys := []string{ref, in.ReferenceID, gidTail(in.ReferenceID), in.OrderName}
	if in.Event != nil {
		keys = append(keys, in.Event.Tracking.TrackingNumber)
	}
	return store.NewSync{Family: vocab.Fulfillments, Direction: vocab.ShipBobToShopify, Flow: flowShipBobShipments,
		SourceConnectionID: src, Trigger: trigger, EntityType: entityWarehouseOrder, EntityRef: ref, EntityKey: in.label(),
		SearchKeys: keys, SourceVersion: version, MaxAttempts: e.cfg.MaxAttempts,
		IdempotencyKey: fmt.Sprintf("shipbob-%d-order-%s@%s", src, ref, version.UTC().Format(time.RFC3339Nano))}
}

// SweepShipBobTracking reads, from each ShipBob system that is the source
// of fulfillments, the orders whose shipments have tracking Crossdock has
// not sent to Shopify yet (ShipBob's HasTracking=true&IsTrackingUploaded=
// false), and queues one sync per order whose shipments changed since. It
// returns how many syncs it queued.
func (e *Engine) SweepShipBobTracking(ctx context.Context, trigger string, force bool) (int, error) {
	rs, master, tgts, err := e.warehouseSource(ctx, vocab.Fulfillments)
	if err != nil || len(tgts) == 0 {
		return 0, err
	}
	if _, due, err := e.st.ClaimSweep(ctx, master.ID, cursorShipBobTracking, e.every(rs, vocab.Fulfillments, force)); err != nil || !due {
		return 0, err
	}
	cl, _, err := e.shipbob(ctx, master.ID)
	if err != nil {
		return 0, err
	}
	// What the warehouse billed is read with its shipments, on its own
	// (hourly) cursor; a billing read that fails holds no parcel back.
	// Only a check asked for by a person reads them out of turn.
	if err := e.sweepShipBobCharges(ctx, master.ID, cl, force && trigger == store.TriggerManual); err != nil {
		e.log.Warn("shipbob: the warehouse's charges could not be read", "connection_id", master.ID, "err", err)
	}
	// Shipments already in Shopify are told to ShipBob first, so the list
	// holds only what is left to send.
	e.uploads.flush(ctx, master.ID)
	// Every page is read before anything is queued: the syncs mark their
	// shipments as uploaded, which takes them off the list and would shift
	// the pages still to read past orders never seen.
	var orders []shipbob.Order
	listedAt := time.Now().UTC()
	for page := 1; page <= maxTrackingPages; page++ {
		got, err := cl.OrdersAwaitingTracking(ctx, page)
		if err != nil {
			return 0, fmt.Errorf("engine: tracking check of %s: %w", master.Name, err)
		}
		orders = append(orders, got...)
		if len(got) < shipbob.OrderPageSize {
			break
		}
	}
	return e.queueWarehouseOrders(ctx, rs, master.ID, tgts, trigger, orders, listedAt)
}

// maxTrackingPages bounds one tracking check (250 orders a page): a larger
// backlog is the next check's.
const maxTrackingPages = 200

// queueWarehouseOrders queues one sync per order and target, unless the
// order's shipments and tracking are the ones an earlier sync carried.
func (e *Engine) queueWarehouseOrders(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string, orders []shipbob.Order, listedAt time.Time) (int, error) {
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		marks := make([]store.Watermark, len(orders))
		versions := make([]time.Time, len(orders))
		for i, o := range orders {
			var digest []string
			for _, sh := range o.Shipments {
				if sh.LastUpdateAt != nil && sh.LastUpdateAt.After(versions[i]) {
					versions[i] = *sh.LastUpdateAt
				}
				digest = append(digest, fmt.Sprintf("%d:%s:%s", sh.ID, sh.Status, sh.TrackingNumber()))
			}
			slices.Sort(digest)
			marks[i] = store.Watermark{ConnectionID: src, EntityType: entityWarehouseOrder, ExternalID: strconv.FormatInt(o.ID, 10),
				Version: versions[i], Digest: strings.Join(digest, ",")}
		}
		accepted, err := tx.AdvanceWatermarksOrEqual(ctx, marks)
		if err != nil {
			return err
		}
		// Each listed shipment's order is noted, so a billing webhook for
		// it is matched without asking ShipBob (takeWarehouseCharges).
		links := map[string]string{}
		for _, o := range orders {
			for _, sh := range o.Shipments {
				if o.ReferenceID != "" {
					links[strconv.FormatInt(sh.ID, 10)] = o.ReferenceID
				}
			}
		}
		if err := tx.NoteWarehouseShipments(ctx, src, links); err != nil {
			return err
		}
		var qs []queued
		for i, o := range orders {
			if !accepted[i] {
				continue
			}
			in := warehouseShipmentsIn{OrderID: o.ID, ReferenceID: o.ReferenceID, OrderName: o.OrderNumber, Shipments: o.Shipments, ListedAt: &listedAt}
			for _, t := range tgts {
				s := e.shipmentSync(src, trigger, in, versions[i])
				s.TargetConnectionID, s.Payload = t, in
				if d := rs.Decide(vocab.Fulfillments, src, t, nil); !d.Allowed {
					s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
				} else {
					s.Message = in.label() + " are waiting to be sent to " + rs.Name(t) + "."
				}
				qs = append(qs, queued{sync: s, lease: e.flows().lease(flowShipBobShipments, t, s.EntityRef)})
			}
		}
		_, err = e.insertSyncs(ctx, tx, qs)
		n = len(qs)
		return err
	})
	return n, err
}

// shipmentsRequest is what the flow sent to Shopify, as recorded.
type shipmentsRequest struct {
	Fulfillments []shopify.FulfillmentInput `json:"fulfillments"`
	Existing     json.RawMessage            `json:"fulfillment_orders"`
}

// runShipBobShipments marks the order's shipped ShipBob shipments as
// fulfillments in Shopify, one per parcel with its tracking, each once: a
// parcel whose tracking number Shopify already shows is not sent again (a
// replay, a second webhook, the scheduled check). A parcel shipped without
// tracking yet waits for it — the customer's e-mail carries the link — and
// the scheduled check sends it when ShipBob has it. Sent parcels are marked
// in ShipBob (tracking uploaded), so the check stops listing them.
func (e *Engine) runShipBobShipments(ctx context.Context, s store.Sync, in warehouseShipmentsIn, cl *shopify.Client, conn store.Connection, _ verdict) result {
	var res result
	label := in.label()
	wh, whConn, err := e.shipbob(ctx, s.SourceConnectionID)
	if err != nil {
		res.err, res.system = err, whConn.Name
		return res
	}
	shipments, ok := in.listed(s)
	if !ok {
		if shipments, err = wh.Shipments(ctx, in.OrderID); err != nil {
			res.err, res.system = err, whConn.Name
			return res
		}
	}
	if in.ReferenceID == "" {
		o, err := wh.Order(ctx, in.OrderID)
		if err != nil {
			res.err, res.system = err, whConn.Name
			return res
		}
		in.ReferenceID = o.ReferenceID
	}
	if !strings.HasPrefix(in.ReferenceID, shopify.GIDPrefix("Order")) {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("ShipBob order %d (reference %q) was not sent by Crossdock from a Shopify order, so there is nothing to mark as shipped in %s.",
			in.OrderID, in.ReferenceID, conn.Name)
		return res
	}

	orderLease := fmt.Sprintf("fulfillment-order:%d:%s", s.TargetConnectionID, in.ReferenceID)
	if err := e.waitLease(ctx, orderLease, s.ID, 2*time.Second); err != nil {
		var f *failure
		if errors.As(err, &f) && f.waiting {
			err = waitFor(fmt.Sprintf("Another shipment of order %s is being sent right now.", cmpStr(in.OrderName, gidTail(in.ReferenceID))))
		}
		res.err = err
		return res
	}
	defer e.releaseLease(ctx, orderLease, s.ID)

	o, found, err := cl.OrderShipping(ctx, in.ReferenceID)
	if err != nil {
		res.err = err
		return res
	}
	if !found {
		res.err = fail(vocab.ClassNotFound, fmt.Sprintf("%s: %s has no order %s (was it deleted?). Nothing was sent.", label, conn.Name, gidTail(in.ReferenceID)), nil)
		return res
	}
	if in.OrderName == "" {
		in.OrderName = o.Name
		label = in.label()
	}
	before, _ := json.Marshal(o.FulfillmentOrders.Nodes)
	req := shipmentsRequest{Existing: before}
	location := shipbob.LocationID(whConn.Settings)
	var sent, already, waiting []string
	var uploaded []int64
	var firstRef string
	for _, sh := range shipments {
		if sh.Status != "Completed" && sh.Status != "LabeledCreated" && sh.ActualFulfillmentDate == nil {
			continue // not shipped yet
		}
		number := sh.TrackingNumber()
		if number == "" {
			waiting = append(waiting, strconv.FormatInt(sh.ID, 10))
			continue
		}
		if f, ok := o.FulfillmentWithTracking(number); ok {
			already = append(already, number)
			uploaded = append(uploaded, sh.ID)
			firstRef = cmpStr(firstRef, f.ID)
			continue
		}
		input, missing := allocateShipment(&o, sh, location)
		if len(input.Orders) == 0 {
			res.request, res.response = req, o
			if len(missing) > 0 {
				res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("%s: parcel %d holds %s, which order %s in %s has no unshipped line for (matched by SKU). Check the order in %s.",
					label, sh.ID, strings.Join(missing, ", "), o.Name, conn.Name, conn.Name), nil)
				return res
			}
			res.err = fail(vocab.ClassConflict, fmt.Sprintf("%s: order %s is already marked as fulfilled in %s, but not with tracking %s. Nothing was sent; add the tracking to the order in %s by hand if this parcel is a second one.",
				label, o.Name, conn.Name, number, conn.Name), nil)
			return res
		}
		input.Tracking = &shopify.Tracking{Number: number, Company: sh.Tracking.Carrier, URL: sh.Tracking.TrackingURL}
		input.NotifyCustomer = true
		req.Fulfillments = append(req.Fulfillments, input)
		res.request = req
		f, err := cl.CreateFulfillment(ctx, input)
		if err != nil {
			res.err = err
			return res
		}
		firstRef = cmpStr(firstRef, f.ID)
		sent = append(sent, fmt.Sprintf("%s (%s)", number, cmpStr(sh.Tracking.Carrier, "carrier unknown")))
		uploaded = append(uploaded, sh.ID)
	}
	res.request, res.targetRef = req, firstRef
	res.response = map[string]any{"shipbob_shipments": shipments}
	// Told to ShipBob in a batch with other orders' (shipbob_uploads.go).
	e.uploads.add(ctx, s.SourceConnectionID, uploaded)
	var b strings.Builder
	switch {
	case len(sent) > 0:
		fmt.Fprintf(&b, "%s: marked as shipped in %s with tracking %s.", label, conn.Name, strings.Join(sent, ", "))
		if len(already) > 0 {
			fmt.Fprintf(&b, " Tracking %s was already there.", strings.Join(already, ", "))
		}
	case len(already) > 0:
		fmt.Fprintf(&b, "%s: tracking %s was already in %s; nothing was created again.", label, strings.Join(already, ", "), conn.Name)
	}
	if len(waiting) > 0 {
		fmt.Fprintf(&b, " %s shipped %s without a tracking number yet; Crossdock checks ShipBob again and sends it once the tracking is there.",
			whConn.Name, parcels(len(waiting)))
	}
	res.message = strings.TrimSpace(b.String())
	switch {
	case len(sent)+len(already) > 0:
		res.status = vocab.SyncSucceeded
	case len(waiting) > 0:
		res.status = vocab.SyncSkipped
	default:
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s: %s has not shipped any of it yet; nothing to send.", label, whConn.Name)
	}
	return res
}

func parcels(n int) string {
	if n == 1 {
		return "1 parcel"
	}
	return fmt.Sprintf("%d parcels", n)
}

// allocateShipment takes a parcel's products from the order's open
// fulfillment order lines of the warehouse's location (any location when
// none is set), by SKU. It consumes the lines' remaining quantities in o,
// so two parcels of one order share them out. missing names the SKUs no
// line had left.
func allocateShipment(o *shopify.OrderShipping, sh shipbob.Shipment, location string) (shopify.FulfillmentInput, []string) {
	var in shopify.FulfillmentInput
	byFO := map[string]int{}
	var missing []string
	for _, p := range sh.Products {
		sku, want := cmpStr(p.SKU, p.ReferenceID), p.Quantity()
		got := 0
		for i := range o.FulfillmentOrders.Nodes {
			fo := &o.FulfillmentOrders.Nodes[i]
			if !fo.Fulfillable() || (location != "" && (fo.AssignedLocation.Location == nil || fo.AssignedLocation.Location.ID != location)) {
				continue
			}
			for j := range fo.LineItems.Nodes {
				l := &fo.LineItems.Nodes[j]
				if got == want || l.RemainingQuantity == 0 || l.SKU == nil || !strings.EqualFold(strings.TrimSpace(*l.SKU), sku) {
					continue
				}
				q := min(want-got, l.RemainingQuantity)
				l.RemainingQuantity -= q
				got += q
				k, ok := byFO[fo.ID]
				if !ok {
					k = len(in.Orders)
					byFO[fo.ID] = k
					in.Orders = append(in.Orders, shopify.FulfillmentOrderLines{FulfillmentOrderID: fo.ID})
				}
				in.Orders[k].Lines = append(in.Orders[k].Lines, shopify.FulfillmentLineQ{ID: l.ID, Quantity: q})
			}
		}
		if got < want {
			missing = append(missing, sku)
		}
	}
	return in, missing
}
