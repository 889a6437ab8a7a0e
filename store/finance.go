package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
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
func (t Thresholds) Validate() vocab.FieldErrors {
	for _, v := range []struct {
		name string
		v    float64
	}{{"critical", t.Critical}, {"low", t.High}, {"below target", t.Medium}} {
		if math.IsNaN(v.v) || v.v < -100 || v.v > 100 {
			return vocab.FieldErrors{"thresholds": fmt.Sprintf("The %s threshold must be a percent between -100 and 100; %g is not.", v.name, v.v)}
		}
	}
	if t.Critical > t.High {
		return vocab.FieldErrors{"thresholds": fmt.Sprintf("Thresholds go up from critical to medium: the critical threshold (%g %%) cannot be above the low one (%g %%).", t.Critical, t.High)}
	}
	if t.High > t.Medium {
		return vocab.FieldErrors{"thresholds": fmt.Sprintf("Thresholds go up from critical to medium: the low threshold (%g %%) cannot be above the below-target one (%g %%).", t.High, t.Medium)}
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
	// FlagCurrencies: the two systems price the variant in different
	// currencies, so neither the prices nor the margin were compared.
	FlagCurrencies = "currency_differs"
)

// FlagAny selects every flagged variant (the month-end summary).
const FlagAny = "any"

// FinanceFlags lists the flags in filter order.
var FinanceFlags = []string{FlagPriceDiffers, FlagNegative, FlagCritical, FlagHigh, FlagMedium, FlagCostMissing, FlagCurrencies}

// FinanceRow is one mapped variant in the finance review.
type FinanceRow struct {
	VariantID    int64    `db:"variant_id"`
	SKU          string   `db:"sku"`
	ShopPrice    *float64 `db:"shop_price"`
	CompareAt    *float64 `db:"compare_at"`
	ListPrice    *float64 `db:"list_price"`
	OdooCost     *float64 `db:"odoo_cost"`
	ShopCost     *float64 `db:"shop_cost"`
	Currency     string   `db:"currency"` // the storefront's
	OdooCurrency string   `db:"odoo_currency"`
	Margin       *float64 `db:"margin"`
	MarginPct    *float64 `db:"margin_pct"`
	PriceDiffers bool     `db:"price_differs"`
	Level        string   `db:"level"` // negative, critical, high, medium or ""
	CostMissing  bool     `db:"cost_missing"`
	// CurrencyDiffers: Odoo and the storefront (or the cost) are in
	// different currencies; price and margin are not compared.
	CurrencyDiffers bool   `db:"currency_differs"`
	ReviewState     string `db:"review_state"` // acknowledged, accepted, sent or ""
	ReviewNote      string `db:"review_note"`
	// Units sold and revenue (Shopify price × units) over the last 30
	// days, from the orders flow's sync records; nil when no order was
	// synced in that time.
	Units   *float64 `db:"units"`
	Revenue *float64 `db:"revenue"`
	// Collections are the Shopify collections of the variant's product.
	Collections pq.StringArray `db:"collections"`
	// Stake is the money at stake (see the finance_rows column); nil for
	// reviews built before it was computed.
	Stake *float64 `db:"stake"`
	// ReviewBy is who took the review decision.
	ReviewBy string `db:"review_by"`
	// A price fix sent to the operators: the discrepancy carrying it, its
	// status and assignee, and the operators' answer (done, not_a_problem
	// or "" while they have not answered).
	DiscrepancyID *int64     `db:"discrepancy_id"`
	RequestStatus string     `db:"request_status"`
	Assignee      string     `db:"assignee"`
	Outcome       string     `db:"outcome"`
	OutcomeNote   string     `db:"outcome_note"`
	OutcomeBy     string     `db:"outcome_by"`
	OutcomeAt     *time.Time `db:"outcome_at"`
	// FixedAt: the variant's price difference was fixed after the review
	// was built: Odoo's price sent to the storefront by sync FixSyncID
	// (from the discrepancy, a scheduled check or a webhook), or, with no
	// sync, the operators answered "done". The price shows as fixed.
	FixedAt   *time.Time `db:"fixed_at"`
	FixSyncID *int64     `db:"fix_sync_id"`
	// The thresholds its level was measured against, and whether they are
	// its collections' (the strictest of them) rather than the global ones.
	Critical         float64 `db:"th_critical"`
	High             float64 `db:"th_high"`
	Medium           float64 `db:"th_medium"`
	CollectionLimits bool    `db:"th_collection"`
}

// FinanceFilter selects rows of the review.
type FinanceFilter struct {
	Flag string
	// Review: a review state (ReviewAcknowledged, ReviewAccepted,
	// ReviewSent), ReviewNone for variants nobody reviewed, "" for all.
	Review string
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
	SortStake     = "stake"      // most money at stake first
)

// FinanceSorts lists the sorts in menu order.
var FinanceSorts = []string{SortMarginPct, SortMargin, SortRevenue, SortStake}

// ReviewNone filters the variants nobody reviewed yet.
const ReviewNone = "none"

// FinanceReviewFilters lists the review filters in menu order.
var FinanceReviewFilters = []string{ReviewNone, ReviewSent, ReviewAccepted, ReviewAcknowledged}

// financeOrder is a sort's key expression and direction. NULL keys come
// first for margins (-1e9 stands in for them) and last for revenue (-1).
// The expressions are those of the finance_rows indexes.
func financeOrder(sort string) (key string, desc bool) {
	switch sort {
	case SortMargin:
		return "coalesce(r.margin, -1e9)", false
	case SortRevenue:
		return "coalesce(r.revenue, -1)", true
	case SortStake:
		return "coalesce(r.stake, -1)", true
	}
	return "coalesce(r.margin_pct, -1e9)", false
}

// SortKey is the value a row has in a sort's order, for the keyset.
func (r FinanceRow) SortKey(sort string) *float64 {
	switch sort {
	case SortMargin:
		return r.Margin
	case SortRevenue:
		return r.Revenue
	case SortStake:
		return r.Stake
	}
	return r.MarginPct
}

// FinanceTotals sum up the review.
type FinanceTotals struct {
	RunID int64 `db:"run_id"`
	// ComparedAt is when the run started reading prices and costs;
	// BuiltAt when it finished and built the review.
	ComparedAt   *time.Time `db:"compared_at"`
	BuiltAt      *time.Time `db:"built_at"`
	Variants     int64      `db:"variants"`
	PriceDiffers int64      `db:"price_differs"`
	Negative     int64      `db:"negative"`
	Critical     int64      `db:"critical"`
	High         int64      `db:"high"`
	Medium       int64      `db:"medium"`
	CostMissing  int64      `db:"cost_missing"`
	Currencies   int64      `db:"currency_differs"`
	// CollectionThresholds counts the collections with thresholds of
	// their own: the levels then depend on the variant's collections.
	CollectionThresholds int64    `db:"collection_thresholds"`
	AvgMarginPct         *float64 `db:"avg_margin_pct"`
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

// levelSQL is a margin level as a range of margin %: below zero is a loss,
// then critical, high and medium below their thresholds.
func levelSQL(pct, critical, high, medium string) string {
	return fmt.Sprintf(`CASE WHEN %[1]s IS NULL THEN '' WHEN %[1]s < 0 THEN 'negative' WHEN %[1]s < %[2]s THEN 'critical'
  WHEN %[1]s < %[3]s THEN 'high' WHEN %[1]s < %[4]s THEN 'medium' ELSE '' END`, pct, critical, high, medium)
}

// collectionLimitsSQL joins the strictest thresholds of the collections of
// finance row r as e (NULLs when none of them has its own).
const collectionLimitsSQL = `LEFT JOIN LATERAL (SELECT max(ct.critical) AS critical, max(ct.high) AS high, max(ct.medium) AS medium
  FROM finance_collection_thresholds ct WHERE ct.collection_ref = ANY(r.collections)) e ON true`

// rowLevelSQL joins to finance row r its thresholds (e) and its level (lv),
// $1..$3 being the global thresholds.
var rowLevelSQL = collectionLimitsSQL + `
CROSS JOIN LATERAL (SELECT ` + levelSQL("r.margin_pct", "coalesce(e.critical, $1)", "coalesce(e.high, $2)", "coalesce(e.medium, $3)") + ` AS level) lv`

// financeRunSQL is the run the review shows: the latest prices comparison
// that built one.
const financeRunSQL = `(SELECT max(run_id) FROM finance_runs)`

// flagged says whether a row (or band) with this level needs a look.
const flaggedSQL = `(level <> '' OR price_differs OR cost_missing OR currency_differs)`

// financeBounds is the review's run and the range of each threshold over
// the global ones and every collection's.
type financeBounds struct {
	RunID       *int64  `db:"run_id"`
	MinCritical float64 `db:"min_critical"`
	MaxCritical float64 `db:"max_critical"`
	MinHigh     float64 `db:"min_high"`
	MaxHigh     float64 `db:"max_high"`
	MaxMedium   float64 `db:"max_medium"`
}

// financeFlagWhere is a flag filter. Level filters also bound the margin %
// sort key with constants, so the planner reads the level's rows from its
// index, or the sort's index when the level is most of the review, knowing
// from the statistics how many rows the range holds.
func financeFlagWhere(flag string, b financeBounds, arg func(any) string) []string {
	pctKey := "coalesce(r.margin_pct, -1e9)"
	between := func(lo, hi float64) string {
		return fmt.Sprintf("%s >= %s::numeric AND %s < %s::numeric", pctKey, arg(max(lo, 0)), pctKey, arg(hi))
	}
	switch flag {
	case FlagPriceDiffers:
		return []string{"r.price_differs"}
	case FlagCostMissing:
		return []string{"r.cost_missing"}
	case FlagCurrencies:
		return []string{"r.currency_differs"}
	case FlagNegative:
		return []string{pctKey + " > -1e9", pctKey + " < 0"}
	// The level as comparisons rather than lv.level = '…': the planner
	// estimates those, and an equality on a CASE at 0.5 % makes it sort the
	// whole range instead of reading the index in order.
	case FlagCritical:
		return []string{between(0, b.MaxCritical), "r.margin_pct < coalesce(e.critical, $1)"}
	case FlagHigh:
		return []string{between(b.MinCritical, b.MaxHigh), "r.margin_pct >= coalesce(e.critical, $1)", "r.margin_pct < coalesce(e.high, $2)"}
	case FlagMedium:
		return []string{between(b.MinHigh, b.MaxMedium), "r.margin_pct >= coalesce(e.high, $2)", "r.margin_pct < coalesce(e.medium, $3)"}
	case FlagAny:
		return []string{"(lv.level <> '' OR r.price_differs OR r.cost_missing OR r.currency_differs)"}
	}
	return nil
}

const financeRowColumns = `r.variant_id, r.sku, r.shop_price, r.compare_at, r.list_price, r.odoo_cost, r.shop_cost, r.currency, r.odoo_currency,
  r.margin, r.margin_pct, r.price_differs, lv.level, r.cost_missing, r.currency_differs, coalesce(fr.state, '') AS review_state,
  coalesce(fr.note, '') AS review_note, r.units, r.revenue, r.collections, coalesce(e.critical, $1) AS th_critical,
  coalesce(e.high, $2) AS th_high, coalesce(e.medium, $3) AS th_medium, e.critical IS NOT NULL AS th_collection,
  r.stake, coalesce(fr.by_label, '') AS review_by, fr.discrepancy_id, coalesce(rd.status, '') AS request_status,
  coalesce(ru.name, '') AS assignee, coalesce(fr.outcome, '') AS outcome, coalesce(fr.outcome_note, '') AS outcome_note,
  coalesce(fr.outcome_by, '') AS outcome_by, fr.outcome_at, coalesce(fx.closed_at, fs.updated_at) AS fixed_at,
  coalesce(fx.sync_id, fs.id) AS fix_sync_id`

// financeRowJoinsSQL joins to finance row r its review (fr), the price fix
// it sent (rd, assigned to ru), and what fixed its price difference since
// the review was built: its price discrepancy resolved (fx: Odoo's price
// sent from the discrepancy, or the operators' "done"), or a prices sync of
// its SKU that succeeded (fs: the scheduled check or a webhook sent Odoo's
// price). $4 is the run's Shopify store, $5 when the review was built. Both
// are probes of an index per row shown, and only for rows whose price
// differs.
const financeRowJoinsSQL = `
LEFT JOIN finance_reviews fr ON fr.variant_id = r.variant_id
LEFT JOIN discrepancies rd ON rd.id = fr.discrepancy_id
LEFT JOIN users ru ON ru.id = rd.assignee_id
LEFT JOIN LATERAL (SELECT x.closed_at, x.sync_id FROM discrepancies x
  WHERE r.price_differs AND x.kind = 'price' AND x.status = 'resolved' AND x.key = $4::bigint::text || ':v' || r.variant_id
    AND x.closed_at > $5 ORDER BY x.closed_at DESC LIMIT 1) fx ON true
LEFT JOIN LATERAL (SELECT s.id, s.updated_at FROM syncs s
  WHERE r.price_differs AND s.search_keys @> ARRAY[lower(r.sku)] AND s.family = 'prices' AND s.status = 'succeeded'
    AND s.updated_at > $5 ORDER BY s.updated_at DESC LIMIT 1) fs ON true`

// financeReviewWhere is a review filter. A semi- or anti-join on the
// variant rather than a condition on the joined review: the planner then
// filters the rows before it joins their thresholds, and drives a rare state
// from the reviews' side.
func financeReviewWhere(review string) []string {
	switch review {
	case ReviewNone:
		return []string{"NOT EXISTS (SELECT 1 FROM finance_reviews x WHERE x.variant_id = r.variant_id)"}
	case ReviewAcknowledged, ReviewAccepted, ReviewSent:
		return []string{"EXISTS (SELECT 1 FROM finance_reviews x WHERE x.variant_id = r.variant_id AND x.state = '" + review + "')"}
	}
	return nil
}

// financeRun is the run the review shows: its Shopify store and when its
// review was built.
type financeRun struct {
	RunID        int64     `db:"run_id"`
	ConnectionID int64     `db:"connection_id"`
	BuiltAt      time.Time `db:"built_at"`
}

// FinanceReview returns a page of the review of the latest prices
// comparison in the filter's order, and whether more rows follow. The rows
// were computed by the run (BuildFinanceReview); only the margin levels
// (thresholds) and review states are applied here.
func (q q) FinanceReview(ctx context.Context, t Thresholds, f FinanceFilter) ([]FinanceRow, bool, error) {
	limit := pageLimit(f.Limit)
	args := []any{t.Critical, t.High, t.Medium}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var b financeBounds
	if err := sqlxGet(ctx, q, &b, `SELECT `+financeRunSQL+` AS run_id,
  least($1, min(critical))::float8 AS min_critical, greatest($1, max(critical))::float8 AS max_critical,
  least($2, min(high))::float8 AS min_high, greatest($2, max(high))::float8 AS max_high, greatest($3, max(medium))::float8 AS max_medium
FROM finance_collection_thresholds`, t.Critical, t.High, t.Medium); err != nil {
		return nil, false, fmt.Errorf("store: finance review: %w", err)
	}
	if b.RunID == nil {
		return nil, false, nil
	}
	var run financeRun
	if err := sqlxGet(ctx, q, &run, `SELECT run_id, connection_id, built_at FROM finance_runs WHERE run_id = $1`, *b.RunID); err != nil {
		return nil, false, fmt.Errorf("store: finance review: %w", err)
	}
	args = append(args, run.ConnectionID, run.BuiltAt)
	where := append([]string{"r.run_id = " + arg(*b.RunID)}, financeFlagWhere(f.Flag, b, arg)...)
	where = append(where, financeReviewWhere(f.Review)...)
	key, desc := financeOrder(f.Sort)
	if f.AfterID != 0 {
		null := "-1e9"
		if desc {
			null = "-1"
		}
		after := fmt.Sprintf("coalesce(%s::numeric, %s)", arg(f.AfterKey), null)
		id := arg(f.AfterID)
		if desc {
			// The first condition bounds the index scan; the second is the keyset.
			where = append(where, fmt.Sprintf("%s <= %s", key, after), fmt.Sprintf("(%s < %s OR r.variant_id > %s)", key, after, id))
		} else {
			where = append(where, fmt.Sprintf("(%s, r.variant_id) > (%s, %s)", key, after, id))
		}
	}
	dir := ""
	if desc {
		dir = " DESC"
	}
	query := `SELECT ` + financeRowColumns + `
FROM finance_rows r
` + rowLevelSQL + financeRowJoinsSQL + `
WHERE ` + strings.Join(where, " AND ") + fmt.Sprintf(`
ORDER BY %s%s, r.variant_id LIMIT %s`, key, dir, arg(limit+1))
	var rows []FinanceRow
	if err := sqlxSelect(ctx, q, &rows, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: finance review: %w", err)
	}
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// financeTotalsSQL adds up the bands of the review's run under the global
// thresholds ($1..$3), and counts the review states of flagged variants
// (reviews are few: each is a person's decision).
var financeTotalsSQL = `WITH run AS (SELECT ` + financeRunSQL + ` AS id),
b AS (
  SELECT b.*, ` + levelSQL("b.margin_pct", "coalesce(b.critical, $1)", "coalesce(b.high, $2)", "coalesce(b.medium, $3)") + ` AS level
  FROM finance_bands b WHERE b.run_id = (SELECT id FROM run)),
rv AS (
  SELECT fr.state FROM finance_reviews fr
  JOIN finance_rows r ON r.run_id = (SELECT id FROM run) AND r.variant_id = fr.variant_id
  ` + rowLevelSQL + `
  WHERE (lv.level <> '' OR r.price_differs OR r.cost_missing OR r.currency_differs))
SELECT coalesce((SELECT id FROM run), 0) AS run_id, coalesce(sum(variants), 0)::bigint AS variants,
  (SELECT coalesce(started_at, created_at) FROM recon_runs WHERE id = (SELECT id FROM run)) AS compared_at,
  (SELECT built_at FROM finance_runs WHERE run_id = (SELECT id FROM run)) AS built_at,
  coalesce(sum(variants) FILTER (WHERE price_differs), 0)::bigint AS price_differs,
  coalesce(sum(variants) FILTER (WHERE level = 'negative'), 0)::bigint AS negative,
  coalesce(sum(variants) FILTER (WHERE level = 'critical'), 0)::bigint AS critical,
  coalesce(sum(variants) FILTER (WHERE level = 'high'), 0)::bigint AS high,
  coalesce(sum(variants) FILTER (WHERE level = 'medium'), 0)::bigint AS medium,
  coalesce(sum(variants) FILTER (WHERE cost_missing), 0)::bigint AS cost_missing,
  coalesce(sum(variants) FILTER (WHERE currency_differs), 0)::bigint AS currency_differs,
  round(sum(margin_pct * variants) / nullif(sum(variants) FILTER (WHERE margin_pct IS NOT NULL), 0), 1)::float8 AS avg_margin_pct,
  sum(revenue)::float8 AS revenue,
  coalesce(sum(variants) FILTER (WHERE ` + flaggedSQL + `), 0)::bigint AS flagged,
  (SELECT count(*) FROM rv WHERE state = 'acknowledged') AS acknowledged,
  (SELECT count(*) FROM rv WHERE state = 'accepted') AS accepted,
  (SELECT count(*) FROM rv WHERE state = 'sent') AS sent,
  CASE WHEN bool_or(revenue IS NOT NULL) THEN coalesce(sum(revenue) FILTER (WHERE level <> '' OR price_differs), 0) END::float8 AS flagged_revenue,
  (SELECT count(*) FROM finance_collection_thresholds) AS collection_thresholds
FROM b`

// FinanceReviewTotals counts the flags over the whole review, from the
// run's bands: a few thousand rows whatever the number of variants.
func (q q) FinanceReviewTotals(ctx context.Context, t Thresholds) (FinanceTotals, error) {
	var out FinanceTotals
	if err := sqlxGet(ctx, q, &out, financeTotalsSQL, t.Critical, t.High, t.Medium); err != nil {
		return out, fmt.Errorf("store: finance totals: %w", err)
	}
	return out, nil
}
