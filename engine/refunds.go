package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

const (
	flowRefunds  = "refunds.shopify_odoo"
	entityRefund = "refund"
)

// refundIn is a Shopify refund as the refunds flow reads it, normalised from
// the refunds/create webhook's REST payload. It is the sync's payload:
// retries and replays work from it.
type refundIn struct {
	ID        string         `json:"id"`       // the refund GID; the credit note's ref
	OrderID   string         `json:"order_id"` // the order GID; the sale order's client_order_ref
	Note      string         `json:"note,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	Lines     []refundLineIn `json:"lines"`
	Amount    string         `json:"amount,omitempty"` // what the successful refund transactions paid back
}

type refundLineIn struct {
	VariantID string  `json:"variant_id"` // GID
	SKU       string  `json:"sku,omitempty"`
	Title     string  `json:"title,omitempty"`
	Quantity  int     `json:"quantity"`
	Subtotal  float64 `json:"subtotal"` // what is refunded for the line, before tax
}

// PriceUnit is the refunded amount per unit.
func (l refundLineIn) PriceUnit() float64 {
	if l.Quantity <= 0 {
		return 0
	}
	return math.Round(l.Subtotal/float64(l.Quantity)*1e4) / 1e4
}

// restAmount is an amount Shopify writes as a string ("10.00") or a number (10.0).
type restAmount float64

func (m *restAmount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*m = 0
		return nil
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		*m = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("amount %s: %w", b, err)
	}
	*m = restAmount(f)
	return nil
}

// restRefund is the part of Shopify's refunds/create payload the flow reads.
type restRefund struct {
	ID              int64  `json:"id"`
	GID             string `json:"admin_graphql_api_id"`
	OrderID         int64  `json:"order_id"`
	Note            string `json:"note"`
	CreatedAt       string `json:"created_at"`
	ProcessedAt     string `json:"processed_at"`
	RefundLineItems []struct {
		Quantity int         `json:"quantity"`
		Subtotal *restAmount `json:"subtotal"`
		LineItem struct {
			ID        int64      `json:"id"`
			VariantID *int64     `json:"variant_id"`
			SKU       string     `json:"sku"`
			Title     string     `json:"title"`
			Name      string     `json:"name"`
			Price     restAmount `json:"price"`
		} `json:"line_item"`
	} `json:"refund_line_items"`
	Transactions []struct {
		Kind   string     `json:"kind"`
		Status string     `json:"status"`
		Amount restAmount `json:"amount"`
	} `json:"transactions"`
}

// parseRefund reads a refunds/create payload. A problem is returned as a
// sentence for the merchant; the refund is returned as far as it was read.
func parseRefund(payload []byte) (refundIn, string) {
	var r restRefund
	if err := json.Unmarshal(payload, &r); err != nil {
		return refundIn{}, "Shopify sent a refund Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	out := refundIn{ID: r.GID, Note: strings.TrimSpace(r.Note)}
	if out.ID == "" && r.ID != 0 {
		out.ID = "gid://shopify/Refund/" + strconv.FormatInt(r.ID, 10)
	}
	if r.OrderID != 0 {
		out.OrderID = "gid://shopify/Order/" + strconv.FormatInt(r.OrderID, 10)
	}
	out.CreatedAt, _ = time.Parse(time.RFC3339, r.CreatedAt)
	if out.CreatedAt.IsZero() {
		out.CreatedAt, _ = time.Parse(time.RFC3339, r.ProcessedAt)
	}
	paid := 0.0
	for _, t := range r.Transactions {
		if t.Kind == "refund" && t.Status == "success" {
			paid += float64(t.Amount)
		}
	}
	if paid != 0 {
		out.Amount = strconv.FormatFloat(paid, 'f', 2, 64)
	}
	if out.ID == "" {
		return out, "The refund Shopify sent has no id, so Crossdock cannot tell which refund it is. Nothing was sent on."
	}
	if out.OrderID == "" {
		return out, "The refund Shopify sent names no order, so Crossdock cannot find the order in the ERP. Nothing was sent on."
	}
	label := refundLabel(out, "")
	if out.CreatedAt.IsZero() {
		return out, label + " has no date (created_at), so Crossdock cannot tell it from another delivery of it. Nothing was sent on."
	}
	for _, l := range r.RefundLineItems {
		title := cmpStr(l.LineItem.Title, l.LineItem.Name)
		if l.Quantity <= 0 {
			continue // nothing of the line is refunded (an adjustment only)
		}
		if l.LineItem.VariantID == nil || *l.LineItem.VariantID == 0 {
			return out, fmt.Sprintf("%s: the line %q is not a product from the catalogue (a custom item or a deleted product), so Crossdock cannot find it in the ERP. Enter this refund in the ERP by hand.", label, title)
		}
		sub := float64(l.LineItem.Price) * float64(l.Quantity)
		if l.Subtotal != nil {
			sub = float64(*l.Subtotal)
		}
		out.Lines = append(out.Lines, refundLineIn{VariantID: "gid://shopify/ProductVariant/" + strconv.FormatInt(*l.LineItem.VariantID, 10),
			SKU: l.LineItem.SKU, Title: title, Quantity: l.Quantity, Subtotal: sub})
	}
	if len(out.Lines) == 0 {
		return out, label + " refunds no products (an amount or shipping only); Crossdock sends only refunds of products, so enter this one in the ERP by hand."
	}
	return out, ""
}

// refundLabel names a refund for the merchant: "The refund of order #1001",
// or by the order's number when its name is not known.
func refundLabel(r refundIn, orderName string) string {
	return "The refund of order " + cmpStr(orderName, gidTail(r.OrderID))
}

// orderLabel names a Shopify order: "Order #1001", or "Order 820982911946154508".
func orderLabel(orderGID, name string) string {
	if name != "" {
		return "Order " + name
	}
	return "Order " + gidTail(orderGID)
}

func gidTail(gid string) string {
	if i := strings.LastIndexByte(gid, '/'); i >= 0 {
		return gid[i+1:]
	}
	return gid
}

func (r refundIn) searchKeys() []string {
	keys := []string{r.ID, gidTail(r.ID), r.OrderID, gidTail(r.OrderID)}
	for _, l := range r.Lines {
		keys = append(keys, l.SKU)
	}
	return keys
}

// planRefund turns a refunds/create event into one sync per Odoo system that
// could receive it, as planOrder does for orders: pending when the sources of
// truth allow it, rejected when they do not, failed when the payload is
// unusable. A refund never changes, so its creation date is its version: a
// second delivery of it is recognised by the watermark.
func (e *Engine) planRefund(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	r, problem := parseRefund(ev.Payload)
	key := refundLabel(r, "")
	if r.ID != "" {
		key = "Refund " + gidTail(r.ID) + " of order " + gidTail(r.OrderID)
	}
	base := store.NewSync{Family: vocab.Refunds, Direction: vocab.ShopifyToOdoo, Flow: flowRefunds,
		SourceConnectionID: ev.ConnectionID, Trigger: store.TriggerWebhook, EntityType: entityRefund, EntityRef: r.ID,
		EntityKey: key, SearchKeys: r.searchKeys(), SourceVersion: r.CreatedAt,
		IdempotencyKey: r.ID, MaxAttempts: e.cfg.MaxAttempts}
	return planToOdoo(rs, ev, p, vocab.Refunds, base, problem, r, refundLabel(r, ""))
}

// creditNoteRequest is what the refunds flow sends to Odoo, as recorded.
type creditNoteRequest struct {
	Ref            string           `json:"ref"`
	ClientOrderRef string           `json:"client_order_ref"`
	SaleOrderID    int              `json:"sale_order_id,omitempty"`
	CreditNote     odoo.CreditNote  `json:"credit_note"`
	Lines          []requestLineSKU `json:"lines"`
}

// saleOrderRef is the Odoo sale order a refund is linked to.
type saleOrderRef struct {
	ID      int           `json:"id"`
	Name    any           `json:"name"`   // a string; false when empty
	Origin  any           `json:"origin"` // "Shopify #1001", as runOrder writes it
	Partner odoo.Many2One `json:"partner_id"`
}

func (so saleOrderRef) name() string   { s, _ := so.Name.(string); return s }
func (so saleOrderRef) origin() string { s, _ := so.Origin.(string); return s }

// findSaleOrder looks up the sale order the orders flow created for a
// Shopify order: its client_order_ref is the order GID.
func findSaleOrder(ctx context.Context, cl *odoo.Client, orderGID string) (saleOrderRef, bool, error) {
	var out []saleOrderRef
	err := cl.Call(ctx, "sale.order", "search_read", []any{[]any{[]any{"client_order_ref", "=", orderGID}}},
		map[string]any{"fields": []string{"id", "name", "origin", "partner_id"}, "limit": 1, "order": "id"}, &out)
	if err != nil || len(out) == 0 {
		return saleOrderRef{}, false, err
	}
	return out[0], true, nil
}

// shopifyOrderName finds the name ("#1001") of a Shopify order among the
// orders flow's syncs, for messages; "" when Crossdock has not seen it.
func (e *Engine) shopifyOrderName(ctx context.Context, orderGID string) string {
	ss, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Orders, Search: orderGID, Limit: 1})
	if err != nil || len(ss) == 0 || ss[0].EntityKey == orderGID {
		return ""
	}
	return ss[0].EntityKey
}

// runRefund creates the Shopify refund as an Odoo credit note (draft) for the
// customer of the sale order the orders flow created, once: the refund GID is
// the credit note's ref, which CreateCreditNote looks up before it creates.
//
// A refund can arrive before its order has reached Odoo (the order is still
// queued, retrying or failed). That is not a fault of the refund: the sync
// fails with class transient, which the retry machinery retries with backoff
// (class not_found is final and would need a replay by hand). Once the
// attempts are used up it is failed and can be replayed.
func (e *Engine) runRefund(ctx context.Context, s store.Sync) result {
	if r, err := e.decide(ctx, s); err != nil || r != nil {
		if err != nil {
			return result{err: err}
		}
		return *r
	}
	var r refundIn
	if err := json.Unmarshal(s.Payload, &r); err != nil {
		return result{err: fail(vocab.ClassInternal, "The refund recorded for this sync cannot be read: "+err.Error(), err)}
	}
	cl, conn, err := e.odoo(ctx, s.TargetConnectionID)
	res := result{system: conn.Name}
	if err != nil {
		res.err = err
		return res
	}

	// Lines first: a refund of unmapped products cannot be sent whether or
	// not its order is there.
	variants := make([]string, 0, len(r.Lines))
	for _, l := range r.Lines {
		variants = append(variants, l.VariantID)
	}
	mapped, unmapped, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, variants)
	if err != nil {
		res.err = err
		return res
	}
	if len(unmapped) > 0 {
		var names []string
		for _, v := range unmapped {
			for _, l := range r.Lines {
				if l.VariantID == v {
					names = append(names, cmpStr(l.SKU, l.Title+" ("+v+")"))
					break
				}
			}
		}
		label := refundLabel(r, e.shopifyOrderName(ctx, r.OrderID))
		res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("%s cannot be sent to %s: %s. Map it on the Mappings page, then try this refund again.",
			label, conn.Name, notMapped(names, "an Odoo product")), nil)
		res.response = store.UnmappedResponse(entityVariant, unmapped)
		return res
	}
	req := creditNoteRequest{Ref: r.ID, ClientOrderRef: r.OrderID}
	for _, l := range r.Lines {
		pid, err := strconv.Atoi(mapped[l.VariantID])
		if err != nil || pid <= 0 {
			res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("%s: %s is mapped to %q, which is not an Odoo product id. Correct the mapping, then try this refund again.",
				refundLabel(r, ""), cmpStr(l.SKU, l.VariantID), mapped[l.VariantID]), err)
			return res
		}
		req.CreditNote.Lines = append(req.CreditNote.Lines, odoo.CreditNoteLine{ProductID: pid, Name: cmpStr(l.Title, l.SKU),
			Quantity: float64(l.Quantity), PriceUnit: l.PriceUnit()})
		req.Lines = append(req.Lines, requestLineSKU{SKU: l.SKU, VariantID: l.VariantID, ProductID: pid})
	}
	res.request = req

	// The order: the credit note is for its customer and names it as origin.
	so, found, err := findSaleOrder(ctx, cl, r.OrderID)
	if err != nil {
		res.err = err
		return res
	}
	if !found {
		name := e.shopifyOrderName(ctx, r.OrderID)
		res.response = map[string]any{"sale_order": nil, "client_order_ref": r.OrderID}
		res.err = waitFor(fmt.Sprintf("%s has not reached %s yet; the refund will be retried.", orderLabel(r.OrderID, name), conn.Name))
		return res
	}
	if so.Partner.ID == 0 {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s: the sales order %s in %s has no customer, so the credit note cannot be made.",
			refundLabel(r, ""), cmpStr(so.name(), strconv.Itoa(so.ID)), conn.Name), nil)
		return res
	}
	label := refundLabel(r, strings.TrimPrefix(so.origin(), "Shopify "))
	req.SaleOrderID = so.ID
	req.CreditNote.PartnerID = so.Partner.ID
	req.CreditNote.InvoiceOrigin = so.name()
	req.CreditNote.InvoiceDate = r.CreatedAt
	res.request = req

	id, created, err := cl.CreateCreditNote(ctx, req.CreditNote, req.Ref)
	if err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, strconv.Itoa(id)
	res.response = map[string]any{"credit_note_id": id, "created": created, "sale_order_id": so.ID, "partner_id": so.Partner.ID}
	if created {
		res.message = fmt.Sprintf("%s was created in %s as a draft credit note (#%d) for sales order %s.", label, conn.Name, id, cmpStr(so.name(), strconv.Itoa(so.ID)))
	} else {
		res.message = fmt.Sprintf("%s was already in %s (credit note #%d); nothing was created again.", label, conn.Name, id)
	}
	return res
}
