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
