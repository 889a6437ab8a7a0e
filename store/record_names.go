package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

// RecordKey names one record of a connected system, as a sync or a failure
// refers to it.
type RecordKey struct {
	ConnectionID int64  `db:"connection_id"`
	EntityType   string `db:"entity_type"`
	ExternalID   string `db:"external_id"`
}

// RecordNames returns what the systems call the given records (a product's
// title, a location's name), from what their catalogues last said; records
// not read, or without a name, are left out. Pages name records by these
// and keep the raw ids for a "Technical detail" disclosure.
func (q q) RecordNames(ctx context.Context, keys []RecordKey) (map[RecordKey]string, error) {
	out := make(map[RecordKey]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	conns, types, ids := make([]int64, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		conns[i], types[i], ids[i] = k.ConnectionID, k.EntityType, k.ExternalID
	}
	var rows []struct {
		RecordKey
		Name string `db:"name"`
	}
	// One probe of the primary key per asked record.
	if err := sqlxSelect(ctx, q, &rows, `SELECT x.connection_id, x.entity_type, x.external_id, x.name
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(connection_id, entity_type, external_id)
JOIN external_records x ON x.connection_id = k.connection_id AND x.entity_type = k.entity_type AND x.external_id = k.external_id
WHERE x.name <> ''`, pq.Array(conns), pq.Array(types), pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: record names: %w", err)
	}
	for _, r := range rows {
		out[r.RecordKey] = r.Name
	}
	return out, nil
}

// NamesBySKU returns what the systems call the records of a kind with the
// given SKUs (any case), keyed by the SKU as asked: Shopify's name first
// (the storefront's title), else another system's. One index probe per
// connection.
func (q q) NamesBySKU(ctx context.Context, entityType string, skus []string) (map[string]string, error) {
	cards, err := q.CardsBySKU(ctx, entityType, skus)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(cards))
	for s, c := range cards {
		out[s] = c.Name
	}
	return out, nil
}

// RecordCard is how a page shows a record read from a system's catalogue:
// its product's name, its own title ("Blue / L", "" when the system has
// none) and an image ("" for none).
type RecordCard struct {
	Name         string `db:"name"`
	VariantTitle string `db:"variant_title"`
	ImageURL     string `db:"image_url"`
}

// Variant is the variant's own title as a page names it: none for a product
// without options (Shopify calls its one variant "Default Title").
func (c RecordCard) Variant() string {
	if c.VariantTitle == "Default Title" {
		return ""
	}
	return c.VariantTitle
}

// CardsBySKU is NamesBySKU with the record's variant title and image: the
// record of the system named first (Shopify's, else another's).
func (q q) CardsBySKU(ctx context.Context, entityType string, skus []string) (map[string]RecordCard, error) {
	out := make(map[string]RecordCard, len(skus))
	if len(skus) == 0 {
		return out, nil
	}
	lowered := make([]string, len(skus))
	for i, s := range skus {
		lowered[i] = strings.ToLower(s)
	}
	var rows []struct {
		SKU string `db:"sku"`
		RecordCard
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT DISTINCT ON (lower(x.sku)) lower(x.sku) AS sku, x.name, x.variant_title, x.image_url
FROM connections c
JOIN LATERAL (SELECT r.sku, r.name, r.variant_title, r.image_url FROM external_records r
  WHERE r.connection_id = c.id AND r.entity_type = $1 AND lower(r.sku) = ANY($2) AND r.sku <> '' AND r.name <> '' AND r.deleted_at IS NULL) x ON true
ORDER BY lower(x.sku), c.kind = 'shopify' DESC, c.id`, entityType, pq.Array(lowered)); err != nil {
		return nil, fmt.Errorf("store: names by SKU: %w", err)
	}
	byLower := make(map[string]RecordCard, len(rows))
	for _, r := range rows {
		byLower[r.SKU] = r.RecordCard
	}
	for _, s := range skus {
		if c, ok := byLower[strings.ToLower(s)]; ok {
			out[s] = c
		}
	}
	return out, nil
}
