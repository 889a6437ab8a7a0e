package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"crossdock/vocab"
)

// ReconWarehouse is the comparison of the orders sent to a warehouse
// (ShipBob) with the shipments that came back: an order the warehouse has
// had for more than the late-after days without shipping it is a
// discrepancy, resolved by the first comparison after it ships.
const ReconWarehouse = "warehouse"

// DiscNotShipped is the kind of discrepancy the warehouse comparison opens.
const DiscNotShipped = "warehouse_not_shipped"

// WarehouseLookBack bounds the orders a comparison reads: those sent in
// this many days before it (and those already listed, however old). An
// order a warehouse has had longer than that without a word is listed by
// earlier comparisons already.
const WarehouseLookBack = 90 * 24 * time.Hour

// WarehouseSettings say when an order the warehouse has not shipped is late.
type WarehouseSettings struct {
	LateAfterDays int `json:"late_after_days"`
}

// DefaultWarehouseSettings apply until an admin saves others.
var DefaultWarehouseSettings = WarehouseSettings{LateAfterDays: 3}

const warehouseSettingsKey = "recon_warehouse"

// WarehouseSettings returns the saved settings, or the defaults.
func (q q) WarehouseSettings(ctx context.Context) (WarehouseSettings, error) {
	s := DefaultWarehouseSettings
	if err := q.Setting(ctx, warehouseSettingsKey, &s); err != nil && !errors.Is(err, ErrNotFound) {
		return s, err
	}
	if s.LateAfterDays <= 0 {
		s.LateAfterDays = DefaultWarehouseSettings.LateAfterDays
	}
	return s, nil
}

// SaveWarehouseSettings stores the settings, audited (admins only: the
// route says who).
func (s *Store) SaveWarehouseSettings(ctx context.Context, a Actor, in WarehouseSettings) error {
	if in.LateAfterDays < 1 || in.LateAfterDays > 60 {
		return vocab.FieldErrors{"late_after_days": "Enter a number of days between 1 and 60."}
	}
	return s.InTx(ctx, func(tx *Tx) error {
		before, err := tx.WarehouseSettings(ctx)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(in)
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, warehouseSettingsKey, b); err != nil {
			return fmt.Errorf("store: save warehouse settings: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "settings.recon_warehouse", ObjectType: "settings", ObjectID: warehouseSettingsKey,
			Summary: fmt.Sprintf("Orders the warehouse has not shipped are listed after %d days.", in.LateAfterDays),
			Before:  before, After: in})
	})
}

// warehouseSQL lists the orders sent to the warehouse $3 ($2 the same
// connection) more than the late-after days before $5 that no shipment has
// come back for. $6 is the look-back bound. Every step is an index probe:
//
//   - sent: a range of syncs_warehouse_sent_idx (target_connection_id,
//     updated_at) between $6 and $5, plus the order of each live
//     discrepancy of this warehouse (discrepancies_family_open);
//   - o: per order, its succeeded syncs to the warehouse through
//     syncs_warehouse_order_idx (entity_ref, target_connection_id): when it
//     was first sent, its name, its ShipBob order, whether it was cancelled;
//   - shipped: one probe of syncs_warehouse_shipped_idx (source_connection_id,
//     entity_ref) per order.
//
// Its plan (EXPLAIN) is in TestCompareWarehouseUsesIndexes, which fails
// when a step stops using its index.
const warehouseSQL = `WITH sent AS (
  SELECT entity_ref FROM syncs
  WHERE flow = 'orders.shopify_shipbob' AND status = 'succeeded' AND target_connection_id = $3 AND updated_at >= $6 AND updated_at < $5
  UNION
  SELECT detail->>'order' FROM discrepancies
  WHERE family = $4 AND status IN ('open', 'acknowledged', 'ignored') AND kind = 'warehouse_not_shipped' AND other_connection_id = $3),
o AS (
  SELECT s.entity_ref AS ref, x.sent_at, x.name, x.sb_ref, x.cancelled
  FROM sent s CROSS JOIN LATERAL (
    SELECT min(y.updated_at) AS sent_at, max(y.entity_key) AS name, max(nullif(y.target_ref, '')) AS sb_ref,
      bool_or(coalesce(y.payload->>'cancelled', '') = 'true') AS cancelled
    FROM syncs y WHERE y.entity_ref = s.entity_ref AND y.target_connection_id = $3
      AND y.flow = 'orders.shopify_shipbob' AND y.status = 'succeeded') x
  WHERE x.sent_at IS NOT NULL),
cmp AS (
  -- LATERAL … LIMIT 1: one probe per order, never a hash of every
  -- shipment the warehouse ever sent back.
  SELECT o.*, floor(extract(epoch FROM $7::timestamptz - o.sent_at) / 86400)::int AS days, z.hit IS NOT NULL AS shipped
  FROM o LEFT JOIN LATERAL (SELECT 1 AS hit FROM syncs z WHERE z.source_connection_id = $3 AND z.entity_ref = o.sb_ref
      AND z.flow = 'shipments.shipbob_shopify' AND z.status = 'succeeded' LIMIT 1) z ON true
  WHERE NOT o.cancelled AND o.sent_at < $5),
diff AS (
  SELECT 'warehouse_not_shipped' AS kind, $3::bigint::text || ':' || ref AS key,
    'Order ' || coalesce(nullif(name, ''), 'without a number') || ' has not shipped ' ||
      CASE WHEN days = 1 THEN '1 day' ELSE days || ' days' END || ' after it was sent to ' || $8 AS label,
    'sent ' || to_char(sent_at AT TIME ZONE 'UTC', 'FMDD Mon YYYY') AS master_value, 'not shipped' AS other_value, days AS size,
    jsonb_build_object('order', ref, 'order_name', name, 'shipbob_order_id', sb_ref, 'sent_at', sent_at) AS detail
  FROM cmp WHERE NOT shipped),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FROM cmp) AS compared, (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// CompareWarehouse lists, as discrepancies, the orders sent to the warehouse
// conn (named name) at least lateAfter before now that have not shipped:
// no shipment of theirs reached Shopify. Cancelled orders are left out.
func (s *Store) CompareWarehouse(ctx context.Context, runID, conn int64, name string, lateAfter time.Duration, now time.Time) (CompareResult, error) {
	return s.compare(ctx, warehouseSQL, runID, conn, conn, ReconWarehouse, now.Add(-lateAfter), now.Add(-WarehouseLookBack), now, name)
}
