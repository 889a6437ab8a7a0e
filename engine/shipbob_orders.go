package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

const flowShipBobOrders = "orders.shopify_shipbob"

// shipbobOrdersFlow sends Shopify orders to the ShipBob warehouse — only
// the part Shopify assigns to the Shopify location the ShipBob connection
// names (its "Shopify location ShipBob ships from" setting) — and cancels
// them there while they have not shipped; a new shipping address given in
// Shopify reaches the shipments ShipBob has not shipped yet.
func shipbobOrdersFlow() Flow {
	return Flow{Name: flowShipBobOrders, Family: vocab.Orders, From: vocab.KindShopify, To: vocab.KindShipBob,
		Topics: []string{"orders/create", "orders/updated", "orders/cancelled"}, Plan: (*Engine).planShipBobOrder,
		Lease: leaseOn("order"), Personal: []string{"name", "email", "phone", "address"},
		Run: runWith(runSpec[warehouseOrderIn, *shipbob.Client]{record: "order", connect: (*Engine).shipbob, body: (*Engine).runShipBobOrder})}
}

// warehouseOrderIn is a Shopify order as a warehouse needs it: who and where
// it ships to. It is the sync's payload.
type warehouseOrderIn struct {
	ID        string    `json:"id"` // the order GID: ShipBob's reference_id
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedAt time.Time `json:"created_at"`
	Cancelled bool      `json:"cancelled,omitempty"`
	// AddressEdit: the order was changed in Shopify (orders/updated, the
	// topic whose body carries the shipping address; orders/edited carries
	// line changes only), so only its address is sent on.
	AddressEdit bool `json:"address_edit,omitempty"`
	// Test is a Shopify test order: a warehouse would ship it for real.
	Test  bool             `json:"test,omitempty"`
	Ship  *shopify.Address `json:"shipping_address,omitempty"`
	Lines []lineIn         `json:"lines"`
}

func (o warehouseOrderIn) label() string { return "Order " + cmpStr(o.Name, gidTail(o.ID)) }

// recipient is who and where the order ships to, in ShipBob's shape; ok is
// false without a full address (street, city and country).
func (o warehouseOrderIn) recipient() (shipbob.Recipient, bool) {
	a := o.Ship
	if a == nil || strings.TrimSpace(a.Address1) == "" || strings.TrimSpace(a.City) == "" || strings.TrimSpace(cmpStr(a.CountryCode, a.Country)) == "" {
		return shipbob.Recipient{}, false
	}
	name := cmpStr(strings.TrimSpace(a.Name), strings.TrimSpace(a.FirstName+" "+a.LastName))
	return shipbob.Recipient{Name: cmpStr(name, a.Address1), Email: o.Email, PhoneNumber: a.Phone,
		Address: shipbob.Address{Address1: a.Address1, Address2: a.Address2, CompanyName: a.Company, City: a.City,
			State: cmpStr(a.ProvinceCode, a.Province), Country: cmpStr(a.CountryCode, a.Country), ZipCode: a.Zip}}, true
}

func noAddress(label, warehouse string) error {
	return fail(vocab.ClassValidation, fmt.Sprintf("%s has no full shipping address in Shopify (street, city and country), so %s cannot ship it. Add the address to the order in Shopify, then try again.",
		label, warehouse), nil)
}

// parseWarehouseOrder reads an orders/create or orders/cancelled payload; a
// problem is a sentence for the merchant.
func parseWarehouseOrder(payload []byte, topic string) (warehouseOrderIn, string) {
	base, problem := parseOrder(payload, topic)
	o := warehouseOrderIn{ID: base.ID, Name: base.Name, Email: base.Email, UpdatedAt: base.UpdatedAt, CreatedAt: base.CreatedAt,
		Cancelled: base.Cancelled, Lines: base.Lines, AddressEdit: base.Edit}
	if problem != "" {
		return o, problem
	}
	r, err := shopify.DecodeOrder(payload)
	if err != nil {
		return o, "Shopify sent an order Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	o.Ship, o.Test = r.Shipping, r.Test
	return o, ""
}

func (e *Engine) planShipBobOrder(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	o, problem := parseWarehouseOrder(ev.Payload, ev.Topic)
	base := store.NewSync{Family: vocab.Orders, Direction: vocab.ShopifyToShipBob, Flow: flowShipBobOrders,
		SourceConnectionID: ev.ConnectionID, Trigger: store.TriggerWebhook, EntityType: entityOrder, EntityRef: o.ID,
		EntityKey: cmpStr(o.Name, o.ID), SearchKeys: []string{o.ID, gidTail(o.ID), o.Name, strings.TrimPrefix(o.Name, "#"), o.Email},
		SourceVersion: o.UpdatedAt, IdempotencyKey: o.ID, MaxAttempts: e.cfg.MaxAttempts, WebhookEventID: ev.ID}
	for _, l := range o.Lines {
		base.SearchKeys = append(base.SearchKeys, l.SKU)
	}
	if o.AddressEdit {
		// Told apart from the order's own sync (whose key is the order's id)
		// by an edit of its address that waits for it.
		base.IdempotencyKey = addressEditKey(o)
	}
	// Only the warehouses the orders rule names: one connected for its stock
	// alone is not refused every order (targets' fallback would record it).
	var tgts []int64
	for _, rc := range rs.Rule(vocab.Orders).Receivers {
		if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == vocab.KindShipBob {
			tgts = append(tgts, c.ID)
		}
	}
	if len(tgts) == 0 {
		p.outcome.Status, p.outcome.Error = store.WebhookIgnored, "No warehouse receives orders."
		return p
	}
	what := "is waiting to be sent to %s."
	switch {
	case o.Cancelled && !o.AddressEdit:
		what = "is waiting to be cancelled in %s."
	case o.AddressEdit:
		what = "was changed in Shopify; its shipping address is waiting to be checked against %s."
	}
	p = e.fanOut(p, rs, ev, base, vocab.Orders, tgts, problem, o, func(t int64) string {
		return o.label() + " " + fmt.Sprintf(what, rs.Name(t))
	})
	if o.Test && problem == "" {
		// A warehouse ships what it receives: a test order (Shopify's test
		// payments, a peak rehearsal's) never goes there. Kept as skipped.
		for i := range p.syncs {
			if s := &p.syncs[i].sync; s.Status == "" {
				s.Status, s.Message = vocab.SyncSkipped, o.label()+" is a test order (placed with Shopify's test payments), so it was not sent to "+
					rs.Name(s.TargetConnectionID)+", which would ship it."
			}
		}
	}
	return p
}

// shipbobOrderRequest is what the flow sent to ShipBob, as recorded.
type shipbobOrderRequest struct {
	Order   shipbob.NewOrder `json:"order"`
	Channel int64            `json:"shipbob_channel_id"`
	// Location is the Shopify location whose fulfilment orders were sent.
	Location string   `json:"shopify_location"`
	NotSent  []string `json:"not_sent,omitempty"`
}

// runShipBobOrder creates the order in ShipBob once: its reference_id is
// the Shopify order's GID, and ShipBob refuses a second order with it —
// that refusal is answered by looking the first one up, so a retry, a
// replay or the same webhook twice never makes a second order.
func (e *Engine) runShipBobOrder(ctx context.Context, s store.Sync, o warehouseOrderIn, cl *shipbob.Client, conn store.Connection, _ verdict) result {
	var res result
	label := o.label()
	if o.AddressEdit {
		return e.updateShipBobAddress(ctx, cl, conn, o)
	}
	if o.Cancelled {
		return e.cancelShipBobOrder(ctx, cl, conn, o)
	}
	location := shipbob.LocationID(conn.Settings)
	if location == "" {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s was not sent: no Shopify location is set on %s, so Crossdock cannot tell which orders it ships. Enter the Shopify location ShipBob ships from on the connection, then try again.",
			label, conn.Name), nil)
		return res
	}
	// Which part of the order the warehouse ships is Shopify's to say: its
	// fulfilment orders, each assigned to a location.
	shop, shopConn, err := e.shopify(ctx, s.SourceConnectionID)
	if err != nil {
		res.err, res.system = err, shopConn.Name
		return res
	}
	ship, found, err := shop.OrderShipping(ctx, o.ID)
	if err != nil {
		res.err, res.system = err, shopConn.Name
		return res
	}
	if !found {
		res.err = fail(vocab.ClassNotFound, fmt.Sprintf("%s is no longer in %s (was it deleted?); nothing was sent to %s.", label, shopConn.Name, conn.Name), nil)
		return res
	}
	byVariant := map[string]lineIn{}
	for _, l := range o.Lines {
		byVariant[l.VariantID] = l
	}
	req := shipbobOrderRequest{Channel: cl.ChannelID(), Location: location}
	var products []shipbob.OrderProduct
	assigned := 0
	for _, fo := range ship.FulfillmentOrders.Nodes {
		if fo.AssignedLocation.Location == nil || fo.AssignedLocation.Location.ID != location {
			continue
		}
		assigned++
		if !fo.Fulfillable() {
			continue // shipped, cancelled or on hold: nothing for the warehouse
		}
		for _, fl := range fo.LineItems.Nodes {
			sku := ""
			if fl.SKU != nil {
				sku = strings.TrimSpace(*fl.SKU)
			}
			line := byVariant[fl.VariantID()]
			if sku == "" {
				req.NotSent = append(req.NotSent, cmpStr(line.Title, "a line without a SKU"))
				continue
			}
			if fl.RemainingQuantity <= 0 {
				continue
			}
			price, _ := strconv.ParseFloat(line.Price, 64)
			products = append(products, shipbob.OrderProduct{ReferenceID: sku, SKU: sku, Name: cmpStr(line.Title, sku), Quantity: fl.RemainingQuantity, UnitPrice: price})
		}
	}
	if len(req.NotSent) > 0 {
		res.request = req
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s was not sent to %s: %s %s no SKU, and ShipBob finds products by SKU. Give the variant a SKU in Shopify (the same as in ShipBob), then try again.",
			label, conn.Name, strings.Join(req.NotSent, ", "), map[bool]string{true: "has", false: "have"}[len(req.NotSent) == 1]), nil)
		return res
	}
	if len(products) == 0 {
		res.status = vocab.SyncSkipped
		res.request, res.response = req, ship.FulfillmentOrders.Nodes
		res.message = fmt.Sprintf("%s ships from another location, not from the one %s ships for, so nothing was sent to %s.", label, conn.Name, conn.Name)
		if assigned > 0 {
			res.message = fmt.Sprintf("%s has nothing left to ship from the location %s ships for (it is fulfilled, cancelled or on hold in %s), so nothing was sent to %s.",
				label, conn.Name, shopConn.Name, conn.Name)
		}
		return res
	}
	recipient, ok := o.recipient()
	if !ok {
		res.err = noAddress(label, conn.Name)
		return res
	}
	req.Order = shipbob.NewOrder{ReferenceID: o.ID, OrderNumber: o.Name, Type: "DTC", ShippingMethod: shipbob.ShippingMethod(conn.Settings),
		Recipient: recipient, Products: products}
	if !o.CreatedAt.IsZero() {
		at := o.CreatedAt.UTC()
		req.Order.PurchaseDate = &at
	}
	res.request = req
	created, isNew, err := cl.CreateOrder(ctx, req.Order)
	if err != nil {
		var be *shipbob.Error
		if errors.As(err, &be) && be.Kind == shipbob.KindDuplicate {
			res.err = fail(vocab.ClassConflict, fmt.Sprintf("%s: %s says it already has an order with this reference, but does not show it to the channel Crossdock uses. Look for reference %s in ShipBob.",
				label, conn.Name, o.ID), err)
			return res
		}
		res.err = err
		return res
	}
	res.status, res.targetRef, res.response = vocab.SyncSucceeded, strconv.FormatInt(created.ID, 10), created
	units := 0
	for _, p := range products {
		units += p.Quantity
	}
	if !isNew {
		res.message = fmt.Sprintf("%s was already in %s (ShipBob order %d); nothing was created again.", label, conn.Name, created.ID)
		return res
	}
	from := ""
	if len(created.Shipments) > 0 && created.Shipments[0].Location.Name != "" {
		from = ", to ship from " + created.Shipments[0].Location.Name
	}
	res.message = fmt.Sprintf("%s was sent to %s as ShipBob order %d (%s%s).", label, conn.Name, created.ID, items(units), from)
	return res
}

// cancelShipBobOrder cancels the warehouse's order of a cancelled Shopify
// order, unless it has shipped.
func (e *Engine) cancelShipBobOrder(ctx context.Context, cl *shipbob.Client, conn store.Connection, o warehouseOrderIn) result {
	var res result
	label := o.label()
	found, ok, err := cl.OrderByReference(ctx, o.ID)
	if err != nil {
		res.err = err
		return res
	}
	if !ok {
		res.status = vocab.SyncSucceeded
		res.message = fmt.Sprintf("%s was cancelled in Shopify; %s never had it, so there was nothing to cancel.", label, conn.Name)
		return res
	}
	res.targetRef = strconv.FormatInt(found.ID, 10)
	if found.Status == "Cancelled" {
		res.status, res.response = vocab.SyncSucceeded, found
		res.message = fmt.Sprintf("%s was already cancelled in %s (ShipBob order %d).", label, conn.Name, found.ID)
		return res
	}
	for _, sh := range found.Shipments {
		if sh.Status == "Completed" || sh.TrackingNumber() != "" {
			res.response = found
			res.err = fail(vocab.ClassConflict, fmt.Sprintf("%s was cancelled in Shopify, but %s has already shipped it (ShipBob order %d). Ask the customer to refuse the parcel or return it.",
				label, conn.Name, found.ID), nil)
			return res
		}
	}
	res.request = map[string]any{"cancel": found.ID}
	if err := cl.CancelOrder(ctx, found.ID); err != nil {
		res.err = err
		return res
	}
	res.status, res.response = vocab.SyncSucceeded, found
	res.message = fmt.Sprintf("%s was cancelled in %s (ShipBob order %d) before it shipped.", label, conn.Name, found.ID)
	return res
}
