package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"crossdock/connectors/quickbooks"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The refunds flow into QuickBooks Online: a Shopify refund of products
// becomes a refund receipt when its order is a sales receipt there, or a
// credit memo when it is an invoice, for the same customer, with a line per
// refunded product (mapped item, quantity, refunded amount). The order's
// document is the one the orders flow made (its sync's target); a refund
// whose order has not reached QuickBooks yet waits for it.
//
// Stock: QuickBooks puts the quantity of a refund receipt's or credit
// memo's line back on hand when its item is an inventory item and the
// company tracks quantities. A line Shopify restocked carries its item and
// quantity, so it goes back on hand; a line Shopify did not restock (kept,
// damaged) is sent as its amount alone when its item tracks quantities, so
// QuickBooks' count is left as it is.
const flowRefundsQuickBooks = "refunds.shopify_quickbooks"

// quickbooksRefundsFlow sends Shopify refunds into QuickBooks Online.
func quickbooksRefundsFlow() Flow {
	return Flow{Name: flowRefundsQuickBooks, Family: vocab.Refunds, From: vocab.KindShopify, To: vocab.KindQuickBooks,
		Topics: []string{"refunds/create"}, Plan: (*Engine).planQuickBooksRefund, Lease: leaseOn("refund"),
		Run: runWith(runSpec[refundIn, *quickbooks.Client]{record: "refund", connect: (*Engine).quickbooks, body: (*Engine).runQuickBooksRefund})}
}

func (e *Engine) planQuickBooksRefund(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	r, problem := parseRefund(ev.Payload)
	key := refundLabel(r, "")
	if r.ID != "" {
		key = "Refund " + gidTail(r.ID) + " of order " + gidTail(r.OrderID)
	}
	base := store.NewSync{Family: vocab.Refunds, Direction: vocab.ShopifyToQuickBooks, Flow: flowRefundsQuickBooks,
		SourceConnectionID: ev.ConnectionID, Trigger: store.TriggerWebhook, EntityType: entityRefund, EntityRef: r.ID,
		EntityKey: key, SearchKeys: r.searchKeys(), SourceVersion: r.CreatedAt,
		IdempotencyKey: r.ID, MaxAttempts: e.cfg.MaxAttempts}
	return e.planToQuickBooks(rs, ev, p, vocab.Refunds, base, problem, r, refundLabel(r, ""))
}

// quickbooksOrderDoc finds the QuickBooks document the orders flow made of
// a Shopify order: the target of its last successful sync into conn.
func (e *Engine) quickbooksOrderDoc(ctx context.Context, cl *quickbooks.Client, conn store.Connection, orderGID string) (quickbooks.Txn, string, bool, error) {
	ss, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Status: vocab.SyncSucceeded, Family: vocab.Orders,
		TargetConnectionID: conn.ID, Search: orderGID, Limit: 20})
	if err != nil {
		return quickbooks.Txn{}, "", false, err
	}
	for _, s := range ss {
		if s.Flow != flowOrdersQuickBooks || s.TargetRef == "" || s.EntityRef != orderGID {
			continue
		}
		for _, entity := range []string{quickbooks.EntitySalesReceipt, quickbooks.EntityInvoice} {
			var t quickbooks.Txn
			err := cl.Read(ctx, entity, s.TargetRef, &t)
			if quickbooks.IsKind(err, quickbooks.KindNotFound) {
				continue
			}
			if err != nil {
				return quickbooks.Txn{}, "", false, err
			}
			if strings.Contains(t.PrivateNote, orderGID) {
				return t, entity, true, nil
			}
		}
	}
	return quickbooks.Txn{}, "", false, nil
}

func (e *Engine) runQuickBooksRefund(ctx context.Context, s store.Sync, r refundIn, cl *quickbooks.Client, conn store.Connection, _ verdict) result {
	var res result
	label := refundLabel(r, "")
	doc, docEntity, found, err := e.quickbooksOrderDoc(ctx, cl, conn, r.OrderID)
	if err != nil {
		res.err = err
		return res
	}
	if !found {
		res.err = waitFor(fmt.Sprintf("%s cannot be sent to %s yet: its order is not there (it may still be on its way, or have failed: see Failed syncs).", label, conn.Name))
		return res
	}
	label = refundLabel(r, "#"+doc.DocNumber)
	entity := quickbooks.EntityRefundReceipt
	if docEntity == quickbooks.EntityInvoice {
		entity = quickbooks.EntityCreditMemo
	}
	num := "R" + gidTail(r.ID)
	if len(num) > 21 {
		num = num[:1] + num[len(num)-20:]
	}
	// Sent already? Its number says; asked first only on a retry or a
	// replay, as for orders (runQuickBooksOrder).
	alreadyThere := func() bool {
		ex, ok, err := cl.TxnByDocNumber(ctx, entity, num)
		if err != nil {
			res.err = err
			return true
		}
		if ok {
			res.status, res.targetRef = vocab.SyncSucceeded, ex.ID
			res.response = map[string]any{"entity": entity, "id": ex.ID, "doc_number": ex.DocNumber, "created": false}
			res.message = fmt.Sprintf("%s was already in %s as %s %s; nothing was created again.", label, conn.Name, qbLabel(entity), ex.DocNumber)
		}
		return ok
	}
	if retriedOrReplayed(s) && alreadyThere() {
		return res
	}
	mapped, ok := mapLines(ctx, e, s, conn, r.Lines, "refund", "a QuickBooks product", func() string { return label }, &res)
	if !ok {
		return res
	}
	txn := quickbooks.Txn{DocNumber: num, TxnDate: r.CreatedAt.Format("2006-01-02"), CustomerRef: doc.CustomerRef,
		PrivateNote: cmp.Or(r.Note+" — ", "") + "Shopify refund " + r.ID + " of order " + r.OrderID}
	if acct := strings.TrimSpace(conn.Settings[quickbooks.FieldDepositTo]); acct != "" && entity == quickbooks.EntityRefundReceipt {
		txn.DepositToAccountRef = &quickbooks.Ref{Value: acct}
	}
	counted, err := countedItems(ctx, cl, r.Lines, mapped)
	if err != nil {
		res.err = err
		return res
	}
	for _, l := range r.Lines {
		d := &quickbooks.SalesItemLineDetail{ItemRef: quickbooks.Ref{Value: mapped[l.VariantID]}, Qty: float64(l.Quantity),
			UnitPrice: l.PriceUnit(), TaxCodeRef: &quickbooks.Ref{Value: "NON"}}
		if !l.Restocked && counted[d.ItemRef.Value] {
			d.Qty, d.UnitPrice = 0, 0 // the amount alone: nothing goes back on hand
		}
		txn.Line = append(txn.Line, quickbooks.Line{Description: l.Title, Amount: round2(l.Subtotal), DetailType: "SalesItemLineDetail",
			SalesItemLineDetail: d})
	}
	reqID := qbRequestID(s.Flow, s.IdempotencyKey, txn)
	res.request = map[string]any{"entity": entity, "requestid": reqID, "body": txn}
	var created quickbooks.Txn
	err = cl.Create(ctx, entity, reqID, txn, &created)
	if isQBCode(err, quickbooks.CodeDuplicateDoc) && alreadyThere() {
		return res
	}
	if err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, created.ID
	res.response = map[string]any{"entity": entity, "id": created.ID, "doc_number": created.DocNumber, "total": created.TotalAmt, "created": true,
		"order_document": doc.ID}
	res.message = fmt.Sprintf("%s was created in %s as %s %s (total %s).", label, conn.Name, qbLabel(entity), created.DocNumber,
		strconv.FormatFloat(created.TotalAmt, 'f', 2, 64))
	return res
}

// countedItems are the items of a refund's lines not restocked whose
// quantity QuickBooks counts (the company tracks quantities on hand and the
// item is an inventory item tracking its own): none when every line was
// restocked, without asking QuickBooks.
func countedItems(ctx context.Context, cl *quickbooks.Client, lines []refundLineIn, mapped map[string]string) (map[string]bool, error) {
	var ids []string
	for _, l := range lines {
		if !l.Restocked && !slices.Contains(ids, mapped[l.VariantID]) {
			ids = append(ids, mapped[l.VariantID])
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	prefs, err := cl.Preferences(ctx)
	if err != nil || !prefs.ProductAndServicesPrefs.QuantityOnHand {
		return nil, err
	}
	items, err := cl.ItemsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, it := range items {
		out[it.ID] = it.TracksQuantity()
	}
	return out, nil
}
