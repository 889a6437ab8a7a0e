package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// MissingRecord is the record an "exists in only one system" failure is
// about: a record of its source system (ConnectionID) with no counterpart in
// its target. The engine writes it into the failure's response, under
// "only_in_one", so that the record can be excluded from syncing from the
// failure, and found again when the other system's catalogue changes.
type MissingRecord struct {
	ConnectionID int64  `json:"connection_id"`
	EntityType   string `json:"entity_type"`
	ExternalID   string `json:"external_id"`
	SKU          string `json:"sku,omitempty"`
	Name         string `json:"name,omitempty"`
}

// OnlyInOneResponse is the response of an "exists in only one system" failure.
func OnlyInOneResponse(r MissingRecord) map[string]MissingRecord {
	return map[string]MissingRecord{"only_in_one": r}
}

// Catalogue is what Crossdock read of one kind of record of a system: whether
// it read any, and which of some SKUs it holds.
type Catalogue struct {
	Read bool            // at least one record was read: an absent SKU means absent
	SKUs map[string]bool // lower-cased SKUs present
}

// Has reports whether the catalogue holds a record with this SKU (any case).
func (c Catalogue) Has(sku string) bool { return c.SKUs[strings.ToLower(strings.TrimSpace(sku))] }

// CatalogueOf reads which of skus the system's catalogue of entityType holds
// (records not deleted), in one index lookup per SKU. A record without a
// counterpart of the same SKU there exists in only one system; the engine
// asks once per batch.
func (q q) CatalogueOf(ctx context.Context, connectionID int64, entityType string, skus []string) (Catalogue, error) {
	c := Catalogue{SKUs: map[string]bool{}}
	lower := make([]string, 0, len(skus))
	for _, s := range skus {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			lower = append(lower, s)
		}
	}
	var rows []struct {
		Read bool    `db:"read"`
		SKU  *string `db:"sku"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT EXISTS (SELECT 1 FROM external_records WHERE connection_id = $1 AND entity_type = $2) AS read,
  NULL::text AS sku
UNION ALL
SELECT true, lower(sku) FROM external_records
WHERE connection_id = $1 AND entity_type = $2 AND sku <> '' AND lower(sku) = ANY($3) AND deleted_at IS NULL`,
		connectionID, entityType, pq.Array(lower)); err != nil {
		return Catalogue{}, fmt.Errorf("store: catalogue of connection %d: %w", connectionID, err)
	}
	for _, r := range rows {
		if r.SKU == nil {
			c.Read = r.Read
		} else {
			c.SKUs[*r.SKU] = true
		}
	}
	return c, nil
}

// RecheckOnlyInOne turns the open "exists in only one system" failures into
// "not mapped yet" ones when the target system's catalogue now holds a
// record of the same SKU (it was created there, or read for the first time):
// they can be mapped now. Called with each page of a catalogue refresh; one
// index lookup per SKU in the partial index of those failures. It returns
// how many failures changed.
func (q q) RecheckOnlyInOne(ctx context.Context, connectionID int64, recs []ExternalRecord) (int64, error) {
	var skus []string
	for _, r := range recs {
		if s := strings.ToLower(strings.TrimSpace(r.SKU)); s != "" {
			skus = append(skus, s)
		}
	}
	if len(skus) == 0 {
		return 0, nil
	}
	res, err := q.ext.ExecContext(ctx, `UPDATE syncs s SET error_class = 'unmapped', updated_at = now(),
  message = COALESCE(NULLIF(s.response->'only_in_one'->>'sku', ''), 'This record') || ' now exists in ' || c.name
    || ' but is not mapped to it yet. Map it on the Mappings page, then try again.'
FROM connections c
WHERE c.id = $1 AND s.target_connection_id = $1 AND s.error_class = 'only_in_one'
  AND s.status IN ('failed', 'retrying', 'rejected') AND s.resolved_at IS NULL
  AND lower(s.response->'only_in_one'->>'sku') = ANY($2)`, connectionID, pq.Array(skus))
	if err != nil {
		return 0, fmt.Errorf("store: recheck only-in-one-system failures: %w", err)
	}
	return res.RowsAffected()
}

// Exclusion is a record excluded from syncing one kind of data.
type Exclusion struct {
	ID             int64      `db:"id"`
	ConnectionID   int64      `db:"connection_id"`
	ConnectionName string     `db:"connection_name"`
	EntityType     string     `db:"entity_type"`
	ExternalID     string     `db:"external_id"`
	Family         string     `db:"family"`
	SKU            string     `db:"sku"`
	Name           string     `db:"name"`
	Reason         string     `db:"reason"`
	CreatedAt      time.Time  `db:"created_at"`
	CreatedLabel   string     `db:"created_label"`
	CreatedByName  *string    `db:"created_by_name"`
	IncludedAt     *time.Time `db:"included_at"`
	IncludedLabel  *string    `db:"included_label"`
}

// By is the person who excluded the record, by name.
func (e Exclusion) By() string {
	if e.CreatedByName != nil && *e.CreatedByName != "" {
		return *e.CreatedByName
	}
	return e.CreatedLabel
}

// ExcludedAmong returns which of the records (external ids of entityType in
// the connection) are excluded from syncing family: one index lookup per
// record, called once per batch by the engine.
func (q q) ExcludedAmong(ctx context.Context, connectionID int64, entityType, family string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var found []string
	if err := sqlxSelect(ctx, q, &found, `SELECT external_id FROM exclusions
WHERE connection_id = $1 AND entity_type = $2 AND family = $3 AND external_id = ANY($4) AND included_at IS NULL`,
		connectionID, entityType, family, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: excluded records: %w", err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// ExclusionFilter pages the Excluded records list (newest first).
type ExclusionFilter struct {
	BeforeAt time.Time
	BeforeID int64
	Limit    int
}

// ListExclusions returns a page of the records excluded now, newest first.
func (q q) ListExclusions(ctx context.Context, f ExclusionFilter) ([]Exclusion, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	args := []any{limit + 1}
	w := "e.included_at IS NULL"
	if f.BeforeID != 0 {
		args = append(args, f.BeforeAt, f.BeforeID)
		w += " AND (e.created_at, e.id) < ($2, $3)"
	}
	var out []Exclusion
	if err := sqlxSelect(ctx, q, &out, `SELECT e.id, e.connection_id, c.name AS connection_name, e.entity_type, e.external_id,
  e.family, e.sku, e.name, e.reason, e.created_at, e.created_label, u.name AS created_by_name, e.included_at, e.included_label
FROM exclusions e JOIN connections c ON c.id = e.connection_id LEFT JOIN users u ON u.id = e.created_by
WHERE `+w+` ORDER BY e.created_at DESC, e.id DESC LIMIT $1`, args...); err != nil {
		return nil, false, fmt.Errorf("store: list exclusions: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// CountExclusions counts the records excluded now.
func (q q) CountExclusions(ctx context.Context) (int, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `SELECT count(*) FROM exclusions WHERE included_at IS NULL`); err != nil {
		return 0, fmt.Errorf("store: count exclusions: %w", err)
	}
	return n, nil
}

// ExcludeResult is what excluding did.
type ExcludeResult struct {
	Records  int `db:"records"`  // records now excluded (newly, or already)
	New      int `db:"new"`      // of which newly
	Failures int `db:"failures"` // open failures closed as excluded
}

// ErrNothingToExclude: none of the failures is about a record that exists in
// only one system and is still open.
var ErrNothingToExclude = errors.New("store: none of these failures is about a record that exists in only one system")

// ExcludeFailures excludes from syncing the records that the open "exists in
// only one system" failures among ids (ticked), or matching f (when ids is
// nil) up to the newest id upto, are about — each for the failure's kind of
// data — and closes their open failures as excluded. One transaction,
// audited: nothing is half-applied.
func (s *Store) ExcludeFailures(ctx context.Context, a Actor, f FailedFilter, ids []int64, upto int64, reason string) (ExcludeResult, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return ExcludeResult{}, vocab.FieldErrors{"note": "Say why these records need not be synced."}
	case len([]rune(reason)) > MaxReasonLen:
		return ExcludeResult{}, vocab.FieldErrors{"note": fmt.Sprintf("Keep it under %d characters.", MaxReasonLen)}
	case ids != nil && len(ids) == 0:
		return ExcludeResult{}, vocab.FieldErrors{"form": "Tick at least one failure."}
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	var w []string
	if ids != nil {
		w = []string{problemsPredicate, "id = ANY(" + arg(pq.Array(ids)) + ")"}
	} else {
		f.Status = FailedOpen
		if w = f.where(arg); upto > 0 {
			w = append(w, "id <= "+arg(upto))
		}
	}
	w = append(w, "error_class = 'only_in_one'", "response ? 'only_in_one'")
	actor, label, why := arg(nullInt(a.UserID)), arg(a.Label), arg(reason)
	var res ExcludeResult
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := sqlxGet(ctx, tx.q, &res, `WITH recs AS (
  SELECT DISTINCT ON (r.connection_id, r.entity_type, t.family, r.external_id)
    r.connection_id, r.entity_type, t.family, r.external_id, COALESCE(r.sku, '') AS sku, COALESCE(r.name, '') AS name
  FROM (SELECT family, response FROM syncs WHERE `+strings.Join(w, " AND ")+`) t,
    jsonb_to_record(t.response->'only_in_one') AS r(connection_id bigint, entity_type text, external_id text, sku text, name text)
  WHERE r.external_id <> '' AND r.connection_id IS NOT NULL AND r.entity_type IS NOT NULL),
ins AS (
  INSERT INTO exclusions (connection_id, entity_type, family, external_id, sku, name, reason, created_by, created_label)
  SELECT connection_id, entity_type, family, external_id, sku, name, `+why+`, `+actor+`, `+label+` FROM recs
  WHERE EXISTS (SELECT 1 FROM connections c WHERE c.id = recs.connection_id)
  ORDER BY sku DESC, external_id DESC -- listed newest first: by SKU then
  ON CONFLICT (connection_id, entity_type, family, external_id) WHERE included_at IS NULL DO NOTHING
  RETURNING id),
upd AS (
  UPDATE syncs s SET resolved_at = now(), resolution = 'excluded', resolution_note = `+why+`, resolved_by = `+actor+`,
    resolved_label = `+label+`, next_attempt_at = NULL, updated_at = now(),
    status = CASE WHEN s.status = 'retrying' THEN 'failed' ELSE s.status END
  FROM recs
  WHERE s.error_class = 'only_in_one' AND s.status IN ('failed', 'retrying', 'rejected') AND s.resolved_at IS NULL
    AND s.source_connection_id = recs.connection_id AND s.family = recs.family
    AND (s.response->'only_in_one'->>'external_id') = recs.external_id
  RETURNING s.id)
SELECT (SELECT count(*) FROM recs) AS records, (SELECT count(*) FROM ins) AS new, (SELECT count(*) FROM upd) AS failures`,
			args...); err != nil {
			return fmt.Errorf("store: exclude records: %w", err)
		}
		if res.Records == 0 {
			return ErrNothingToExclude
		}
		return tx.Audit(ctx, a, Change{Action: "exclusion.created", ObjectType: "exclusion", ObjectID: strconv.Itoa(res.New),
			Summary: fmt.Sprintf("Excluded %s from syncing (%s closed): %s", countNoun(res.Records, "record"), countNoun(res.Failures, "open failure"), reason),
			After:   map[string]any{"records": res.Records, "new": res.New, "failures": res.Failures, "reason": reason, "filter": f, "ids": ids}})
	})
	return res, err
}

// IncludeAgain ends an exclusion: the engine syncs the record again from its
// next change or scheduled check. Audited; the row stays, stamped.
func (s *Store) IncludeAgain(ctx context.Context, a Actor, id int64) (Exclusion, error) {
	var e Exclusion
	err := s.InTx(ctx, func(tx *Tx) error {
		err := notFound(sqlxGet(ctx, tx.q, &e, `UPDATE exclusions e SET included_at = now(), included_by = $2, included_label = $3
FROM connections c WHERE e.id = $1 AND e.included_at IS NULL AND c.id = e.connection_id
RETURNING e.id, e.connection_id, c.name AS connection_name, e.entity_type, e.external_id, e.family, e.sku, e.name, e.reason,
  e.created_at, e.created_label, NULL::text AS created_by_name, e.included_at, e.included_label`, id, nullInt(a.UserID), a.Label))
		if err != nil {
			return fmt.Errorf("store: include record %d again: %w", id, err)
		}
		return tx.Audit(ctx, a, Change{Action: "exclusion.removed", ObjectType: "exclusion", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Included %s of %s in syncing %s again", cmp.Or(e.SKU, e.Name, e.ExternalID), e.ConnectionName, e.Family),
			Before:  map[string]any{"external_id": e.ExternalID, "family": e.Family, "reason": e.Reason}})
	})
	return e, err
}
