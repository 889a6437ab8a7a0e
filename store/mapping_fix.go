package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// MissingRecordsOf says which records the open unmapped failures matching f
// lack a mapping for, so a fix link lands on exactly those records: the
// missing records the failures recorded (MissingMappingsOf), or else, for
// failures that recorded none, the record the failure is about when it is
// still not mapped today — the stock location of a stock sync ("location:5"
// from Odoo, "item@location" from Shopify). Zero when neither says.
func (q q) MissingRecordsOf(ctx context.Context, f FailedFilter) (MissingMappings, error) {
	m, err := q.MissingMappingsOf(ctx, f)
	if err != nil || len(m.ExternalIDs) > 0 {
		return m, err
	}
	f.Status, f.ErrorClass = FailedOpen, vocab.ClassUnmapped
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := strings.Join(f.where(arg), " AND ")
	return q.inferMissing(ctx, w, args)
}

// MissingRecordsOfSync is MissingRecordsOf for one failed sync.
func (q q) MissingRecordsOfSync(ctx context.Context, syncID int64) (MissingMappings, error) {
	var rows []missingRow
	if err := sqlxSelect(ctx, q, &rows, `SELECT source_connection_id, target_connection_id,
  response->'unmapped'->>'entity_type' AS entity_type,
  ARRAY(SELECT jsonb_array_elements_text(response->'unmapped'->'external_ids')) AS ids
FROM syncs WHERE id = $1 AND jsonb_typeof(response->'unmapped'->'external_ids') = 'array'`, syncID); err != nil {
		return MissingMappings{}, fmt.Errorf("store: missing records of sync %d: %w", syncID, err)
	}
	if len(rows) == 1 && len(rows[0].IDs) > 0 && rows[0].EntityType != "" {
		r := rows[0]
		return MissingMappings{SourceID: r.SourceID, TargetID: r.TargetID, EntityType: r.EntityType, ExternalIDs: r.IDs}, nil
	}
	m, err := q.inferMissing(ctx, "id = $1", []any{syncID})
	if err != nil || m.SourceID != 0 {
		return m, err
	}
	// Nothing names the record: at least the two systems.
	err = sqlxGet(ctx, q, &m, `SELECT source_connection_id AS sourceid, target_connection_id AS targetid FROM syncs WHERE id = $1`, syncID)
	if err != nil {
		return MissingMappings{}, fmt.Errorf("store: failed sync %d: %w", syncID, err)
	}
	return m, nil
}

type missingRow struct {
	SourceID   int64          `db:"source_connection_id"`
	TargetID   int64          `db:"target_connection_id"`
	EntityType string         `db:"entity_type"`
	IDs        pq.StringArray `db:"ids"`
}

// inferMissing reads the record a stock failure is about (its location) from
// its reference, and keeps it only while it still has no counterpart in the
// failure's target: a location mapped since is not what is missing.
func (q q) inferMissing(ctx context.Context, where string, args []any) (MissingMappings, error) {
	var rows []missingRow
	if err := sqlxSelect(ctx, q, &rows, `WITH s AS (
  SELECT source_connection_id, target_connection_id, entity_type, entity_ref FROM syncs
  WHERE `+where+` AND entity_type = 'inventory_level' ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(maxMissingScan)+`
), ev AS (
  SELECT source_connection_id AS src, target_connection_id AS tgt, 'location' AS typ,
    CASE WHEN entity_ref LIKE 'location:%' THEN substr(entity_ref, 10)
         ELSE 'gid://shopify/Location/' || split_part(entity_ref, '@', 2) END AS ext
  FROM s WHERE entity_ref LIKE 'location:%' OR entity_ref LIKE '%@%'
)
SELECT src AS source_connection_id, tgt AS target_connection_id, typ AS entity_type,
  (array_agg(DISTINCT ext ORDER BY ext))[1:`+strconv.Itoa(MaxAcceptAtOnce)+`] AS ids
FROM ev
WHERE ext <> '' AND ext <> 'gid://shopify/Location/'
  AND NOT EXISTS (SELECT 1 FROM mapping_refs a JOIN mapping_refs b ON b.entity_id = a.entity_id AND b.connection_id = ev.tgt AND b.valid_to IS NULL
                  WHERE a.connection_id = ev.src AND a.entity_type = ev.typ AND a.external_id = ev.ext AND a.valid_to IS NULL)
GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1`, args...); err != nil {
		return MissingMappings{}, fmt.Errorf("store: infer missing records: %w", err)
	}
	if len(rows) == 0 {
		return MissingMappings{}, nil
	}
	r := rows[0]
	return MissingMappings{SourceID: r.SourceID, TargetID: r.TargetID, EntityType: r.EntityType, ExternalIDs: r.IDs}, nil
}
