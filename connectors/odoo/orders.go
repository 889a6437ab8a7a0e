package odoo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SaleOrder is what Crossdock creates in Odoo for a storefront order.
type SaleOrder struct {
	PartnerID int
	Origin    string    // source document, e.g. "shopify:gid://shopify/Order/…"
	DateOrder time.Time // zero: Odoo's default (now)
	Lines     []SaleOrderLine
}

// SaleOrderLine is one order line, or a note/section when DisplayType is set.
type SaleOrderLine struct {
	ProductID   int
	Quantity    float64
	PriceUnit   float64
	Discount    float64 // percent
	TaxIDs      []int   // nil: Odoo's default taxes of the product
	Name        string  // description; the text of a note or section
	DisplayType string  // "", "line_note" or "line_section"
}

// taxField is the name of the sale line's taxes field: tax_id up to 18.0,
// tax_ids from 18.1 (odoo/odoo#186869).
func (c *Client) taxField(ctx context.Context, lines []SaleOrderLine) (string, error) {
	need := false
	for _, l := range lines {
		need = need || l.TaxIDs != nil
	}
	if !need {
		return "", nil
	}
	if c.cfg.Protocol == ProtocolJSON2 {
		return "tax_ids", nil
	}
	v, err := c.serverVersion(ctx)
	if err != nil {
		return "", err
	}
	if v.AtLeast(18, 1) {
		return "tax_ids", nil
	}
	return "tax_id", nil
}

// CreateSaleOrder creates a quotation for o, at most once per idempotencyRef.
//
// The reference is stored in client_order_ref ("Customer Reference"), which
// the merchant sees on the order and can search; before creating, the client
// searches sale.order for that reference and, when an order exists, returns
// its id with created=false. Cancelled orders count as existing: a replay must
// never resurrect an order someone cancelled on purpose. Two workers racing on
// the same reference could both create, so callers serialise per reference
// (the engine's unique jobs do).
func (c *Client) CreateSaleOrder(ctx context.Context, o SaleOrder, idempotencyRef string) (id int, created bool, err error) {
	ref := strings.TrimSpace(idempotencyRef)
	if ref == "" {
		return 0, false, errors.New("odoo: create sale order: the idempotency reference is empty")
	}
	if o.PartnerID == 0 {
		return 0, false, errors.New("odoo: create sale order: no customer (partner id)")
	}
	ids, err := c.searchIDs(ctx, "sale.order", []any{[]any{"client_order_ref", "=", ref}}, 1, "id")
	if err != nil {
		return 0, false, fmt.Errorf("odoo: create sale order: look up reference %q: %w", ref, err)
	}
	if len(ids) > 0 {
		return ids[0], false, nil
	}
	taxField, err := c.taxField(ctx, o.Lines)
	if err != nil {
		return 0, false, fmt.Errorf("odoo: create sale order: %w", err)
	}
	lines := make([]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		v := map[string]any{}
		if l.DisplayType != "" {
			v["display_type"] = l.DisplayType
			v["name"] = l.Name
		} else {
			v["product_id"] = l.ProductID
			v["product_uom_qty"] = l.Quantity
			v["price_unit"] = l.PriceUnit
			if l.Discount != 0 {
				v["discount"] = l.Discount
			}
			if l.Name != "" {
				v["name"] = l.Name
			}
			if l.TaxIDs != nil {
				v[taxField] = []any{SetCommand(l.TaxIDs)}
			}
		}
		lines = append(lines, CreateCommand(v))
	}
	vals := map[string]any{"partner_id": o.PartnerID, "client_order_ref": ref, "order_line": lines}
	if o.Origin != "" {
		vals["origin"] = o.Origin
	}
	if !o.DateOrder.IsZero() {
		vals["date_order"] = formatDateTime(o.DateOrder)
	}
	id, err = c.Create(ctx, "sale.order", vals, nil)
	if err != nil {
		return 0, false, fmt.Errorf("odoo: create sale order %q: %w", ref, err)
	}
	return id, true, nil
}

// ConfirmSaleOrder turns a quotation into a sales order (action_confirm).
func (c *Client) ConfirmSaleOrder(ctx context.Context, id int) error {
	return c.Action(ctx, "sale.order", "action_confirm", []int{id}, nil)
}

// OrderInOdoo is a sale order as Odoo has it, with its product lines.
type OrderInOdoo struct {
	ID        int
	Name      string // S00042
	State     string // draft, sent, sale, cancel (done up to Odoo 16)
	PartnerID int
	// ShippingPartnerID is the delivery address: the customer or one of
	// their delivery contacts (0 when Odoo has none set).
	ShippingPartnerID int
	Lines             []OrderLineInOdoo
}

// OrderLineInOdoo is one product line of an order (notes and sections are left out).
type OrderLineInOdoo struct {
	ID        int
	ProductID int
	Quantity  float64
	PriceUnit float64
}

// SaleOrderByRef finds the sale order whose client_order_ref is ref (the
// reference CreateSaleOrder stores) and reads its product lines.
func (c *Client) SaleOrderByRef(ctx context.Context, ref string) (o OrderInOdoo, found bool, err error) {
	var orders []struct {
		ID       int      `json:"id"`
		Name     text     `json:"name"`
		State    text     `json:"state"`
		Partner  Many2One `json:"partner_id"`
		Shipping Many2One `json:"partner_shipping_id"`
	}
	if err := c.searchRead(ctx, "sale.order", []any{[]any{"client_order_ref", "=", ref}},
		[]string{"id", "name", "state", "partner_id", "partner_shipping_id"}, 0, 1, "id", nil, &orders); err != nil {
		return o, false, fmt.Errorf("odoo: sale order %q: %w", ref, err)
	}
	if len(orders) == 0 {
		return o, false, nil
	}
	r := orders[0]
	o = OrderInOdoo{ID: r.ID, Name: string(r.Name), State: string(r.State), PartnerID: r.Partner.ID, ShippingPartnerID: r.Shipping.ID}
	var lines []struct {
		ID          int      `json:"id"`
		ProductID   Many2One `json:"product_id"`
		Quantity    number   `json:"product_uom_qty"`
		PriceUnit   number   `json:"price_unit"`
		DisplayType text     `json:"display_type"`
	}
	if err := c.searchRead(ctx, "sale.order.line", []any{[]any{"order_id", "=", o.ID}},
		[]string{"id", "product_id", "product_uom_qty", "price_unit", "display_type"}, 0, 0, "id", nil, &lines); err != nil {
		return o, true, fmt.Errorf("odoo: lines of sale order %q: %w", ref, err)
	}
	for _, l := range lines {
		if l.DisplayType != "" || l.ProductID.ID == 0 {
			continue
		}
		o.Lines = append(o.Lines, OrderLineInOdoo{ID: l.ID, ProductID: l.ProductID.ID, Quantity: float64(l.Quantity), PriceUnit: float64(l.PriceUnit)})
	}
	return o, true, nil
}

// LineChange is one change to an order's lines: LineID 0 adds a line.
type LineChange struct {
	LineID    int     `json:"line_id,omitempty"`
	ProductID int     `json:"product_id,omitempty"`
	Quantity  float64 `json:"quantity"`
	PriceUnit float64 `json:"price_unit"`
}

// Address is a postal address, as a delivery contact holds it.
type Address struct {
	Name    string `json:"name"`
	Street  string `json:"street,omitempty"`
	Street2 string `json:"street2,omitempty"`
	City    string `json:"city,omitempty"`
	Zip     string `json:"zip,omitempty"`
	Phone   string `json:"phone,omitempty"`
}

// Same reports whether the partner is at this address.
func (a Address) Same(p Partner) bool {
	return strings.EqualFold(a.Street, p.Street) && strings.EqualFold(a.Street2, p.Street2) &&
		strings.EqualFold(a.City, p.City) && strings.EqualFold(a.Zip, p.Zip)
}

// EnsureDeliveryAddress returns the customer's delivery contact at a (a
// child res.partner of type delivery), creating it when there is none.
func (c *Client) EnsureDeliveryAddress(ctx context.Context, customerID int, a Address) (id int, created bool, err error) {
	orFalse := func(s string) any {
		if s == "" {
			return false // Odoo stores an empty char field as NULL
		}
		return s
	}
	found, err := c.Partners(ctx, []any{[]any{"parent_id", "=", customerID}, []any{"type", "=", "delivery"},
		[]any{"street", "=", orFalse(a.Street)}, []any{"street2", "=", orFalse(a.Street2)},
		[]any{"city", "=", orFalse(a.City)}, []any{"zip", "=", orFalse(a.Zip)}}, 0, 1)
	if err != nil {
		return 0, false, fmt.Errorf("odoo: find delivery address: %w", err)
	}
	if len(found) > 0 {
		return found[0].ID, false, nil
	}
	vals := map[string]any{"parent_id": customerID, "type": "delivery", "name": a.Name}
	for k, v := range map[string]string{"street": a.Street, "street2": a.Street2, "city": a.City, "zip": a.Zip, "phone": a.Phone} {
		if v != "" {
			vals[k] = v
		}
	}
	id, err = c.Create(ctx, "res.partner", vals, nil)
	if err != nil {
		return 0, false, fmt.Errorf("odoo: create delivery address: %w", err)
	}
	return id, true, nil
}

// ChangeSaleOrderLines writes changes to an order's lines in one call (one
// transaction in Odoo: all or nothing). Lines are never deleted: a confirmed
// order refuses it, and Odoo's own advice is to set the quantity to 0.
func (c *Client) ChangeSaleOrderLines(ctx context.Context, orderID int, changes []LineChange) error {
	return c.ChangeSaleOrder(ctx, orderID, changes, 0)
}

// ChangeSaleOrder is ChangeSaleOrderLines that also sets the delivery
// address (a partner id; 0 leaves it), in the same write.
func (c *Client) ChangeSaleOrder(ctx context.Context, orderID int, changes []LineChange, shippingPartnerID int) error {
	cmds := make([]any, 0, len(changes))
	for _, ch := range changes {
		if ch.LineID != 0 {
			cmds = append(cmds, Command{1, ch.LineID, map[string]any{"product_uom_qty": ch.Quantity, "price_unit": ch.PriceUnit}})
		}
	}
	for _, ch := range changes {
		if ch.LineID == 0 {
			cmds = append(cmds, CreateCommand(map[string]any{"product_id": ch.ProductID, "product_uom_qty": ch.Quantity, "price_unit": ch.PriceUnit}))
		}
	}
	vals := map[string]any{}
	if len(cmds) > 0 {
		vals["order_line"] = cmds
	}
	if shippingPartnerID != 0 {
		vals["partner_shipping_id"] = shippingPartnerID
	}
	if err := c.Write(ctx, "sale.order", []int{orderID}, vals, nil); err != nil {
		return fmt.Errorf("odoo: change the lines of sale order %d: %w", orderID, err)
	}
	return nil
}

// CancelSaleOrder cancels an order (action_cancel). disable_cancel_warning
// makes Odoo cancel at once rather than answer with its cancel wizard, which
// it does for any order past the quotation stage.
func (c *Client) CancelSaleOrder(ctx context.Context, id int) error {
	if err := c.Action(ctx, "sale.order", "action_cancel", []int{id}, map[string]any{"disable_cancel_warning": true}); err != nil {
		return fmt.Errorf("odoo: cancel sale order %d: %w", id, err)
	}
	return nil
}

// CreditNote is a customer credit note (account.move, move_type out_refund).
type CreditNote struct {
	PartnerID       int
	InvoiceDate     time.Time // zero: left to Odoo (set when posted)
	InvoiceOrigin   string    // e.g. the sales order name "S00057"
	ReversedEntryID int       // the invoice it reverses, when known
	Lines           []CreditNoteLine
	Post            bool // post it (action_post) after creating
}

// CreditNoteLine is one line of a credit note.
type CreditNoteLine struct {
	ProductID int
	Name      string
	Quantity  float64
	PriceUnit float64
	TaxIDs    []int // nil: the product's default taxes
}

// CreateCreditNote creates a credit note for cn, at most once per
// idempotencyRef, which is stored in the move's ref field ("Reference") and
// looked up among out_refund moves before creating. When cn.Post is set and
// the existing credit note is still a draft (a previous attempt stopped
// between create and post), it is posted now.
func (c *Client) CreateCreditNote(ctx context.Context, cn CreditNote, idempotencyRef string) (id int, created bool, err error) {
	ref := strings.TrimSpace(idempotencyRef)
	if ref == "" {
		return 0, false, errors.New("odoo: create credit note: the idempotency reference is empty")
	}
	if cn.PartnerID == 0 {
		return 0, false, errors.New("odoo: create credit note: no customer (partner id)")
	}
	var existing []struct {
		ID    int  `json:"id"`
		State text `json:"state"`
	}
	err = c.searchRead(ctx, "account.move", []any{[]any{"move_type", "=", "out_refund"}, []any{"ref", "=", ref}},
		[]string{"id", "state"}, 0, 1, "id", nil, &existing)
	if err != nil {
		return 0, false, fmt.Errorf("odoo: create credit note: look up reference %q: %w", ref, err)
	}
	if len(existing) > 0 {
		id = existing[0].ID
		if cn.Post && existing[0].State == "draft" {
			if err := c.Action(ctx, "account.move", "action_post", []int{id}, nil); err != nil {
				return id, false, fmt.Errorf("odoo: post credit note %q: %w", ref, err)
			}
		}
		return id, false, nil
	}
	lines := make([]any, 0, len(cn.Lines))
	for _, l := range cn.Lines {
		v := map[string]any{"quantity": l.Quantity, "price_unit": l.PriceUnit}
		if l.ProductID != 0 {
			v["product_id"] = l.ProductID
		}
		if l.Name != "" {
			v["name"] = l.Name
		}
		if l.TaxIDs != nil {
			v["tax_ids"] = []any{SetCommand(l.TaxIDs)}
		}
		lines = append(lines, CreateCommand(v))
	}
	vals := map[string]any{"move_type": "out_refund", "partner_id": cn.PartnerID, "ref": ref, "invoice_line_ids": lines}
	if !cn.InvoiceDate.IsZero() {
		vals["invoice_date"] = cn.InvoiceDate.Format(DateLayout)
	}
	if cn.InvoiceOrigin != "" {
		vals["invoice_origin"] = cn.InvoiceOrigin
	}
	if cn.ReversedEntryID != 0 {
		vals["reversed_entry_id"] = cn.ReversedEntryID
	}
	id, err = c.Create(ctx, "account.move", vals, nil)
	if err != nil {
		return 0, false, fmt.Errorf("odoo: create credit note %q: %w", ref, err)
	}
	if cn.Post {
		if err := c.Action(ctx, "account.move", "action_post", []int{id}, nil); err != nil {
			return id, true, fmt.Errorf("odoo: post credit note %q: %w", ref, err)
		}
	}
	return id, true, nil
}
