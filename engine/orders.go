package engine

import (
	"cmp"
	"context"
	"fmt"
	"math"
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
	flowOrders      = "orders.shopify_odoo"
	entityOrder     = "order"
	entityVariant   = "variant"
	entityLocation  = "location"
	partnerLeaseTTL = 30 * time.Second
)

// ordersFlow sends Shopify orders (created, edited, cancelled) into Odoo as
// quotations.
func ordersFlow() Flow {
	return Flow{Name: flowOrders, Family: vocab.Orders, From: vocab.KindShopify, To: vocab.KindOdoo,
		Topics: []string{"orders/create", "orders/updated", "orders/cancelled"}, Plan: (*Engine).planOrder,
		Lease: leaseOn("order"), Personal: []string{"name", "email", "phone", "address"},
		Run: runWith(runSpec[orderIn, *odoo.Client]{record: "order", connect: (*Engine).odoo, body: (*Engine).runOrder})}
}

// orderIn is a Shopify order as the orders flow reads it, normalised from
// the webhook's REST payload. It is the sync's payload: retries and replays
// work from it.
type orderIn struct {
	ID        string      `json:"id"` // the order GID; Odoo's client_order_ref
	Name      string      `json:"name"`
	Number    int         `json:"number,omitempty"`
	Email     string      `json:"email"`
	Customer  *customerIn `json:"customer,omitempty"`
	Currency  string      `json:"currency,omitempty"`
	Total     string      `json:"total,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	Lines     []lineIn    `json:"lines"`
	// Edit: the order was changed in Shopify (orders/updated), so its lines
	// are made to match in Odoo. Cancelled: it was cancelled there.
	Edit      bool `json:"edit,omitempty"`
	Cancelled bool `json:"cancelled,omitempty"`
	// Shipping is where the order goes (an edit may change it).
	Shipping *odoo.Address `json:"shipping,omitempty"`
}

type customerIn struct {
	ID        string `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

type lineIn struct {
	ID        string `json:"id,omitempty"`
	VariantID string `json:"variant_id"` // GID
	SKU       string `json:"sku,omitempty"`
	Title     string `json:"title,omitempty"`
	Quantity  int    `json:"quantity"`
	Price     string `json:"price"`
}

// parseOrder reads an orders/create, orders/updated or orders/cancelled
// payload. A problem is returned as a sentence for the merchant; the order is
// returned as far as it was read.
func parseOrder(payload []byte, topic string) (orderIn, string) {
	r, err := shopify.DecodeOrder(payload)
	if err != nil {
		return orderIn{}, "Shopify sent an order Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	o := orderIn{ID: r.ID, Name: r.Name, Number: r.Number, Email: strings.TrimSpace(r.Email),
		Currency: r.Currency, Total: r.TotalPrice, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if o.Email == "" {
		o.Email = strings.TrimSpace(r.ContactEmail)
	}
	if c := r.Customer; c != nil {
		o.Customer = &customerIn{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName}
		if o.Email == "" {
			o.Email = strings.TrimSpace(c.Email)
		}
	}
	if a := r.Shipping; a != nil && strings.TrimSpace(a.Address1+a.City+a.Zip) != "" {
		o.Shipping = &odoo.Address{Name: cmpStr(strings.TrimSpace(a.Name), strings.TrimSpace(a.FirstName+" "+a.LastName)),
			Street: strings.TrimSpace(a.Address1), Street2: strings.TrimSpace(a.Address2), City: strings.TrimSpace(a.City),
			Zip: strings.TrimSpace(a.Zip), Phone: strings.TrimSpace(a.Phone)}
		o.Shipping.Name = cmpStr(o.Shipping.Name, o.Shipping.Street)
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	label := cmpStr(o.Name, "The order")
	if o.Name != "" {
		label = "Order " + o.Name
	}
	if o.ID == "" {
		return o, "The order Shopify sent has no id, so Crossdock cannot tell which order it is. Nothing was sent on."
	}
	if o.UpdatedAt.IsZero() {
		return o, label + " has no date (updated_at), so Crossdock cannot tell it from an older version of it. Nothing was sent on."
	}
	// Every order topic carries cancelled_at; orders/create's is left alone,
	// as it always was (an order is created as it was placed).
	o.Edit = topic == "orders/updated"
	o.Cancelled = topic == "orders/cancelled" || (o.Edit && r.Cancelled)
	if o.Cancelled {
		return o, "" // its lines do not matter: the whole order is cancelled
	}
	if len(r.Lines) == 0 {
		return o, label + " has no lines; Crossdock sends only orders with products."
	}
	for _, l := range r.Lines {
		title := cmpStr(l.Title, l.Name)
		if l.CurrentQuantity != nil && *l.CurrentQuantity == 0 && l.Quantity > 0 {
			continue // removed by an edit: no longer on the order
		}
		if l.CurrentQuantity != nil {
			l.Quantity = *l.CurrentQuantity
		}
		if l.VariantID == "" {
			return o, fmt.Sprintf("%s: the line %q is not a product from the catalogue (a custom item or a deleted product), so Crossdock cannot find it in the ERP.", label, title)
		}
		if l.Quantity <= 0 {
			return o, fmt.Sprintf("%s: the line %q has quantity %d.", label, title, l.Quantity)
		}
		if _, err := strconv.ParseFloat(l.Price, 64); err != nil {
			return o, fmt.Sprintf("%s: the line %q has no readable price (%q).", label, title, l.Price)
		}
		o.Lines = append(o.Lines, lineIn{ID: l.ID, VariantID: l.VariantID,
			SKU: l.SKU, Title: title, Quantity: l.Quantity, Price: l.Price})
	}
	if len(o.Lines) == 0 {
		return o, label + " has no lines left; Crossdock sends only orders with products."
	}
	if o.Email == "" {
		return o, label + " has no customer e-mail, so Crossdock cannot find or create the customer in the ERP."
	}
	return o, ""
}

func (o orderIn) searchKeys() []string {
	keys := []string{o.Name, strings.TrimPrefix(o.Name, "#"), o.ID, o.Email}
	if o.Number != 0 {
		keys = append(keys, strconv.Itoa(o.Number))
	}
	if i := strings.LastIndexByte(o.ID, '/'); i >= 0 {
		keys = append(keys, o.ID[i+1:])
	}
	for _, l := range o.Lines {
		keys = append(keys, l.SKU)
	}
	return keys
}

// planOrder turns an orders/create event into one sync per Odoo system that
// could receive it: pending when the sources of truth allow it, rejected
// (recorded, never written) when they do not, failed when the payload is unusable.
func (e *Engine) planOrder(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	o, problem := parseOrder(ev.Payload, ev.Topic)
	base := store.NewSync{Family: vocab.Orders, Direction: vocab.ShopifyToOdoo, Flow: flowOrders,
		SourceConnectionID: ev.ConnectionID, Trigger: store.TriggerWebhook, EntityType: entityOrder, EntityRef: o.ID,
		EntityKey: cmpStr(o.Name, o.ID), SearchKeys: o.searchKeys(), SourceVersion: o.UpdatedAt,
		IdempotencyKey: o.ID, MaxAttempts: e.cfg.MaxAttempts}
	return e.planToOdoo(rs, ev, p, vocab.Orders, base, problem, o, "Order "+cmpStr(o.Name, o.ID))
}

// saleOrderRequest is what the orders flow sends to Odoo, as recorded.
type saleOrderRequest struct {
	ClientOrderRef string           `json:"client_order_ref"`
	Partner        odoo.Partner     `json:"partner"`
	PartnerID      int              `json:"partner_id,omitempty"`
	Order          odoo.SaleOrder   `json:"sale_order"`
	Lines          []requestLineSKU `json:"lines"`
}

type requestLineSKU struct {
	SKU       string `json:"sku"`
	VariantID string `json:"shopify_variant_id"`
	ProductID int    `json:"odoo_product_id"`
}

// runOrder creates the Shopify order as an Odoo quotation, once: its GID is
// the client_order_ref, which CreateSaleOrder looks up before it creates.
func (e *Engine) runOrder(ctx context.Context, s store.Sync, o orderIn, cl *odoo.Client, conn store.Connection, _ verdict) result {
	var res result
	label := "Order " + cmpStr(o.Name, o.ID)
	// The syncs of one order take turns (their lease); an older edit's sync
	// that waited behind a newer version must not undo it. A create needs no
	// such check: it never touches an order that exists.
	if o.Edit || o.Cancelled {
		newer, err := e.superseded(ctx, s, entityOrder, o.ID, o.UpdatedAt)
		if err != nil {
			res.err = err
			return res
		}
		if newer {
			res.status = vocab.SyncSkipped
			res.message = fmt.Sprintf("%s changed again in Shopify; the newer version is sent by its own sync, so this one is not.", label)
			return res
		}
	}
	if o.Cancelled {
		return e.cancelOrder(ctx, cl, conn, o, label, res)
	}

	// Lines: Shopify variants to Odoo products, through the mappings.
	mapped, ok := mapLines(ctx, e, s, conn, o.Lines, "order", "an Odoo product", func() string { return label }, &res)
	if !ok {
		return res
	}
	req := saleOrderRequest{ClientOrderRef: o.ID}
	req.Order.Origin = "Shopify " + cmpStr(o.Name, o.ID)
	req.Order.DateOrder = o.CreatedAt
	for _, l := range o.Lines {
		pid, err := strconv.Atoi(mapped[l.VariantID])
		if err != nil || pid <= 0 {
			res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("%s: %s is mapped to %q, which is not an Odoo product id. Correct the mapping, then try this order again.",
				label, cmpStr(l.SKU, l.VariantID), mapped[l.VariantID]), err)
			return res
		}
		price, _ := strconv.ParseFloat(l.Price, 64)
		req.Order.Lines = append(req.Order.Lines, odoo.SaleOrderLine{ProductID: pid, Quantity: float64(l.Quantity), PriceUnit: price})
		req.Lines = append(req.Lines, requestLineSKU{SKU: l.SKU, VariantID: l.VariantID, ProductID: pid})
	}
	if o.Edit {
		ex, found, err := cl.SaleOrderByRef(ctx, o.ID)
		if err != nil {
			res.err = err
			return res
		}
		if found {
			return editOrder(ctx, cl, conn, ex, req, o.Shipping, label, res)
		}
		// Not in Odoo yet (its orders/create came later, or failed): created
		// below as it is now.
	}
	req.Partner = odoo.Partner{Email: o.Email, Name: o.Email}
	if c := o.Customer; c != nil {
		if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
			req.Partner.Name = n
		}
		req.Partner.Ref = c.ID
	}
	res.request = req

	// The customer: found by e-mail, or created. Two orders of one new
	// customer must not create two partners: they take turns on the e-mail
	// (looking again once they have it). A customer Odoo has already needs
	// no turn, and costs the database nothing.
	known, found, err := cl.FindPartnerByEmail(ctx, req.Partner.Email)
	if err != nil {
		res.err = err
		return res
	}
	pid, partnerCreated := known.ID, false
	if !found {
		partnerLease := fmt.Sprintf("partner:%d:%s", s.TargetConnectionID, strings.ToLower(o.Email))
		if err := e.waitLease(ctx, partnerLease, s.ID, 2*time.Second); err != nil {
			res.err = err
			return res
		}
		pid, partnerCreated, err = cl.EnsurePartner(ctx, req.Partner)
		e.releaseLease(ctx, partnerLease, s.ID)
		if err != nil {
			res.err = err
			return res
		}
	}
	req.PartnerID, req.Order.PartnerID = pid, pid
	res.request = req

	id, created, err := cl.CreateSaleOrder(ctx, req.Order, req.ClientOrderRef)
	if err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, strconv.Itoa(id)
	res.response = map[string]any{"sale_order_id": id, "created": created, "partner_id": pid, "partner_created": partnerCreated}
	if created {
		res.message = fmt.Sprintf("%s was created in %s as quotation #%d.", label, conn.Name, id)
	} else {
		res.message = fmt.Sprintf("%s was already in %s (#%d); nothing was created again.", label, conn.Name, id)
	}
	return res
}

// notMapped says which identifiers lack a mapping: "SKU-1 is not mapped to
// an Odoo product yet", "SKU-1, SKU-2 and 3 more are not mapped to ...".
func notMapped(names []string, to string) string {
	switch n := len(names); {
	case n == 1:
		return fmt.Sprintf("%s is not mapped to %s yet", names[0], to)
	case n <= 3:
		return fmt.Sprintf("%s and %s are not mapped to %ss yet", strings.Join(names[:n-1], ", "), names[n-1], strings.TrimPrefix(strings.TrimPrefix(to, "an "), "a "))
	default:
		return fmt.Sprintf("%s and %d more are not mapped to %ss yet", strings.Join(names[:3], ", "), n-3, strings.TrimPrefix(strings.TrimPrefix(to, "an "), "a "))
	}
}

// waitLease takes a short lease, waiting up to patience for another sync to
// give it up. Not getting it is transient: the sync is tried again.
func (e *Engine) waitLease(ctx context.Context, key string, syncID int64, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		ok, err := e.st.AcquireLease(ctx, key, syncID, partnerLeaseTTL)
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return waitFor("Another order of the same customer is being sent right now.")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(jittered(50 * time.Millisecond)):
		}
	}
}

func (e *Engine) releaseLease(ctx context.Context, key string, syncID int64) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := e.st.ReleaseLease(rctx, key, syncID); err != nil {
		e.log.Warn("release lease", "lease", key, "err", err)
	}
}

// editOrder makes the lines of an order already in Odoo match the Shopify
// order: quantities and prices changed, products added, products no longer
// ordered set to 0 (Odoo refuses to delete a confirmed order's lines and
// says to do that). Applied twice, the second time writes nothing.
func editOrder(ctx context.Context, cl *odoo.Client, conn store.Connection, ex odoo.OrderInOdoo, req saleOrderRequest,
	ship *odoo.Address, label string, res result) result {
	res.targetRef = strconv.Itoa(ex.ID)
	where := fmt.Sprintf("%s (%s)", conn.Name, cmpStr(ex.Name, "#"+strconv.Itoa(ex.ID)))
	if ex.State == "cancel" {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s was changed in Shopify, but it is cancelled in %s; Crossdock does not change a cancelled order. Set it back to a quotation in Odoo, then try this sync again.", label, where), nil)
		return res
	}
	changes := lineChanges(ex.Lines, req.Order.Lines)
	shipTo, err := deliveryAddress(ctx, cl, ex, ship)
	if err != nil {
		res.err = err
		return res
	}
	if len(changes) == 0 && shipTo == 0 {
		res.status = vocab.SyncSkipped
		res.response = map[string]any{"sale_order_id": ex.ID, "changes": []odoo.LineChange{}}
		res.message = fmt.Sprintf("%s already matches Shopify in %s; nothing was written.", label, where)
		return res
	}
	res.request = map[string]any{"model": "sale.order", "method": "write", "ids": []int{ex.ID}, "order_line": changes, "lines": req.Lines,
		"partner_shipping_id": shipTo, "shipping": ship}
	if err := cl.ChangeSaleOrder(ctx, ex.ID, changes, shipTo); err != nil {
		res.err = err
		return res
	}
	var changed, added, zeroed int
	for _, c := range changes {
		switch {
		case c.LineID == 0:
			added++
		case c.Quantity == 0:
			zeroed++
		default:
			changed++
		}
	}
	res.status = vocab.SyncSucceeded
	res.response = map[string]any{"sale_order_id": ex.ID, "changes": changes, "partner_shipping_id": shipTo}
	res.message = fmt.Sprintf("%s was updated in %s.", label, where)
	if len(changes) > 0 {
		res.message = fmt.Sprintf("%s was updated in %s: %s changed, %s added, %s no longer ordered (quantity 0).", label, where,
			plural(changed, "line"), plural(added, "line"), plural(zeroed, "line"))
	}
	if shipTo != 0 {
		res.message += fmt.Sprintf(" It now ships to %s.", strings.Join(nonEmpty(ship.Street, ship.City, ship.Zip), ", "))
	}
	return res
}

// deliveryAddress returns the delivery contact to set on the order when the
// Shopify order ships elsewhere than Odoo's order says; 0 when it already
// ships there (or Shopify gave no address).
func deliveryAddress(ctx context.Context, cl *odoo.Client, ex odoo.OrderInOdoo, ship *odoo.Address) (int, error) {
	if ship == nil || ex.PartnerID == 0 {
		return 0, nil
	}
	current := cmp.Or(ex.ShippingPartnerID, ex.PartnerID)
	ps, err := cl.Partners(ctx, []any{[]any{"id", "=", current}}, 0, 1)
	if err != nil {
		return 0, err
	}
	if len(ps) == 1 && ship.Same(ps[0]) {
		return 0, nil
	}
	id, _, err := cl.EnsureDeliveryAddress(ctx, ex.PartnerID, *ship)
	if err != nil || id == current {
		return 0, err
	}
	return id, nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// lineChanges compares an order's lines in Odoo with the lines wanted, per
// product (a product on two Shopify lines is one quantity in Odoo).
func lineChanges(have []odoo.OrderLineInOdoo, want []odoo.SaleOrderLine) []odoo.LineChange {
	type wanted struct {
		qty, price float64
		seen       bool
	}
	w := map[int]*wanted{}
	var order []int
	for _, l := range want {
		if x := w[l.ProductID]; x != nil {
			x.qty += l.Quantity
			continue
		}
		w[l.ProductID] = &wanted{qty: l.Quantity, price: l.PriceUnit}
		order = append(order, l.ProductID)
	}
	same := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	var out []odoo.LineChange
	for _, h := range have {
		x := w[h.ProductID]
		switch {
		case x != nil && !x.seen:
			x.seen = true
			if !same(h.Quantity, x.qty) || !same(h.PriceUnit, x.price) {
				out = append(out, odoo.LineChange{LineID: h.ID, ProductID: h.ProductID, Quantity: x.qty, PriceUnit: x.price})
			}
		case !same(h.Quantity, 0): // not ordered any more, or a second line of the product
			out = append(out, odoo.LineChange{LineID: h.ID, ProductID: h.ProductID, Quantity: 0, PriceUnit: h.PriceUnit})
		}
	}
	for _, pid := range order {
		if x := w[pid]; !x.seen {
			out = append(out, odoo.LineChange{ProductID: pid, Quantity: x.qty, PriceUnit: x.price})
		}
	}
	return out
}

// cancelOrder cancels the order in Odoo; an order never sent there is left
// alone, and one cancelled already is not cancelled again.
func (e *Engine) cancelOrder(ctx context.Context, cl *odoo.Client, conn store.Connection, o orderIn, label string, res result) result {
	ex, found, err := cl.SaleOrderByRef(ctx, o.ID)
	if err != nil {
		res.err = err
		return res
	}
	if !found {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s was cancelled in Shopify before it reached %s; nothing was created or cancelled.", label, conn.Name)
		return res
	}
	res.targetRef = strconv.Itoa(ex.ID)
	where := fmt.Sprintf("%s (%s)", conn.Name, cmpStr(ex.Name, "#"+strconv.Itoa(ex.ID)))
	if ex.State == "cancel" {
		res.status = vocab.SyncSkipped
		res.response = map[string]any{"sale_order_id": ex.ID, "state": ex.State}
		res.message = fmt.Sprintf("%s is already cancelled in %s; nothing was written.", label, where)
		return res
	}
	res.request = map[string]any{"model": "sale.order", "method": "action_cancel", "ids": []int{ex.ID}}
	if err := cl.CancelSaleOrder(ctx, ex.ID); err != nil {
		res.err = err
		return res
	}
	res.status = vocab.SyncSucceeded
	res.response = map[string]any{"sale_order_id": ex.ID, "cancelled": true}
	res.message = fmt.Sprintf("%s was cancelled in Shopify and in %s.", label, where)
	return res
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// lineRef names one line of an order or a refund: its Shopify variant, and
// the SKU or title a sentence shows.
type lineRef struct{ variant, sku, title string }

func (l lineIn) ref() lineRef       { return lineRef{l.VariantID, l.SKU, l.Title} }
func (l refundLineIn) ref() lineRef { return lineRef{l.VariantID, l.SKU, l.Title} }

// mapLines maps the lines' Shopify variants to the target system's products
// (product names them: "an Odoo product"). When some are not mapped it sets
// res to the failure naming them — "Map it on the Mappings page, then try
// this <what> again" — and returns false; label names the order or refund,
// asked only then.
func mapLines[L interface{ ref() lineRef }](ctx context.Context, e *Engine, s store.Sync, conn store.Connection, lines []L,
	what, product string, label func() string, res *result) (map[string]string, bool) {
	variants := make([]string, 0, len(lines))
	for _, l := range lines {
		variants = append(variants, l.ref().variant)
	}
	mapped, unmapped, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, variants)
	if err != nil {
		res.err = err
		return nil, false
	}
	if len(unmapped) == 0 {
		return mapped, true
	}
	var names []string
	for _, v := range unmapped {
		for _, l := range lines {
			if r := l.ref(); r.variant == v {
				names = append(names, cmpStr(r.sku, r.title+" ("+v+")"))
				break
			}
		}
	}
	res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("%s cannot be sent to %s: %s. Map it on the Mappings page, then try this %s again.",
		label(), conn.Name, notMapped(names, product), what), nil)
	res.response = store.UnmappedResponse(entityVariant, unmapped)
	return nil, false
}
