package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Shopify Payments payouts and their balance transactions, as the payouts
// flow reads them; the deposit each payout was matched to in the
// accounting system; the payouts dashboard, the true margin per order and
// per variant, and the payouts comparison (discrepancies).

// ReconPayouts is the comparison of payouts with the bank deposits in the
// accounting system, their transactions and the orders they pay for.
const ReconPayouts = "payouts"

// PayoutRow is one payout as a Shopify connection reports it. Amounts are
// decimal strings.
type PayoutRow struct {
	Ref, LegacyID             string
	IssuedAt                  time.Time
	Status, TransactionType   string
	TraceID                   string
	Net, Currency             string
	ChargesGross, ChargesFee  string
	RefundsGross, RefundsFee  string
	AdjustGross, AdjustFee    string
	ReservedGross, ReservedFe string
	RetriedGross, RetriedFee  string
}

// SavedPayout is a payout whose row was created or changed by SavePayouts.
type SavedPayout struct {
	ID  int64  `db:"id"`
	Ref string `db:"payout_ref"`
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// SavePayouts inserts or updates the payouts of a connection in one
// statement and returns those that are new or changed: reading the same
// payouts again changes nothing and returns none.
func (q q) SavePayouts(ctx context.Context, connID int64, rows []PayoutRow) ([]SavedPayout, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	n := len(rows)
	cols := make([][]string, 19)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	issued := make([]time.Time, n)
	for i, r := range rows {
		issued[i] = r.IssuedAt
		for j, v := range []string{r.Ref, r.LegacyID, r.Status, r.TransactionType, r.TraceID, orZero(r.Net), r.Currency,
			orZero(r.ChargesGross), orZero(r.ChargesFee), orZero(r.RefundsGross), orZero(r.RefundsFee), orZero(r.AdjustGross),
			orZero(r.AdjustFee), orZero(r.ReservedGross), orZero(r.ReservedFe), orZero(r.RetriedGross), orZero(r.RetriedFee)} {
			cols[j][i] = v
		}
	}
	var out []SavedPayout
	args := []any{connID, pq.Array(issued)}
	for j := 0; j < 17; j++ {
		args = append(args, pq.Array(cols[j]))
	}
	err := sqlxSelect(ctx, q, &out, `INSERT INTO shop_payouts AS p (connection_id, issued_at, payout_ref, legacy_id, status, transaction_type,
  trace_id, net, currency, charges_gross, charges_fee, refunds_gross, refunds_fee, adjustments_gross, adjustments_fee,
  reserved_gross, reserved_fee, retried_gross, retried_fee)
SELECT $1, u.* FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::text[],
  $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::numeric[], $15::numeric[], $16::numeric[], $17::numeric[],
  $18::numeric[], $19::numeric[]) AS u
ON CONFLICT (connection_id, payout_ref) DO UPDATE SET issued_at = EXCLUDED.issued_at, status = EXCLUDED.status,
  transaction_type = EXCLUDED.transaction_type, trace_id = EXCLUDED.trace_id, net = EXCLUDED.net, currency = EXCLUDED.currency,
  charges_gross = EXCLUDED.charges_gross, charges_fee = EXCLUDED.charges_fee, refunds_gross = EXCLUDED.refunds_gross,
  refunds_fee = EXCLUDED.refunds_fee, adjustments_gross = EXCLUDED.adjustments_gross, adjustments_fee = EXCLUDED.adjustments_fee,
  reserved_gross = EXCLUDED.reserved_gross, reserved_fee = EXCLUDED.reserved_fee, retried_gross = EXCLUDED.retried_gross,
  retried_fee = EXCLUDED.retried_fee, read_at = now()
WHERE (p.issued_at, p.status, p.trace_id, p.net, p.currency) IS DISTINCT FROM
  (EXCLUDED.issued_at, EXCLUDED.status, EXCLUDED.trace_id, EXCLUDED.net, EXCLUDED.currency)
RETURNING id, payout_ref`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: save payouts: %w", err)
	}
	return out, nil
}

// BalanceTxRow is one balance transaction as a Shopify connection reports it.
type BalanceTxRow struct {
	Ref, PayoutRef, Kind, Type string
	Test                       bool
	Amount, Fee, Net, Currency string
	OrderRef, OrderName        string
	SourceType, Reason         string
	ProcessedAt                time.Time
}

// SaveBalanceTransactions inserts or updates balance transactions of a
// connection in one statement (a page of the sweep); it returns how many
// were new or changed.
func (q q) SaveBalanceTransactions(ctx context.Context, connID int64, rows []BalanceTxRow) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n := len(rows)
	cols := make([][]string, 12)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	tests := make([]bool, n)
	at := make([]time.Time, n)
	for i, r := range rows {
		tests[i], at[i] = r.Test, r.ProcessedAt
		for j, v := range []string{r.Ref, r.PayoutRef, r.Kind, r.Type, orZero(r.Amount), orZero(r.Fee), orZero(r.Net), r.Currency,
			r.OrderRef, r.OrderName, r.SourceType, r.Reason} {
			cols[j][i] = v
		}
	}
	args := []any{connID, pq.Array(tests), pq.Array(at)}
	for _, c := range cols {
		args = append(args, pq.Array(c))
	}
	res, err := q.ext.ExecContext(ctx, `INSERT INTO shop_balance_transactions AS t (connection_id, test, processed_at, tx_ref, payout_ref,
  kind, type, amount, fee, net, currency, order_ref, order_name, source_type, adjustment_reason)
SELECT $1, u.* FROM unnest($2::boolean[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[],
  $9::numeric[], $10::numeric[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[]) AS u
ON CONFLICT (connection_id, tx_ref) DO UPDATE SET payout_ref = EXCLUDED.payout_ref, kind = EXCLUDED.kind, type = EXCLUDED.type,
  amount = EXCLUDED.amount, fee = EXCLUDED.fee, net = EXCLUDED.net, currency = EXCLUDED.currency, order_ref = EXCLUDED.order_ref,
  order_name = EXCLUDED.order_name, processed_at = EXCLUDED.processed_at
WHERE (t.payout_ref, t.amount, t.fee, t.net, t.order_ref) IS DISTINCT FROM
  (EXCLUDED.payout_ref, EXCLUDED.amount, EXCLUDED.fee, EXCLUDED.net, EXCLUDED.order_ref)`, args...)
	if err != nil {
		return 0, fmt.Errorf("store: save balance transactions: %w", err)
	}
	return res.RowsAffected()
}

// ShopPayout is a stored payout with the deposit it was matched to.
type ShopPayout struct {
	ID              int64     `db:"id"`
	ConnectionID    int64     `db:"connection_id"`
	ConnectionName  string    `db:"connection_name"`
	Ref             string    `db:"payout_ref"`
	LegacyID        string    `db:"legacy_id"`
	IssuedAt        time.Time `db:"issued_at"`
	Status          string    `db:"status"`
	TransactionType string    `db:"transaction_type"`
	TraceID         string    `db:"trace_id"`
	Net             float64   `db:"net"`
	Currency        string    `db:"currency"`
	ChargesGross    float64   `db:"charges_gross"`
	ChargesFee      float64   `db:"charges_fee"`
	RefundsGross    float64   `db:"refunds_gross"`
	RefundsFee      float64   `db:"refunds_fee"`
	AdjustGross     float64   `db:"adjustments_gross"`
	AdjustFee       float64   `db:"adjustments_fee"`
	ReservedGross   float64   `db:"reserved_gross"`
	ReservedFee     float64   `db:"reserved_fee"`
	RetriedGross    float64   `db:"retried_gross"`
	RetriedFee      float64   `db:"retried_fee"`
	// The deposit: nil when no accounting system was looked at yet.
	DepositCheckedAt *time.Time `db:"deposit_checked_at"`
	DepositLine      *string    `db:"deposit_line"`
	DepositAmount    *float64   `db:"deposit_amount"`
	DepositDate      *time.Time `db:"deposit_date"`
	DepositRef       *string    `db:"deposit_ref"`
	// Open is the live discrepancies of the payout.
	Open int64 `db:"open"`
}

// Fees is what Shopify Payments kept of the payout: every fee of its summary.
func (p ShopPayout) Fees() float64 {
	return p.ChargesFee + p.RefundsFee + p.AdjustFee + p.ReservedFee + p.RetriedFee
}

// Matched reports whether a deposit was found for it.
func (p ShopPayout) Matched() bool { return p.DepositLine != nil && *p.DepositLine != "" }

// payoutColumns: the key range ("17:" up to "17;") of a payout's
// discrepancies reads the live discrepancies' index (family, kind, key)
// rather than every discrepancy.
const payoutColumns = `p.id, p.connection_id, c.name AS connection_name, p.payout_ref, p.legacy_id, p.issued_at, p.status,
p.transaction_type, p.trace_id, p.net, p.currency, p.charges_gross, p.charges_fee, p.refunds_gross, p.refunds_fee,
p.adjustments_gross, p.adjustments_fee, p.reserved_gross, p.reserved_fee, p.retried_gross, p.retried_fee,
d.checked_at AS deposit_checked_at, d.line_ref AS deposit_line, d.amount AS deposit_amount, d.deposit_date, d.reference AS deposit_ref,
(SELECT count(*) FROM discrepancies x WHERE x.family = 'payouts' AND x.status IN ('open', 'acknowledged')
  AND x.kind IN ('payout_no_deposit', 'payout_deposit_differs', 'payout_sum_differs', 'payout_orders_missing')
  AND x.key >= p.id::text || ':' AND x.key < p.id::text || ';') AS open`

// The deposit shown is the one of the first accounting system that looked.
const payoutFrom = ` FROM shop_payouts p JOIN connections c ON c.id = p.connection_id
LEFT JOIN LATERAL (SELECT * FROM payout_deposits d WHERE d.payout_id = p.id ORDER BY d.connection_id LIMIT 1) d ON true`

// PayoutFilter selects payouts, newest first.
type PayoutFilter struct {
	// From and To bound the issue date (To exclusive); zero: unbounded.
	From, To time.Time
	// Unmatched keeps those with no deposit found.
	Unmatched bool
	// Keyset: issued before (BeforeAt, BeforeID).
	BeforeAt time.Time
	BeforeID int64
	Limit    int
}

// ListPayouts returns one page of payouts, newest first; more says whether another page exists.
func (q q) ListPayouts(ctx context.Context, f PayoutFilter) ([]ShopPayout, bool, error) {
	where := "true"
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !f.From.IsZero() {
		where += " AND p.issued_at >= " + arg(f.From)
	}
	if !f.To.IsZero() {
		where += " AND p.issued_at < " + arg(f.To)
	}
	if f.Unmatched {
		where += " AND coalesce(d.line_ref, '') = ''"
	}
	if f.BeforeID > 0 {
		where += fmt.Sprintf(" AND (p.issued_at, p.id) < (%s, %s)", arg(f.BeforeAt), arg(f.BeforeID))
	}
	limit := pageLimit(f.Limit)
	var ps []ShopPayout
	if err := sqlxSelect(ctx, q, &ps, `SELECT `+payoutColumns+payoutFrom+` WHERE `+where+
		` ORDER BY p.issued_at DESC, p.id DESC LIMIT `+arg(limit+1), args...); err != nil {
		return nil, false, fmt.Errorf("store: list payouts: %w", err)
	}
	if len(ps) > limit {
		return ps[:limit], true, nil
	}
	return ps, false, nil
}

// PayoutByID reads one payout.
func (q q) PayoutByID(ctx context.Context, id int64) (ShopPayout, error) {
	var p ShopPayout
	err := sqlxGet(ctx, q, &p, `SELECT `+payoutColumns+payoutFrom+` WHERE p.id = $1`, id)
	return p, err
}

// PayoutByRef reads one payout by its connection and Shopify id.
func (q q) PayoutByRef(ctx context.Context, connID int64, ref string) (ShopPayout, error) {
	var p ShopPayout
	err := sqlxGet(ctx, q, &p, `SELECT `+payoutColumns+payoutFrom+` WHERE p.connection_id = $1 AND p.payout_ref = $2`, connID, ref)
	return p, err
}

// BalanceTx is a stored balance transaction.
type BalanceTx struct {
	ID          int64     `db:"id"`
	Ref         string    `db:"tx_ref"`
	Kind        string    `db:"kind"`
	Type        string    `db:"type"`
	Amount      float64   `db:"amount"`
	Fee         float64   `db:"fee"`
	Net         float64   `db:"net"`
	Currency    string    `db:"currency"`
	OrderRef    string    `db:"order_ref"`
	OrderName   string    `db:"order_name"`
	Reason      string    `db:"adjustment_reason"`
	ProcessedAt time.Time `db:"processed_at"`
}

// PayoutTransactions returns one page of a payout's balance transactions,
// in processing order, after the keyset (afterAt, afterID).
func (q q) PayoutTransactions(ctx context.Context, p ShopPayout, afterAt time.Time, afterID int64, limit int) ([]BalanceTx, bool, error) {
	limit = pageLimit(limit)
	var ts []BalanceTx
	if err := sqlxSelect(ctx, q, &ts, `SELECT id, tx_ref, kind, type, amount, fee, net, currency, order_ref, order_name,
  adjustment_reason, processed_at FROM shop_balance_transactions
WHERE connection_id = $1 AND payout_ref = $2 AND (processed_at, id) > ($3, $4)
ORDER BY processed_at, id LIMIT $5`, p.ConnectionID, p.Ref, afterAt, afterID, limit+1); err != nil {
		return nil, false, fmt.Errorf("store: payout transactions: %w", err)
	}
	if len(ts) > limit {
		return ts[:limit], true, nil
	}
	return ts, false, nil
}

// PayoutDeposit is what an accounting system holds for a payout.
type PayoutDeposit struct {
	PayoutID, ConnectionID int64
	// LineRef is the bank statement line; "" when none was found.
	LineRef   string
	Amount    float64
	Currency  string
	Date      time.Time
	Reference string
	ByTrace   bool
}

// SavePayoutDeposit records the deposit a payout was matched to (or that
// none was found) in one accounting system. ErrConflict: another payout
// took that deposit meanwhile.
func (q q) SavePayoutDeposit(ctx context.Context, d PayoutDeposit) error {
	var amount any
	var date any
	if d.LineRef != "" {
		amount, date = d.Amount, d.Date
	}
	_, err := q.ext.ExecContext(ctx, `INSERT INTO payout_deposits (payout_id, connection_id, line_ref, amount, currency, deposit_date, reference, by_trace)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (payout_id, connection_id) DO UPDATE SET checked_at = now(), line_ref = EXCLUDED.line_ref, amount = EXCLUDED.amount,
  currency = EXCLUDED.currency, deposit_date = EXCLUDED.deposit_date, reference = EXCLUDED.reference, by_trace = EXCLUDED.by_trace`,
		d.PayoutID, d.ConnectionID, d.LineRef, amount, d.Currency, date, d.Reference, d.ByTrace)
	if isUniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: save payout deposit: %w", err)
	}
	return nil
}

// PayoutDepositOf is what one accounting system held for a payout when it
// was last looked at; false when it was never looked at.
func (q q) PayoutDepositOf(ctx context.Context, payoutID, connID int64) (PayoutDeposit, bool, error) {
	var r struct {
		LineRef   string     `db:"line_ref"`
		Amount    *float64   `db:"amount"`
		Currency  string     `db:"currency"`
		Date      *time.Time `db:"deposit_date"`
		Reference string     `db:"reference"`
		ByTrace   bool       `db:"by_trace"`
	}
	err := sqlxGet(ctx, q, &r, `SELECT line_ref, amount, currency, deposit_date, reference, by_trace FROM payout_deposits
WHERE payout_id = $1 AND connection_id = $2`, payoutID, connID)
	if errors.Is(err, ErrNotFound) {
		return PayoutDeposit{}, false, nil
	}
	if err != nil {
		return PayoutDeposit{}, false, fmt.Errorf("store: payout deposit: %w", err)
	}
	d := PayoutDeposit{PayoutID: payoutID, ConnectionID: connID, LineRef: r.LineRef, Currency: r.Currency, Reference: r.Reference, ByTrace: r.ByTrace}
	if r.Amount != nil {
		d.Amount = *r.Amount
	}
	if r.Date != nil {
		d.Date = *r.Date
	}
	return d, true, nil
}

// ClaimedDepositLines are the bank statement lines of an accounting system
// already matched to a payout other than exceptID: one deposit pays one payout.
func (q q) ClaimedDepositLines(ctx context.Context, connID, exceptID int64) (map[string]bool, error) {
	var refs []string
	if err := sqlxSelect(ctx, q, &refs, `SELECT line_ref FROM payout_deposits WHERE connection_id = $1 AND payout_id <> $2 AND line_ref <> ''`,
		connID, exceptID); err != nil {
		return nil, fmt.Errorf("store: claimed deposits: %w", err)
	}
	out := make(map[string]bool, len(refs))
	for _, r := range refs {
		out[r] = true
	}
	return out, nil
}

// PayoutsSummary is the payouts dashboard's headline for a period.
type PayoutsSummary struct {
	Payouts   int64   `db:"payouts"`
	Net       float64 `db:"net"`
	Matched   int64   `db:"matched"`
	Unmatched int64   `db:"unmatched"`
	Currency  string  `db:"currency"`
	// Differences are the live payout discrepancies (all periods).
	Differences int64 `db:"differences"`
	// Chargebacks are disputes debited and not reversed yet.
	Chargebacks       int64   `db:"chargebacks"`
	ChargebacksAmount float64 `db:"chargebacks_amount"`
}

// PayoutsSummaryOf sums the payouts issued in [from, to).
func (q q) PayoutsSummaryOf(ctx context.Context, from, to time.Time) (PayoutsSummary, error) {
	var s PayoutsSummary
	err := sqlxGet(ctx, q, &s, `WITH p AS (
  SELECT p.net, p.currency, EXISTS (SELECT 1 FROM payout_deposits d WHERE d.payout_id = p.id AND d.line_ref <> '') AS matched
  FROM shop_payouts p WHERE p.issued_at >= $1 AND p.issued_at < $2),
disputes AS (
  SELECT order_ref, sum(amount) AS amount, bool_or(amount > 0) AS reversed FROM shop_balance_transactions
  WHERE kind = 'dispute' GROUP BY connection_id, order_ref)
SELECT (SELECT count(*) FROM p) AS payouts, (SELECT coalesce(sum(net), 0) FROM p) AS net,
  (SELECT count(*) FILTER (WHERE matched) FROM p) AS matched, (SELECT count(*) FILTER (WHERE NOT matched) FROM p) AS unmatched,
  coalesce((SELECT min(currency) FROM p), '') AS currency,
  (SELECT count(*) FROM discrepancies WHERE family = 'payouts' AND status IN ('open', 'acknowledged')) AS differences,
  (SELECT count(*) FROM disputes WHERE NOT reversed) AS chargebacks,
  (SELECT coalesce(-sum(amount), 0) FROM disputes WHERE NOT reversed) AS chargebacks_amount`, from, to)
	if err != nil {
		return s, fmt.Errorf("store: payouts summary: %w", err)
	}
	return s, nil
}

// MonthFees is one month of payment fees against revenue (charges).
type MonthFees struct {
	Month    time.Time `db:"month"`
	Revenue  float64   `db:"revenue"`
	Fees     float64   `db:"fees"`
	Refunds  float64   `db:"refunds"`
	Currency string    `db:"currency"`
}

// Percent is the fees as a percentage of revenue; 0 without revenue.
func (m MonthFees) Percent() float64 {
	if m.Revenue == 0 {
		return 0
	}
	return m.Fees / m.Revenue * 100
}

// FeesByMonth sums charges, fees and refunds per calendar month (UTC) of
// the months from since on, oldest first.
func (q q) FeesByMonth(ctx context.Context, since time.Time) ([]MonthFees, error) {
	var ms []MonthFees
	if err := sqlxSelect(ctx, q, &ms, `SELECT date_trunc('month', processed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month,
  coalesce(sum(amount) FILTER (WHERE kind = 'charge'), 0) AS revenue, coalesce(sum(fee), 0) AS fees,
  coalesce(-sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunds, min(currency) AS currency
FROM shop_balance_transactions WHERE processed_at >= $1 AND NOT test GROUP BY 1 ORDER BY 1`, since); err != nil {
		return nil, fmt.Errorf("store: fees by month: %w", err)
	}
	return ms, nil
}

// payoutsSQL compares the paid payouts of master (Shopify, $2) issued
// before $5 with what other (the accounting system, $3) holds: a deposit
// missing, a deposit that differs in amount or currency, transactions that
// do not add up to the payout, and charges on orders that never reached
// the accounting system. Sizes are money; per mille of the payout in
// detail and after the other value.
const payoutsSQL = `WITH p AS MATERIALIZED (
  SELECT p.id, p.payout_ref, p.legacy_id, p.issued_at, p.net, p.currency, d.line_ref, d.amount AS dep_amount, d.currency AS dep_cur,
    d.deposit_date, 'Payout of ' || to_char(p.issued_at AT TIME ZONE 'UTC', 'FMDD Mon YYYY') AS label
  FROM shop_payouts p JOIN payout_deposits d ON d.payout_id = p.id AND d.connection_id = $3
  WHERE p.connection_id = $2 AND p.status = 'PAID' AND p.issued_at < $5),
-- MATERIALIZED: computed once. Without statistics (a first read) the
-- planner thinks p has one row and would aggregate again per payout.
sums AS MATERIALIZED (
  SELECT t.payout_ref, sum(t.net) AS net, count(*) AS n FROM shop_balance_transactions t
  WHERE t.connection_id = $2 AND t.payout_ref IN (SELECT payout_ref FROM p) GROUP BY t.payout_ref),
lost AS MATERIALIZED (
  SELECT t.payout_ref, count(DISTINCT t.order_ref) AS orders, sum(t.amount) AS amount,
    string_agg(DISTINCT t.order_name, ', ') AS names
  FROM shop_balance_transactions t
  WHERE t.connection_id = $2 AND t.kind = 'charge' AND t.order_ref <> '' AND t.payout_ref IN (SELECT payout_ref FROM p)
    AND NOT EXISTS (SELECT 1 FROM syncs s WHERE s.entity_ref = t.order_ref AND s.target_connection_id = $3
      AND s.status = 'succeeded' AND s.family = 'orders')
  GROUP BY t.payout_ref),
diff AS (
  SELECT 'payout_no_deposit' AS kind, p.id || ':' || $3 AS key, p.label, to_char(p.net, 'FM999999999990.00') || ' ' || p.currency AS master_value,
    'no deposit' AS other_value, abs(p.net) AS size,
    jsonb_build_object('payout_id', p.id, 'payout', p.payout_ref, 'per_mille', 1000) AS detail
  FROM p WHERE p.line_ref = ''
  UNION ALL
  SELECT 'payout_deposit_differs', p.id || ':' || $3, p.label, to_char(p.net, 'FM999999999990.00') || ' ' || p.currency,
    to_char(p.dep_amount, 'FM999999999990.00') || ' ' || coalesce(nullif(p.dep_cur, ''), p.currency) || CASE WHEN p.net <> 0
      THEN ' (' || to_char(round(abs(p.dep_amount - p.net) / abs(p.net) * 1000, 1), 'FM9999990.0') || ' ‰)' ELSE '' END,
    CASE WHEN p.dep_cur <> '' AND p.dep_cur <> p.currency THEN abs(p.net) ELSE abs(p.dep_amount - p.net) END,
    jsonb_build_object('payout_id', p.id, 'payout', p.payout_ref, 'deposit', p.line_ref, 'deposit_date', p.deposit_date,
      'per_mille', CASE WHEN p.net <> 0 THEN round(abs(p.dep_amount - p.net) / abs(p.net) * 1000, 1) END)
  FROM p WHERE p.line_ref <> '' AND (round(p.dep_amount, 2) <> round(p.net, 2) OR (p.dep_cur <> '' AND p.dep_cur <> p.currency))
  UNION ALL
  SELECT 'payout_sum_differs', p.id || ':' || $3, p.label, to_char(p.net, 'FM999999999990.00') || ' ' || p.currency,
    to_char(coalesce(s.net, 0), 'FM999999999990.00') || ' in ' || coalesce(s.n, 0) || ' transactions' || CASE WHEN p.net <> 0
      THEN ' (' || to_char(round(abs(coalesce(s.net, 0) - p.net) / abs(p.net) * 1000, 1), 'FM9999990.0') || ' ‰)' ELSE '' END,
    abs(coalesce(s.net, 0) - p.net),
    jsonb_build_object('payout_id', p.id, 'payout', p.payout_ref, 'transactions', coalesce(s.n, 0),
      'per_mille', CASE WHEN p.net <> 0 THEN round(abs(coalesce(s.net, 0) - p.net) / abs(p.net) * 1000, 1) END)
  FROM p LEFT JOIN sums s ON s.payout_ref = p.payout_ref WHERE round(coalesce(s.net, 0), 2) <> round(p.net, 2)
  UNION ALL
  SELECT 'payout_orders_missing', p.id || ':' || $3, p.label, l.orders || ' orders paid: ' || left(l.names, 200),
    'not in the accounting system', l.amount,
    jsonb_build_object('payout_id', p.id, 'payout', p.payout_ref, 'orders', l.orders,
      'per_mille', CASE WHEN p.net <> 0 THEN round(l.amount / abs(p.net) * 1000, 1) END)
  FROM p JOIN lost l ON l.payout_ref = p.payout_ref),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FROM p) AS compared, (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// ComparePayouts compares the payouts of master (Shopify) issued before
// notAfter with the deposits, transactions and orders other holds.
func (s *Store) ComparePayouts(ctx context.Context, runID, master, other int64, notAfter time.Time) (CompareResult, error) {
	r, err := s.compare(ctx, payoutsSQL, runID, master, other, ReconPayouts, notAfter)
	if err != nil {
		return r, err
	}
	var nc struct {
		Unchecked int64 `db:"unchecked"`
		Recent    int64 `db:"recent"`
	}
	if err := sqlxGet(ctx, s.q, &nc, `SELECT
  count(*) FILTER (WHERE p.issued_at < $3 AND NOT EXISTS (SELECT 1 FROM payout_deposits d WHERE d.payout_id = p.id AND d.connection_id = $2)) AS unchecked,
  count(*) FILTER (WHERE p.issued_at >= $3) AS recent
FROM shop_payouts p WHERE p.connection_id = $1 AND p.status = 'PAID'`, master, other, notAfter); err != nil {
		return r, fmt.Errorf("store: payouts not compared: %w", err)
	}
	if nc.Unchecked > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "payouts not looked for in the bank statements yet",
			Why: "Their syncs are still waiting or failed; see Failed syncs. The next comparison looks at them again.", Count: nc.Unchecked})
	}
	if nc.Recent > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "payouts issued in the last 3 days",
			Why: "Their deposit may still be on its way to the bank; the next comparison looks at them again.", Count: nc.Recent})
	}
	return r, nil
}

// PayoutsWithoutDeposit are the paid payouts of a Shopify connection issued
// since since for which the accounting system tgt had no deposit when it
// was last looked at: their deposit may have arrived since.
func (q q) PayoutsWithoutDeposit(ctx context.Context, src, tgt int64, since time.Time) ([]ShopPayout, error) {
	var ps []ShopPayout
	if err := sqlxSelect(ctx, q, &ps, `SELECT `+payoutColumns+payoutFrom+`
WHERE p.connection_id = $1 AND p.status = 'PAID' AND p.issued_at >= $3
  AND EXISTS (SELECT 1 FROM payout_deposits x WHERE x.payout_id = p.id AND x.connection_id = $2 AND x.line_ref = '')
ORDER BY p.issued_at LIMIT 1000`, src, tgt, since); err != nil {
		return nil, fmt.Errorf("store: payouts without deposit: %w", err)
	}
	return ps, nil
}

// OrderMargin is the true margin of one order paid through Shopify
// Payments: what the customer paid, less payment fees, refunds, lost
// disputes and the ERP cost of the goods, beside the list-price margin
// (paid less cost).
type OrderMargin struct {
	OrderRef  string    `db:"order_ref"`
	OrderName string    `db:"order_name"`
	Currency  string    `db:"currency"`
	PaidAt    time.Time `db:"paid_at"`
	Revenue   float64   `db:"revenue"`
	Fees      float64   `db:"fees"`
	Refunds   float64   `db:"refunds"`
	Disputes  float64   `db:"disputes"`
	// Cost is nil when a line's cost is unknown (order not synced, variant
	// not mapped, or no cost in the latest prices comparison).
	Cost *float64 `db:"cost"`
	// WarehouseShipping is what the warehouse (ShipBob) billed for the
	// order's shipments, in the order's currency; nil when it has billed
	// nothing yet.
	WarehouseShipping *float64 `db:"warehouse_shipping"`
}

// ListMargin is revenue less cost; nil without a cost.
func (m OrderMargin) ListMargin() *float64 {
	if m.Cost == nil {
		return nil
	}
	v := m.Revenue - *m.Cost
	return &v
}

// TrueMargin is revenue less fees, refunds, disputes, cost and what the
// warehouse billed for shipping it (when it has); nil without a cost.
func (m OrderMargin) TrueMargin() *float64 {
	if m.Cost == nil {
		return nil
	}
	v := m.Revenue - m.Fees - m.Refunds - m.Disputes - *m.Cost
	if m.WarehouseShipping != nil {
		v -= *m.WarehouseShipping
	}
	return &v
}

// warehouseCharged is what the warehouse billed for the order o (NULL
// when nothing yet): one probe of warehouse_charges_order per order;
// charges in another currency are not converted, so not counted.
const warehouseCharged = `(SELECT sum(w.amount) FROM warehouse_charges w WHERE w.order_ref = o.order_ref
    AND (w.currency = '' OR o.currency = '' OR w.currency = o.currency))`

// marginLinesSQL are the order lines (from the order's latest sync into the
// ERP) of the orders paid in [$1, $2), with the ERP cost of their variant
// in the latest finance review, and their order's payment figures.
const marginLinesSQL = `WITH o AS (
  SELECT connection_id, order_ref, min(order_name) AS order_name, min(currency) AS currency, min(processed_at) AS paid_at,
    coalesce(sum(amount) FILTER (WHERE kind = 'charge'), 0) AS revenue, coalesce(sum(fee), 0) AS fees,
    coalesce(-sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunds,
    greatest(coalesce(-sum(net) FILTER (WHERE kind = 'dispute'), 0), 0) AS disputes
  FROM shop_balance_transactions WHERE order_ref <> '' AND processed_at >= $1 AND processed_at < $2 AND NOT test
  GROUP BY connection_id, order_ref),
-- What the warehouse billed for each order (as OrderMargins counts it).
ow AS (
  SELECT o.*, coalesce(` + warehouseCharged + `, 0) AS warehouse FROM o),
fr AS (SELECT run_id FROM finance_runs ORDER BY built_at DESC LIMIT 1),
lines AS (
  SELECT ow.*, l->>'variant_id' AS variant_ref, coalesce(nullif(l->>'sku', ''), l->>'title', '') AS sku,
    (l->>'quantity')::numeric AS qty, (l->>'price')::numeric AS price
  FROM ow CROSS JOIN LATERAL (SELECT payload FROM syncs s WHERE s.entity_ref = ow.order_ref AND s.status = 'succeeded'
    AND s.flow = 'orders.shopify_odoo' ORDER BY s.id DESC LIMIT 1) s
  CROSS JOIN LATERAL jsonb_array_elements(s.payload->'lines') l
  WHERE (l->>'quantity')::numeric > 0),
costed AS (
  SELECT lines.*, r.entity_id AS variant_id, f.odoo_cost AS unit_cost,
    lines.qty * lines.price / nullif(sum(lines.qty * lines.price) OVER (PARTITION BY lines.connection_id, lines.order_ref), 0) AS share
  FROM lines LEFT JOIN mapping_refs r ON r.connection_id = lines.connection_id AND r.entity_type = 'variant'
    AND r.external_id = lines.variant_ref AND r.valid_to IS NULL
  LEFT JOIN finance_rows f ON f.run_id = (SELECT run_id FROM fr) AND f.variant_id = r.entity_id)`

// OrderMargins returns the true margin of the orders paid in [from, to),
// most recent first, up to limit.
func (q q) OrderMargins(ctx context.Context, from, to time.Time, limit int) ([]OrderMargin, error) {
	var ms []OrderMargin
	if err := sqlxSelect(ctx, q, &ms, `WITH o AS (
  SELECT connection_id, order_ref, min(order_name) AS order_name, min(currency) AS currency, min(processed_at) AS paid_at,
    coalesce(sum(amount) FILTER (WHERE kind = 'charge'), 0) AS revenue, coalesce(sum(fee), 0) AS fees,
    coalesce(-sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunds,
    greatest(coalesce(-sum(net) FILTER (WHERE kind = 'dispute'), 0), 0) AS disputes
  FROM shop_balance_transactions WHERE order_ref <> '' AND processed_at >= $1 AND processed_at < $2 AND NOT test
  GROUP BY connection_id, order_ref ORDER BY min(processed_at) DESC, order_ref LIMIT $3),
fr AS (SELECT run_id FROM finance_runs ORDER BY built_at DESC LIMIT 1)
SELECT o.order_ref, o.order_name, o.currency, o.paid_at, o.revenue, o.fees, o.refunds, o.disputes, c.cost,
  round(`+warehouseCharged+`, 2) AS warehouse_shipping
FROM o LEFT JOIN LATERAL (
  SELECT CASE WHEN count(*) > 0 AND count(*) = count(f.odoo_cost) THEN sum((l->>'quantity')::numeric * f.odoo_cost) END AS cost
  FROM (SELECT payload FROM syncs s WHERE s.entity_ref = o.order_ref AND s.status = 'succeeded' AND s.flow = 'orders.shopify_odoo'
        ORDER BY s.id DESC LIMIT 1) s
  CROSS JOIN LATERAL jsonb_array_elements(s.payload->'lines') l
  LEFT JOIN mapping_refs r ON r.connection_id = o.connection_id AND r.entity_type = 'variant' AND r.external_id = l->>'variant_id' AND r.valid_to IS NULL
  LEFT JOIN finance_rows f ON f.run_id = (SELECT run_id FROM fr) AND f.variant_id = r.entity_id
  WHERE (l->>'quantity')::numeric > 0) c ON true
ORDER BY o.paid_at DESC, o.order_ref`, from, to, pageLimit(limit)); err != nil {
		return nil, fmt.Errorf("store: order margins: %w", err)
	}
	return ms, nil
}

// VariantMargin is the margin of one variant over the orders paid in a
// period: at list price (what its lines sold for, less ERP cost) and true
// (less its share of its orders' payment fees, refunds, lost disputes and
// warehouse shipping, in proportion to the line's value in the order).
type VariantMargin struct {
	VariantID int64    `db:"variant_id"`
	SKU       string   `db:"sku"`
	Currency  string   `db:"currency"`
	Units     float64  `db:"units"`
	Revenue   float64  `db:"revenue"`
	Cost      *float64 `db:"cost"`
	Fees      float64  `db:"fees"`
	Refunds   float64  `db:"refunds"`
	// Warehouse is the variant's share of what the warehouse billed for
	// shipping its orders (0 without a warehouse, or not billed yet).
	Warehouse  float64  `db:"warehouse"`
	ListMargin *float64 `db:"list_margin"`
	TrueMargin *float64 `db:"true_margin"`
}

// VariantMargins returns the mapped variants sold in the orders paid in
// [from, to), lowest true margin first, up to limit.
func (q q) VariantMargins(ctx context.Context, from, to time.Time, limit int) ([]VariantMargin, error) {
	var vs []VariantMargin
	if err := sqlxSelect(ctx, q, &vs, marginLinesSQL+`,
v AS (
  SELECT variant_id, min(sku) AS sku, min(currency) AS currency, sum(qty) AS units, sum(qty * price) AS revenue,
    CASE WHEN count(*) = count(unit_cost) THEN sum(qty * unit_cost) END AS cost,
    sum(coalesce(share, 0) * fees) AS fees, sum(coalesce(share, 0) * (refunds + disputes)) AS refunds,
    sum(coalesce(share, 0) * warehouse) AS warehouse
  FROM costed WHERE variant_id IS NOT NULL GROUP BY variant_id)
SELECT variant_id, sku, currency, units, round(revenue, 2) AS revenue, round(cost, 2) AS cost, round(fees, 2) AS fees,
  round(refunds, 2) AS refunds, round(warehouse, 2) AS warehouse, round(revenue - cost, 2) AS list_margin,
  round(revenue - cost - fees - refunds - warehouse, 2) AS true_margin
FROM v ORDER BY (revenue - cost - fees - refunds - warehouse) NULLS LAST, variant_id LIMIT $3`, from, to, pageLimit(limit)); err != nil {
		return nil, fmt.Errorf("store: variant margins: %w", err)
	}
	return vs, nil
}
