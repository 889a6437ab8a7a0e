package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// ExternalRecord is a record a connected system has, as the sync engine last
// saw it. The unmapped view and auto-match suggestions are built from them.
type ExternalRecord struct {
	ConnectionID int64  `db:"connection_id"`
	EntityType   string `db:"entity_type"`
	ExternalID   string `db:"external_id"`
	SKU          string `db:"sku"`
	Barcode      string `db:"barcode"`
	Email        string `db:"email"`
	Name         string `db:"name"`
	// VariantTitle and ImageURL: how a catalogue's variant looks ("" when
	// the system says nothing of it).
	VariantTitle string     `db:"variant_title"`
	ImageURL     string     `db:"image_url"`
	SeenAt       time.Time  `db:"seen_at"`
	DeletedAt    *time.Time `db:"deleted_at"`
}

// UpsertExternalRecords records what a system has (one page of a sweep) in
// one statement; a record seen again is no longer deleted. It returns how
// many records were written.
func (q q) UpsertExternalRecords(ctx context.Context, connectionID int64, entityType string, recs []ExternalRecord) (int64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(recs))
	skus, barcodes, emails, names := make([]string, 0, len(recs)), make([]string, 0, len(recs)), make([]string, 0, len(recs)), make([]string, 0, len(recs))
	titles, images := make([]string, 0, len(recs)), make([]string, 0, len(recs))
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		id := strings.TrimSpace(r.ExternalID)
		if id == "" || seen[id] {
			continue // ON CONFLICT cannot touch one row twice in one statement
		}
		seen[id] = true
		ids = append(ids, id)
		skus, barcodes = append(skus, strings.TrimSpace(r.SKU)), append(barcodes, strings.TrimSpace(r.Barcode))
		emails, names = append(emails, strings.TrimSpace(r.Email)), append(names, strings.TrimSpace(r.Name))
		titles, images = append(titles, strings.TrimSpace(r.VariantTitle)), append(images, imageURL(r.ImageURL))
	}
	res, err := q.ext.ExecContext(ctx, `INSERT INTO external_records (connection_id, entity_type, external_id, sku, barcode, email, name, variant_title, image_url, seen_at)
SELECT $1, $2, x.id, x.sku, x.barcode, x.email, x.name, x.variant_title, x.image_url, now()
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS x(id, sku, barcode, email, name, variant_title, image_url)
ON CONFLICT (connection_id, entity_type, external_id) DO UPDATE SET sku = EXCLUDED.sku, barcode = EXCLUDED.barcode,
  email = EXCLUDED.email, name = EXCLUDED.name, variant_title = EXCLUDED.variant_title, image_url = EXCLUDED.image_url,
  seen_at = EXCLUDED.seen_at, deleted_at = NULL`,
		connectionID, entityType, pq.Array(ids), pq.Array(skus), pq.Array(barcodes), pq.Array(emails), pq.Array(names),
		pq.Array(titles), pq.Array(images))
	if err != nil {
		return 0, fmt.Errorf("store: upsert external records: %w", err)
	}
	return res.RowsAffected()
}

// maxImageURL bounds a stored image address: a catalogue's image is a CDN
// address or a small data: URI; anything longer is dropped, not stored.
const maxImageURL = 8 << 10

// imageURL keeps an image address pages may show: https (or a path on the
// console itself) or a data: image, at most maxImageURL long; else "".
func imageURL(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxImageURL || strings.ContainsAny(s, "\x00\n\r\"<> ") {
		return ""
	}
	switch {
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "data:image/"),
		strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		return s
	}
	return ""
}

// MarkMissingExternalRecords marks as deleted the records of a system not
// seen since a full sweep started (seenBefore), and returns how many.
func (q q) MarkMissingExternalRecords(ctx context.Context, connectionID int64, entityType string, seenBefore time.Time) (int64, error) {
	res, err := q.ext.ExecContext(ctx, `UPDATE external_records SET deleted_at = now()
WHERE connection_id = $1 AND entity_type = $2 AND seen_at < $3 AND deleted_at IS NULL`, connectionID, entityType, seenBefore)
	if err != nil {
		return 0, fmt.Errorf("store: mark missing external records: %w", err)
	}
	return res.RowsAffected()
}

// Match rules of auto-match suggestions, strongest first.
const (
	RuleSKU     = "sku"
	RuleBarcode = "barcode"
	RuleEmail   = "email"
	RuleName    = "name"
)

// Suggestion is a record of the other system that probably is the same thing.
type Suggestion struct {
	Rule   string
	Record ExternalRecord
	// The entity the suggested record is already mapped to, if any.
	EntityID  *int64
	EntityKey string
}

// UnmappedRow is a record with no counterpart in the other system.
type UnmappedRow struct {
	Record ExternalRecord
	// The entity the record is mapped to already (it lacks the other side).
	EntityID   *int64
	EntityKey  string
	Suggestion *Suggestion
}

// UnmappedFilter selects the records of From that have no counterpart in To.
type UnmappedFilter struct {
	From, To    int64
	EntityType  string
	ExternalIDs []string // only these (accepting suggestions)
	// Query: the start of a SKU, barcode or email, a part of the name, or
	// a whole id.
	Query   string
	AfterID string // keyset: rows after this external id, in natural order
	Limit   int
	// ShowDrafted: also the records an open proposed change already maps
	// (hidden by default: they wait for approval, not for a person).
	ShowDrafted bool
}

// draftedSQL: the record x is set by an open proposed change, or its entity
// gets a reference in $2 from one. One index probe per record (items by
// record, then their change set's status).
const draftedSQL = ` AND NOT EXISTS (SELECT 1 FROM change_set_items oi JOIN change_sets ocs ON ocs.id = oi.change_set_id
    WHERE oi.connection_id = x.connection_id AND oi.entity_type = x.entity_type AND oi.external_id = x.external_id
      AND oi.op = 'set' AND ocs.status IN ('draft', 'pending'))
  AND (xe.key IS NULL OR NOT EXISTS (SELECT 1 FROM change_set_items oi JOIN change_sets ocs ON ocs.id = oi.change_set_id
    WHERE oi.connection_id = $2 AND oi.entity_type = x.entity_type AND lower(oi.entity_key) = lower(xe.key)
      AND oi.op = 'set' AND ocs.status IN ('draft', 'pending')))`

type unmappedScan struct {
	ExternalRecord
	XEntityID  *int64     `db:"x_entity_id"`
	XEntityKey *string    `db:"x_entity_key"`
	Rule       *string    `db:"rule"`
	YID        *string    `db:"y_external_id"`
	YSKU       *string    `db:"y_sku"`
	YBarcode   *string    `db:"y_barcode"`
	YEmail     *string    `db:"y_email"`
	YName      *string    `db:"y_name"`
	YSeenAt    *time.Time `db:"y_seen_at"`
	YEntityID  *int64     `db:"y_entity_id"`
	YEntityKey *string    `db:"y_entity_key"`
}

// unmappedPageSQL picks the page first: records of $1 whose entity (if any)
// has no reference in $2, filtered, ordered and limited by ListUnmapped
// before any suggestion is looked for (a record hidden by a filter never
// costs a suggestion).
const unmappedPageSQL = `SELECT x.connection_id, x.entity_type, x.external_id, x.sku, x.barcode, x.email, x.name, x.name_norm, x.seen_at, x.deleted_at,
  xr.id AS xr_id, xr.entity_id AS x_entity_id, xe.key AS x_entity_key
FROM external_records x
LEFT JOIN mapping_refs xr ON xr.connection_id = x.connection_id AND xr.entity_type = x.entity_type AND xr.external_id = x.external_id AND xr.valid_to IS NULL
LEFT JOIN mapping_entities xe ON xe.id = xr.entity_id
WHERE x.connection_id = $1 AND x.entity_type = $3 AND x.deleted_at IS NULL
  AND (length(x.external_id), x.external_id) > (length($4::text), $4::text)
  AND (xr.id IS NULL OR NOT EXISTS (SELECT 1 FROM mapping_refs br WHERE br.entity_id = xr.entity_id AND br.connection_id = $2 AND br.valid_to IS NULL))`

// unmappedSQL gives each record of the page (%s) the strongest match in $2
// that could join it without giving an entity a second reference.
const unmappedSQL = `SELECT x.connection_id, x.entity_type, x.external_id, x.sku, x.barcode, x.email, x.name, x.seen_at, x.deleted_at,
  x.x_entity_id, x.x_entity_key,
  s.rule, s.external_id AS y_external_id, s.sku AS y_sku, s.barcode AS y_barcode, s.email AS y_email, s.name AS y_name,
  s.seen_at AS y_seen_at, yr.entity_id AS y_entity_id, ye.key AS y_entity_key
FROM (%s) x
LEFT JOIN LATERAL (
  SELECT m.* FROM (
    SELECT y.*, 'sku' AS rule, 1 AS prio FROM external_records y
      WHERE x.sku <> '' AND y.connection_id = $2 AND y.entity_type = x.entity_type AND lower(y.sku) = lower(x.sku) AND y.sku <> ''
    UNION ALL
    SELECT y.*, 'barcode', 2 FROM external_records y
      WHERE x.barcode <> '' AND y.connection_id = $2 AND y.entity_type = x.entity_type AND y.barcode = x.barcode AND y.barcode <> ''
    UNION ALL
    SELECT y.*, 'email', 3 FROM external_records y
      WHERE x.email <> '' AND y.connection_id = $2 AND y.entity_type = x.entity_type AND lower(y.email) = lower(x.email) AND y.email <> ''
    UNION ALL
    SELECT y.*, 'name', 4 FROM external_records y
      WHERE x.name_norm <> '' AND y.connection_id = $2 AND y.entity_type = x.entity_type AND y.name_norm = x.name_norm AND y.name_norm <> ''
  ) m
  WHERE m.deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM mapping_refs yr2 WHERE yr2.connection_id = $2 AND yr2.entity_type = m.entity_type
                    AND yr2.external_id = m.external_id AND yr2.valid_to IS NULL
                    AND (x.xr_id IS NOT NULL OR EXISTS (SELECT 1 FROM mapping_refs ar WHERE ar.entity_id = yr2.entity_id
                                                      AND ar.connection_id = $1 AND ar.valid_to IS NULL)))
  ORDER BY m.prio, m.external_id LIMIT 1
) s ON true
LEFT JOIN mapping_refs yr ON yr.connection_id = $2 AND yr.entity_type = x.entity_type AND yr.external_id = s.external_id AND yr.valid_to IS NULL
LEFT JOIN mapping_entities ye ON ye.id = yr.entity_id
ORDER BY length(x.external_id), x.external_id`

// ListUnmapped returns a page of the records of f.From with no counterpart in
// f.To, ordered by external id as numbers sort (…/2 before …/10), each with
// its best auto-match suggestion.
func (q q) ListUnmapped(ctx context.Context, f UnmappedFilter) ([]UnmappedRow, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	query := unmappedPageSQL
	args := []any{f.From, f.To, f.EntityType, f.AfterID}
	if f.ExternalIDs != nil {
		args = append(args, pq.Array(f.ExternalIDs))
		query += fmt.Sprintf(" AND x.external_id = ANY($%d)", len(args))
	}
	if term := strings.TrimSpace(f.Query); term != "" {
		args = append(args, term, likeEscape(strings.ToLower(term)))
		t, l := len(args)-1, len(args)
		query += fmt.Sprintf(" AND (x.external_id = $%d OR lower(x.sku) LIKE $%d || '%%' OR x.barcode = $%d OR lower(x.email) LIKE $%d || '%%' OR lower(x.name) LIKE '%%' || $%d || '%%')",
			t, l, t, l, l)
	}
	if !f.ShowDrafted {
		query += draftedSQL
	}
	args = append(args, limit+1)
	// Natural order: ids that differ only in their number sort by it
	// (…/9 before …/10 before …/100), shorter first; the index
	// external_records_natural serves the order and the keyset.
	query += fmt.Sprintf(" ORDER BY length(x.external_id), x.external_id LIMIT $%d", len(args))
	query = fmt.Sprintf(unmappedSQL, query)
	var scans []unmappedScan
	if err := sqlxSelect(ctx, q, &scans, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list unmapped: %w", err)
	}
	more := len(scans) > limit
	if more {
		scans = scans[:limit]
	}
	rows := make([]UnmappedRow, len(scans))
	for i, s := range scans {
		rows[i] = UnmappedRow{Record: s.ExternalRecord, EntityID: s.XEntityID, EntityKey: deref(s.XEntityKey)}
		if s.Rule != nil {
			rows[i].Suggestion = &Suggestion{Rule: *s.Rule, EntityID: s.YEntityID, EntityKey: deref(s.YEntityKey),
				Record: ExternalRecord{ConnectionID: f.To, EntityType: s.EntityType, ExternalID: deref(s.YID), SKU: deref(s.YSKU),
					Barcode: deref(s.YBarcode), Email: deref(s.YEmail), Name: deref(s.YName)}}
		}
	}
	return rows, more, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// suggestionItems turns accepted suggestions into proposed change rows: the
// record joins the entity its match is on, or both form a new entity.
func suggestionItems(rows []UnmappedRow) []ItemInput {
	var items []ItemInput
	// Two records may suggest the same match (a duplicated SKU): the first
	// one wins, a proposed change says one thing about each id.
	used := map[string]bool{}
	for _, r := range rows {
		s := r.Suggestion
		if s == nil || used[s.Record.ExternalID] {
			continue
		}
		used[s.Record.ExternalID] = true
		x, y := r.Record, s.Record
		row := func(key string, rec ExternalRecord) ItemInput {
			return ItemInput{Op: OpSet, EntityType: rec.EntityType, ConnectionID: rec.ConnectionID, EntityKey: key, ExternalID: rec.ExternalID,
				SKU: Str(rec.SKU), Barcode: Str(rec.Barcode), Email: Str(rec.Email), Name: Str(rec.Name)}
		}
		switch {
		case r.EntityID != nil:
			items = append(items, row(r.EntityKey, y))
		case s.EntityID != nil:
			items = append(items, row(s.EntityKey, x))
		default:
			key := newEntityKey(x, y)
			items = append(items, row(key, x), row(key, y))
		}
	}
	return items
}

// newEntityKey picks the key a new entity is known by: the SKU, the email,
// the barcode, or else the type and the first system's id.
func newEntityKey(x, y ExternalRecord) string {
	for _, k := range []string{x.SKU, y.SKU, x.Email, y.Email, x.Barcode, y.Barcode} {
		if k != "" {
			return k
		}
	}
	// A location is known by its name ("WH/Stock"), not "location-7".
	if x.EntityType == "location" && x.Name != "" {
		return x.Name
	}
	return x.EntityType + "-" + x.ExternalID
}

// MaxAcceptAtOnce caps how many suggestions one proposed change takes.
const MaxAcceptAtOnce = 5000

// SuggestedIDs lists the records of from that have an auto-match suggestion
// in to, up to max, for "accept all suggestions".
func (q q) SuggestedIDs(ctx context.Context, from, to int64, entityType string, max int) ([]string, error) {
	var ids []string
	after := ""
	for len(ids) < max {
		rows, more, err := q.ListUnmapped(ctx, UnmappedFilter{From: from, To: to, EntityType: entityType, AfterID: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Suggestion != nil && len(ids) < max {
				ids = append(ids, r.Record.ExternalID)
			}
		}
		if !more || len(rows) == 0 {
			break
		}
		after = rows[len(rows)-1].Record.ExternalID
	}
	return ids, nil
}

// ChangeSetFromSuggestions turns the accepted suggestions for records of
// from into a draft proposed change. The suggestions are computed again here,
// never taken from the request.
func (s *Store) ChangeSetFromSuggestions(ctx context.Context, a Actor, from, to int64, entityType string, externalIDs []string, reason string) (ChangeSet, error) {
	if len(externalIDs) == 0 {
		return ChangeSet{}, vocab.FieldErrors{"form": "Tick at least one suggestion to accept."}
	}
	if len(externalIDs) > MaxAcceptAtOnce {
		return ChangeSet{}, vocab.FieldErrors{"form": "Accept at most 5,000 suggestions at a time."}
	}
	// ListUnmapped answers at most 500 rows a call: ask in chunks.
	var rows []UnmappedRow
	for chunk := range slices.Chunk(externalIDs, 500) {
		part, _, err := s.ListUnmapped(ctx, UnmappedFilter{From: from, To: to, EntityType: entityType, ExternalIDs: chunk, Limit: len(chunk)})
		if err != nil {
			return ChangeSet{}, err
		}
		rows = append(rows, part...)
	}
	items := suggestionItems(rows)
	if len(items) == 0 {
		return ChangeSet{}, vocab.FieldErrors{"form": "None of the ticked records has a suggestion any more; the list may have changed. Reload the page."}
	}
	fromC, err := s.ConnectionByID(ctx, from)
	if err != nil {
		return ChangeSet{}, err
	}
	toC, err := s.ConnectionByID(ctx, to)
	if err != nil {
		return ChangeSet{}, err
	}
	// A match is one pair of records, however many rows it takes.
	keys := map[string]bool{}
	for _, it := range items {
		keys[strings.ToLower(it.EntityKey)] = true
	}
	n := len(keys)
	cs, err := s.CreateChangeSet(ctx, a, NewChangeSet{Source: SourceSuggestions, Reason: reason,
		Title: fmt.Sprintf("Match %s of %s with %s", countNoun(n, entityType), fromC.Name, toC.Name), Items: items})
	cs.Matched = n
	return cs, err
}

// countNoun: "1 variant", "2,980 variants" (thousands with a comma).
func countNoun(n int, noun string) string {
	digits := fmt.Sprint(n)
	for i := len(digits) - 3; i > 0; i -= 3 {
		digits = digits[:i] + "," + digits[i:]
	}
	noun = strings.ReplaceAll(noun, "_", " ")
	if n != 1 {
		noun += "s"
	}
	return digits + " " + noun
}
