package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/quickbooks"
	"crossdock/store"
	"crossdock/vocab"
)

// The payouts flow into QuickBooks Online: each paid Shopify Payments
// payout becomes one bank deposit, into the bank account the connection
// names, with a line per gross part of the payout's summary (charges,
// refunds, adjustments…) from the clearing account and the fees as one
// negative line to the fees account: its total is the payout's net, what
// reached the bank. The payouts sweep (payouts.go) queues its syncs beside
// those of Odoo. The deposit made is recorded as the payout's deposit in
// QuickBooks (payout_deposits), read again at each later sync, so the
// payouts comparison compares it as it compares a deposit found in Odoo's
// bank statements.
const flowPayoutsQuickBooks = "payouts.shopify_quickbooks"

// quickbooksPayoutsFlow makes Shopify Payments payouts deposits in QuickBooks.
func quickbooksPayoutsFlow() Flow {
	return Flow{Name: flowPayoutsQuickBooks, Family: vocab.Payouts, From: vocab.KindShopify, To: vocab.KindQuickBooks,
		Sweep: &flowSweep{job: sweepJobContent, of: flowPayouts}, Lease: leaseOn("payout"),
		Run: runWith(runSpec[payoutRec, *quickbooks.Client]{record: "payout", connect: (*Engine).quickbooks, body: (*Engine).runQuickBooksPayout})}
}

// depositLines are a payout's deposit lines: each non-zero gross part of
// its summary from the clearing account, its fees as one negative line to
// the fees account, and whatever the summary leaves of the net (a part
// Shopify adds later) on the clearing account, so that the total is the net.
func depositLines(p store.ShopPayout, clearing, fees string) []quickbooks.DepositLine {
	var out []quickbooks.DepositLine
	sum := 0.0
	for _, part := range []struct {
		what  string
		gross float64
	}{{"Sales (charges)", p.ChargesGross}, {"Refunds", p.RefundsGross}, {"Adjustments and disputes", p.AdjustGross},
		{"Reserved funds", p.ReservedGross}, {"Retried payouts", p.RetriedGross}} {
		if g := round2(part.gross); g != 0 {
			out = append(out, quickbooks.DepositLineOf(part.what, g, clearing))
			sum += g
		}
	}
	if f := round2(p.Fees()); f != 0 {
		out = append(out, quickbooks.DepositLineOf("Shopify Payments fees", -f, fees))
		sum -= f
	}
	if rest := round2(p.Net - sum); rest != 0 {
		out = append(out, quickbooks.DepositLineOf("Other payout items", rest, clearing))
	}
	return out
}

func (e *Engine) runQuickBooksPayout(ctx context.Context, s store.Sync, rec payoutRec, cl *quickbooks.Client, conn store.Connection, _ verdict) result {
	var res result
	if rec.Status != "PAID" {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s is %s in Shopify, not paid yet: no deposit is made in %s until Shopify pays it.",
			rec.label(), strings.ToLower(rec.Status), conn.Name)
		return res
	}
	p, err := e.st.PayoutByID(ctx, rec.ID)
	if err != nil {
		res.err = err
		return res
	}
	// A deposit made before (by an earlier sync of the payout) is read
	// again, never made twice: what QuickBooks holds now is recorded.
	prev, seen, err := e.st.PayoutDepositOf(ctx, p.ID, conn.ID)
	if err != nil {
		res.err = err
		return res
	}
	if seen && prev.LineRef != "" {
		return e.recheckQuickBooksDeposit(ctx, cl, conn, rec, p, prev.LineRef)
	}
	if p.Net <= 0 {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s takes money from the bank rather than paying into it: Crossdock makes no deposit of it in %s; record it there by hand.",
			rec.label(), conn.Name)
		return res
	}
	bank := strings.TrimSpace(conn.Settings[quickbooks.FieldPayoutsBank])
	clearing := strings.TrimSpace(conn.Settings[quickbooks.FieldPayoutsClearing])
	fees := strings.TrimSpace(conn.Settings[quickbooks.FieldPayoutsFees])
	var missing []string
	if bank == "" {
		missing = append(missing, `"Bank account payouts are deposited to"`)
	}
	if clearing == "" {
		missing = append(missing, `"Account the payouts' sales come from"`)
	}
	if fees == "" && round2(p.Fees()) != 0 {
		missing = append(missing, `"Expense account for payment fees"`)
	}
	if len(missing) > 0 {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s cannot be deposited in %s: the connection's %s %s not set. Set it on the connection's page, then try this payout again.",
			rec.label(), conn.Name, strings.Join(missing, " and "), map[bool]string{true: "is", false: "are"}[len(missing) == 1]), nil)
		return res
	}
	dep := quickbooks.Deposit{TxnDate: p.IssuedAt.UTC().Format("2006-01-02"), DepositToAccountRef: &quickbooks.Ref{Value: bank},
		PrivateNote: "Shopify Payments payout " + cmpStr(p.LegacyID, p.Ref) + " issued " + p.IssuedAt.UTC().Format("2 Jan 2006") + " (" + p.Ref + ")",
		Line:        depositLines(p, clearing, fees)}
	// The requestid comes from the sync's key and the body: a retry or a
	// replay gets QuickBooks' first answer, not a second deposit.
	reqID := qbRequestID(s.Flow, s.IdempotencyKey, dep)
	res.request = map[string]any{"entity": quickbooks.EntityDeposit, "requestid": reqID, "body": dep}
	var made quickbooks.Deposit
	if err := cl.Create(ctx, quickbooks.EntityDeposit, reqID, dep, &made); err != nil {
		res.err = err
		return res
	}
	if err := e.recordQuickBooksDeposit(ctx, conn, p, made); err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, made.ID
	res.response = map[string]any{"entity": quickbooks.EntityDeposit, "id": made.ID, "total": made.TotalAmt, "date": made.TxnDate, "created": true}
	into := "the payouts bank account"
	if made.DepositToAccountRef != nil && made.DepositToAccountRef.Name != "" {
		into = made.DepositToAccountRef.Name
	}
	res.message = fmt.Sprintf("%s was deposited in %s: %s on %s into %s.", rec.label(), conn.Name,
		strconv.FormatFloat(made.TotalAmt, 'f', 2, 64), p.IssuedAt.UTC().Format("2 Jan 2006"), into)
	return res
}

// recheckQuickBooksDeposit reads the deposit made before and records what
// it holds now; one deleted in QuickBooks is recorded as no deposit (the
// payouts comparison lists it) and not made again by Crossdock.
func (e *Engine) recheckQuickBooksDeposit(ctx context.Context, cl *quickbooks.Client, conn store.Connection, rec payoutRec, p store.ShopPayout, id string) result {
	var res result
	var cur quickbooks.Deposit
	err := cl.Read(ctx, quickbooks.EntityDeposit, id, &cur)
	if quickbooks.IsKind(err, quickbooks.KindNotFound) {
		if err := e.st.SavePayoutDeposit(ctx, store.PayoutDeposit{PayoutID: p.ID, ConnectionID: conn.ID}); err != nil {
			res.err = err
			return res
		}
		res.status = vocab.SyncSucceeded
		res.message = fmt.Sprintf("%s had a deposit in %s (number %s) that is no longer there: it was deleted. Crossdock does not make it again by itself; the payouts comparison lists the payout without a deposit.",
			rec.label(), conn.Name, id)
		return res
	}
	if err != nil {
		res.err = err
		return res
	}
	if err := e.recordQuickBooksDeposit(ctx, conn, p, cur); err != nil {
		res.err = err
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, cur.ID
	res.response = map[string]any{"entity": quickbooks.EntityDeposit, "id": cur.ID, "total": cur.TotalAmt, "date": cur.TxnDate, "created": false}
	res.message = fmt.Sprintf("%s was already deposited in %s (%s on %s); nothing was made again.", rec.label(), conn.Name,
		strconv.FormatFloat(cur.TotalAmt, 'f', 2, 64), cmpStr(cur.TxnDate, "an unknown date"))
	if round2(cur.TotalAmt) != round2(p.Net) {
		res.message += " It no longer matches the payout; the payouts comparison lists the difference."
	}
	return res
}

// recordQuickBooksDeposit records a deposit as the payout's in QuickBooks:
// the payouts comparison reads it as it reads a bank line found in Odoo.
func (e *Engine) recordQuickBooksDeposit(ctx context.Context, conn store.Connection, p store.ShopPayout, d quickbooks.Deposit) error {
	rec := store.PayoutDeposit{PayoutID: p.ID, ConnectionID: conn.ID, LineRef: d.ID, Amount: d.TotalAmt, Reference: "QuickBooks deposit " + d.ID}
	if d.DepositToAccountRef != nil && d.DepositToAccountRef.Name != "" {
		rec.Reference += " into " + d.DepositToAccountRef.Name
	}
	if d.CurrencyRef != nil {
		rec.Currency = d.CurrencyRef.Value
	}
	rec.Date = p.IssuedAt.UTC()
	if t, err := time.Parse(time.DateOnly, d.TxnDate); err == nil {
		rec.Date = t
	}
	return e.st.SavePayoutDeposit(ctx, rec)
}
