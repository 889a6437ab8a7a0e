package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// refundSeq numbers the refunds the tests make up.
var refundSeq atomic.Int64

// refundPayload renders a refunds/create webhook body in Shopify's REST shape
// (2026-04: id, order_id, created_at, refund_line_items[].line_item,
// subtotal as a number, transactions), refunding qty[i] of the order's line
// i (0: the line is not refunded). The Shopify sandbox renders no refund
// webhooks, so the body is built here.
func refundPayload(t testing.TB, o shopsandbox.Order, qty ...int) (gid string, payload []byte) {
	t.Helper()
	id := 890088186047890000 + refundSeq.Add(1)
	var lines []map[string]any
	total := 0.0
	for i, q := range qty {
		if q == 0 {
			continue
		}
		li := o.LineItems[i]
		price, err := strconv.ParseFloat(li.Price, 64)
		require.NoError(t, err)
		sub := price * float64(q)
		total += sub
		lines = append(lines, map[string]any{
			"id": id*10 + int64(i), "quantity": q, "line_item_id": li.ID, "location_id": nil, "restock_type": "no_restock",
			"subtotal": sub, "total_tax": 0.0,
			"subtotal_set": map[string]any{"shop_money": map[string]any{"amount": fmt.Sprintf("%.2f", sub), "currency_code": "USD"}},
			"line_item": map[string]any{"id": li.ID, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/LineItem/%d", li.ID),
				"variant_id": li.VariantID, "sku": li.SKU, "title": li.Title, "name": li.Title, "quantity": li.Quantity,
				"price": li.Price, "product_exists": true},
		})
	}
	body := map[string]any{
		"id": id, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Refund/%d", id), "order_id": o.ID,
		"created_at": "2026-03-03T10:00:00-05:00", "processed_at": "2026-03-03T10:00:00-05:00", "note": "Damaged in transit",
		"restock": false, "user_id": nil, "duties": []any{}, "order_adjustments": []any{}, "refund_line_items": lines,
		"transactions": []any{map[string]any{"id": id + 1, "order_id": o.ID, "kind": "refund", "gateway": "bogus",
			"status": "success", "amount": fmt.Sprintf("%.2f", total), "currency": "USD"}},
	}
	b, err := json.Marshal(body)
	require.NoError(t, err)
	return fmt.Sprintf("gid://shopify/Refund/%d", id), b
}

// refundsRule makes Shopify decide refunds, and Odoo receive them.
func (e *env) refundsRule(t testing.TB, master int64, receivers ...int64) {
	t.Helper()
	_, err := e.st.SaveSourceRule(context.Background(), store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Refunds,
		Master: master, Receivers: receivers, Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)
}

// placed places an order and waits until the orders flow created it in Odoo.
func (e *env) placed(t testing.TB, lines ...shopsandbox.NewLine) (shopsandbox.Order, odoosandbox.SaleOrder) {
	t.Helper()
	o, payload := e.order(t, lines...)
	s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	sos := e.saleOrdersWithRef(o.GID())
	require.Len(t, sos, 1)
	return o, sos[0]
}

func (e *env) creditNotesWithRef(ref string) []odoosandbox.CreditNote {
	var out []odoosandbox.CreditNote
	for _, cn := range e.odoo.CreditNotes() {
		if cn.Ref == ref {
			out = append(out, cn)
		}
	}
	return out
}

func (e *env) creditNoteCreates() int {
	n := 0
	for _, w := range e.odoo.Writes() {
		if w.Model == "account.move" && w.Method == "create" {
			n++
		}
	}
	return n
}

func price(t testing.TB, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return f
}

func setupRefunds(t *testing.T, o options) *env {
	t.Helper()
	e := setup(t, o)
	e.refundsRule(t, e.shopConn.ID, e.odooConn.ID)
	e.start(t)
	return e
}

func TestRefundFullCreatesOneCreditNoteOnTheOrder(t *testing.T) {
	t.Parallel()
	e := setupRefunds(t, options{})
	vs := e.shop.Variants()
	o, so := e.placed(t, shopsandbox.NewLine{VariantID: vs[0].GID(), Quantity: 2}, shopsandbox.NewLine{VariantID: vs[1].GID(), Quantity: 1})

	ref, payload := refundPayload(t, o, 2, 1)
	s := e.endedSyncs(t, e.deliver(t, "refunds/create", payload))[0]
	s = e.sync(t, s.ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, vocab.Refunds, s.Family)
	require.Equal(t, ref, s.EntityRef)
	require.Equal(t, ref, s.IdempotencyKey)
	require.Equal(t, "The refund of order "+o.Name+" was created in Odoo as a draft credit note (#"+s.TargetRef+") for sales order "+so.Name+".", s.Message)
	require.NotEmpty(t, s.Request)
	require.NotEmpty(t, s.Response)

	cns := e.creditNotesWithRef(ref)
	require.Len(t, cns, 1)
	cn := cns[0]
	require.Equal(t, strconv.Itoa(cn.ID), s.TargetRef)
	require.Equal(t, so.PartnerID, cn.PartnerID, "the customer of the sales order")
	require.Equal(t, so.Name, cn.InvoiceOrigin, "linked to the sales order")
	require.Equal(t, "2026-03-03", cn.InvoiceDate)
	require.Len(t, cn.Lines, 2)
	require.Equal(t, e.productBySKU[vs[0].SKU].ID, cn.Lines[0].ProductID)
	require.Equal(t, 2.0, cn.Lines[0].Quantity)
	require.Equal(t, price(t, o.LineItems[0].Price), cn.Lines[0].PriceUnit)
	require.Equal(t, e.productBySKU[vs[1].SKU].ID, cn.Lines[1].ProductID)
	require.Equal(t, 1.0, cn.Lines[1].Quantity)
	require.Equal(t, so.AmountTotal, cn.AmountTotal, "a full refund credits the whole order")

	// Found by the order's number and by SKU on the syncs list.
	for _, term := range []string{strings.TrimPrefix(o.GID(), "gid://shopify/Order/"), vs[1].SKU} {
		got, _, err := e.st.ListSyncs(context.Background(), store.SyncFilter{Search: term, Family: "refunds"})
		require.NoError(t, err)
		require.Len(t, got, 1, term)
	}
}

func TestRefundPartialCreditsOnlyWhatWasRefunded(t *testing.T) {
	t.Parallel()
	e := setupRefunds(t, options{})
	vs := e.shop.Variants()
	o, so := e.placed(t, shopsandbox.NewLine{VariantID: vs[0].GID(), Quantity: 3}, shopsandbox.NewLine{VariantID: vs[1].GID(), Quantity: 1})

	ref, payload := refundPayload(t, o, 1, 0) // one of three of the first line
	s := e.endedSyncs(t, e.deliver(t, "refunds/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	cns := e.creditNotesWithRef(ref)
	require.Len(t, cns, 1)
	require.Len(t, cns[0].Lines, 1)
	require.Equal(t, e.productBySKU[vs[0].SKU].ID, cns[0].Lines[0].ProductID)
	require.Equal(t, 1.0, cns[0].Lines[0].Quantity)
	require.Equal(t, price(t, o.LineItems[0].Price), cns[0].AmountTotal)
	require.Less(t, cns[0].AmountTotal, so.AmountTotal)

	// A second refund of the same order is a second credit note.
	ref2, payload := refundPayload(t, o, 0, 1)
	s = e.endedSyncs(t, e.deliver(t, "refunds/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Len(t, e.creditNotesWithRef(ref2), 1)
	require.Equal(t, 2, e.creditNoteCreates())
}

func TestRefundDeliveredTwiceMakesOneCreditNote(t *testing.T) {
	t.Parallel()
	e := setupRefunds(t, options{})
	o, _ := e.placed(t)
	ref, payload := refundPayload(t, o, 1)
	first := e.deliver(t, "refunds/create", payload)
	dup := e.deliver(t, "refunds/create", payload)

	s := e.endedSyncs(t, first)[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	wait(t, "the duplicate delivery to be handled", func() bool {
		ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, dup)
		require.NoError(t, err)
		return ev.Status != store.WebhookReceived
	})
	ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, dup)
	require.NoError(t, err)
	require.Equal(t, store.WebhookIgnored, ev.Status)
	require.Contains(t, ev.Error, "Already handled")

	// A replay gets past the watermark: the credit note's ref stops it.
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "was already in Odoo")

	require.Len(t, e.creditNotesWithRef(ref), 1)
	require.Equal(t, 1, e.creditNoteCreates(), "one create in the write log")
}

func TestRefundBeforeItsOrderIsRetried(t *testing.T) {
	t.Parallel()
	// A breaker that opens at the first system failure, for a minute: waiting for
	// the order must not open it, or the order itself would be held back.
	e := setupRefunds(t, options{configure: func(c *engine.Config) {
		c.MaxAttempts, c.BreakerThreshold, c.BreakerCooldown = 20, 1, time.Minute
	}})
	o, orderPayload := e.order(t)
	ref, payload := refundPayload(t, o, 1)
	id := e.deliver(t, "refunds/create", payload)

	var s store.Sync
	wait(t, "the refund to wait for its order", func() bool {
		ss, err := e.st.SyncsOfWebhookEvent(context.Background(), id)
		require.NoError(t, err)
		if len(ss) == 0 || ss[0].Status != vocab.SyncRetrying {
			return false
		}
		s = ss[0]
		return true
	})
	require.Equal(t, vocab.ClassTransient, s.Class())
	require.True(t, strings.HasPrefix(s.Message, "Order "+strconv.FormatInt(o.ID, 10)+" has not reached Odoo yet; the refund will be retried."), s.Message)
	require.Empty(t, e.creditNotesWithRef(ref))

	// The order arrives (after the refund was first tried): its name is known now.
	os := e.endedSyncs(t, e.deliver(t, "orders/create", orderPayload))[0]
	require.Equal(t, vocab.SyncSucceeded, os.Status, os.Message)

	s = e.ended(t, s.ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Greater(t, s.Attempts, 1)
	require.Contains(t, s.Message, "The refund of order "+o.Name)
	require.Len(t, e.creditNotesWithRef(ref), 1)
	attempts, err := e.st.SyncAttempts(context.Background(), s.ID)
	require.NoError(t, err)
	require.Equal(t, vocab.ClassTransient, *attempts[0].ErrorClass)
	require.Contains(t, attempts[0].Message, "tries again")
}

func TestRefundOfUnmappedVariant(t *testing.T) {
	t.Parallel()
	e := setupRefunds(t, options{})
	vs := e.shop.Variants()
	o, _ := e.placed(t, shopsandbox.NewLine{VariantID: vs[0].GID(), Quantity: 1}, shopsandbox.NewLine{VariantID: vs[1].GID(), Quantity: 1})
	// The mapping goes away after the order was sent.
	e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", vs[1].GID())
	ref, payload := refundPayload(t, o, 1, 1)
	s := e.endedSyncs(t, e.deliver(t, "refunds/create", payload))[0]
	s = e.sync(t, s.ID)
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassUnmapped, s.Class())
	require.Equal(t, 1, s.Attempts, "unmapped is not retried")
	require.Contains(t, s.Message, vs[1].SKU+" is not mapped to an Odoo product yet")
	require.Contains(t, s.Message, "The refund of order "+o.Name)
	require.NotContains(t, s.Message, vs[0].SKU)
	require.Empty(t, e.creditNotesWithRef(ref))
	require.Zero(t, e.creditNoteCreates())
}

func TestRefundRefusedByTheSourcesOfTruth(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.refundsRule(t, e.odooConn.ID, e.shopConn.ID) // Odoo decides refunds
	e.start(t)
	o, _ := e.placed(t)
	ref, payload := refundPayload(t, o, 1)
	id := e.deliver(t, "refunds/create", payload)
	s := e.endedSyncs(t, id)[0]
	s = e.sync(t, s.ID)
	require.Equal(t, vocab.SyncRejected, s.Status, s.Message)
	require.Equal(t, vocab.ClassOwnership, s.Class())
	require.Contains(t, s.Message, "Odoo decides refunds and returns")
	require.NotEmpty(t, s.Payload, "the refund is kept")
	require.Zero(t, s.Attempts, "nothing was tried")
	ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, id)
	require.NoError(t, err)
	require.Equal(t, store.WebhookProcessed, ev.Status)
	require.Empty(t, e.creditNotesWithRef(ref))
	require.Zero(t, e.creditNoteCreates())
}

func TestRefundWithoutProductsIsKeptAsFailed(t *testing.T) {
	t.Parallel()
	e := setupRefunds(t, options{})
	o, _ := e.placed(t)
	_, payload := refundPayload(t, o, 0) // an amount-only refund
	id := e.deliver(t, "refunds/create", payload)
	s := e.endedSyncs(t, id)[0]
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassValidation, s.Class())
	require.Contains(t, s.Message, "refunds no products")
	ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, id)
	require.NoError(t, err)
	require.Equal(t, store.WebhookFailed, ev.Status)
	require.Zero(t, e.creditNoteCreates())
}
