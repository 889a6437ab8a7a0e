package engine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The orders flow into QuickBooks Online: a Shopify order becomes a sales
// receipt (paid) or an invoice (not paid yet), as the connection's "Record
// orders as" setting says. Its lines are the mapped items, then shipping
// (QuickBooks' shipping item) and the order's discount as lines; taxed
// lines carry the tax code their Shopify tax maps to, the others NON, and a
// sales receipt the payment method and deposit account its payment gateway
// maps to (quickbooks_taxes.go). The customer is found by e-mail or
// created, one per e-mail.
//
// Exactly once: the document's number is the Shopify order number, looked
// up before creating, and the create carries a requestid derived from the
// sync's idempotency key and what is sent, so a retry or a replay gets
// QuickBooks' first answer instead of a second document.
const flowOrdersQuickBooks = "orders.shopify_quickbooks"

// quickbooksOrdersFlow sends Shopify orders into QuickBooks Online.
func quickbooksOrdersFlow() Flow {
	return Flow{Name: flowOrdersQuickBooks, Family: vocab.Orders, From: vocab.KindShopify, To: vocab.KindQuickBooks,
		Topics: []string{"orders/create"}, Plan: (*Engine).planQuickBooksOrder,
		Lease: leaseOn("order"), Personal: []string{"name", "email"},
		Run: runWith(runSpec[qbOrderIn, *quickbooks.Client]{record: "order", connect: (*Engine).quickbooks, body: (*Engine).runQuickBooksOrder})}
}

// qbOrderIn is a Shopify order as the flow reads it; the sync's payload.
type qbOrderIn struct {
	orderIn
	Paid      bool         `json:"paid"`
	Discount  float64      `json:"discount,omitempty"`
	Taxed     bool         `json:"taxed,omitempty"` // Shopify charged tax on the order
	Shipping  []qbShipping `json:"shipping_lines,omitempty"`
	TaxedSKUs []string     `json:"taxed_lines,omitempty"` // variant GIDs of the taxable lines
	// LineTaxes are the taxes of each taxed line (variant GID → tax keys,
	// qbTaxKey); Taxes the order's, for lines that name none.
	LineTaxes map[string][]string `json:"line_taxes,omitempty"`
	Taxes     []string            `json:"taxes,omitempty"`
	// Gateway is the payment gateway the order is mapped by (qbGateway).
	Gateway string `json:"gateway,omitempty"`
}

type qbShipping struct {
	Title string  `json:"title"`
	Price float64 `json:"price"`
}

// parseQuickBooksOrder reads an orders/create payload: what the Odoo flow
// reads, and the amounts a sales document needs.
func parseQuickBooksOrder(payload []byte, topic string) (qbOrderIn, string) {
	base, problem := parseOrder(payload, topic)
	o := qbOrderIn{orderIn: base}
	if problem != "" {
		return o, problem
	}
	r, err := shopify.DecodeOrder(payload)
	if err != nil {
		return o, "Shopify sent an order Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	switch r.FinancialStatus {
	case "paid", "partially_refunded", "refunded":
		o.Paid = true
	}
	label := "Order " + cmpStr(o.Name, o.ID)
	num := func(what, v string) (float64, string) {
		if strings.TrimSpace(v) == "" {
			return 0, ""
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Sprintf("%s has a %s Crossdock cannot read (%q). Nothing was sent on.", label, what, v)
		}
		return f, ""
	}
	var bad string
	if o.Discount, bad = num("discount", r.TotalDiscounts); bad != "" {
		return o, bad
	}
	tax, bad := num("tax amount", r.TotalTax)
	if bad != "" {
		return o, bad
	}
	o.Taxed = tax > 0
	for _, s := range r.ShippingLines {
		p, bad := num("shipping price", s.Price)
		if bad != "" {
			return o, bad
		}
		if p > 0 {
			o.Shipping = append(o.Shipping, qbShipping{Title: s.Title, Price: p})
		}
	}
	o.Taxes, o.Gateway = qbTaxKeys(r.TaxLines), qbGateway(r.Gateways)
	for _, l := range r.Lines {
		if l.Taxable && l.VariantID != "" {
			o.TaxedSKUs = append(o.TaxedSKUs, l.VariantID)
			if ks := qbTaxKeys(l.TaxLines); len(ks) > 0 {
				if o.LineTaxes == nil {
					o.LineTaxes = map[string][]string{}
				}
				o.LineTaxes[l.VariantID] = ks
			}
		}
	}
	return o, ""
}

// planQuickBooksOrder turns an orders/create event into one sync per
// QuickBooks company that receives orders.
func (e *Engine) planQuickBooksOrder(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	o, problem := parseQuickBooksOrder(ev.Payload, ev.Topic)
	base := store.NewSync{Family: vocab.Orders, Direction: vocab.ShopifyToQuickBooks, Flow: flowOrdersQuickBooks,
		SourceConnectionID: ev.ConnectionID, Trigger: store.TriggerWebhook, EntityType: entityOrder, EntityRef: o.ID,
		EntityKey: cmpStr(o.Name, o.ID), SearchKeys: o.searchKeys(), SourceVersion: o.UpdatedAt,
		IdempotencyKey: o.ID, MaxAttempts: e.cfg.MaxAttempts}
	return e.planToQuickBooks(rs, ev, p, vocab.Orders, base, problem, o, "Order "+cmpStr(o.Name, o.ID))
}

// planToQuickBooks fans a Shopify record's event out into one sync per
// QuickBooks company that could receive its family.
func (e *Engine) planToQuickBooks(rs rules.Rules, ev store.WebhookEvent, p eventPlan, f vocab.Family, base store.NewSync, problem string, rec any, label string) eventPlan {
	tgts := targets(rs, f, vocab.KindQuickBooks)
	if len(tgts) == 0 {
		p.outcome.Status = store.WebhookIgnored
		p.outcome.Error = "No QuickBooks company is connected to receive " + string(f) + "."
		return p
	}
	base.WebhookEventID = ev.ID
	return e.fanOut(p, rs, ev, base, f, tgts, problem, rec, func(t int64) string {
		return fmt.Sprintf("%s is waiting to be sent to %s.", label, rs.Name(t))
	})
}

// qbRequestID is the requestid of a create: the same sync key and the same
// body give the same id (a retry, a replay: QuickBooks answers the first
// result); a corrected body gets a new one.
func qbRequestID(flow, key string, body any) string {
	b, _ := json.Marshal(body)
	sum := sha256.Sum256(b)
	return quickbooks.RequestID(flow + "|" + key + "|" + hex.EncodeToString(sum[:8]))
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// qbDocNumber is the QuickBooks document number of a Shopify order: its
// number without "#" (at most 21 characters).
func qbDocNumber(o orderIn) string {
	doc := strings.TrimPrefix(strings.TrimSpace(o.Name), "#")
	if o.Number != 0 {
		doc = strconv.Itoa(o.Number)
	}
	if len(doc) > 21 {
		doc = doc[len(doc)-21:]
	}
	return doc
}

// runQuickBooksOrder creates the order as a sales receipt or an invoice,
// once.
func (e *Engine) runQuickBooksOrder(ctx context.Context, s store.Sync, o qbOrderIn, cl *quickbooks.Client, conn store.Connection, _ verdict) result {
	var res result
	label := "Order " + cmpStr(o.Name, o.ID)
	entity := quickbooks.EntitySalesReceipt
	switch conn.Settings[quickbooks.FieldOrdersAs] {
	case quickbooks.OrdersInvoice:
		entity = quickbooks.EntityInvoice
	case quickbooks.OrdersSalesReceipt:
	default:
		if !o.Paid {
			entity = quickbooks.EntityInvoice
		}
	}
	doc := qbDocNumber(o.orderIn)
	what := qbLabel(entity)

	// Lines: Shopify variants to QuickBooks items, through the mappings.
	mapped, ok := mapLines(ctx, e, s, conn, o.Lines, "order", "a QuickBooks product", func() string { return label }, &res)
	if !ok {
		return res
	}
	// Tax codes: a tax with no QuickBooks code fails the order before
	// anything is written.
	codes := map[string]string{}
	if o.Taxed {
		if codes, ok = e.qbTaxCodes(ctx, s, conn, o, label, &res); !ok {
			return res
		}
	}

	// Sent already (by an earlier sync, or a person)? Its number says.
	// A sync's first attempt does not ask: the requestid answers a retry
	// with the first result, and QuickBooks refuses a second use of a
	// number (6210), which is when the number is looked up. A retry or a
	// replay asks first: its body, and so its requestid, may have changed
	// since, and a company may allow numbers twice.
	alreadyThere := func() bool {
		ex, found, err := cl.TxnByDocNumber(ctx, entity, doc)
		if err != nil {
			res.err = err
			return true
		}
		if found {
			res.status, res.targetRef = vocab.SyncSucceeded, ex.ID
			res.response = map[string]any{"entity": entity, "id": ex.ID, "doc_number": ex.DocNumber, "total": ex.TotalAmt, "created": false}
			res.message = fmt.Sprintf("%s was already in %s as %s %s; nothing was created again.", label, conn.Name, what, cmpStr(ex.DocNumber, ex.ID))
		}
		return found
	}
	if retriedOrReplayed(s) && alreadyThere() {
		return res
	}

	_, remembered := cl.KnownCustomer(o.Email)
	cust, custCreated, err := e.ensureQuickBooksCustomer(ctx, s, cl, qbCustomerOf(o.orderIn))
	if err != nil {
		res.err = err
		return res
	}

	txn := quickbooks.Txn{DocNumber: doc, TxnDate: o.CreatedAt.Format("2006-01-02"), CustomerRef: &quickbooks.Ref{Value: cust.ID, Name: cust.DisplayName},
		PrivateNote: "Shopify order " + cmpStr(o.Name, o.ID) + " (" + o.ID + ")"}
	if o.Email != "" {
		txn.BillEmail = &quickbooks.Email{Address: o.Email}
	}
	if entity == quickbooks.EntitySalesReceipt {
		if txn.PaymentMethodRef, txn.DepositToAccountRef, err = e.qbPayment(ctx, s, conn, o.Gateway); err != nil {
			res.err = err
			return res
		}
	}
	for _, l := range o.Lines {
		price, _ := strconv.ParseFloat(l.Price, 64)
		code := cmp.Or(codes[l.VariantID], "NON")
		txn.Line = append(txn.Line, quickbooks.Line{Description: l.Title, Amount: round2(price * float64(l.Quantity)), DetailType: "SalesItemLineDetail",
			SalesItemLineDetail: &quickbooks.SalesItemLineDetail{ItemRef: quickbooks.Ref{Value: mapped[l.VariantID]}, Qty: float64(l.Quantity),
				UnitPrice: price, TaxCodeRef: &quickbooks.Ref{Value: code}}})
	}
	for _, sh := range o.Shipping {
		txn.Line = append(txn.Line, quickbooks.Line{Description: cmpStr(sh.Title, "Shipping"), Amount: round2(sh.Price), DetailType: "SalesItemLineDetail",
			SalesItemLineDetail: &quickbooks.SalesItemLineDetail{ItemRef: quickbooks.Ref{Value: quickbooks.ShippingItemID}}})
	}
	if o.Discount > 0 {
		txn.Line = append(txn.Line, quickbooks.Line{Description: "Shopify discounts", Amount: round2(o.Discount), DetailType: "DiscountLineDetail",
			DiscountLineDetail: &quickbooks.DiscountLineDetail{}})
	}
	reqID := qbRequestID(s.Flow, s.IdempotencyKey, txn)
	res.request = map[string]any{"entity": entity, "requestid": reqID, "body": txn}
	var created quickbooks.Txn
	err = cl.Create(ctx, entity, reqID, txn, &created)
	if remembered && isQBCode(err, quickbooks.CodeNotFound) {
		// The customer remembered may have been made inactive or merged in
		// QuickBooks since: look it up again, and send once more if it is
		// another one (the same one means something else was not found).
		cl.ForgetCustomer(o.Email)
		c := qbCustomerOf(o.orderIn)
		c.Replaces = cust.ID
		again, againCreated, lookErr := e.ensureQuickBooksCustomer(ctx, s, cl, c)
		if lookErr == nil && again.ID != cust.ID {
			cust, custCreated = again, againCreated
			txn.CustomerRef = &quickbooks.Ref{Value: cust.ID, Name: cust.DisplayName}
			reqID = qbRequestID(s.Flow, s.IdempotencyKey, txn)
			res.request = map[string]any{"entity": entity, "requestid": reqID, "body": txn}
			err = cl.Create(ctx, entity, reqID, txn, &created)
		}
	}
	if isQBCode(err, quickbooks.CodeDuplicateDoc) && alreadyThere() {
		return res
	}
	if err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, created.ID
	res.response = map[string]any{"entity": entity, "id": created.ID, "doc_number": created.DocNumber, "total": created.TotalAmt,
		"customer_id": cust.ID, "customer_created": custCreated, "created": true}
	res.message = fmt.Sprintf("%s was created in %s as %s %s (total %s).", label, conn.Name, what, cmpStr(created.DocNumber, created.ID),
		strconv.FormatFloat(created.TotalAmt, 'f', 2, 64))
	return res
}

// qbCustomer is a Shopify customer as QuickBooks gets it.
type qbCustomer struct {
	Email, First, Last string
	// Replaces is the customer this one stands in for, found inactive: its
	// create gets a requestid of its own (the first create's would be
	// answered with the inactive customer).
	Replaces string
}

func (c qbCustomer) name() string {
	return cmpStr(strings.TrimSpace(c.First+" "+c.Last), c.Email)
}

func qbCustomerOf(o orderIn) qbCustomer {
	c := qbCustomer{Email: o.Email}
	if o.Customer != nil {
		c.First, c.Last = o.Customer.FirstName, o.Customer.LastName
	}
	return c
}

// ensureQuickBooksCustomer finds the customer by e-mail, or creates it: one
// per e-mail. The client remembers it for a while (quickbooks.CustomerMemory),
// so a repeat buyer's next orders cost no lookup.
func (e *Engine) ensureQuickBooksCustomer(ctx context.Context, s store.Sync, cl *quickbooks.Client, c qbCustomer) (quickbooks.Customer, bool, error) {
	if known, ok := cl.KnownCustomer(c.Email); ok && (known.GivenName != "" || known.FamilyName != "" || c.First == "" && c.Last == "") {
		return known, false, nil
	}
	cust, created, err := e.findOrCreateQuickBooksCustomer(ctx, s, cl, c)
	if err == nil {
		cl.RememberCustomer(c.Email, cust)
	}
	return cust, created, err
}

// findOrCreateQuickBooksCustomer finds the customer by e-mail in QuickBooks,
// or creates it. QuickBooks wants display names unique across customers,
// suppliers and employees (6240), so a name taken by someone else gets the
// e-mail, then a number, after it; the e-mail finds the customer next time.
// A customer found without names gets them (a sparse update, re-read on a
// stale SyncToken). Two syncs of one new customer take turns on the e-mail.
func (e *Engine) findOrCreateQuickBooksCustomer(ctx context.Context, s store.Sync, cl *quickbooks.Client, c qbCustomer) (quickbooks.Customer, bool, error) {
	// The e-mail's turn is taken before the lookup, not between lookup and
	// create: a lookup made outside it would have to be made again inside,
	// one request more for every new customer.
	lease := fmt.Sprintf("qbcustomer:%d:%s", s.TargetConnectionID, strings.ToLower(c.Email))
	if err := e.waitLease(ctx, lease, s.ID, 2*time.Second); err != nil {
		return quickbooks.Customer{}, false, err
	}
	defer e.releaseLease(ctx, lease, s.ID)
	found, ok, err := cl.CustomerByEmail(ctx, c.Email)
	if err != nil {
		return quickbooks.Customer{}, false, err
	}
	if ok {
		if found.GivenName == "" && found.FamilyName == "" && (c.First != "" || c.Last != "") {
			var out quickbooks.Customer
			err := cl.SparseUpdate(ctx, quickbooks.EntityCustomer, found.ID, func(id, st string) any {
				return quickbooks.Customer{ID: id, SyncToken: st, Sparse: true, GivenName: c.First, FamilyName: c.Last}
			}, &out)
			if err != nil {
				return quickbooks.Customer{}, false, err
			}
			return out, false, nil
		}
		return found, false, nil
	}
	names := []string{c.name(), c.name() + " (" + c.Email + ")"}
	for i := 2; i <= 5; i++ {
		names = append(names, fmt.Sprintf("%s (%s) %d", c.name(), c.Email, i))
	}
	var last error
	for _, dn := range names {
		if len(dn) > 100 {
			dn = dn[:100]
		}
		in := quickbooks.Customer{DisplayName: dn, GivenName: c.First, FamilyName: c.Last, PrimaryEmailAddr: &quickbooks.Email{Address: c.Email}}
		var out quickbooks.Customer
		key := strings.ToLower(c.Email)
		if c.Replaces != "" {
			key += "|replaces " + c.Replaces
		}
		err := cl.Create(ctx, quickbooks.EntityCustomer, qbRequestID("customer", key, in), in, &out)
		if err == nil {
			return out, true, nil
		}
		if !isQBCode(err, quickbooks.CodeDuplicateName) {
			return quickbooks.Customer{}, false, err
		}
		last = err
	}
	return quickbooks.Customer{}, false, last
}

func isQBCode(err error, code string) bool {
	qe, ok := asQB(err)
	return ok && qe.Code == code
}
