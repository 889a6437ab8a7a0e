package store

import (
	"context"
	"fmt"
	"strings"
)

// Thresholds are the margins (percent of the storefront price) below which
// a variant is flagged critical, high or medium.
type Thresholds struct {
	Critical float64 `db:"critical"`
	High     float64 `db:"high"`
	Medium   float64 `db:"medium"`
}

// Validate checks that the thresholds go up.
func (t Thresholds) Validate() FieldErrors {
	if t.Critical > t.High || t.High > t.Medium || t.Critical < -100 || t.Medium > 100 {
		return FieldErrors{"thresholds": "Thresholds go up from critical to medium, between -100 % and 100 %."}
	}
	return nil
}

// FinanceThresholds reads the global thresholds.
func (q q) FinanceThresholds(ctx context.Context) (Thresholds, error) {
	var t Thresholds
	err := sqlxGet(ctx, q, &t, `SELECT critical, high, medium FROM finance_thresholds`)
	return t, err
}

// SetFinanceThresholds saves the global thresholds, audited.
func (s *Store) SetFinanceThresholds(ctx context.Context, a Actor, t Thresholds) error {
	if fe := t.Validate(); fe != nil {
		return fe
	}
	return s.InTx(ctx, func(tx *Tx) error {
		before, err := tx.FinanceThresholds(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE finance_thresholds SET critical = $1, high = $2, medium = $3`, t.Critical, t.High, t.Medium); err != nil {
			return fmt.Errorf("store: set thresholds: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "finance.thresholds", ObjectType: "finance", ObjectID: "thresholds",
			Summary: fmt.Sprintf("Margin thresholds set to critical %g %%, high %g %%, medium %g %%.", t.Critical, t.High, t.Medium),
			Before:  before, After: t})
	})
}

// Finance flags.
const (
	FlagPriceDiffers = "price_differs"
	FlagNegative     = "negative"
	FlagCritical     = "critical"
	FlagHigh         = "high"
	FlagMedium       = "medium"
	FlagCostMissing  = "cost_missing"
)

// FinanceFlags lists the flags in filter order.
var FinanceFlags = []string{FlagPriceDiffers, FlagNegative, FlagCritical, FlagHigh, FlagMedium, FlagCostMissing}

// FinanceRow is one mapped variant in the finance review.
type FinanceRow struct {
	VariantID    int64    `db:"variant_id"`
	SKU          string   `db:"sku"`
	ShopPrice    *float64 `db:"shop_price"`
	CompareAt    *float64 `db:"compare_at"`
	ListPrice    *float64 `db:"list_price"`
	OdooCost     *float64 `db:"odoo_cost"`
	ShopCost     *float64 `db:"shop_cost"`
	Currency     string   `db:"currency"`
	Margin       *float64 `db:"margin"`
	MarginPct    *float64 `db:"margin_pct"`
	PriceDiffers bool     `db:"price_differs"`
	Level        string   `db:"level"` // negative, critical, high, medium or ""
	CostMissing  bool     `db:"cost_missing"`
	ReviewState  string   `db:"review_state"` // acknowledged, accepted, sent or ""
	ReviewNote   string   `db:"review_note"`
}

// FinanceFilter selects rows of the review.
type FinanceFilter struct {
	Flag string
	// Keyset: rows after (AfterPct, AfterID) in margin order, lowest first.
	AfterPct *float64
	AfterID  int64
	Limit    int
}

// FinanceTotals sum up the review.
type FinanceTotals struct {
	RunID        int64    `db:"run_id"`
	Variants     int64    `db:"variants"`
	PriceDiffers int64    `db:"price_differs"`
	Negative     int64    `db:"negative"`
	Critical     int64    `db:"critical"`
	High         int64    `db:"high"`
	Medium       int64    `db:"medium"`
	CostMissing  int64    `db:"cost_missing"`
	AvgMarginPct *float64 `db:"avg_margin_pct"`
}

// financeSQL is the review of the latest prices comparison that pulled
// both systems: the master's (Odoo) list price and cost against Shopify's
// price, compare-at price and unit cost, per mapped variant.
const financeSQL = `WITH run AS (
  SELECT id FROM recon_runs WHERE family = 'prices' AND status IN ('succeeded', 'partial') ORDER BY id DESC LIMIT 1),
base AS (
  SELECT o.variant_id, coalesce(nullif(s.label, ''), o.label) AS sku, s.price AS shop_price, s.compare_at, o.price AS list_price,
    nullif(o.cost, 0) AS odoo_cost, s.cost AS shop_cost, s.currency, coalesce(nullif(o.cost, 0), s.cost) AS cost,
    coalesce(fr.state, '') AS review_state, coalesce(fr.note, '') AS review_note
  FROM recon_prices o
  JOIN connections co ON co.id = o.connection_id AND co.kind = 'odoo'
  JOIN recon_prices s ON s.run_id = o.run_id AND s.variant_id = o.variant_id
  JOIN connections cs ON cs.id = s.connection_id AND cs.kind = 'shopify'
  LEFT JOIN finance_reviews fr ON fr.variant_id = o.variant_id
  WHERE o.run_id = (SELECT id FROM run) AND o.variant_id IS NOT NULL),
rows AS (
  SELECT b.*, round(b.shop_price - b.cost, 2) AS margin,
    CASE WHEN b.shop_price > 0 AND b.cost IS NOT NULL THEN round((b.shop_price - b.cost) / b.shop_price * 100, 1) END AS margin_pct,
    (b.shop_price IS NOT NULL AND b.list_price IS NOT NULL AND round(b.shop_price, 2) <> round(b.list_price, 2)) AS price_differs,
    (b.cost IS NULL) AS cost_missing
  FROM base b),
flagged AS (
  SELECT r.*, CASE WHEN r.margin_pct IS NULL THEN '' WHEN r.margin < 0 THEN 'negative' WHEN r.margin_pct < $1 THEN 'critical'
    WHEN r.margin_pct < $2 THEN 'high' WHEN r.margin_pct < $3 THEN 'medium' ELSE '' END AS level
  FROM rows r)
`

func flagWhere(flag string) string {
	switch flag {
	case FlagPriceDiffers:
		return "price_differs"
	case FlagCostMissing:
		return "cost_missing"
	case FlagNegative, FlagCritical, FlagHigh, FlagMedium:
		return "level = '" + flag + "'"
	}
	return "true"
}

// FinanceReview returns a page of the review, lowest margin first (no
// margin first of all), and whether more rows follow.
func (q q) FinanceReview(ctx context.Context, t Thresholds, f FinanceFilter) ([]FinanceRow, bool, error) {
	limit := pageLimit(f.Limit)
	where := []string{flagWhere(f.Flag)}
	args := []any{t.Critical, t.High, t.Medium}
	if f.AfterID != 0 {
		// NULL margins sort first: -1e9 stands in for them.
		args = append(args, f.AfterPct, f.AfterID)
		where = append(where, "(coalesce(margin_pct, -1e9), variant_id) > (coalesce($4::numeric, -1e9), $5)")
	}
	args = append(args, limit+1)
	query := financeSQL + `SELECT variant_id, sku, shop_price, compare_at, list_price, odoo_cost, shop_cost, currency, margin, margin_pct,
  price_differs, level, cost_missing, review_state, review_note FROM flagged WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY coalesce(margin_pct, -1e9), variant_id LIMIT $%d`, len(args))
	var rows []FinanceRow
	if err := sqlxSelect(ctx, q, &rows, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: finance review: %w", err)
	}
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// FinanceReviewTotals counts the flags over the whole review.
func (q q) FinanceReviewTotals(ctx context.Context, t Thresholds) (FinanceTotals, error) {
	var out FinanceTotals
	err := sqlxGet(ctx, q, &out, financeSQL+`SELECT coalesce((SELECT id FROM run), 0) AS run_id, count(*) AS variants,
  count(*) FILTER (WHERE price_differs) AS price_differs, count(*) FILTER (WHERE level = 'negative') AS negative,
  count(*) FILTER (WHERE level = 'critical') AS critical, count(*) FILTER (WHERE level = 'high') AS high,
  count(*) FILTER (WHERE level = 'medium') AS medium, count(*) FILTER (WHERE cost_missing) AS cost_missing,
  round(avg(margin_pct), 1)::float8 AS avg_margin_pct FROM flagged`, t.Critical, t.High, t.Medium)
	if err != nil {
		return out, fmt.Errorf("store: finance totals: %w", err)
	}
	return out, nil
}
