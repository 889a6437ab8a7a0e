package store

import (
	"context"
	"fmt"

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
