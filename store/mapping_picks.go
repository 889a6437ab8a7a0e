package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"crossdock/vocab"
)

// SourcePicker: matches picked by hand on the unmapped list ("Map to…"),
// gathered in one draft per person.
const SourcePicker = "picker"

// Candidate is a record of the other system a person may pick as the
// counterpart of an unmapped record.
type Candidate struct {
	ExternalRecord
	// MappedTo: the key of the entity the candidate is on when that entity
	// already has a counterpart in the unmapped record's system (picking it
	// is refused).
	MappedTo string `db:"mapped_to"`
}

// CandidateFilter selects the candidates in system In for records of
// system Other ("Map to…").
type CandidateFilter struct {
	In, Other  int64
	EntityType string
	// Query: the start of a SKU, barcode or email, a part of the name, or a
	// whole id. Empty lists every record (locations: a few).
	Query string
	Limit int
}

// MaxCandidates caps the suggestions of one "Map to…" search.
const MaxCandidates = 200

// MappingCandidates lists the records of f.In a person can pick, those not
// mapped to f.Other yet first, by name.
func (q q) MappingCandidates(ctx context.Context, f CandidateFilter) ([]Candidate, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxCandidates {
		limit = 20
	}
	term := strings.TrimSpace(strings.ReplaceAll(f.Query, "\x00", ""))
	like := likeEscape(strings.ToLower(term))
	var out []Candidate
	if err := sqlxSelect(ctx, q, &out, `SELECT y.connection_id, y.entity_type, y.external_id, y.sku, y.barcode, y.email, y.name, y.seen_at, y.deleted_at,
  COALESCE(e.key, '') AS mapped_to
FROM external_records y
LEFT JOIN mapping_refs r ON r.connection_id = y.connection_id AND r.entity_type = y.entity_type AND r.external_id = y.external_id AND r.valid_to IS NULL
LEFT JOIN mapping_entities e ON e.id = r.entity_id
  AND EXISTS (SELECT 1 FROM mapping_refs o WHERE o.entity_id = r.entity_id AND o.connection_id = $2 AND o.valid_to IS NULL)
WHERE y.connection_id = $1 AND y.entity_type = $3 AND y.deleted_at IS NULL
  AND ($4 = '' OR lower(y.sku) LIKE $5 || '%' OR lower(y.name) LIKE '%' || $5 || '%' OR y.external_id = $4
       OR y.barcode = $4 OR lower(y.email) LIKE $5 || '%')
ORDER BY e.key IS NOT NULL, lower(y.name), y.sku, y.external_id
LIMIT $6`, f.In, f.Other, f.EntityType, term, like, limit); err != nil {
		return nil, fmt.Errorf("store: mapping candidates: %w", err)
	}
	return out, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Pick is a match chosen by hand: the record ExternalID of From is the same
// thing as the record MatchID of To.
type Pick struct {
	From, To   int64
	EntityType string
	ExternalID string
	MatchID    string
	Reason     string
}

// externalRecord returns a record a system has now, or ErrNotFound.
func (q q) externalRecord(ctx context.Context, conn int64, entityType, id string) (ExternalRecord, error) {
	var r ExternalRecord
	err := sqlxGet(ctx, q, &r, `SELECT connection_id, entity_type, external_id, sku, barcode, email, name, seen_at, deleted_at
FROM external_records WHERE connection_id = $1 AND entity_type = $2 AND external_id = $3 AND deleted_at IS NULL`, conn, entityType, id)
	return r, err
}

// RecordLabel names a record for people: its name and SKU (or email), never
// only its id.
func RecordLabel(r ExternalRecord) string {
	parts := []string{}
	for _, p := range []string{r.Name, r.SKU, r.Email} {
		if p != "" && !containsFold(parts, p) {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return r.ExternalID
	}
	return strings.Join(parts, " · ")
}

func containsFold(list []string, s string) bool {
	for _, p := range list {
		if strings.EqualFold(p, s) {
			return true
		}
	}
	return false
}

// ProposePick adds a match picked by hand to the person's draft proposed
// change of picks, creating it when they have none. Both records are read
// again here, never taken from the request: a record that is gone, belongs
// to another system or is already mapped is refused in words.
func (s *Store) ProposePick(ctx context.Context, a Actor, p Pick) (ChangeSet, error) {
	if p.From == 0 || p.To == 0 || p.From == p.To {
		return ChangeSet{}, vocab.FieldErrors{"form": "Choose two different systems."}
	}
	if p.ExternalID == "" || p.MatchID == "" {
		return ChangeSet{}, vocab.FieldErrors{"form": "Choose the record to map it to."}
	}
	fromC, err := s.ConnectionByID(ctx, p.From)
	if err != nil {
		return ChangeSet{}, err
	}
	toC, err := s.ConnectionByID(ctx, p.To)
	if err != nil {
		return ChangeSet{}, err
	}
	rows, _, err := s.ListUnmapped(ctx, UnmappedFilter{From: p.From, To: p.To, EntityType: p.EntityType, ExternalIDs: []string{p.ExternalID},
		Limit: 1, ShowDrafted: true})
	if err != nil {
		return ChangeSet{}, err
	}
	if len(rows) == 0 {
		if _, err := s.externalRecord(ctx, p.From, p.EntityType, p.ExternalID); errors.Is(err, ErrNotFound) {
			return ChangeSet{}, vocab.FieldErrors{"form": fmt.Sprintf("That record is no longer in %s; the list may have changed. Reload the page.", fromC.Name)}
		} else if err != nil {
			return ChangeSet{}, err
		}
		return ChangeSet{}, vocab.FieldErrors{"form": fmt.Sprintf("That record already has a counterpart in %s.", toC.Name)}
	}
	x := rows[0]
	y, err := s.externalRecord(ctx, p.To, p.EntityType, p.MatchID)
	if errors.Is(err, ErrNotFound) {
		return ChangeSet{}, vocab.FieldErrors{"form": fmt.Sprintf("The record you picked is not in %s (it may have been deleted there, or it belongs to another system). Pick another one.", toC.Name)}
	}
	if err != nil {
		return ChangeSet{}, err
	}
	sug := &Suggestion{Rule: "picked", Record: y}
	var ent struct {
		ID         int64  `db:"id"`
		Key        string `db:"key"`
		HasFromRef bool   `db:"has_from"`
		Many       bool   `db:"many_per_connection"`
	}
	err = sqlxGet(ctx, s.q, &ent, `SELECT e.id, e.key, EXISTS (SELECT 1 FROM mapping_refs o WHERE o.entity_id = e.id AND o.connection_id = $4 AND o.valid_to IS NULL) AS has_from,
  t.many_per_connection
FROM mapping_refs r JOIN mapping_entities e ON e.id = r.entity_id JOIN entity_types t ON t.key = r.entity_type
WHERE r.connection_id = $1 AND r.entity_type = $2 AND r.external_id = $3 AND r.valid_to IS NULL`, p.To, p.EntityType, p.MatchID, p.From)
	switch {
	// Several records of one system may share a counterpart when the type
	// allows it: two Shopify taxes charged as one QuickBooks tax code.
	case err == nil && (ent.HasFromRef && !ent.Many || x.EntityID != nil):
		return ChangeSet{}, vocab.FieldErrors{"form": fmt.Sprintf("%s is already mapped to %s. Pick another one, or change that mapping on its page first.", RecordLabel(y), ent.Key)}
	case err == nil:
		sug.EntityID, sug.EntityKey = &ent.ID, ent.Key
	case !errors.Is(err, ErrNotFound):
		return ChangeSet{}, fmt.Errorf("store: picked record's mapping: %w", err)
	}
	x.Suggestion = sug
	items := suggestionItems([]UnmappedRow{x})

	var draft ChangeSet
	err = sqlxGet(ctx, s.q, &draft, `SELECT `+changeSetColumns+` FROM change_sets
WHERE status = 'draft' AND source = 'picker' AND proposed_by = $1 ORDER BY id DESC LIMIT 1`, a.UserID)
	switch {
	case err == nil:
		cs, err := s.AddChangeSetItems(ctx, a, draft.ID, items)
		if err != nil {
			var fe vocab.FieldErrors
			if errors.As(err, &fe) && fe["external_id"] != "" {
				return ChangeSet{}, vocab.FieldErrors{"form": fmt.Sprintf("Your draft proposed change #%d already maps one of these records. Change it there.", draft.ID)}
			}
			return ChangeSet{}, err
		}
		cs.Matched = 1
		return cs, nil
	case !errors.Is(err, ErrNotFound):
		return ChangeSet{}, fmt.Errorf("store: draft of picks: %w", err)
	}
	cs, err := s.CreateChangeSet(ctx, a, NewChangeSet{Source: SourcePicker, Reason: p.Reason,
		Title: fmt.Sprintf("Matches picked by hand between %s and %s", fromC.Name, toC.Name), Items: items})
	cs.Matched = 1
	return cs, err
}

// WaitingIn says how many of a system's unmapped records an open proposed
// change already maps (the unmapped list hides them).
type WaitingIn struct {
	ChangeSetID int64  `db:"change_set_id"`
	Status      string `db:"status"`
	N           int    `db:"n"`
}

// UnmappedWaiting counts, per open proposed change, the records of from
// (of one type) it maps: "3 are waiting in proposed change #12".
func (q q) UnmappedWaiting(ctx context.Context, from int64, entityType string) ([]WaitingIn, error) {
	var out []WaitingIn
	if err := sqlxSelect(ctx, q, &out, `SELECT cs.id AS change_set_id, cs.status, count(*) AS n
FROM change_sets cs JOIN change_set_items i ON i.change_set_id = cs.id
WHERE cs.status IN ('draft', 'pending') AND i.op = 'set' AND i.connection_id = $1 AND i.entity_type = $2
GROUP BY cs.id, cs.status ORDER BY cs.id LIMIT 20`, from, entityType); err != nil {
		return nil, fmt.Errorf("store: unmapped waiting: %w", err)
	}
	return out, nil
}

// Overlap is another open proposed change that maps some of the same
// records as this one.
type Overlap struct {
	ChangeSetID   int64  `db:"change_set_id"`
	Status        string `db:"status"`
	ProposedLabel string `db:"proposed_label"`
	N             int    `db:"n"`
}

// ChangeSetOverlaps lists the other open proposed changes that set the same
// records (system, type, id) as proposed change id: both pages show it.
func (q q) ChangeSetOverlaps(ctx context.Context, id int64) ([]Overlap, error) {
	var out []Overlap
	// People by name: the proposer's name when they still have an account.
	if err := sqlxSelect(ctx, q, &out, `SELECT o.id AS change_set_id, o.status, COALESCE(NULLIF(u.name, ''), o.proposed_label) AS proposed_label, count(*) AS n
FROM change_set_items m
JOIN change_sets o ON o.status IN ('draft', 'pending') AND o.id <> $1
JOIN change_set_items oi ON oi.change_set_id = o.id AND oi.connection_id = m.connection_id AND oi.entity_type = m.entity_type
  AND oi.external_id = m.external_id AND oi.action <> 'unchanged'
LEFT JOIN users u ON u.id = o.proposed_by
WHERE m.change_set_id = $1 AND m.action <> 'unchanged'
GROUP BY o.id, o.status, 3 ORDER BY o.id LIMIT 20`, id); err != nil {
		return nil, fmt.Errorf("store: proposed change overlaps: %w", err)
	}
	return out, nil
}

// ChangeSetMatches counts the matches (pairs of records that are the same
// thing) a proposed change makes: one per entity it sets references of.
func (q q) ChangeSetMatches(ctx context.Context, id int64) (int, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `SELECT count(DISTINCT (entity_type, lower(entity_key))) FROM change_set_items
WHERE change_set_id = $1 AND op = 'set' AND action <> 'unchanged'`, id); err != nil {
		return 0, fmt.Errorf("store: proposed change matches: %w", err)
	}
	return n, nil
}

// recheckOverlapping finds again the conflicts of the open proposed changes that
// touch the records proposed change id just changed, so they say at once what
// blocks them (and, once checked again, what is left of them).
func (tx *Tx) recheckOverlapping(ctx context.Context, id int64) error {
	var others []int64
	// Driven by the open proposed changes (few), each joined to this one's rows
	// by the items' primary key.
	if err := sqlxSelect(ctx, tx.q, &others, `SELECT o.id FROM change_sets o
WHERE o.status IN ('draft', 'pending') AND o.id <> $1
  AND EXISTS (SELECT 1 FROM change_set_items oi JOIN change_set_items m ON m.change_set_id = $1 AND m.connection_id = oi.connection_id
              AND m.entity_type = oi.entity_type AND m.external_id = oi.external_id
              WHERE oi.change_set_id = o.id)
ORDER BY o.id LIMIT 20`, id); err != nil {
		return fmt.Errorf("store: overlapping proposed changes: %w", err)
	}
	// A draft is checked again at once (nobody reviews it yet: its page
	// then says what is left). A pending one gets its conflicts only: a
	// row whose reference moved stays stale until a person checks it again
	// and sees the new starting point.
	for _, o := range others {
		cur, err := tx.lockChangeSet(ctx, o)
		if err != nil {
			return err
		}
		if cur.Status == ChangeSetDraft {
			_, err = tx.checkChangeSet(ctx, o)
		} else {
			_, err = tx.detectConflicts(ctx, o)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
