package store

import (
	"context"
	"fmt"
)

// ReconWarehouseStock compares the warehouse's stock (ShipBob's fulfillable
// quantity per SKU and fulfilment centre) with Shopify's available quantity
// at the Shopify location each centre is mapped to.
const ReconWarehouseStock = "warehouse_stock"

// DiscWarehouseStock is the kind of discrepancy it opens.
const DiscWarehouseStock = "warehouse_stock"

// warehouseStockSQL compares, for one run, the ShipBob snapshot ($3: rows
// of recon_stock whose variant_ref is the SKU and location_ref the centre's
// id, location_id the centre's mapping) with the Shopify snapshot ($2). A
// centre's Shopify location is the one mapped to the same location entity,
// else $5 (the connection's own "Shopify location ShipBob ships from", given
// only when the account has a single centre). Several centres mapped to one
// Shopify location add up. Items are matched by SKU, case-insensitively, as
// the stock flow matches them; a level missing on one side counts as zero.
// Only keys and quantities go through the join; names are fetched for the
// rows that differ.
const warehouseStockSQL = `WITH sb AS (
  SELECT upper(variant_ref) AS sku, location_ref AS centre, location_id, label, location, available, on_hand
  FROM recon_stock WHERE run_id = $1 AND connection_id = $3 AND variant_ref <> ''),
centres AS (
  SELECT c.centre, min(c.location) AS name, coalesce(min(r.external_id), nullif($5, '')) AS loc
  FROM (SELECT DISTINCT centre, location, location_id FROM sb) c
  LEFT JOIN mapping_refs r ON r.entity_id = c.location_id AND r.connection_id = $2 AND r.entity_type = 'location' AND r.valid_to IS NULL
  GROUP BY c.centre),
locs AS (
  SELECT loc, string_agg(name, ', ' ORDER BY name) AS centre_names, array_agg(centre ORDER BY centre) AS centre_ids
  FROM centres WHERE loc IS NOT NULL GROUP BY loc),
w AS (
  SELECT s.sku, c.loc, sum(s.available) AS q, sum(s.on_hand) AS on_hand, min(s.label) AS item
  FROM sb s JOIN centres c ON c.centre = s.centre WHERE c.loc IS NOT NULL GROUP BY 1, 2),
shop AS (
  SELECT DISTINCT ON (upper(label), location_ref) upper(label) AS sku, location_ref AS loc, variant_ref, location, available AS q
  FROM recon_stock WHERE run_id = $1 AND connection_id = $2 AND label <> '' AND location_ref IN (SELECT loc FROM locs)
  ORDER BY upper(label), location_ref, variant_ref),
shoplocs AS (SELECT DISTINCT ON (loc) loc, location FROM shop WHERE location <> '' ORDER BY loc, location),
cmp AS (
  SELECT coalesce(w.sku, h.sku) AS sku, coalesce(w.loc, h.loc) AS loc, coalesce(w.q, 0) AS wq, coalesce(h.q, 0) AS hq,
    w.on_hand, w.item, h.variant_ref, h.location AS loc_name, h.sku IS NOT NULL AS stocked
  FROM w FULL JOIN shop h ON h.sku = w.sku AND h.loc = w.loc),
diff AS (
  SELECT 'warehouse_stock' AS kind, $3::bigint::text || ':' || c.sku || '@' || c.loc AS key,
    coalesce(nullif(concat_ws(' – ', nullif(v.name, ''), nullif(nullif(v.variant_title, ''), 'Default Title')), ''), nullif(c.item, ''), 'SKU ' || c.sku)
      || ' at ' || l.centre_names || ' (' || coalesce(nullif(c.loc_name, ''), hl.location, nullif(sl.name, ''), 'Shopify location ' || c.loc) || ' in Shopify)' AS label,
    CASE WHEN c.stocked THEN trim_scale(c.hq)::text ELSE 'not stocked there' END AS master_value,
    trim_scale(c.wq)::text AS other_value, abs(c.wq - c.hq) AS size,
    jsonb_build_object('sku', c.sku, 'product', v.name, 'variant_title', v.variant_title, 'shipbob_item', c.item,
      'centres', l.centre_names, 'centre_ids', l.centre_ids,
      'shopify_location', coalesce(nullif(c.loc_name, ''), hl.location, sl.name), 'shopify_location_id', c.loc, 'shopify_variant_id', c.variant_ref,
      'shopify_available', c.hq, 'shipbob_fulfillable', c.wq, 'shipbob_on_hand', coalesce(c.on_hand, 0)) AS detail
  FROM cmp c
  JOIN locs l ON l.loc = c.loc
  LEFT JOIN external_records v ON c.variant_ref IS NOT NULL AND v.connection_id = $2 AND v.entity_type = 'variant' AND v.external_id = c.variant_ref
  LEFT JOIN shoplocs hl ON hl.loc = c.loc
  LEFT JOIN external_records sl ON sl.connection_id = $2 AND sl.entity_type = 'location' AND sl.external_id = c.loc
  WHERE c.wq <> c.hq),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FROM cmp) AS compared, (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// CompareWarehouseStock compares the stock of the ShipBob connection sb
// with Shopify's (shop) in a run, per SKU and fulfilment centre. fallback
// is the Shopify location GID a centre without a mapping is compared at
// ("" for none). Centres with neither are counted as not comparable.
func (s *Store) CompareWarehouseStock(ctx context.Context, runID, shop, sb int64, fallback string) (CompareResult, error) {
	r, err := s.compare(ctx, warehouseStockSQL, runID, shop, sb, ReconWarehouseStock, fallback)
	if err != nil {
		return r, err
	}
	var nc struct {
		Levels  int64  `db:"levels"`
		Centres string `db:"centres"`
	}
	if err := sqlxGet(ctx, s.q, &nc, `WITH c AS (
  SELECT st.location, count(*) AS n FROM recon_stock st
  WHERE st.run_id = $1 AND st.connection_id = $3 AND $4 = '' AND NOT EXISTS (SELECT 1 FROM mapping_refs r
    WHERE r.entity_id = st.location_id AND r.connection_id = $2 AND r.entity_type = 'location' AND r.valid_to IS NULL)
  GROUP BY st.location)
SELECT coalesce(sum(n), 0)::bigint AS levels, coalesce(string_agg(location, ', ' ORDER BY location), '') AS centres FROM c`,
		runID, shop, sb, fallback); err != nil {
		return r, fmt.Errorf("store: warehouse stock not compared: %w", err)
	}
	if nc.Levels > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "stock levels at fulfilment centres not mapped to a Shopify location (" + nc.Centres + ")",
			Why: "Crossdock cannot tell which Shopify location shows their stock. Map each fulfilment centre to a Shopify location on the Mappings page.", Count: nc.Levels})
	}
	return r, nil
}
