package engine

import (
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
	flowRefunds  = "refunds.shopify_odoo"
	entityRefund = "refund"
)

// refundsFlow sends Shopify refunds into Odoo as draft credit notes.
func refundsFlow() Flow {
	return Flow{Name: flowRefunds, Family: vocab.Refunds, From: vocab.KindShopify, To: vocab.KindOdoo,
		Topics: []string{"refunds/create"}, Plan: (*Engine).planRefund, Lease: leaseOn("refund"),
		Run: runWith(runSpec[refundIn, *odoo.Client]{record: "refund", connect: (*Engine).odoo, body: (*Engine).runRefund})}
}

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
	Subtotal  float64 `json:"subtotal"`            // what is refunded for the line, before tax
	Restocked bool    `json:"restocked,omitempty"` // the quantity went back into stock
}

// PriceUnit is the refunded amount per unit.
func (l refundLineIn) PriceUnit() float64 {
	if l.Quantity <= 0 {
		return 0
	}
	return math.Round(l.Subtotal/float64(l.Quantity)*1e4) / 1e4
}

// parseRefund reads a refunds/create payload. A problem is returned as a
// sentence for the merchant; the refund is returned as far as it was read.
func parseRefund(payload []byte) (refundIn, string) {
	r, err := shopify.DecodeRefund(payload)
	if err != nil {
		return refundIn{}, "Shopify sent a refund Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	out := refundIn{ID: r.ID, OrderID: r.OrderID, Note: strings.TrimSpace(r.Note), CreatedAt: r.CreatedAt}
	paid := 0.0
	for _, t := range r.Transactions {
		if t.Kind == "refund" && t.Status == "success" {
			paid += t.Amount
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
	for _, l := range r.Lines {
		title := cmpStr(l.Title, l.Name)
		if l.Quantity <= 0 {
			continue // nothing of the line is refunded (an adjustment only)
		}
		if l.VariantID == "" {
			return out, fmt.Sprintf("%s: the line %q is not a product from the catalogue (a custom item or a deleted product), so Crossdock cannot find it in the ERP. Enter this refund in the ERP by hand.", label, title)
		}
		sub := l.Price * float64(l.Quantity)
		if l.Subtotal != nil {
			sub = *l.Subtotal
		}
		out.Lines = append(out.Lines, refundLineIn{VariantID: l.VariantID, SKU: l.SKU, Title: title, Quantity: l.Quantity, Subtotal: sub, Restocked: l.Restocked})
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
	return e.planToOdoo(rs, ev, p, vocab.Refunds, base, problem, r, refundLabel(r, ""))
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
func (e *Engine) runRefund(ctx context.Context, s store.Sync, r refundIn, cl *odoo.Client, conn store.Connection, _ verdict) result {
	var res result

	// Lines first: a refund of unmapped products cannot be sent whether or
	// not its order is there.
	mapped, ok := mapLines(ctx, e, s, conn, r.Lines, "refund", "an Odoo product", func() string { return refundLabel(r, e.shopifyOrderName(ctx, r.OrderID)) }, &res)
	if !ok {
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
