package sandbox

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// refundCreate as the 2026-04 Admin API has it (RefundInput: orderId, note,
// notify, refundLineItems [{lineItemId, quantity, restockType, locationId}],
// transactions [OrderTransactionInput {orderId, parentId, gateway, kind,
// amount}]; RefundCreatePayload: refund, order, userErrors), with
// @idempotent(key:) required from 2026-04. A line restocked (RETURN, CANCEL)
// goes back to the available and on-hand quantities of its item at the
// location given; a NO_RESTOCK line does not. A line cannot refund more than
// was bought less what earlier refunds took.
//
// Money: every order carries the SALE its checkout made (its discounted
// lines and their tax, through its gateway). A refund's transactions (kind
// REFUND, each against a parent SALE or CAPTURE) are recorded as successful
// REFUND transactions, count in the order's totalRefundedSet and lower what
// is left to refund; one larger than what its parent has left, or naming a
// parent the order does not have, refuses the whole refund. A refund without
// transactions moves no money (its total stays its lines' price, as before).
//
// Order.suggestedRefund(refundLineItems, suggestFullRefund, refundShipping)
// answers, for the lines given, their price × quantity (subtotalSet) less
// their share of the discounts plus their share of the tax (totalTaxSet),
// capped at what is left to refund (amountSet, maximumRefundableSet), as
// suggested REFUND transactions against the order's payments. Shipping and
// duties are not modelled.

func init() {
	schema["Mutation"]["refundCreate"] = "RefundCreatePayload"
	schema["RefundCreatePayload"] = map[string]string{"refund": "Refund", "order": "Order", "userErrors": "[UserError]"}
	schema["RefundLineItem"]["location"] = "Location"
	schema["Refund"]["transactions"] = "*OrderTransaction"
	schema["Order"]["transactions"] = "[OrderTransaction]"
	schema["Order"]["totalRefundedSet"] = "MoneyBag"
	schema["Order"]["totalReceivedSet"] = "MoneyBag"
	schema["Order"]["suggestedRefund"] = "SuggestedRefund"
	schema["OrderTransaction"] = map[string]string{"id": "ID", "kind": "OrderTransactionKind", "status": "OrderTransactionStatus",
		"gateway": "String", "amountSet": "MoneyBag", "createdAt": "DateTime", "processedAt": "DateTime",
		"parentTransaction": "OrderTransaction", "order": "Order"}
	schema["SuggestedRefund"] = map[string]string{"amountSet": "MoneyBag", "subtotalSet": "MoneyBag", "totalTaxSet": "MoneyBag",
		"discountedSubtotalSet": "MoneyBag", "totalCartDiscountAmountSet": "MoneyBag", "maximumRefundableSet": "MoneyBag",
		"refundLineItems": "[RefundLineItem]", "suggestedTransactions": "[SuggestedOrderTransaction]"}
	schema["SuggestedOrderTransaction"] = map[string]string{"kind": "SuggestedOrderTransactionKind", "gateway": "String",
		"formattedGateway": "String", "amountSet": "MoneyBag", "maximumRefundableSet": "MoneyBag", "parentTransaction": "OrderTransaction"}
}

// RefundLineItemRestockType values.
var restockTypes = map[string]bool{"RETURN": true, "CANCEL": true, "NO_RESTOCK": true, "LEGACY_RESTOCK": true}

type refundCreateP struct {
	o    *Order
	r    *Refund
	errs []userErr
}

func (p refundCreateP) field(name string) any {
	switch name {
	case "userErrors":
		return errList(p.errs)
	case "refund":
		if p.r == nil {
			return nil
		}
		return refundRef{p.o, p.r}
	case "order":
		return nilIfMissing(p.o)
	}
	return nil
}

func (s *Shop) locationByID(id int64) *Location {
	for _, l := range s.locations {
		if l.ID == id {
			return l
		}
	}
	return nil
}

func (s *Shop) refundCreate(args map[string]any) refundCreateP {
	in, _ := args["input"].(map[string]any)
	bad := func(field []string, msg string) refundCreateP {
		return refundCreateP{errs: []userErr{{field: field, message: msg}}}
	}
	orderID, _ := in["orderId"].(string)
	kind, num, ok := parseGID(orderID)
	o := s.orderByID[num]
	if !ok || kind != "Order" || o == nil {
		return bad([]string{"orderId"}, "Order does not exist")
	}
	refunded := map[int64]int{}
	for _, r := range o.Refunds {
		for _, l := range r.Lines {
			refunded[l.LineItemID] += l.Quantity
		}
	}
	items, _ := in["refundLineItems"].([]any)
	if len(items) > maxInput {
		return bad([]string{"refundLineItems"}, fmt.Sprintf("The input array size of %d is greater than the maximum allowed of %d.", len(items), maxInput))
	}
	type take struct {
		li    *LineItem
		qty   int
		typ   string
		loc   *Location
		level *level
	}
	var takes []take
	for i, it := range items {
		m, _ := it.(map[string]any)
		field := func(f string) []string { return []string{"refundLineItems", strconv.Itoa(i), f} }
		lineID, _ := m["lineItemId"].(string)
		_, lid, _ := parseGID(lineID)
		var li *LineItem
		for j := range o.LineItems {
			if o.LineItems[j].ID == lid {
				li = &o.LineItems[j]
			}
		}
		if li == nil {
			return bad(field("lineItemId"), "Line item does not exist on this order")
		}
		q := toInt(m["quantity"])
		if q < 1 {
			return bad(field("quantity"), "Quantity must be greater than 0")
		}
		if refunded[li.ID]+q > li.Quantity {
			return bad(field("quantity"), fmt.Sprintf("Quantity cannot refund more items than were purchased (%d of %d already refunded)", refunded[li.ID], li.Quantity))
		}
		refunded[li.ID] += q
		typ, _ := m["restockType"].(string)
		if typ == "" {
			typ = "NO_RESTOCK"
		}
		if !restockTypes[typ] {
			return bad(field("restockType"), "Restock type is not valid")
		}
		t := take{li: li, qty: q, typ: typ}
		if typ != "NO_RESTOCK" {
			locID, _ := m["locationId"].(string)
			_, ln, _ := parseGID(locID)
			if t.loc = s.locationByID(ln); t.loc == nil {
				return bad(field("locationId"), "Location is required to restock")
			}
			v := s.variantByID[li.VariantID]
			if v != nil {
				t.level = s.levels[levelKey{v.InventoryItemID, t.loc.ID}]
			}
			if t.level == nil {
				return bad(field("locationId"), "The item is not stocked at this location")
			}
		}
		takes = append(takes, t)
	}
	if len(takes) == 0 {
		return bad([]string{"refundLineItems"}, "A refund needs line items to refund")
	}
	txs, ue := refundTransactions(o, in)
	if ue != nil {
		return refundCreateP{errs: []userErr{*ue}}
	}
	now := s.now()
	s.seq++
	r := Refund{ID: 9000000000000 + s.seq, CreatedAt: now}
	r.Note, _ = in["note"].(string)
	var cents int64
	for _, t := range takes {
		s.seq++
		rl := RefundLine{ID: 11000000000000 + s.seq, LineItemID: t.li.ID, Quantity: t.qty, RestockType: t.typ}
		if t.loc != nil {
			rl.LocationID = t.loc.ID
			t.level.available += t.qty
			t.level.onHand += t.qty
			t.level.updatedAt = now
		}
		cents += parseCents(t.li.Price) * int64(t.qty)
		r.Lines = append(r.Lines, rl)
	}
	if len(txs) > 0 {
		cents = 0
		for _, t := range txs {
			s.txSeq++
			t.ID, t.CreatedAt = 6000000000000+s.txSeq, now
			o.Transactions = append(o.Transactions, t)
			r.TransactionIDs = append(r.TransactionIDs, t.ID)
			cents += parseCents(t.Amount)
		}
		o.FinancialStatus = "PARTIALLY_REFUNDED"
		if o.refundableCents() == 0 {
			o.FinancialStatus = "REFUNDED"
		}
	}
	r.Amount = formatCents(cents)
	o.Refunds = append(o.Refunds, r)
	o.UpdatedAt = now
	return refundCreateP{o: o, r: &o.Refunds[len(o.Refunds)-1]}
}

// refundTransactions checks a refund's transactions against the order's
// payments: each a REFUND of a positive amount, against a SALE or CAPTURE
// of the order through the same gateway, and never more than that payment
// has left to refund (earlier transactions of the same refund included).
// Nothing is changed; ue is the first problem.
func refundTransactions(o *Order, in map[string]any) ([]Transaction, *userErr) {
	items, _ := in["transactions"].([]any)
	left := map[int64]int64{}
	for _, t := range o.Transactions {
		if t.isPayment() {
			left[t.ID] = parseCents(t.Amount) - o.refundedFrom(t.ID)
		}
	}
	var out []Transaction
	for i, it := range items {
		m, _ := it.(map[string]any)
		field := func(f string) []string { return []string{"transactions", strconv.Itoa(i), f} }
		bad := func(f, msg string) ([]Transaction, *userErr) { return nil, &userErr{field: field(f), message: msg} }
		if id, _ := m["orderId"].(string); id != "" && id != o.GID() {
			return bad("orderId", "Order does not exist")
		}
		if kind, _ := m["kind"].(string); kind != "REFUND" {
			return bad("kind", "Kind is not valid for a refund: only REFUND transactions can be created")
		}
		parentID, _ := m["parentId"].(string)
		pk, pid, ok := parseGID(parentID)
		var parent *Transaction
		for j := range o.Transactions {
			if t := &o.Transactions[j]; ok && pk == "OrderTransaction" && t.ID == pid && t.isPayment() {
				parent = t
			}
		}
		if parent == nil {
			return bad("parentId", "Parent transaction does not exist")
		}
		if gw, _ := m["gateway"].(string); gw != parent.Gateway {
			return bad("gateway", fmt.Sprintf("Gateway must be the parent transaction's gateway (%s)", parent.Gateway))
		}
		amount := parseCents(fmt.Sprint(m["amount"]))
		if amount <= 0 {
			return bad("amount", "Amount must be greater than 0")
		}
		// The wording follows Shopify's refund error as far as we could
		// find it; Shopify's exact text was not found in a source.
		if amount > left[parent.ID] {
			return bad("amount", fmt.Sprintf("Amount %s is greater than the %s left to refund on this payment", formatCents(amount),
				formatCents(left[parent.ID])))
		}
		left[parent.ID] -= amount
		out = append(out, Transaction{Kind: "REFUND", Status: "SUCCESS", Gateway: parent.Gateway, Amount: formatCents(amount), ParentID: parent.ID})
	}
	return out, nil
}

// addSale records the money an order's checkout took: one SALE of what the
// customer paid, through the order's gateway ("manual" when none is named).
func (s *Shop) addSale(o *Order, at time.Time) Transaction {
	s.txSeq++
	t := Transaction{ID: 6000000000000 + s.txSeq, Kind: "SALE", Status: "SUCCESS", Gateway: cmpOr(o.Gateway, "manual"),
		Amount: formatCents(o.paidCents()), CreatedAt: at}
	o.Transactions = append(o.Transactions, t)
	return t
}

// shareDiscount spreads an order discount over its lines in proportion to
// their price × quantity, the last line taking what rounding leaves.
func shareDiscount(lines []LineItem, cents int64) error {
	if cents <= 0 || len(lines) == 0 {
		return nil
	}
	var sub int64
	for _, l := range lines {
		sub += parseCents(l.Price) * int64(l.Quantity)
	}
	if cents > sub {
		return fmt.Errorf("sandbox: a discount of %s is more than the order's %s", formatCents(cents), formatCents(sub))
	}
	left := cents
	for i := range lines {
		share := left
		if i < len(lines)-1 {
			share = cents * parseCents(lines[i].Price) * int64(lines[i].Quantity) / sub
		}
		lines[i].Discount = formatCents(share)
		left -= share
	}
	return nil
}

// RefundDirect refunds money of an order by hand, as a merchant does in the
// admin with "Refund" and no items: one REFUND transaction of amount against
// the order's payment, recorded as a refund with no lines.
func (s *Shop) RefundDirect(orderID, amount, note string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, id, _ := parseGID(orderID)
	o := s.orderByID[id]
	if o == nil {
		return fmt.Errorf("sandbox: order %s does not exist", orderID)
	}
	var sale *Transaction
	for i := range o.Transactions {
		if o.Transactions[i].isPayment() {
			sale = &o.Transactions[i]
			break
		}
	}
	if sale == nil {
		return fmt.Errorf("sandbox: order %s has no payment to refund", orderID)
	}
	txs, ue := refundTransactions(o, map[string]any{"transactions": []any{map[string]any{"kind": "REFUND", "parentId": sale.GID(),
		"gateway": sale.Gateway, "amount": amount}}})
	if ue != nil {
		return fmt.Errorf("sandbox: %s", ue.message)
	}
	now := s.now()
	s.seq++
	s.txSeq++
	t := txs[0]
	t.ID, t.CreatedAt = 6000000000000+s.txSeq, now
	o.Transactions = append(o.Transactions, t)
	o.Refunds = append(o.Refunds, Refund{ID: 9000000000000 + s.seq, CreatedAt: now, Note: note, Amount: t.Amount, TransactionIDs: []int64{t.ID}})
	o.FinancialStatus = "PARTIALLY_REFUNDED"
	if o.refundableCents() == 0 {
		o.FinancialStatus = "REFUNDED"
	}
	o.UpdatedAt = now
	return nil
}

// ---- suggestedRefund ----

type (
	txRef struct {
		o *Order
		t Transaction
	}
	suggestedRefundSrc struct {
		o                                    *Order
		subtotal, discount, tax, amount, max int64
		lines                                []RefundLine
		txs                                  []suggestedTxSrc
	}
	suggestedTxSrc struct {
		parent      txRef
		amount, max int64
	}
)

// suggestRefund works out the refund of the lines args names (or of every
// line still refundable with suggestFullRefund): a quantity beyond what is
// left to refund of a line is capped, as Shopify caps it.
func (s *Shop) suggestRefund(o *Order, args map[string]any) (any, error) {
	refunded := map[int64]int{}
	for _, r := range o.Refunds {
		for _, l := range r.Lines {
			refunded[l.LineItemID] += l.Quantity
		}
	}
	want := map[int64]int{}
	var order []int64
	add := func(id int64, q int) {
		if _, ok := want[id]; !ok {
			order = append(order, id)
		}
		want[id] += q
	}
	if full, _ := args["suggestFullRefund"].(bool); full {
		for _, li := range o.LineItems {
			add(li.ID, li.Quantity)
		}
	} else {
		items, _ := args["refundLineItems"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			lineID, _ := m["lineItemId"].(string)
			kind, lid, ok := parseGID(lineID)
			if !ok || kind != "LineItem" {
				return nil, fmt.Errorf("Invalid global id '%s'", lineID)
			}
			add(lid, toInt(m["quantity"]))
		}
	}
	sr := suggestedRefundSrc{o: o}
	for _, id := range order {
		var li *LineItem
		for j := range o.LineItems {
			if o.LineItems[j].ID == id {
				li = &o.LineItems[j]
			}
		}
		if li == nil {
			return nil, fmt.Errorf("Line item %s does not exist on this order", gid("LineItem", id))
		}
		q := min(want[id], li.Quantity-refunded[id])
		if q <= 0 {
			continue
		}
		qty := int64(li.Quantity)
		sr.subtotal += parseCents(li.Price) * int64(q)
		sr.discount += parseCents(li.Discount) * int64(q) / qty
		sr.tax += (o.lineTax(*li)*int64(q)*2 + qty) / (2 * qty) // the share, rounded half up
		sr.lines = append(sr.lines, RefundLine{LineItemID: id, Quantity: q, RestockType: "NO_RESTOCK"})
	}
	sr.max = o.refundableCents()
	sr.amount = min(sr.subtotal-sr.discount+sr.tax, sr.max)
	left := sr.amount
	for _, t := range o.Transactions {
		if left <= 0 {
			break
		}
		if !t.isPayment() {
			continue
		}
		room := parseCents(t.Amount) - o.refundedFrom(t.ID)
		if room <= 0 {
			continue
		}
		take := min(left, room)
		sr.txs = append(sr.txs, suggestedTxSrc{parent: txRef{o, t}, amount: take, max: room})
		left -= take
	}
	return sr, nil
}

// moneyField resolves the transaction and suggested-refund types.
func (s *Shop) moneyField(src any, name string) (any, bool, error) {
	switch v := src.(type) {
	case txRef:
		t := v.t
		switch name {
		case "id":
			return t.GID(), true, nil
		case "kind":
			return t.Kind, true, nil
		case "status":
			return t.Status, true, nil
		case "gateway":
			return t.Gateway, true, nil
		case "amountSet":
			return moneyBagSrc{t.Amount}, true, nil
		case "createdAt", "processedAt":
			return dt(t.CreatedAt), true, nil
		case "order":
			return v.o, true, nil
		case "parentTransaction":
			for _, p := range v.o.Transactions {
				if t.ParentID != 0 && p.ID == t.ParentID {
					return txRef{v.o, p}, true, nil
				}
			}
			return nil, true, nil
		}
		return nil, true, nil
	case suggestedRefundSrc:
		switch name {
		case "amountSet":
			return moneyBagSrc{formatCents(v.amount)}, true, nil
		case "subtotalSet":
			return moneyBagSrc{formatCents(v.subtotal)}, true, nil
		case "totalTaxSet":
			return moneyBagSrc{formatCents(v.tax)}, true, nil
		case "discountedSubtotalSet":
			return moneyBagSrc{formatCents(v.subtotal - v.discount)}, true, nil
		case "totalCartDiscountAmountSet":
			return moneyBagSrc{formatCents(v.discount)}, true, nil
		case "maximumRefundableSet":
			return moneyBagSrc{formatCents(v.max)}, true, nil
		case "refundLineItems":
			out := make([]any, 0, len(v.lines))
			for _, l := range v.lines {
				out = append(out, refundLineRef{o: v.o, rl: l})
			}
			return out, true, nil
		case "suggestedTransactions":
			out := make([]any, 0, len(v.txs))
			for _, t := range v.txs {
				out = append(out, t)
			}
			return out, true, nil
		}
		return nil, true, nil
	case suggestedTxSrc:
		switch name {
		case "kind":
			return "SUGGESTED_REFUND", true, nil
		case "gateway", "formattedGateway":
			return v.parent.t.Gateway, true, nil
		case "amountSet":
			return moneyBagSrc{formatCents(v.amount)}, true, nil
		case "maximumRefundableSet":
			return moneyBagSrc{formatCents(v.max)}, true, nil
		case "parentTransaction":
			return v.parent, true, nil
		}
		return nil, true, nil
	}
	return nil, false, nil
}

// refundTxs is a refund's transactions, as a connection.
func (s *Shop) refundTxs(e *executor, o *Order, r *Refund, args map[string]any) (any, error) {
	var ts []txRef
	for _, t := range o.Transactions {
		if slices.Contains(r.TransactionIDs, t.ID) {
			ts = append(ts, txRef{o, t})
		}
	}
	return paginate(e, ts, func(t txRef) int64 { return t.t.ID }, args)
}

// orderTxs is an order's transactions, as Order.transactions lists them.
func orderTxs(o *Order, args map[string]any) []any {
	n := len(o.Transactions)
	if f, ok := args["first"]; ok && f != nil {
		n = min(n, toInt(f))
	}
	out := make([]any, 0, n)
	for _, t := range o.Transactions[:n] {
		out = append(out, txRef{o, t})
	}
	return out
}
