package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"
)

// EntityType is a kind of mapped thing: product, variant, customer...
type EntityType struct {
	Key   string `db:"key"`
	Label string `db:"label"`
	// ManyPerConnection allows an entity several references in one system
	// (tax codes and payment methods); every other type has at most one.
	ManyPerConnection bool `db:"many_per_connection"`
	Position          int  `db:"position"`
}

// Entity is the canonical thing every system's record points at.
type Entity struct {
	ID         int64     `db:"id"`
	EntityType string    `db:"entity_type"`
	Key        string    `db:"key"`
	Name       string    `db:"name"`
	CreatedAt  time.Time `db:"created_at"`
}

// Ref is an entity's reference in one connected system, valid from mapping
// version ValidFrom up to (not including) ValidTo; ValidTo nil is current.
type Ref struct {
	ID               int64  `db:"id"`
	EntityID         int64  `db:"entity_id"`
	ConnectionID     int64  `db:"connection_id"`
	ConnectionName   string `db:"connection_name"`
	EntityType       string `db:"entity_type"`
	ExternalID       string `db:"external_id"`
	SKU              string `db:"sku"`
	Barcode          string `db:"barcode"`
	Email            string `db:"email"`
	Name             string `db:"name"`
	ValidFrom        int64  `db:"valid_from"`
	ValidTo          *int64 `db:"valid_to"`
	CreatedChangeSet int64  `db:"created_change_set"`
	EndedChangeSet   *int64 `db:"ended_change_set"`
}

const refColumns = `r.id, r.entity_id, r.connection_id, c.name AS connection_name, r.entity_type, r.external_id, r.sku, r.barcode,
r.email, r.name, r.valid_from, r.valid_to, r.created_change_set, r.ended_change_set`

const entityColumns = `e.id, e.entity_type, e.key, e.name, e.created_at`

// EntityTypes lists the mapped kinds of things in display order.
func (q q) EntityTypes(ctx context.Context) ([]EntityType, error) {
	var ts []EntityType
	if err := sqlxSelect(ctx, q, &ts, `SELECT key, label, many_per_connection, position FROM entity_types ORDER BY position, key`); err != nil {
		return nil, fmt.Errorf("store: entity types: %w", err)
	}
	return ts, nil
}

// EntityByID returns an entity or ErrNotFound.
func (q q) EntityByID(ctx context.Context, id int64) (Entity, error) {
	var e Entity
	if err := sqlxGet(ctx, q, &e, `SELECT `+entityColumns+` FROM mapping_entities e WHERE e.id = $1`, id); err != nil {
		return Entity{}, fmt.Errorf("store: entity %d: %w", id, err)
	}
	return e, nil
}

// EntityByKey returns the entity of a type with a key (case-insensitive) or ErrNotFound.
func (q q) EntityByKey(ctx context.Context, entityType, key string) (Entity, error) {
	var e Entity
	if err := sqlxGet(ctx, q, &e, `SELECT `+entityColumns+` FROM mapping_entities e WHERE e.entity_type = $1 AND lower(e.key) = lower($2)`,
		entityType, strings.TrimSpace(key)); err != nil {
		return Entity{}, fmt.Errorf("store: entity %s %q: %w", entityType, key, err)
	}
	return e, nil
}

// CurrentRefs returns the current references of some entities, by connection name.
func (q q) CurrentRefs(ctx context.Context, entityIDs []int64) ([]Ref, error) {
	var rs []Ref
	if err := sqlxSelect(ctx, q, &rs, `SELECT `+refColumns+` FROM mapping_refs r JOIN connections c ON c.id = r.connection_id
WHERE r.entity_id = ANY($1) AND r.valid_to IS NULL ORDER BY r.entity_id, lower(c.name), r.id`, pq.Array(entityIDs)); err != nil {
		return nil, fmt.Errorf("store: current refs: %w", err)
	}
	return rs, nil
}

// CurrentVersion is the mapping version in force (0 before the first approval).
func (q q) CurrentVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := sqlxGet(ctx, q, &v, `SELECT current_version FROM mapping_state`); err != nil {
		return 0, fmt.Errorf("store: mapping version: %w", err)
	}
	return v, nil
}

// VersionAt is the mapping version that was in force at t.
func (q q) VersionAt(ctx context.Context, t time.Time) (int64, error) {
	var v int64
	if err := sqlxGet(ctx, q, &v, `SELECT COALESCE(max(version), 0) FROM mapping_versions WHERE applied_at <= $1`, t); err != nil {
		return 0, fmt.Errorf("store: version at %s: %w", t, err)
	}
	return v, nil
}

// ResolveRefs translates external ids of one type from connection from to
// connection to, in one query. It returns the translations and, in the order
// given, the ids that have no counterpart (not mapped, or their entity has no
// reference in to). For types that allow several references per system the
// oldest reference in to is the one returned (ResolveAllRefs returns them all).
func (q q) ResolveRefs(ctx context.Context, from, to int64, entityType string, externalIDs []string) (map[string]string, []string, error) {
	all, unmapped, err := q.ResolveAllRefs(ctx, from, to, entityType, externalIDs)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]string, len(all))
	for id, refs := range all {
		out[id] = refs[0]
	}
	return out, unmapped, nil
}

// ResolveAllRefs is ResolveRefs giving every current reference in to of
// each id's entity, oldest first: a payment method's payment method and
// deposit account in an accounting system.
func (q q) ResolveAllRefs(ctx context.Context, from, to int64, entityType string, externalIDs []string) (map[string][]string, []string, error) {
	type pair struct {
		From string `db:"from_id"`
		To   string `db:"to_id"`
	}
	var pairs []pair
	if err := sqlxSelect(ctx, q, &pairs, `SELECT a.external_id AS from_id, b.external_id AS to_id
FROM mapping_refs a
JOIN mapping_refs b ON b.entity_id = a.entity_id AND b.connection_id = $2 AND b.valid_to IS NULL
WHERE a.connection_id = $1 AND a.entity_type = $3 AND a.external_id = ANY($4) AND a.valid_to IS NULL
ORDER BY b.id`,
		from, to, entityType, pq.Array(externalIDs)); err != nil {
		return nil, nil, fmt.Errorf("store: resolve refs: %w", err)
	}
	out := make(map[string][]string, len(pairs))
	for _, p := range pairs {
		out[p.From] = append(out[p.From], p.To)
	}
	var unmapped []string
	for _, id := range externalIDs {
		if _, ok := out[id]; !ok {
			unmapped = append(unmapped, id)
		}
	}
	return out, unmapped, nil
}

// HistoricMatch is an entity as it was mapped in one version, found by a
// search term.
type HistoricMatch struct {
	Entity Entity
	Refs   []Ref // every reference of the entity valid in that version
}

// LookupAt answers "what did this id, SKU, barcode or email map to in
// version N": the entities one of whose references matched the term in that
// version, each with all its references of that version.
func (q q) LookupAt(ctx context.Context, term string, version int64) ([]HistoricMatch, error) {
	term = strings.TrimSpace(term)
	if term == "" {
		return nil, nil
	}
	var ents []Entity
	if err := sqlxSelect(ctx, q, &ents, `SELECT `+entityColumns+` FROM mapping_entities e
WHERE e.id IN (SELECT r.entity_id FROM mapping_refs r
               WHERE (r.external_id = $1 OR lower(r.sku) = lower($1) OR r.barcode = $1 OR lower(r.email) = lower($1))
                 AND r.valid_from <= $2 AND (r.valid_to IS NULL OR r.valid_to > $2))
   OR lower(e.key) = lower($1)
ORDER BY e.key, e.id LIMIT 50`, term, version); err != nil {
		return nil, fmt.Errorf("store: lookup at %d: %w", version, err)
	}
	if len(ents) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(ents))
	for i, e := range ents {
		ids[i] = e.ID
	}
	var refs []Ref
	if err := sqlxSelect(ctx, q, &refs, `SELECT `+refColumns+` FROM mapping_refs r JOIN connections c ON c.id = r.connection_id
WHERE r.entity_id = ANY($1) AND r.valid_from <= $2 AND (r.valid_to IS NULL OR r.valid_to > $2)
ORDER BY r.entity_id, lower(c.name), r.id`, pq.Array(ids), version); err != nil {
		return nil, fmt.Errorf("store: lookup refs at %d: %w", version, err)
	}
	out := make([]HistoricMatch, len(ents))
	idx := map[int64]int{}
	for i, e := range ents {
		out[i].Entity = e
		idx[e.ID] = i
	}
	for _, r := range refs {
		out[idx[r.EntityID]].Refs = append(out[idx[r.EntityID]].Refs, r)
	}
	return out, nil
}

// TimelineEvent is one reference of an entity added or ended by a version.
type TimelineEvent struct {
	Version      int64     `db:"version"`
	AppliedAt    time.Time `db:"applied_at"`
	AppliedLabel string    `db:"applied_label"`
	ChangeSetID  int64     `db:"change_set_id"`
	Title        string    `db:"title"`
	ProposedBy   string    `db:"proposed_label"`
	Added        bool      `db:"added"`
	Ref
}

// EntityTimeline lists, newest version first, every reference an entity
// gained or lost, with the change set that did it.
func (q q) EntityTimeline(ctx context.Context, entityID int64) ([]TimelineEvent, error) {
	var evs []TimelineEvent
	err := sqlxSelect(ctx, q, &evs, `SELECT v.version, v.applied_at, v.applied_label, cs.id AS change_set_id, cs.title, cs.proposed_label,
  x.added, `+refColumns+`
FROM (SELECT r.*, true AS added, r.valid_from AS at_version FROM mapping_refs r WHERE r.entity_id = $1
      UNION ALL
      SELECT r.*, false, r.valid_to FROM mapping_refs r WHERE r.entity_id = $1 AND r.valid_to IS NOT NULL) x
JOIN mapping_refs r ON r.id = x.id
JOIN connections c ON c.id = r.connection_id
JOIN mapping_versions v ON v.version = x.at_version
JOIN change_sets cs ON cs.id = v.change_set_id
ORDER BY v.version DESC, x.added, lower(c.name), r.id
LIMIT 500`, entityID)
	if err != nil {
		return nil, fmt.Errorf("store: entity %d timeline: %w", entityID, err)
	}
	return evs, nil
}

// Mapping list statuses.
const (
	MappingMapped   = "mapped"   // has a reference (in the chosen system)
	MappingUnmapped = "unmapped" // has no reference in the chosen system (or misses one in some system)
	MappingConflict = "conflict" // touched by an open change set with a conflict
	MappingPending  = "pending"  // touched by an open change set
)

// MappingFilter selects entities for the mappings list and the export.
type MappingFilter struct {
	Query        string // a whole id, SKU, barcode or email, or the start of a key or name
	EntityType   string
	ConnectionID int64
	Status       string
	AfterKey     string // keyset: the last row of the previous page
	AfterID      int64
	Limit        int
}

// MappingRow is one entity with its current references.
type MappingRow struct {
	Entity Entity
	Refs   []Ref
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(strings.ToLower(s)) + "%"
}

// ListMappings returns one page of entities with their current references,
// ordered by key, and whether more follow.
func (q q) ListMappings(ctx context.Context, f MappingFilter) ([]MappingRow, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	ents, err := q.listEntities(ctx, f, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(ents) > limit
	if more {
		ents = ents[:limit]
	}
	rows, err := q.withRefs(ctx, ents)
	return rows, more, err
}

func (q q) withRefs(ctx context.Context, ents []Entity) ([]MappingRow, error) {
	if len(ents) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(ents))
	rows := make([]MappingRow, len(ents))
	idx := make(map[int64]int, len(ents))
	for i, e := range ents {
		ids[i], rows[i].Entity, idx[e.ID] = e.ID, e, i
	}
	refs, err := q.CurrentRefs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		rows[idx[r.EntityID]].Refs = append(rows[idx[r.EntityID]].Refs, r)
	}
	return rows, nil
}

// candidateSQL finds the entities a search term names ($1 the term, $2 its
// escaped LIKE prefix), each branch on its own index.
const candidateSQL = `SELECT r.entity_id FROM mapping_refs r WHERE r.valid_to IS NULL AND r.external_id = $1
  UNION SELECT r.entity_id FROM mapping_refs r WHERE r.valid_to IS NULL AND r.sku <> '' AND lower(r.sku) = lower($1)
  UNION SELECT r.entity_id FROM mapping_refs r WHERE r.valid_to IS NULL AND r.barcode <> '' AND r.barcode = $1
  UNION SELECT r.entity_id FROM mapping_refs r WHERE r.valid_to IS NULL AND r.email <> '' AND lower(r.email) = lower($1)
  UNION SELECT r.entity_id FROM mapping_refs r WHERE r.valid_to IS NULL AND r.name <> '' AND lower(r.name) LIKE $2
  UNION SELECT x.id FROM mapping_entities x WHERE lower(x.key) LIKE $2
  UNION SELECT x.id FROM mapping_entities x WHERE lower(x.name) LIKE $2`

const maxSearchCandidates = 10_000

func (q q) searchCandidates(ctx context.Context, term string, limit int) ([]int64, error) {
	var ids []int64
	if err := sqlxSelect(ctx, q, &ids, `SELECT id FROM (`+candidateSQL+`) c(id) LIMIT $3`, term, likePrefix(term), limit); err != nil {
		return nil, fmt.Errorf("store: search mappings: %w", err)
	}
	return ids, nil
}

func (q q) listEntities(ctx context.Context, f MappingFilter, limit int) ([]Entity, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.EntityType != "" {
		where = append(where, "e.entity_type = "+arg(f.EntityType))
	}
	if term := strings.TrimSpace(f.Query); term != "" {
		// Candidates first, from indexed branches; the page then reads them by
		// primary key. A planner guessing thousands of candidates would
		// otherwise scan every entity. A very broad term (a short name
		// prefix) keeps the subquery and walks the key order instead.
		ids, err := q.searchCandidates(ctx, term, maxSearchCandidates+1)
		if err != nil {
			return nil, err
		}
		if len(ids) <= maxSearchCandidates {
			where = append(where, "e.id = ANY("+arg(pq.Array(ids))+")")
		} else {
			where = append(where, "e.id IN ("+candidateSQL+")")
			args = append(args, term, likePrefix(term))
			where[len(where)-1] = strings.NewReplacer("$1", fmt.Sprintf("$%d", len(args)-1), "$2", fmt.Sprintf("$%d", len(args))).Replace(where[len(where)-1])
		}
	}
	hasRefIn := func(conn string) string {
		return `EXISTS (SELECT 1 FROM mapping_refs r WHERE r.entity_id = e.id AND r.connection_id = ` + conn + ` AND r.valid_to IS NULL)`
	}
	switch f.Status {
	case MappingMapped:
		if f.ConnectionID != 0 {
			where = append(where, hasRefIn(arg(f.ConnectionID)))
		} else {
			where = append(where, `EXISTS (SELECT 1 FROM mapping_refs r WHERE r.entity_id = e.id AND r.valid_to IS NULL)`)
		}
	case MappingUnmapped:
		if f.ConnectionID != 0 {
			where = append(where, "NOT "+hasRefIn(arg(f.ConnectionID)))
		} else {
			where = append(where, `(SELECT count(DISTINCT r.connection_id) FROM mapping_refs r WHERE r.entity_id = e.id AND r.valid_to IS NULL) < (SELECT count(*) FROM connections)`)
		}
	case MappingPending:
		where = append(where, `EXISTS (SELECT 1 FROM change_set_items i JOIN change_sets cs ON cs.id = i.change_set_id
  WHERE i.entity_id = e.id AND cs.status IN ('draft', 'pending'))`)
	case MappingConflict:
		where = append(where, `EXISTS (SELECT 1 FROM change_set_items i JOIN change_sets cs ON cs.id = i.change_set_id
  JOIN change_set_issues s ON s.change_set_id = i.change_set_id AND s.line = i.line
  WHERE i.entity_id = e.id AND cs.status IN ('draft', 'pending'))`)
	default:
		if f.ConnectionID != 0 {
			where = append(where, hasRefIn(arg(f.ConnectionID)))
		}
	}
	if f.AfterID != 0 {
		where = append(where, fmt.Sprintf("(e.key, e.id) > (%s, %s)", arg(f.AfterKey), arg(f.AfterID)))
	}
	query := `SELECT ` + entityColumns + ` FROM mapping_entities e`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY e.key, e.id LIMIT " + arg(limit)
	var ents []Entity
	if err := sqlxSelect(ctx, q, &ents, query, args...); err != nil {
		return nil, fmt.Errorf("store: list mappings: %w", err)
	}
	return ents, nil
}
