package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// FinanceRunTotal is a review as it was when its comparison built it: the
// totals under the thresholds of that moment.
type FinanceRunTotal struct {
	RunID      int64           `db:"run_id"`
	ComparedAt time.Time       `db:"compared_at"`
	JSON       json.RawMessage `db:"totals"`
}

// Totals decodes the totals kept for the run.
func (r FinanceRunTotal) Totals() FinanceTotals {
	var t FinanceTotals
	_ = json.Unmarshal(r.JSON, &t) // written by BuildFinanceReview from this type
	return t
}

// FinancePeriodRuns lists the reviews built by comparisons of prices that
// started in [from, to), oldest first.
func (q q) FinancePeriodRuns(ctx context.Context, from, to time.Time) ([]FinanceRunTotal, error) {
	var out []FinanceRunTotal
	if err := sqlxSelect(ctx, q, &out, `SELECT run_id, compared_at, totals FROM finance_run_totals
WHERE compared_at >= $1 AND compared_at < $2 ORDER BY compared_at, run_id`, from, to); err != nil {
		return nil, fmt.Errorf("store: finance period runs: %w", err)
	}
	return out, nil
}

// FinanceDecision is one decision about a variant, with the figures of the
// review it was taken on: finance's (acknowledged, accepted, sent) or the
// operators' answer to a price fix (done, not_a_problem).
type FinanceDecision struct {
	ID            int64     `db:"id"`
	VariantID     int64     `db:"variant_id"`
	RunID         int64     `db:"run_id"`
	SKU           string    `db:"sku"`
	Name          string    `db:"name"`
	ShopPrice     *float64  `db:"shop_price"`
	ListPrice     *float64  `db:"list_price"`
	Cost          *float64  `db:"cost"`
	Margin        *float64  `db:"margin"`
	MarginPct     *float64  `db:"margin_pct"`
	Currency      string    `db:"currency"`
	Decision      string    `db:"decision"`
	Note          string    `db:"note"`
	ByLabel       string    `db:"by_label"`
	Assignee      string    `db:"assignee"`
	DiscrepancyID *int64    `db:"discrepancy_id"`
	DecidedAt     time.Time `db:"decided_at"`
}

// FinanceDecisions returns the decisions taken in [from, to) in the order
// they were taken, after the one with id afterID (keyset), and whether more
// follow.
func (q q) FinanceDecisions(ctx context.Context, from, to time.Time, afterID int64, limit int) ([]FinanceDecision, bool, error) {
	limit = pageLimit(limit)
	var out []FinanceDecision
	if err := sqlxSelect(ctx, q, &out, `SELECT id, variant_id, run_id, sku, name, shop_price, list_price, cost, margin, margin_pct, currency,
  decision, note, by_label, assignee, discrepancy_id, decided_at
FROM finance_decisions WHERE decided_at >= $1 AND decided_at < $2 AND id > $3 ORDER BY id LIMIT $4`, from, to, afterID, limit+1); err != nil {
		return nil, false, fmt.Errorf("store: finance decisions: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// PriceFixCounts are the price fixes finance sent, as the Overview counts
// them: still open, open and assigned to the person asking, and answered
// by the operators in the last 30 days.
type PriceFixCounts struct {
	Open     int `db:"open"`
	Mine     int `db:"mine"`
	Answered int `db:"answered"`
}

// CountPriceFixes counts the price fixes finance sent (userID: the person
// whose own are counted as Mine). It reads the sent reviews only, a few
// rows (finance_reviews_sent).
func (q q) CountPriceFixes(ctx context.Context, userID int64) (PriceFixCounts, error) {
	var c PriceFixCounts
	if err := sqlxGet(ctx, q, &c, `SELECT
  count(*) FILTER (WHERE d.status IN ('open', 'acknowledged')) AS open,
  count(*) FILTER (WHERE d.status IN ('open', 'acknowledged') AND d.assignee_id = $1) AS mine,
  count(*) FILTER (WHERE fr.outcome <> '' AND fr.outcome_at > now() - interval '30 days') AS answered
FROM finance_reviews fr JOIN discrepancies d ON d.id = fr.discrepancy_id
WHERE fr.state = 'sent'`, userID); err != nil {
		return c, fmt.Errorf("store: count price fixes: %w", err)
	}
	return c, nil
}
