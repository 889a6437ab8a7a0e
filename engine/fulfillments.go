package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

const (
	flowFulfillments = "fulfillments.odoo_shopify"
	entityPicking    = "picking" // an Odoo delivery order (stock.picking); also its watermark type
	cursorPickings   = "odoo_pickings"
	pickingPage      = 200
)

// fulfillmentsFlow marks Shopify orders as shipped from Odoo's deliveries.
func fulfillmentsFlow() Flow {
	return Flow{Name: flowFulfillments, Family: vocab.Fulfillments, From: vocab.KindOdoo, To: vocab.KindShopify,
		Sweep: &flowSweep{job: sweepJobStock, run: (*Engine).SweepFulfillments},
		Lease: func(target int64, picking string) string {
			return fmt.Sprintf("fulfillment:%d:picking:%s", target, picking)
		},
		// A tracking number leads to a customer's parcel.
		Personal: []string{"tracking number"},
		Run:      runWith(runSpec[shipmentIn, *shopify.Client]{record: "delivery", connect: (*Engine).shopify, body: (*Engine).runFulfillment})}
}

// shipmentIn is an Odoo delivery order (an outgoing stock.picking that is
// done) of a sales order that came from Shopify, as the fulfillments flow
// reads it. It is the sync's payload: retries and replays work from it.
type shipmentIn struct {
	PickingID   int          `json:"picking_id"`
	Picking     string       `json:"picking"` // WH/OUT/00005
	SaleOrderID int          `json:"sale_order_id"`
	SaleOrder   string       `json:"sale_order"` // S00012
	OrderID     string       `json:"order_id"`   // the Shopify order GID: the sale order's client_order_ref
	OrderName   string       `json:"order_name,omitempty"`
	Carrier     string       `json:"carrier,omitempty"`
	TrackingRef string       `json:"tracking_ref,omitempty"`
	TrackingURL string       `json:"tracking_url,omitempty"`
	DoneAt      time.Time    `json:"date_done"`
	Version     time.Time    `json:"write_date"`
	Lines       []shipLineIn `json:"lines"`
}

type shipLineIn struct {
	ProductID int     `json:"product_id"`
	SKU       string  `json:"sku,omitempty"`
	Quantity  float64 `json:"quantity"`
}

func (sh shipmentIn) label() string {
	l := "Delivery " + cmpStr(sh.Picking, "#"+strconv.Itoa(sh.PickingID))
	if sh.OrderName != "" {
		return l + " of order " + sh.OrderName
	}
	return l + " of " + orderLabel(sh.OrderID, "")
}

func (sh shipmentIn) searchKeys() []string {
	keys := []string{sh.Picking, sh.SaleOrder, sh.OrderID, gidTail(sh.OrderID), sh.OrderName,
		strings.TrimPrefix(sh.OrderName, "#"), sh.TrackingRef}
	for _, l := range sh.Lines {
		keys = append(keys, l.SKU)
	}
	return keys
}

type pickingRow struct {
	ID          int           `json:"id"`
	Name        any           `json:"name"`
	SaleOrder   odoo.Many2One `json:"sale_id"`
	Carrier     odoo.Many2One `json:"carrier_id"`
	TrackingRef any           `json:"carrier_tracking_ref"`
	TrackingURL any           `json:"carrier_tracking_url"`
	DateDone    any           `json:"date_done"`
	WriteDate   string        `json:"write_date"`
}

type moveLineRow struct {
	Picking  odoo.Many2One `json:"picking_id"`
	Product  odoo.Many2One `json:"product_id"`
	Quantity float64       `json:"quantity"`
}

type saleRefRow struct {
	ID             int `json:"id"`
	Name           any `json:"name"`
	ClientOrderRef any `json:"client_order_ref"`
	Origin         any `json:"origin"`
}

// odooText reads a char field, which Odoo answers false when empty.
func odooText(v any) string { s, _ := v.(string); return strings.TrimSpace(s) }

// SweepFulfillments reads the Odoo delivery orders done since the last sweep
// (all of them the first time) whose sales order came from Shopify, and
// queues one fulfillment sync per delivery for every Shopify receiver. It runs
// when the fulfillments rule names an Odoo master and its sweep interval has
// passed, or when forced. It returns how many syncs it queued.
func (e *Engine) SweepFulfillments(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	master, tgts, ok := odooToShopify(rs, vocab.Fulfillments)
	if !ok {
		return 0, nil
	}
	sw, due, err := e.claimOdooSweep(ctx, master.ID, cursorPickings, e.every(rs, vocab.Fulfillments, force))
	if err != nil || !due {
		return 0, err
	}
	return sw.walk("fulfillments", pickingPage, func(since time.Time, afterID int) (sweptPage, error) {
		shipments, last, n, err := readShipments(ctx, sw.cl, since, afterID)
		if err != nil || n == 0 {
			return sweptPage{}, err
		}
		pg := sweptPage{rows: n, lastAt: parseOdooTime(last.WriteDate), lastID: last.ID}
		pg.queued, err = e.queueShipments(ctx, rs, master.ID, tgts, trigger, shipments, sw.at(pg.lastAt, pg.lastID))
		return pg, err
	})
}

// readShipments reads a page of done outgoing pickings of Shopify orders
// written after (since, afterID), oldest first, with their lines, sales
// orders and SKUs. It returns the shipments, the page's last row and its size.
func readShipments(ctx context.Context, cl *odoo.Client, since time.Time, afterID int) ([]shipmentIn, pickingRow, int, error) {
	domain := []any{[]any{"picking_type_code", "=", "outgoing"}, []any{"state", "=", "done"},
		// Sales orders the orders flow made: their client_order_ref is the Shopify order's GID.
		[]any{"sale_id.client_order_ref", "=like", shopify.GIDPrefix("Order") + "%"}}
	if !since.IsZero() {
		ts := since.UTC().Format(odoo.DateTimeLayout)
		domain = append(domain, "|", []any{"write_date", ">", ts}, "&", []any{"write_date", "=", ts}, []any{"id", ">", afterID})
	}
	var rows []pickingRow
	if err := cl.Call(ctx, "stock.picking", "search_read", []any{domain}, map[string]any{
		"fields": []string{"id", "name", "sale_id", "carrier_id", "carrier_tracking_ref", "carrier_tracking_url", "date_done", "write_date"},
		"order":  "write_date asc, id asc", "limit": pickingPage,
	}, &rows); err != nil || len(rows) == 0 {
		return nil, pickingRow{}, 0, err
	}
	pids, sids := make([]int, 0, len(rows)), make([]int, 0, len(rows))
	for _, r := range rows {
		pids = append(pids, r.ID)
		sids = append(sids, r.SaleOrder.ID)
	}
	var lines []moveLineRow
	if err := cl.Call(ctx, "stock.move.line", "search_read", []any{[]any{[]any{"picking_id", "in", pids}}},
		map[string]any{"fields": []string{"picking_id", "product_id", "quantity"}, "order": "id asc"}, &lines); err != nil {
		return nil, pickingRow{}, 0, err
	}
	slices.Sort(sids)
	var sales []saleRefRow
	if err := cl.Call(ctx, "sale.order", "read", []any{slices.Compact(sids)},
		map[string]any{"fields": []string{"id", "name", "client_order_ref", "origin"}}, &sales); err != nil {
		return nil, pickingRow{}, 0, err
	}
	saleByID := map[int]saleRefRow{}
	for _, so := range sales {
		saleByID[so.ID] = so
	}
	var prodIDs []int
	for _, l := range lines {
		prodIDs = append(prodIDs, l.Product.ID)
	}
	skus := map[int]string{}
	if len(prodIDs) > 0 {
		slices.Sort(prodIDs)
		ps, err := cl.Products(ctx, []any{[]any{"id", "in", slices.Compact(prodIDs)}, []any{"active", "in", []any{true, false}}}, 0, 0)
		if err != nil {
			return nil, pickingRow{}, 0, err
		}
		for _, p := range ps {
			skus[p.ID] = p.DefaultCode
		}
	}
	byPicking := map[int][]shipLineIn{}
	for _, l := range lines {
		ls := byPicking[l.Picking.ID]
		i := slices.IndexFunc(ls, func(x shipLineIn) bool { return x.ProductID == l.Product.ID })
		if i < 0 {
			ls = append(ls, shipLineIn{ProductID: l.Product.ID, SKU: skus[l.Product.ID]})
			i = len(ls) - 1
		}
		ls[i].Quantity += l.Quantity
		byPicking[l.Picking.ID] = ls
	}
	out := make([]shipmentIn, 0, len(rows))
	for _, r := range rows {
		so := saleByID[r.SaleOrder.ID]
		sh := shipmentIn{PickingID: r.ID, Picking: odooText(r.Name), SaleOrderID: so.ID, SaleOrder: odooText(so.Name),
			OrderID: odooText(so.ClientOrderRef), Carrier: r.Carrier.Name, TrackingRef: odooText(r.TrackingRef),
			TrackingURL: odooText(r.TrackingURL), DoneAt: parseOdooTime(odooText(r.DateDone)), Version: parseOdooTime(r.WriteDate),
			Lines: byPicking[r.ID]}
		if name, ok := strings.CutPrefix(odooText(so.Origin), "Shopify "); ok {
			sh.OrderName = name
		}
		out = append(out, sh)
	}
	return out, rows[len(rows)-1], len(rows), nil
}

// queueShipments queues one page of deliveries, moves the sweep's cursor and
// raises the deliveries' watermarks, in one transaction: a crash repeats the
// page. A delivery seen before with the same tracking is not queued again;
// one whose tracking changed is (and finds its fulfillment already there).
func (e *Engine) queueShipments(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string,
	shipments []shipmentIn, cur store.SyncCursor) (int, error) {
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		marks := make([]store.Watermark, len(shipments))
		for i, sh := range shipments {
			marks[i] = store.Watermark{ConnectionID: src, EntityType: entityPicking, ExternalID: strconv.Itoa(sh.PickingID),
				Version: sh.Version, Digest: "done/" + sh.TrackingRef}
		}
		accepted, err := tx.AdvanceWatermarksOrEqual(ctx, marks)
		if err != nil {
			return err
		}
		var qs []queued
		for i, sh := range shipments {
			if !accepted[i] {
				continue
			}
			for _, t := range tgts {
				s := store.NewSync{Family: vocab.Fulfillments, Direction: vocab.OdooToShopify, Flow: flowFulfillments,
					SourceConnectionID: src, TargetConnectionID: t, Trigger: trigger, EntityType: entityPicking,
					EntityRef: strconv.Itoa(sh.PickingID), EntityKey: sh.label(), SearchKeys: sh.searchKeys(),
					SourceVersion: sh.Version, Payload: sh, MaxAttempts: e.cfg.MaxAttempts,
					IdempotencyKey: fmt.Sprintf("odoo-%d-picking-%d", src, sh.PickingID)}
				if d := rs.Decide(vocab.Fulfillments, src, t, nil); !d.Allowed {
					s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
				} else {
					s.Message = fmt.Sprintf("%s is waiting to be sent to %s.", sh.label(), rs.Name(t))
				}
				qs = append(qs, queued{sync: s, lease: e.flows().lease(flowFulfillments, t, s.EntityRef)})
			}
		}
		if _, err := e.insertSyncs(ctx, tx, qs); err != nil {
			return err
		}
		n = len(qs)
		return tx.SaveSyncCursor(ctx, cur)
	})
	return n, err
}

// fulfillmentRequest is what the fulfillments flow sends to Shopify, as recorded.
type fulfillmentRequest struct {
	Mutation string                   `json:"mutation"`
	Input    shopify.FulfillmentInput `json:"input"`
	Lines    []fulfillmentRequestLine `json:"lines"`
	Skipped  []fulfillmentRequestSkip `json:"not_sent,omitempty"`
	Existing json.RawMessage          `json:"fulfillment_orders"`
}

type fulfillmentRequestLine struct {
	SKU       string `json:"sku"`
	ProductID int    `json:"odoo_product_id"`
	VariantID string `json:"shopify_variant_id"`
	Quantity  int    `json:"quantity"`
}

type fulfillmentRequestSkip struct {
	SKU    string `json:"sku"`
	Reason string `json:"reason"`
}

// runFulfillment ships an Odoo delivery in Shopify: one fulfillmentCreate on
// the order's open fulfillment orders, for the delivered quantities of each
// line, with the carrier's tracking. Shopify has no idempotency key for
// fulfillmentCreate, so exactly once comes from what Shopify shows before the
// write, read under a lease on the order (no other delivery of the same order
// runs meanwhile, on any replica):
//   - a fulfillment with the delivery's tracking number is this delivery,
//     already sent (by an earlier attempt that crashed before recording it,
//     or a replay): nothing is created again;
//   - without tracking, an earlier attempt of this sync shows as lines with
//     nothing left to fulfil and a fulfillment made since the sync began;
//   - Shopify itself refuses to fulfil more than an order line has left.
func (e *Engine) runFulfillment(ctx context.Context, s store.Sync, sh shipmentIn, cl *shopify.Client, conn store.Connection, _ verdict) result {
	var res result
	label := sh.label()
	if len(sh.Lines) == 0 {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s has no products in Odoo, so there is nothing to mark as shipped in %s.", label, conn.Name), nil)
		return res
	}

	orderLease := fmt.Sprintf("fulfillment-order:%d:%s", s.TargetConnectionID, sh.OrderID)
	if err := e.waitLease(ctx, orderLease, s.ID, 2*time.Second); err != nil {
		var f *failure
		if errors.As(err, &f) && f.waiting {
			err = waitFor(fmt.Sprintf("Another delivery of order %s is being sent right now.", cmpStr(sh.OrderName, gidTail(sh.OrderID))))
		}
		res.err = err
		return res
	}
	defer e.releaseLease(ctx, orderLease, s.ID)

	o, found, err := cl.OrderShipping(ctx, sh.OrderID)
	if err != nil {
		res.err = err
		return res
	}
	if !found {
		res.response = map[string]any{"order": nil, "order_id": sh.OrderID}
		res.err = fail(vocab.ClassNotFound, fmt.Sprintf("%s: %s has no order %s (was it deleted?). Nothing was sent; check the sales order %s in Odoo.",
			label, conn.Name, cmpStr(sh.OrderName, gidTail(sh.OrderID)), cmpStr(sh.SaleOrder, strconv.Itoa(sh.SaleOrderID))), nil)
		return res
	}
	if sh.OrderName == "" {
		sh.OrderName = o.Name
		label = sh.label()
	}
	if f, ok := o.FulfillmentWithTracking(sh.TrackingRef); ok {
		res.status, res.targetRef, res.response = vocab.SyncSucceeded, f.ID, map[string]any{"fulfillment": f, "created": false}
		res.message = fmt.Sprintf("%s was already in %s (fulfillment with tracking %s); nothing was created again.", label, conn.Name, sh.TrackingRef)
		return res
	}
	if o.CancelledAt != nil {
		res.response = o
		res.err = fail(vocab.ClassConflict, fmt.Sprintf("%s: order %s was cancelled in %s, so it cannot be marked as shipped. Check with the warehouse whether the parcel really left.",
			label, o.Name, conn.Name), nil)
		return res
	}

	// Odoo products to Shopify variants: through the mappings, else by SKU.
	pids := make([]string, len(sh.Lines))
	for i, l := range sh.Lines {
		pids[i] = strconv.Itoa(l.ProductID)
	}
	variants, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, pids)
	if err != nil {
		res.err = err
		return res
	}
	type slot struct {
		fo   string
		line *shopify.FulfillmentOrderLine
	}
	var slots []slot
	anyOpenLine := false
	for i := range o.FulfillmentOrders.Nodes {
		fo := &o.FulfillmentOrders.Nodes[i]
		if !fo.Fulfillable() {
			continue
		}
		for j := range fo.LineItems.Nodes {
			l := &fo.LineItems.Nodes[j]
			if l.RemainingQuantity > 0 {
				slots = append(slots, slot{fo.ID, l})
				anyOpenLine = true
			}
		}
	}
	// What Shopify showed, before the allocation below consumes it.
	before, _ := json.Marshal(o.FulfillmentOrders.Nodes)
	req := fulfillmentRequest{Mutation: "fulfillmentCreate", Existing: before}
	byFO := map[string]*shopify.FulfillmentOrderLines{}
	var foOrder []string
	sent, short := 0, 0
	for _, l := range sh.Lines {
		sku := cmpStr(l.SKU, fmt.Sprintf("Odoo product #%d", l.ProductID))
		want := int(math.Round(l.Quantity))
		if want <= 0 {
			continue
		}
		v := variants[strconv.Itoa(l.ProductID)]
		matches := func(fl *shopify.FulfillmentOrderLine) bool {
			if v != "" {
				return fl.VariantID() == v
			}
			return l.SKU != "" && fl.SKU != nil && strings.EqualFold(*fl.SKU, l.SKU)
		}
		got := 0
		for _, sl := range slots {
			if got == want || !matches(sl.line) || sl.line.RemainingQuantity == 0 {
				continue
			}
			q := min(want-got, sl.line.RemainingQuantity)
			sl.line.RemainingQuantity -= q
			got += q
			p := byFO[sl.fo]
			if p == nil {
				p = &shopify.FulfillmentOrderLines{FulfillmentOrderID: sl.fo}
				byFO[sl.fo] = p
				foOrder = append(foOrder, sl.fo)
			}
			p.Lines = append(p.Lines, shopify.FulfillmentLineQ{ID: sl.line.ID, Quantity: q})
		}
		if got > 0 {
			req.Lines = append(req.Lines, fulfillmentRequestLine{SKU: l.SKU, ProductID: l.ProductID, VariantID: v, Quantity: got})
			sent += got
		}
		if got < want {
			short += want - got
			why := fmt.Sprintf("%d of %d left to ship in %s", got, want, conn.Name)
			if v == "" && !slices.ContainsFunc(slots, func(sl slot) bool { return matches(sl.line) }) {
				why = "not on the order in " + conn.Name + " (or not mapped to a Shopify variant)"
			}
			req.Skipped = append(req.Skipped, fulfillmentRequestSkip{SKU: sku, Reason: why})
		}
	}
	res.request = req
	if sent == 0 {
		res.response = o
		if !anyOpenLine && sh.TrackingRef == "" && retriedOrReplayed(s) && fulfilledSince(o, e.firstCreated(ctx, s)) {
			// An earlier attempt of this sync shipped it and stopped before recording it.
			res.status = vocab.SyncSucceeded
			res.message = fmt.Sprintf("%s was already in %s (everything is marked as shipped); nothing was created again.", label, conn.Name)
			return res
		}
		if !anyOpenLine {
			track := ""
			if sh.TrackingRef != "" {
				track = fmt.Sprintf(", but not with tracking %s", sh.TrackingRef)
			}
			res.err = fail(vocab.ClassConflict, fmt.Sprintf("%s: order %s is already marked as fulfilled in %s (its fulfillment orders are closed)%s. Nothing was sent. If this parcel is a second shipment, add its tracking to the order in %s by hand.",
				label, o.Name, conn.Name, track, conn.Name), nil)
			return res
		}
		var names []string
		for _, sk := range req.Skipped {
			names = append(names, sk.SKU)
		}
		res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("%s cannot be sent to %s: %s. Map the products on the Mappings page (or check the order in %s), then try this sync again.",
			label, conn.Name, notMapped(names, "a line of the Shopify order"), conn.Name), nil)
		return res
	}
	for _, id := range foOrder {
		req.Input.Orders = append(req.Input.Orders, *byFO[id])
	}
	if sh.TrackingRef != "" {
		req.Input.Tracking = &shopify.Tracking{Number: sh.TrackingRef, Company: sh.Carrier, URL: sh.TrackingURL}
	}
	res.request = req
	f, err := cl.CreateFulfillment(ctx, req.Input)
	if err != nil {
		var se *shopify.Error
		if errors.As(err, &se) && se.Kind == shopify.KindValidation && strings.Contains(se.Message, "unfulfillable status") {
			res.err = fail(vocab.ClassConflict, fmt.Sprintf("%s: order %s was fulfilled or closed in %s meanwhile (%s). Nothing was sent; check the order in %s.",
				label, o.Name, conn.Name, se.Message, conn.Name), err)
			return res
		}
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, f.ID
	res.response = map[string]any{"fulfillment": f, "created": true}
	var b strings.Builder
	fmt.Fprintf(&b, "%s was marked as shipped in %s (%s).", label, conn.Name, items(sent))
	if sh.TrackingRef != "" {
		fmt.Fprintf(&b, " Tracking %s", sh.TrackingRef)
		if sh.Carrier != "" {
			fmt.Fprintf(&b, " (%s)", sh.Carrier)
		}
		b.WriteString(" was added.")
	} else {
		fmt.Fprintf(&b, " The delivery has no tracking reference in Odoo, so the customer gets no tracking link; add it in Odoo or %s if there is one.", conn.Name)
	}
	if short > 0 {
		fmt.Fprintf(&b, " %s could not be marked: %s.", capital(items(short)), skipped(req.Skipped))
	}
	res.message = b.String()
	return res
}

func items(n int) string {
	if n == 1 {
		return "1 item"
	}
	return fmt.Sprintf("%d items", n)
}

func skipped(ss []fulfillmentRequestSkip) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		parts = append(parts, s.SKU+" "+s.Reason)
	}
	return strings.Join(parts, "; ")
}

// fulfilledSince reports whether the order has a fulfillment created at or
// after t (minus a minute of clock skew between Shopify and Crossdock).
func fulfilledSince(o shopify.OrderShipping, t time.Time) bool {
	for _, f := range o.Fulfillments {
		if !f.CreatedAt.Before(t.Add(-time.Minute)) {
			return true
		}
	}
	return false
}

// firstCreated is when the first sync of a chain of replays was created: a
// fulfillment made since then may be the work of one of them.
func (e *Engine) firstCreated(ctx context.Context, s store.Sync) time.Time {
	for range 10 {
		if s.ReplayOf == nil {
			break
		}
		prev, err := e.st.SyncByID(ctx, *s.ReplayOf)
		if err != nil {
			break
		}
		s = prev
	}
	return s.CreatedAt
}
