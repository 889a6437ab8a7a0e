package store

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// Thresholds are the margins (percent of the storefront price) below which
// a variant is flagged critical, high or medium.
type Thresholds struct {
	Critical float64 `db:"critical"`
	High     float64 `db:"high"`
	Medium   float64 `db:"medium"`
}

// Validate checks that each threshold is a percent and that they go up
// from critical to medium, saying which one is wrong.
func (t Thresholds) Validate() FieldErrors {
	for _, v := range []struct {
		name string
		v    float64
	}{{"critical", t.Critical}, {"low", t.High}, {"below target", t.Medium}} {
		if math.IsNaN(v.v) || v.v < -100 || v.v > 100 {
			return FieldErrors{"thresholds": fmt.Sprintf("The %s threshold must be a percent between -100 and 100; %g is not.", v.name, v.v)}
		}
	}
	if t.Critical > t.High {
		return FieldErrors{"thresholds": fmt.Sprintf("Thresholds go up from critical to medium: the critical threshold (%g %%) cannot be above the low one (%g %%).", t.Critical, t.High)}
	}
	if t.High > t.Medium {
		return FieldErrors{"thresholds": fmt.Sprintf("Thresholds go up from critical to medium: the low threshold (%g %%) cannot be above the below-target one (%g %%).", t.High, t.Medium)}
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

// FlagAny selects every flagged variant (the month-end summary).
const FlagAny = "any"

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
	// Units sold and revenue (Shopify price × units) over the last 30
	// days, from the orders flow's sync records; nil when no order was
	// synced in that time.
	Units   *float64 `db:"units"`
	Revenue *float64 `db:"revenue"`
}

// FinanceFilter selects rows of the review.
type FinanceFilter struct {
	Flag string
	// Sort: SortMarginPct (default), SortMargin or SortRevenue.
	Sort string
	// Keyset: rows after (AfterKey, AfterID) in the sort's order.
	AfterKey *float64
	AfterID  int64
	Limit    int
}

// Finance review sorts.
const (
	SortMarginPct = "margin_pct" // lowest margin % first, no margin first of all
	SortMargin    = "margin"     // lowest margin in money first
	SortRevenue   = "revenue"    // highest revenue of the last 30 days first
)

// FinanceSorts lists the sorts in menu order.
var FinanceSorts = []string{SortMarginPct, SortMargin, SortRevenue}

// financeOrder is a sort's key expression and direction. NULL keys come
// first for margins (-1e9 stands in for them) and last for revenue (-1).
func financeOrder(sort string) (key string, desc bool) {
	switch sort {
	case SortMargin:
		return "coalesce(margin, -1e9)", false
	case SortRevenue:
		return "coalesce(revenue, -1)", true
	}
	return "coalesce(margin_pct, -1e9)", false
}

// SortKey is the value a row has in a sort's order, for the keyset.
func (r FinanceRow) SortKey(sort string) *float64 {
	switch sort {
	case SortMargin:
		return r.Margin
	case SortRevenue:
		return r.Revenue
	}
	return r.MarginPct
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
	// Revenue of the last 30 days, all variants and flagged ones (a margin
	// level or a price that differs); nil without order data.
	Revenue        *float64 `db:"revenue"`
	FlaggedRevenue *float64 `db:"flagged_revenue"`
	// Flagged variants (any flag) and their review states.
	Flagged      int64 `db:"flagged"`
	Acknowledged int64 `db:"acknowledged"`
	Accepted     int64 `db:"accepted"`
	Sent         int64 `db:"sent"`
}

// financeSQL is the review of the latest prices comparison that pulled
// both systems: the master's (Odoo) list price and cost against Shopify's
// price, compare-at price and unit cost, per mapped variant.
const financeSQL = `WITH run AS (
  SELECT id FROM recon_runs WHERE family = 'prices' AND status IN ('succeeded', 'partial') ORDER BY id DESC LIMIT 1),
orders AS MATERIALIZED (
  SELECT DISTINCT ON (entity_ref) payload FROM syncs
  WHERE flow = 'orders.shopify_odoo' AND created_at >= now() - interval '30 days' AND parent_id IS NULL
  ORDER BY entity_ref, id DESC),
sold AS MATERIALIZED (
  SELECT l->>'variant_id' AS ref, sum((l->>'quantity')::numeric) AS units
  FROM orders o, jsonb_array_elements(CASE WHEN jsonb_typeof(o.payload->'lines') = 'array' THEN o.payload->'lines' ELSE '[]' END) l
  WHERE l->>'quantity' ~ '^[0-9]{1,9}$' AND l->>'variant_id' <> ''
  GROUP BY 1),
odoo AS MATERIALIZED (
  SELECT p.variant_id, p.variant_ref, p.label, p.price, p.cost FROM recon_prices p JOIN connections c ON c.id = p.connection_id AND c.kind = 'odoo'
  WHERE p.run_id = (SELECT id FROM run) AND p.variant_id IS NOT NULL),
shop AS MATERIALIZED (
  SELECT p.variant_id, p.variant_ref, p.label, p.price, p.compare_at, p.cost, p.currency FROM recon_prices p
  JOIN connections c ON c.id = p.connection_id AND c.kind = 'shopify'
  WHERE p.run_id = (SELECT id FROM run) AND p.variant_id IS NOT NULL),
base AS (
  SELECT o.variant_id, coalesce(nullif(s.label, ''), o.label) AS sku, s.price AS shop_price, s.compare_at, o.price AS list_price,
    nullif(o.cost, 0) AS odoo_cost, s.cost AS shop_cost, s.currency, coalesce(nullif(o.cost, 0), s.cost) AS cost,
    coalesce(fr.state, '') AS review_state, coalesce(fr.note, '') AS review_note,
    CASE WHEN EXISTS (SELECT 1 FROM orders) THEN coalesce(sd.units, 0) END AS units
  FROM odoo o
  JOIN shop s ON s.variant_id = o.variant_id
  LEFT JOIN finance_reviews fr ON fr.variant_id = o.variant_id
  LEFT JOIN sold sd ON sd.ref = s.variant_ref),
rows AS (
  SELECT b.*, round(b.shop_price - b.cost, 2) AS margin,
    CASE WHEN b.shop_price > 0 AND b.cost IS NOT NULL THEN round((b.shop_price - b.cost) / b.shop_price * 100, 1) END AS margin_pct,
    (b.shop_price IS NOT NULL AND b.list_price IS NOT NULL AND round(b.shop_price, 2) <> round(b.list_price, 2)) AS price_differs,
    (b.cost IS NULL) AS cost_missing,
    round(b.shop_price * b.units, 2) AS revenue
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
	case FlagAny:
		return "(level <> '' OR price_differs OR cost_missing)"
	}
	return "true"
}

// FinanceReview returns a page of the review, lowest margin first (no
// margin first of all), and whether more rows follow.
func (q q) FinanceReview(ctx context.Context, t Thresholds, f FinanceFilter) ([]FinanceRow, bool, error) {
	limit := pageLimit(f.Limit)
	where := []string{flagWhere(f.Flag)}
	args := []any{t.Critical, t.High, t.Medium}
	key, desc := financeOrder(f.Sort)
	null := "-1e9"
	if desc {
		null = "-1"
	}
	if f.AfterID != 0 {
		args = append(args, f.AfterKey, f.AfterID)
		after := fmt.Sprintf("coalesce($4::numeric, %s)", null)
		if desc {
			where = append(where, fmt.Sprintf("(%s < %s OR (%s = %s AND variant_id > $5))", key, after, key, after))
		} else {
			where = append(where, fmt.Sprintf("(%s, variant_id) > (%s, $5)", key, after))
		}
	}
	args = append(args, limit+1)
	dir := ""
	if desc {
		dir = " DESC"
	}
	query := financeSQL + `SELECT variant_id, sku, shop_price, compare_at, list_price, odoo_cost, shop_cost, currency, margin, margin_pct,
  price_differs, level, cost_missing, review_state, review_note, units, revenue FROM flagged WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY %s%s, variant_id LIMIT $%d`, key, dir, len(args))
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
  round(avg(margin_pct), 1)::float8 AS avg_margin_pct, sum(revenue)::float8 AS revenue,
  count(*) FILTER (WHERE level <> '' OR price_differs OR cost_missing) AS flagged,
  count(*) FILTER (WHERE (level <> '' OR price_differs OR cost_missing) AND review_state = 'acknowledged') AS acknowledged,
  count(*) FILTER (WHERE (level <> '' OR price_differs OR cost_missing) AND review_state = 'accepted') AS accepted,
  count(*) FILTER (WHERE (level <> '' OR price_differs OR cost_missing) AND review_state = 'sent') AS sent,
  CASE WHEN bool_or(revenue IS NOT NULL) THEN coalesce(sum(revenue) FILTER (WHERE level <> '' OR price_differs), 0) END::float8 AS flagged_revenue FROM flagged`, t.Critical, t.High, t.Medium)
	if err != nil {
		return out, fmt.Errorf("store: finance totals: %w", err)
	}
	return out, nil
}
