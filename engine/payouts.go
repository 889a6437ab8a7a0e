package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The payouts flow, Shopify → Odoo. A sweep reads, from every Shopify
// system that decides payouts, the balance transactions processed and the
// payouts issued since its last pass into Crossdock's tables (upserts: a
// second read changes nothing), and queues, for every payout new or
// changed, one sync per accounting system that receives payouts. That sync
// writes nothing: it looks for the payout's deposit among the bank
// statement lines and records what it found; the payouts comparison
// (engine/recon) turns what does not agree into discrepancies. A
// QuickBooks company's sync makes the deposit instead and records it the
// same way (quickbooks_payouts.go).
const (
	flowPayouts     = "payouts.shopify_odoo"
	entityPayout    = "payout"
	cursorPayouts   = "shopify_payouts"
	cursorBalanceTx = "shopify_balance_transactions"
	payoutsPage     = 50
	balanceTxPage   = 160
	// payoutsOverlap is how far back each pass reads payouts again: a
	// payout is issued scheduled and paid days later, and its status
	// change must be seen.
	payoutsOverlap = 10 * 24 * time.Hour
	// Deposits reach the bank some days after the payout is issued.
	depositBefore = 2 * 24 * time.Hour
	depositAfter  = 7 * 24 * time.Hour
	// depositNear: a deposit within this share of the payout is taken as
	// its deposit with a difference (listed), not as someone else's.
	depositNear = 0.05
	// recheckFor is how long a payout without a deposit is looked for again.
	recheckFor = 30 * 24 * time.Hour
)

func payoutsFlow() Flow {
	return Flow{Name: flowPayouts, Family: vocab.Payouts, From: vocab.KindShopify, To: vocab.KindOdoo,
		Sweep: &flowSweep{job: sweepJobContent, run: (*Engine).SweepPayouts},
		// Payouts are looked for in parallel: a unique index stops two of
		// the same amount taking one deposit (the second tries again).
		Lease: leaseOn("payout"),
		Run:   runWith(runSpec[payoutRec, *odoo.Client]{record: "payout", connect: (*Engine).odoo, body: (*Engine).runPayout})}
}

// payoutRec is the payload of a payouts sync: the payout as it was read.
type payoutRec struct {
	ID       int64     `json:"id"` // Crossdock's row
	Ref      string    `json:"ref"`
	LegacyID string    `json:"legacy_id"`
	IssuedAt time.Time `json:"issued_at"`
	Status   string    `json:"status"`
	Net      string    `json:"net"`
	Currency string    `json:"currency"`
	TraceID  string    `json:"trace_id,omitempty"`
}

func (p payoutRec) label() string {
	return fmt.Sprintf("The payout of %s %s issued %s", p.Net, p.Currency, p.IssuedAt.UTC().Format("2 Jan 2006"))
}

// SweepPayouts reads payouts and balance transactions from every Shopify
// system that decides payouts and queues the payouts new or changed for
// the accounting systems that receive them. It returns how many syncs it queued.
func (e *Engine) SweepPayouts(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	allowed := func(src, tgt int64) bool { return rs.Decide(vocab.Payouts, src, tgt, nil).Allowed }
	srcs := shopifySources(rs, vocab.Payouts, allowed)
	// QuickBooks companies receive payouts as deposits (quickbooks_payouts.go).
	books := targets(rs, vocab.Payouts, vocab.KindQuickBooks)
	for _, c := range rs.Connections {
		if c.Kind != vocab.KindShopify || !c.Enabled {
			continue
		}
		for _, t := range books {
			if allowed(c.ID, t) && !slices.Contains(srcs[c.ID], t) {
				srcs[c.ID] = append(srcs[c.ID], t)
			}
		}
	}
	total := 0
	var errs []error
	for src, tgts := range srcs {
		n, err := e.sweepPayoutsOf(ctx, rs, src, tgts, trigger, e.every(rs, vocab.Payouts, force))
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

func (e *Engine) sweepPayoutsOf(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string, every time.Duration) (int, error) {
	cur, due, err := e.st.ClaimSweep(ctx, src, cursorPayouts, every)
	if err != nil || !due {
		return 0, err
	}
	cl, conn, err := e.shopify(ctx, src)
	if err != nil {
		return 0, err
	}
	// Transactions first: a payout's comparison adds up the transactions
	// read before it.
	if err := e.readBalanceTransactions(ctx, cl, conn); err != nil {
		return 0, err
	}
	var since time.Time
	if cur.PositionAt != nil {
		since = cur.PositionAt.Add(-payoutsOverlap)
	}
	newest, queuedN, after := since, 0, ""
	for {
		pg, err := cl.PayoutsIssuedSince(ctx, since, after, payoutsPage)
		if err != nil {
			return queuedN, fmt.Errorf("engine: payouts sweep of %s: %w", conn.Name, err)
		}
		rows := make([]store.PayoutRow, len(pg.Payouts))
		byRef := map[string]shopify.Payout{}
		for i, p := range pg.Payouts {
			rows[i] = payoutRow(p)
			byRef[p.ID] = p
			if p.IssuedAt.After(newest) {
				newest = p.IssuedAt
			}
		}
		err = e.st.InTx(ctx, func(tx *store.Tx) error {
			saved, err := tx.SavePayouts(ctx, src, rows)
			if err != nil {
				return err
			}
			var qs []queued
			for _, sp := range saved {
				p := byRef[sp.Ref]
				rec := payoutRec{ID: sp.ID, Ref: p.ID, LegacyID: p.LegacyResourceID, IssuedAt: p.IssuedAt.UTC(), Status: p.Status,
					Net: p.Net.Amount, Currency: p.Net.CurrencyCode, TraceID: p.TraceID()}
				qs = append(qs, e.payoutSyncs(rs, src, tgts, rec, trigger)...)
			}
			_, err = e.insertSyncs(ctx, tx, qs)
			queuedN += len(qs)
			return err
		})
		if err != nil {
			return queuedN, err
		}
		if !pg.PageInfo.HasNextPage || pg.PageInfo.EndCursor == "" {
			break
		}
		after = pg.PageInfo.EndCursor
	}
	n, err := e.recheckDeposits(ctx, rs, src, tgts, trigger)
	queuedN += n
	if err != nil || newest.IsZero() {
		return queuedN, err
	}
	return queuedN, e.st.SaveSyncCursor(ctx, store.SyncCursor{ConnectionID: src, Name: cursorPayouts, PositionAt: &newest})
}

// recheckDeposits queues the recent paid payouts whose deposit was not in
// an accounting system when it was last looked at: banks take days.
func (e *Engine) recheckDeposits(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string) (int, error) {
	n := 0
	for _, tgt := range tgts {
		if c, ok := rs.Conn(tgt); ok && c.Kind == vocab.KindQuickBooks {
			continue // Crossdock makes QuickBooks' deposits; none arrives later
		}
		ps, err := e.st.PayoutsWithoutDeposit(ctx, src, tgt, time.Now().Add(-recheckFor))
		if err != nil {
			return n, err
		}
		if len(ps) == 0 {
			continue
		}
		var qs []queued
		for _, p := range ps {
			rec := payoutRec{ID: p.ID, Ref: p.Ref, LegacyID: p.LegacyID, IssuedAt: p.IssuedAt.UTC(), Status: p.Status,
				Net: strconv.FormatFloat(p.Net, 'f', 2, 64), Currency: p.Currency, TraceID: p.TraceID}
			qs = append(qs, e.payoutSyncs(rs, src, []int64{tgt}, rec, trigger)...)
		}
		if err := e.st.InTx(ctx, func(tx *store.Tx) error { _, err := e.insertSyncs(ctx, tx, qs); return err }); err != nil {
			return n, err
		}
		n += len(qs)
	}
	return n, nil
}

// readBalanceTransactions reads the balance transactions processed since
// the last pass (a minute of overlap: the marks are per second) into the
// store, a page per statement, and moves the cursor once all are read.
func (e *Engine) readBalanceTransactions(ctx context.Context, cl *shopify.Client, conn store.Connection) error {
	cur, _, err := e.st.ClaimSweep(ctx, conn.ID, cursorBalanceTx, 0)
	if err != nil {
		return err
	}
	var since time.Time
	if cur.PositionAt != nil {
		since = cur.PositionAt.Add(-time.Minute)
	}
	// The next page is read from Shopify while this one is written to
	// PostgreSQL: a year of a busy store is thousands of pages, and each
	// side mostly waits on the other system.
	type txPage struct {
		pg  shopify.BalanceTransactionPage
		err error
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan txPage, 1)
	go func() {
		defer close(pages)
		after := ""
		for {
			pg, err := cl.BalanceTransactionsSince(rctx, since, after, balanceTxPage)
			select {
			case pages <- txPage{pg, err}:
			case <-rctx.Done():
				return
			}
			if err != nil || !pg.PageInfo.HasNextPage || pg.PageInfo.EndCursor == "" {
				return
			}
			after = pg.PageInfo.EndCursor
		}
	}()
	newest := since
	for p := range pages {
		if p.err != nil {
			return fmt.Errorf("engine: balance transactions of %s: %w", conn.Name, p.err)
		}
		rows := make([]store.BalanceTxRow, len(p.pg.Transactions))
		for i, t := range p.pg.Transactions {
			rows[i] = store.BalanceTxRow{Ref: t.ID, PayoutRef: t.PayoutID, Kind: t.Kind, Type: t.Type, Test: t.Test,
				Amount: t.Amount.Amount, Fee: t.Fee.Amount, Net: t.Net.Amount, Currency: t.Amount.CurrencyCode,
				OrderRef: t.OrderID, OrderName: t.OrderName, SourceType: t.SourceType, Reason: t.AdjustmentReason,
				ProcessedAt: t.TransactionDate.UTC()}
			if t.TransactionDate.After(newest) {
				newest = t.TransactionDate
			}
		}
		if _, err := e.st.SaveBalanceTransactions(ctx, conn.ID, rows); err != nil {
			return err
		}
	}
	if newest.IsZero() {
		return nil
	}
	return e.st.SaveSyncCursor(ctx, store.SyncCursor{ConnectionID: conn.ID, Name: cursorBalanceTx, PositionAt: &newest})
}

func payoutRow(p shopify.Payout) store.PayoutRow {
	s := p.Summary
	return store.PayoutRow{Ref: p.ID, LegacyID: p.LegacyResourceID, IssuedAt: p.IssuedAt.UTC(), Status: p.Status,
		TransactionType: p.TransactionType, TraceID: p.TraceID(), Net: p.Net.Amount, Currency: p.Net.CurrencyCode,
		ChargesGross: s.ChargesGross.Amount, ChargesFee: s.ChargesFee.Amount, RefundsGross: s.RefundsFeeGross.Amount,
		RefundsFee: s.RefundsFee.Amount, AdjustGross: s.AdjustmentsGross.Amount, AdjustFee: s.AdjustmentsFee.Amount,
		ReservedGross: s.ReservedFundsGross.Amount, ReservedFe: s.ReservedFundsFee.Amount,
		RetriedGross: s.RetriedPayoutsGross.Amount, RetriedFee: s.RetriedPayoutsFee.Amount}
}

func (e *Engine) payoutSync(p payoutRec, src int64, trigger string) store.NewSync {
	return store.NewSync{Family: vocab.Payouts, Direction: vocab.ShopifyToOdoo, Flow: flowPayouts, SourceConnectionID: src,
		Trigger: trigger, EntityType: entityPayout, EntityRef: p.Ref,
		EntityKey:  "Payout of " + p.IssuedAt.UTC().Format("2 Jan 2006"),
		SearchKeys: []string{p.LegacyID, p.TraceID}, SourceVersion: p.IssuedAt,
		IdempotencyKey: p.Ref + "@" + p.Status + ":" + p.Net, MaxAttempts: e.cfg.MaxAttempts}
}

// payoutSyncs are a payout's syncs, one per accounting system: Odoo's
// looks for its deposit, QuickBooks' makes it.
func (e *Engine) payoutSyncs(rs rules.Rules, src int64, tgts []int64, rec payoutRec, trigger string) []queued {
	var qs []queued
	for _, t := range tgts {
		base := e.payoutSync(rec, src, trigger)
		if c, ok := rs.Conn(t); ok && c.Kind == vocab.KindQuickBooks {
			base.Flow, base.Direction = flowPayoutsQuickBooks, vocab.ShopifyToQuickBooks
		}
		qs = append(qs, e.sweptSyncs(rs, src, []int64{t}, vocab.Payouts, base, rec, "", rec.label())...)
	}
	return qs
}

// runPayout looks for the payout's deposit among the bank statement lines
// of the accounting system and records it. It writes nothing into Odoo.
func (e *Engine) runPayout(ctx context.Context, s store.Sync, p payoutRec, cl *odoo.Client, conn store.Connection, _ verdict) result {
	net, err := strconv.ParseFloat(p.Net, 64)
	if err != nil {
		return result{err: fail(vocab.ClassValidation, p.label()+" has an amount Crossdock cannot read ("+p.Net+").", err)}
	}
	if p.Status != "PAID" {
		return result{status: vocab.SyncSkipped, message: fmt.Sprintf("%s is %s in Shopify, not paid yet: no deposit to look for. It is looked at again once Shopify pays it.",
			p.label(), strings.ToLower(p.Status))}
	}
	from, to := p.IssuedAt.Add(-depositBefore), p.IssuedAt.Add(depositAfter)
	lines, err := cl.BankLinesBetween(ctx, from, to)
	if err != nil {
		return result{err: err}
	}
	claimed, err := e.st.ClaimedDepositLines(ctx, conn.ID, p.ID)
	if err != nil {
		return result{err: err}
	}
	dep, found := MatchDeposit(p.IssuedAt, net, p.Currency, p.TraceID, lines, claimed)
	d := store.PayoutDeposit{PayoutID: p.ID, ConnectionID: conn.ID}
	if found {
		d.LineRef, d.Amount, d.Currency, d.Date, d.Reference = strconv.Itoa(dep.Line.ID), dep.Line.Amount, dep.Line.Currency, dep.Line.Date, dep.Line.Label
		d.ByTrace = dep.ByTrace
	}
	if err := e.st.SavePayoutDeposit(ctx, d); errors.Is(err, store.ErrConflict) {
		return result{err: fail(vocab.ClassTransient, p.label()+": another payout took the same deposit at the same moment; Crossdock looks again.", err)}
	} else if err != nil {
		return result{err: err}
	}
	if !found {
		return result{status: vocab.SyncSucceeded, message: fmt.Sprintf("%s has no deposit in %s's bank statements between %s and %s yet. The payouts comparison lists it if none arrives.",
			p.label(), conn.Name, from.Format("2 Jan"), to.Format("2 Jan 2006"))}
	}
	msg := fmt.Sprintf("%s was found in %s's bank statements: %s %s on %s.", p.label(), conn.Name,
		strconv.FormatFloat(dep.Line.Amount, 'f', 2, 64), cmpStr(dep.Line.Currency, p.Currency), dep.Line.Date.Format("2 Jan 2006"))
	if !dep.Exact {
		msg += fmt.Sprintf(" It differs by %s (%.1f ‰); the payouts comparison lists the difference.",
			strconv.FormatFloat(math.Abs(dep.Line.Amount-net), 'f', 2, 64), math.Abs(dep.Line.Amount-net)/math.Abs(net)*1000)
	}
	return result{status: vocab.SyncSucceeded, message: msg, targetRef: strconv.Itoa(dep.Line.ID)}
}

// Deposit is the bank statement line a payout was matched to.
type Deposit struct {
	Line    odoo.BankLine
	ByTrace bool // the bank's trace reference named it
	Exact   bool // same amount and currency
}

// MatchDeposit picks a payout's deposit among bank statement lines not
// claimed by another payout: the line naming the payout's bank trace
// reference; else one of the same amount and currency, closest in date;
// else the line of the same currency closest in amount within 5 % (a
// deposit with a difference, listed by the comparison).
func MatchDeposit(issued time.Time, net float64, currency, trace string, lines []odoo.BankLine, claimed map[string]bool) (Deposit, bool) {
	same := func(l odoo.BankLine) bool {
		return l.Currency == "" || currency == "" || strings.EqualFold(l.Currency, currency)
	}
	cents := func(v float64) int64 { return int64(math.Round(v * 100)) }
	var best *odoo.BankLine
	var bestScore float64
	for i := range lines {
		l := &lines[i]
		if claimed[strconv.Itoa(l.ID)] {
			continue
		}
		if trace != "" && (strings.Contains(strings.ToUpper(l.Label), strings.ToUpper(trace)) || strings.Contains(strings.ToUpper(l.Ref), strings.ToUpper(trace))) {
			return Deposit{Line: *l, ByTrace: true, Exact: same(*l) && cents(l.Amount) == cents(net)}, true
		}
	}
	for i := range lines {
		l := &lines[i]
		if claimed[strconv.Itoa(l.ID)] || !same(*l) || net == 0 {
			continue
		}
		off := math.Abs(l.Amount-net) / math.Abs(net)
		if off > depositNear {
			continue
		}
		// Amount first, then days apart.
		score := off*1e6 + math.Abs(l.Date.Sub(issued).Hours())/24
		if best == nil || score < bestScore {
			best, bestScore = l, score
		}
	}
	if best == nil {
		return Deposit{}, false
	}
	return Deposit{Line: *best, Exact: cents(best.Amount) == cents(net)}, true
}
