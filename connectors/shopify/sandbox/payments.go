package sandbox

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Shopify Payments: the payouts of the shop's balance and the balance
// transactions each is made of, served under shopifyPaymentsAccount with
// the field names of the 2026-04 Admin schema. A payout's net and summary
// are computed from its transactions, as Shopify's are, so the seeded
// payout checks out: 44.52 − 1.32 + 2.13 − 0.12 − 3.54 + 0.23 = 41.90.

// PayoutTx is one balance transaction as AddPayout takes it; amounts in
// cents, net = amount − fee.
type PayoutTx struct {
	Type        string // CHARGE, REFUND, ADJUSTMENT, DISPUTE, RESERVED_FUNDS, ... (upper case)
	Amount, Fee int64
	OrderID     int64  // 0: none
	OrderName   string // "#1001"
	ProcessedAt time.Time
}

// NewPayout is a payout to add; its net is the sum of its transactions' nets.
type NewPayout struct {
	IssuedAt time.Time
	Status   string // PAID (default), SCHEDULED, FAILED, CANCELED
	TraceID  string // the bank's trace reference; "" for none
	Txs      []PayoutTx
}

// Payout is a payout as the sandbox holds it.
type Payout struct {
	ID       int64
	IssuedAt time.Time
	Status   string
	TraceID  string
	Net      int64 // cents
	summary  payoutSummary
}

// GID is the payout's global id.
func (p Payout) GID() string { return gid("ShopifyPaymentsPayout", p.ID) }

type payoutSummary struct {
	chargesGross, chargesFee, refundsGross, refundsFee, adjustmentsGross, adjustmentsFee int64
	reservedGross, reservedFee, retriedGross, retriedFee                                 int64
}

// balanceTx is compact: a busy year holds millions.
type balanceTx struct {
	id          int64
	payout      int32 // index into payments.payouts
	typ         string
	amount, fee int64
	orderID     int64
	orderName   string
	at          int64 // unix seconds
}

type payments struct {
	payouts []*Payout    // by id, ascending with issuedAt
	txs     []*balanceTx // by id, ascending with processedAt
	nextID  int64
}

type payoutSrc struct{ p *Payout }
type payoutSummarySrc struct{ p *Payout }
type balanceTxSrc struct {
	s *Shop
	t *balanceTx
}
type assocPayoutSrc struct{ p *Payout }
type assocOrderSrc struct {
	id   int64
	name string
}
type paymentsAccountSrc struct{}

func init() {
	schema["QueryRoot"]["shopifyPaymentsAccount"] = "ShopifyPaymentsAccount"
	schema["ShopifyPaymentsAccount"] = map[string]string{"id": "ID", "activated": "Boolean", "country": "String",
		"defaultCurrency": "CurrencyCode", "payouts": "*ShopifyPaymentsPayout", "balanceTransactions": "*ShopifyPaymentsBalanceTransaction"}
	schema["ShopifyPaymentsPayout"] = map[string]string{"id": "ID", "legacyResourceId": "UnsignedInt64", "issuedAt": "DateTime",
		"net": "MoneyV2", "status": "ShopifyPaymentsPayoutStatus", "transactionType": "ShopifyPaymentsPayoutTransactionType",
		"summary": "ShopifyPaymentsPayoutSummary", "externalTraceId": "String"}
	summary := map[string]string{}
	for _, f := range []string{"chargesGross", "chargesFee", "refundsFeeGross", "refundsFee", "adjustmentsGross", "adjustmentsFee",
		"reservedFundsGross", "reservedFundsFee", "retriedPayoutsGross", "retriedPayoutsFee", "advanceGross", "advanceFees"} {
		summary[f] = "MoneyV2"
	}
	schema["ShopifyPaymentsPayoutSummary"] = summary
	schema["ShopifyPaymentsBalanceTransaction"] = map[string]string{"id": "ID", "type": "ShopifyPaymentsTransactionType",
		"test": "Boolean", "amount": "MoneyV2", "fee": "MoneyV2", "net": "MoneyV2", "sourceType": "ShopifyPaymentsSourceType",
		"sourceId": "UnsignedInt64", "sourceOrderTransactionId": "UnsignedInt64", "associatedOrder": "ShopifyPaymentsAssociatedOrder",
		"associatedPayout": "ShopifyPaymentsBalanceTransactionAssociatedPayout", "adjustmentReason": "String",
		"transactionDate": "DateTime"}
	schema["ShopifyPaymentsAssociatedOrder"] = map[string]string{"id": "ID", "name": "String"}
	schema["ShopifyPaymentsBalanceTransactionAssociatedPayout"] = map[string]string{"id": "ID", "status": "ShopifyPaymentsBalanceTransactionPayoutStatus"}
}

// AddPayout adds a payout made of its transactions and returns it.
func (s *Shop) AddPayout(in NewPayout) Payout {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addPayoutLocked(in)
}

func (s *Shop) addPayoutLocked(in NewPayout) *Payout {
	pm := &s.pay
	pm.nextID++
	p := &Payout{ID: 623721858 + pm.nextID - 1, IssuedAt: in.IssuedAt.UTC().Truncate(time.Second), Status: cmpOr(in.Status, "PAID"), TraceID: in.TraceID}
	idx := int32(len(pm.payouts))
	pm.payouts = append(pm.payouts, p)
	for _, t := range in.Txs {
		at := t.ProcessedAt
		if at.IsZero() {
			at = p.IssuedAt.Add(-24 * time.Hour)
		}
		bt := &balanceTx{id: 746296004 + int64(len(pm.txs)), payout: idx, typ: strings.ToUpper(t.Type), amount: t.Amount, fee: t.Fee,
			orderID: t.OrderID, orderName: t.OrderName, at: at.Unix()}
		pm.txs = append(pm.txs, bt)
		p.Net += t.Amount - t.Fee
		sm := &p.summary
		switch bt.typ {
		case "CHARGE":
			sm.chargesGross, sm.chargesFee = sm.chargesGross+t.Amount, sm.chargesFee+t.Fee
		case "REFUND":
			sm.refundsGross, sm.refundsFee = sm.refundsGross+t.Amount, sm.refundsFee+t.Fee
		case "RESERVED_FUNDS", "RESERVE":
			sm.reservedGross, sm.reservedFee = sm.reservedGross+t.Amount, sm.reservedFee+t.Fee
		case "PAYOUT_FAILURE", "PAYOUT_CANCELLATION":
			sm.retriedGross, sm.retriedFee = sm.retriedGross+t.Amount, sm.retriedFee+t.Fee
		default: // adjustments, disputes and their reversals
			sm.adjustmentsGross, sm.adjustmentsFee = sm.adjustmentsGross+t.Amount, sm.adjustmentsFee+t.Fee
		}
	}
	// Transactions are listed by processing date: keep them in that order
	// (ids rise with it, as the cursor needs).
	if !sort.SliceIsSorted(pm.txs, func(i, j int) bool { return pm.txs[i].at < pm.txs[j].at }) {
		sort.SliceStable(pm.txs, func(i, j int) bool { return pm.txs[i].at < pm.txs[j].at })
		for i, t := range pm.txs {
			t.id = 746296004 + int64(i)
		}
	}
	return p
}

// Payouts returns the payouts, oldest first.
func (s *Shop) Payouts() []Payout {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Payout, len(s.pay.payouts))
	for i, p := range s.pay.payouts {
		out[i] = *p
	}
	return out
}

// SeedPayouts adds n daily payouts ending at last, each of txs balance
// transactions (charges with their fees, one refund in twenty), linked to
// the shop's orders in turn: a busy year for benchmarks and the demo.
func (s *Shop) SeedPayouts(n, txs int, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	orders := s.orders
	k := 0
	for d := range n {
		issued := last.AddDate(0, 0, d-n+1)
		in := NewPayout{IssuedAt: issued, TraceID: fmt.Sprintf("TRC%08d", d+1), Txs: make([]PayoutTx, 0, txs)}
		for i := range txs {
			k++
			amount := int64(1500 + (k*7919)%18000)
			t := PayoutTx{Type: "CHARGE", Amount: amount, Fee: amount*29/1000 + 30,
				ProcessedAt: issued.Add(-24*time.Hour + time.Duration(i)*time.Second)}
			if k%20 == 0 {
				t.Type, t.Amount, t.Fee = "REFUND", -amount/2, 0
			}
			if len(orders) > 0 {
				o := orders[k%len(orders)]
				t.OrderID, t.OrderName = o.ID, o.Name
			}
			in.Txs = append(in.Txs, t)
		}
		s.addPayoutLocked(in)
	}
}

// seedPayments adds the payout of the Shopify SDK's fixture
// (shopify-rest-payout-single.json): 41.90 paid on 2012-11-12, its charges
// on the shop's first orders.
func (s *Shop) seedPayments() {
	var o1, o2 *Order
	if len(s.orders) > 1 {
		o1, o2 = s.orders[0], s.orders[1]
	}
	ref := func(o *Order) (int64, string) {
		if o == nil {
			return 0, ""
		}
		return o.ID, o.Name
	}
	issued := time.Date(2012, 11, 12, 12, 0, 0, 0, time.UTC)
	id1, n1 := ref(o1)
	id2, n2 := ref(o2)
	s.addPayoutLocked(NewPayout{IssuedAt: issued, Status: "PAID", Txs: []PayoutTx{
		{Type: "CHARGE", Amount: 3000, Fee: 89, OrderID: id1, OrderName: n1, ProcessedAt: issued.Add(-30 * time.Hour)},
		{Type: "CHARGE", Amount: 1452, Fee: 43, OrderID: id2, OrderName: n2, ProcessedAt: issued.Add(-29 * time.Hour)},
		{Type: "REFUND", Amount: -354, Fee: -23, OrderID: id1, OrderName: n1, ProcessedAt: issued.Add(-28 * time.Hour)},
		{Type: "ADJUSTMENT", Amount: 213, Fee: 12, ProcessedAt: issued.Add(-27 * time.Hour)},
	}})
}

// ---- resolvers ----

func (s *Shop) paymentsField(e *executor, typ string, src any, name string, args map[string]any) (any, error) {
	switch typ {
	case "ShopifyPaymentsAccount":
		switch name {
		case "id":
			return "gid://shopify/ShopifyPaymentsAccount/1", nil
		case "activated":
			return true, nil
		case "country":
			return "US", nil
		case "defaultCurrency":
			return "USD", nil
		case "payouts":
			return s.payoutPage(e, args)
		case "balanceTransactions":
			return s.balanceTxPage(e, args)
		}
	case "ShopifyPaymentsPayout":
		p := src.(payoutSrc).p
		switch name {
		case "id":
			return p.GID(), nil
		case "legacyResourceId":
			return fmt.Sprint(p.ID), nil
		case "issuedAt":
			return dt(p.IssuedAt), nil
		case "net":
			return money{amount: formatCents(p.Net)}, nil
		case "status":
			return p.Status, nil
		case "transactionType":
			if p.Net < 0 {
				return "WITHDRAWAL", nil
			}
			return "DEPOSIT", nil
		case "summary":
			return payoutSummarySrc{p}, nil
		case "externalTraceId":
			return nullable(p.TraceID), nil
		}
	case "ShopifyPaymentsPayoutSummary":
		sm := src.(payoutSummarySrc).p.summary
		v := map[string]int64{"chargesGross": sm.chargesGross, "chargesFee": sm.chargesFee, "refundsFeeGross": sm.refundsGross,
			"refundsFee": sm.refundsFee, "adjustmentsGross": sm.adjustmentsGross, "adjustmentsFee": sm.adjustmentsFee,
			"reservedFundsGross": sm.reservedGross, "reservedFundsFee": sm.reservedFee, "retriedPayoutsGross": sm.retriedGross,
			"retriedPayoutsFee": sm.retriedFee}[name]
		return money{amount: formatCents(v)}, nil
	case "ShopifyPaymentsBalanceTransaction":
		b := src.(balanceTxSrc)
		t := b.t
		switch name {
		case "id":
			return gid("ShopifyPaymentsBalanceTransaction", t.id), nil
		case "type":
			return t.typ, nil
		case "test":
			return false, nil
		case "amount":
			return money{amount: formatCents(t.amount)}, nil
		case "fee":
			return money{amount: formatCents(t.fee)}, nil
		case "net":
			return money{amount: formatCents(t.amount - t.fee)}, nil
		case "sourceType":
			switch t.typ {
			case "CHARGE", "REFUND", "DISPUTE", "ADJUSTMENT", "TRANSFER":
				return t.typ, nil
			}
			return "SYSTEM_ADJUSTMENT", nil
		case "sourceId", "sourceOrderTransactionId":
			return fmt.Sprint(t.id), nil
		case "associatedOrder":
			if t.orderID == 0 {
				return nil, nil
			}
			return assocOrderSrc{t.orderID, t.orderName}, nil
		case "associatedPayout":
			return assocPayoutSrc{b.s.pay.payouts[t.payout]}, nil
		case "adjustmentReason":
			if t.typ == "ADJUSTMENT" {
				return "Fee correction", nil
			}
			return nil, nil
		case "transactionDate":
			return dt(time.Unix(t.at, 0)), nil
		}
	case "ShopifyPaymentsAssociatedOrder":
		o := src.(assocOrderSrc)
		if name == "id" {
			return gid("Order", o.id), nil
		}
		return o.name, nil
	case "ShopifyPaymentsBalanceTransactionAssociatedPayout":
		p := src.(assocPayoutSrc).p
		if name == "id" {
			return p.GID(), nil
		}
		return p.Status, nil
	}
	return nil, nil
}

// sinceTerm reads "field:>'2026-01-02T03:04:05Z'" (or >=) of a search query.
func sinceTerm(args map[string]any, field string) (time.Time, bool, bool) {
	q, _ := args["query"].(string)
	for _, term := range strings.Fields(q) {
		f, val, ok := strings.Cut(term, ":")
		if !ok || !strings.EqualFold(f, field) {
			continue
		}
		incl := strings.HasPrefix(val, ">=")
		val = strings.Trim(strings.TrimLeft(val, ">="), `'"`)
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, val); err == nil {
				return t, incl, true
			}
		}
	}
	return time.Time{}, false, false
}

// pageOf cuts a page from items sorted by id, found by binary search: a
// year of balance transactions is millions of rows.
func pageOf[T any](e *executor, items []T, id func(T) int64, from int, args map[string]any) (*connection, error) {
	after := int64(-1)
	if c, ok := args["after"].(string); ok && c != "" {
		v, err := decodeCursor(c)
		if err != nil {
			return nil, &codedError{code: "BAD_REQUEST", msg: fmt.Sprintf("Invalid cursor for current pagination sort: %q", c)}
		}
		after = v
	}
	if after >= 0 {
		from = max(from, sort.Search(len(items), func(i int) bool { return id(items[i]) > after }))
	}
	first, ok := args["first"]
	if !ok || first == nil {
		if !e.bulk {
			return nil, &codedError{msg: "you must provide one of first or last"}
		}
		first = len(items)
	}
	n := min(toInt(first), 250)
	if e.bulk {
		n = len(items)
	}
	end := min(len(items), from+n)
	c := &connection{}
	for _, it := range items[from:end] {
		c.items = append(c.items, it)
		c.cursors = append(c.cursors, encodeCursor(id(it)))
	}
	c.info.hasNext, c.info.hasPrev = end < len(items), from > 0
	if len(c.cursors) > 0 {
		c.info.startCursor, c.info.endCurs = c.cursors[0], c.cursors[len(c.cursors)-1]
	}
	return c, nil
}

func (s *Shop) payoutPage(e *executor, args map[string]any) (any, error) {
	if r, _ := args["reverse"].(bool); r {
		return nil, &codedError{code: "BAD_REQUEST", msg: "The sandbox lists payouts oldest first only."}
	}
	ps := s.pay.payouts
	from := 0
	if t, incl, ok := sinceTerm(args, "issued_at"); ok {
		from = sort.Search(len(ps), func(i int) bool {
			return ps[i].IssuedAt.After(t) || (incl && ps[i].IssuedAt.Equal(t))
		})
	}
	srcs := make([]payoutSrc, len(ps))
	for i, p := range ps {
		srcs[i] = payoutSrc{p}
	}
	return pageOf(e, srcs, func(p payoutSrc) int64 { return p.p.ID }, from, args)
}

func (s *Shop) balanceTxPage(e *executor, args map[string]any) (any, error) {
	txs := s.pay.txs
	from := 0
	if t, incl, ok := sinceTerm(args, "processed_at"); ok {
		u := t.Unix()
		from = sort.Search(len(txs), func(i int) bool { return txs[i].at > u || (incl && txs[i].at == u) })
	}
	// Only the page is wrapped: the slice of sources would be millions long.
	after := int64(-1)
	if c, ok := args["after"].(string); ok && c != "" {
		v, err := decodeCursor(c)
		if err != nil {
			return nil, &codedError{code: "BAD_REQUEST", msg: fmt.Sprintf("Invalid cursor for current pagination sort: %q", c)}
		}
		after = v
	}
	if after >= 0 {
		from = max(from, sort.Search(len(txs), func(i int) bool { return txs[i].id > after }))
	}
	n := 250
	if f, ok := args["first"]; ok && f != nil {
		n = min(toInt(f), 250)
	} else if !e.bulk {
		return nil, &codedError{msg: "you must provide one of first or last"}
	}
	end := min(len(txs), from+n)
	window := make([]balanceTxSrc, 0, end-from)
	for _, t := range txs[from:end] {
		window = append(window, balanceTxSrc{s, t})
	}
	c, err := pageOf(e, window, func(b balanceTxSrc) int64 { return b.t.id }, 0, map[string]any{"first": n})
	if err != nil {
		return nil, err
	}
	c.info.hasNext, c.info.hasPrev = end < len(txs), from > 0
	return c, nil
}

// isPaymentsType reports whether typ is one of the Shopify Payments types above.
func isPaymentsType(typ string) bool {
	return slices.Contains([]string{"ShopifyPaymentsAccount", "ShopifyPaymentsPayout", "ShopifyPaymentsPayoutSummary",
		"ShopifyPaymentsBalanceTransaction", "ShopifyPaymentsAssociatedOrder", "ShopifyPaymentsBalanceTransactionAssociatedPayout"}, typ)
}
