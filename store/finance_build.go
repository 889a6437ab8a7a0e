package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// financeRowsSQL computes the review of a prices run once, set-based: the
// master's (Odoo) list price and cost against the storefront's ($3) price,
// compare-at price and unit cost, per mapped variant, with the units sold
// in the 30 days before the run. A margin is computed only from amounts in
// one currency: Crossdock does not convert.
const financeRowsSQL = `WITH orders AS MATERIALIZED (
  SELECT DISTINCT ON (entity_ref) payload FROM syncs
  WHERE flow = 'orders.shopify_odoo' AND created_at >= now() - interval '30 days' AND parent_id IS NULL
  ORDER BY entity_ref, id DESC),
sold AS MATERIALIZED (
  SELECT l->>'variant_id' AS ref, sum((l->>'quantity')::numeric) AS units
  FROM orders o, jsonb_array_elements(CASE WHEN jsonb_typeof(o.payload->'lines') = 'array' THEN o.payload->'lines' ELSE '[]' END) l
  WHERE l->>'quantity' ~ '^[0-9]{1,9}$' AND l->>'variant_id' <> ''
  GROUP BY 1),
odoo AS (
  SELECT DISTINCT ON (variant_id) variant_id, label, price, nullif(cost, 0) AS cost, currency,
    coalesce(nullif(cost_currency, ''), currency) AS cost_currency FROM recon_prices
  WHERE run_id = $1 AND connection_id = $2 AND variant_id IS NOT NULL ORDER BY variant_id, variant_ref),
shop AS (
  SELECT DISTINCT ON (variant_id) variant_id, variant_ref, product_ref, label, price, compare_at, cost, currency, cost_currency FROM recon_prices
  WHERE run_id = $1 AND connection_id = $3 AND variant_id IS NOT NULL ORDER BY variant_id, variant_ref),
collections AS (
  SELECT product_ref, array_agg(DISTINCT collection_ref ORDER BY collection_ref) AS refs FROM recon_collections
  WHERE run_id = $1 AND connection_id = $3 GROUP BY product_ref),
base AS (
  SELECT o.variant_id, coalesce(nullif(s.label, ''), nullif(o.label, ''), s.variant_ref) AS sku, s.price AS shop_price, s.compare_at, o.price AS list_price,
    o.cost AS odoo_cost, s.cost AS shop_cost, s.currency, o.currency AS odoo_currency, coalesce(c.refs, '{}') AS collections,
    (s.currency <> '' AND o.currency <> '' AND s.currency <> o.currency) AS prices_differ_in_currency,
    -- The cost a margin is measured with: Odoo's, else Shopify's unit cost.
    coalesce(o.cost, s.cost) AS cost,
    CASE WHEN o.cost IS NOT NULL THEN o.cost_currency ELSE s.cost_currency END AS cost_currency,
    CASE WHEN EXISTS (SELECT 1 FROM orders) THEN coalesce(sd.units, 0) END AS units
  FROM odoo o
  JOIN shop s ON s.variant_id = o.variant_id
  LEFT JOIN sold sd ON sd.ref = s.variant_ref
  LEFT JOIN collections c ON c.product_ref = s.product_ref),
cmp AS (
  SELECT b.*, (b.cost_currency = '' OR b.currency = '' OR b.cost_currency = b.currency) AS cost_comparable FROM base b),
calc AS (
  SELECT c.*,
    CASE WHEN cost_comparable THEN round(shop_price - cost, 2) END AS margin,
    CASE WHEN cost_comparable AND shop_price > 0 AND cost IS NOT NULL THEN round((shop_price - cost) / shop_price * 100, 1) END AS margin_pct,
    NOT prices_differ_in_currency AND shop_price IS NOT NULL AND list_price IS NOT NULL AND round(shop_price, 2) <> round(list_price, 2) AS price_differs
  FROM cmp c)
INSERT INTO finance_rows (run_id, variant_id, sku, shop_price, compare_at, list_price, odoo_cost, shop_cost, currency, odoo_currency,
  margin, margin_pct, price_differs, cost_missing, currency_differs, units, revenue, collections, stake)
SELECT $1, variant_id, sku, shop_price, compare_at, list_price, odoo_cost, shop_cost, currency, odoo_currency,
  margin, margin_pct, price_differs, cost IS NULL, prices_differ_in_currency OR (cost IS NOT NULL AND NOT cost_comparable),
  units, round(shop_price * units, 2), collections,
  -- Money at stake: the larger of the price gap with Odoo and the loss per
  -- unit, times the units sold (at least one).
  round(greatest(CASE WHEN price_differs THEN abs(shop_price - list_price) ELSE 0 END, CASE WHEN margin < 0 THEN -margin ELSE 0 END)
    * coalesce(nullif(units, 0), 1), 2)
FROM calc`

// financeBandsSQL counts the run's variants per margin % and flags, with
// the thresholds of their collections, for the totals.
const financeBandsSQL = `INSERT INTO finance_bands (run_id, margin_pct, price_differs, cost_missing, currency_differs, critical, high, medium, variants, revenue)
SELECT r.run_id, r.margin_pct, r.price_differs, r.cost_missing, r.currency_differs, e.critical, e.high, e.medium, count(*), sum(r.revenue)
FROM finance_rows r
` + collectionLimitsSQL + `
WHERE r.run_id = $1
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`

// financeLock serialises what writes finance_bands: a run building its
// review and a change of collection thresholds, so neither leaves bands
// measured against thresholds the other changed.
const financeLock = `SELECT pg_advisory_xact_lock(hashtext('crossdock.finance_bands'))`

// BuildFinanceReview computes the finance review of a prices run from its
// snapshots of odoo and shop, in one transaction, and drops the reviews of
// older runs: the review shows the latest run that built one, so a run that
// fails leaves the previous review in place. It returns how many variants
// the review holds.
func (s *Store) BuildFinanceReview(ctx context.Context, runID, odoo, shop int64) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		// As for the comparisons: planning is cheap, JIT compiling is not.
		if _, err := tx.ext.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		if _, err := tx.ext.ExecContext(ctx, financeLock); err != nil {
			return err
		}
		for _, t := range []string{"finance_rows", "finance_bands", "finance_collections", "finance_runs"} {
			if _, err := tx.ext.ExecContext(ctx, `DELETE FROM `+t+` WHERE run_id <= $1`, runID); err != nil {
				return fmt.Errorf("store: drop older finance reviews: %w", err)
			}
		}
		res, err := tx.ext.ExecContext(ctx, financeRowsSQL, runID, odoo, shop)
		if err != nil {
			return fmt.Errorf("store: finance rows: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.ext.ExecContext(ctx, financeBandsSQL, runID); err != nil {
			return fmt.Errorf("store: finance bands: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO finance_collections (run_id, collection_ref, title, variants)
SELECT $1, c.ref, coalesce(min(t.title), ''), count(*)
FROM finance_rows r CROSS JOIN LATERAL unnest(r.collections) c(ref)
LEFT JOIN (SELECT DISTINCT ON (collection_ref) collection_ref, title FROM recon_collections
  WHERE run_id = $1 AND connection_id = $2 ORDER BY collection_ref, title) t ON t.collection_ref = c.ref
WHERE r.run_id = $1 GROUP BY c.ref`, runID, shop); err != nil {
			return fmt.Errorf("store: finance collections: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO finance_runs (run_id, connection_id) VALUES ($1, $2)`, runID, shop); err != nil {
			return fmt.Errorf("store: finance run: %w", err)
		}
		// The totals outlive the rows: a past month's summary shows them.
		t, err := tx.FinanceThresholds(ctx)
		if err != nil {
			return err
		}
		totals, err := tx.FinanceReviewTotals(ctx, t)
		if err != nil {
			return err
		}
		tj, err := json.Marshal(totals)
		if err != nil {
			return fmt.Errorf("store: finance run totals: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO finance_run_totals (run_id, compared_at, totals)
VALUES ($1, coalesce((SELECT coalesce(started_at, created_at) FROM recon_runs WHERE id = $1), now()), $2)
ON CONFLICT (run_id) DO UPDATE SET totals = EXCLUDED.totals`, runID, string(tj)); err != nil {
			return fmt.Errorf("store: finance run totals: %w", err)
		}
		// Tables this size are analysed by autovacuum later; the pages read
		// right after a run need the statistics now.
		_, err = tx.ext.ExecContext(ctx, `ANALYZE finance_rows`)
		return err
	})
	return n, err
}
