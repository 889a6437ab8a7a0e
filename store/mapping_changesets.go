package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// Proposed change states.
const (
	ChangeSetDraft     = "draft"
	ChangeSetPending   = "pending"
	ChangeSetApproved  = "approved"
	ChangeSetRejected  = "rejected"
	ChangeSetWithdrawn = "withdrawn"
)

// Where a proposed change came from.
const (
	SourceForm        = "form"
	SourceSuggestions = "suggestions"
	SourceImport      = "import"
	SourceRevert      = "revert"
	// SourceEngine: proposed by the sync engine for a record it created in
	// a receiving system; submitted at once, approved by an admin.
	SourceEngine = "engine"
)

// Item operations: set a reference (add it, or change its entity or keys),
// or remove it.
const (
	OpSet    = "set"
	OpRemove = "remove"
)

// Item actions, as a check classifies them against the current mappings.
const (
	ActionAdd       = "add"
	ActionChange    = "change"
	ActionRemove    = "remove"
	ActionUnchanged = "unchanged"
)

// Issue kinds. IssueInvalid rows come from an import and never change; the
// others are conflicts, found again by every check.
const (
	IssueInvalid      = "invalid"
	IssueClaimed      = "claimed"       // the external id is mapped to another entity
	IssueTwoRefs      = "two_refs"      // an entity would get two references where one is allowed
	IssueMissing      = "missing"       // the system no longer has the record
	IssueStale        = "stale"         // the mappings moved since the proposed change was checked
	IssuePending      = "pending"       // an older open proposed change touches the same reference
	IssueNotMapped    = "not_mapped"    // removing a reference that does not exist
	IssueWrongEntity  = "wrong_entity"  // removing a reference from an entity it is not on
	IssueUnknownThing = "unknown_thing" // reserved for rows naming things that are gone
)

// Limits of a proposed change.
const (
	MaxReasonLen    = 2000
	MaxTitleLen     = 200
	MaxKeyLen       = 200
	MaxCommentLen   = 4000
	MaxChangeSetRow = 200_000
)

// ChangeSet is a proposed, approved or rejected change to the mappings.
type ChangeSet struct {
	ID              int64      `db:"id"`
	Title           string     `db:"title"`
	Reason          string     `db:"reason"`
	Status          string     `db:"status"`
	Source          string     `db:"source"`
	FileName        string     `db:"file_name"`
	ProposedBy      *int64     `db:"proposed_by"`
	ProposedLabel   string     `db:"proposed_label"`
	CreatedAt       time.Time  `db:"created_at"`
	SubmittedAt     *time.Time `db:"submitted_at"`
	DecidedAt       *time.Time `db:"decided_at"`
	DecidedBy       *int64     `db:"decided_by"`
	DecidedLabel    string     `db:"decided_label"`
	DecisionComment string     `db:"decision_comment"`
	Version         *int64     `db:"version"`
	RevertsID       *int64     `db:"reverts_id"`
	NAdd            int        `db:"n_add"`
	NChange         int        `db:"n_change"`
	NRemove         int        `db:"n_remove"`
	NUnchanged      int        `db:"n_unchanged"`
	NInvalid        int        `db:"n_invalid"`
	NConflicts      int        `db:"n_conflicts"`
	CheckedAt       *time.Time `db:"checked_at"`
	// Matched: how many records ChangeSetFromSuggestions found a
	// counterpart for (not stored).
	Matched int `db:"-"`
}

// Open reports whether the proposed change can still change or be decided.
func (cs ChangeSet) Open() bool { return cs.Status == ChangeSetDraft || cs.Status == ChangeSetPending }

// Changes is how many references the proposed change adds, changes or removes.
func (cs ChangeSet) Changes() int { return cs.NAdd + cs.NChange + cs.NRemove }

// ProposedByUser reports whether user id proposed the proposed change.
func (cs ChangeSet) ProposedByUser(id int64) bool {
	return cs.ProposedBy != nil && *cs.ProposedBy == id
}

const changeSetColumns = `id, title, reason, status, source, file_name, proposed_by, proposed_label, created_at, submitted_at,
decided_at, decided_by, decided_label, decision_comment, version, reverts_id, n_add, n_change, n_remove, n_unchanged,
n_invalid, n_conflicts, checked_at`

// ItemInput is one row of a proposed change as proposed.
type ItemInput struct {
	Op           string // OpSet (default) or OpRemove
	EntityType   string
	ConnectionID int64
	EntityKey    string // which entity (created on approval if new); may be empty for a removal
	ExternalID   string
	// Human keys; nil keeps the reference's current value.
	SKU, Barcode, Email, Name *string
}

func (in *ItemInput) normalize() {
	if in.Op == "" {
		in.Op = OpSet
	}
	in.EntityKey = strings.TrimSpace(in.EntityKey)
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	for _, p := range []*string{in.SKU, in.Barcode, in.Email, in.Name} {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
}

// Str returns a pointer to s, for ItemInput's optional keys.
func Str(s string) *string { return &s }

// ChangeItem is one row of a proposed change with what it means.
type ChangeItem struct {
	ChangeSetID      int64   `db:"change_set_id"`
	Line             int     `db:"line"`
	Op               string  `db:"op"`
	EntityType       string  `db:"entity_type"`
	ConnectionID     int64   `db:"connection_id"`
	ConnectionName   string  `db:"connection_name"`
	EntityKey        string  `db:"entity_key"`
	ExternalID       string  `db:"external_id"`
	SKU              *string `db:"sku"`
	Barcode          *string `db:"barcode"`
	Email            *string `db:"email"`
	Name             *string `db:"name"`
	EntityID         *int64  `db:"entity_id"`
	Action           string  `db:"action"`
	BeforeRefID      *int64  `db:"before_ref_id"`
	BeforeEntityKey  string  `db:"before_entity_key"`
	BeforeExternalID string  `db:"before_external_id"`
	BeforeSKU        string  `db:"before_sku"`
	BeforeBarcode    string  `db:"before_barcode"`
	BeforeEmail      string  `db:"before_email"`
	BeforeName       string  `db:"before_name"`
}

func after(v *string, before string) string {
	if v == nil {
		return before
	}
	return *v
}

// AfterSKU is the SKU the reference has once applied (and similarly below).
func (it ChangeItem) AfterSKU() string     { return after(it.SKU, it.BeforeSKU) }
func (it ChangeItem) AfterBarcode() string { return after(it.Barcode, it.BeforeBarcode) }
func (it ChangeItem) AfterEmail() string   { return after(it.Email, it.BeforeEmail) }
func (it ChangeItem) AfterName() string    { return after(it.Name, it.BeforeName) }

const itemColumns = `i.change_set_id, i.line, i.op, i.entity_type, i.connection_id, c.name AS connection_name, i.entity_key,
i.external_id, i.sku, i.barcode, i.email, i.name, i.entity_id, i.action, i.before_ref_id, i.before_entity_key,
i.before_external_id, i.before_sku, i.before_barcode, i.before_email, i.before_name`

// Issue is an invalid row or a conflict of a proposed change, in plain words.
type Issue struct {
	ID             int64  `db:"id"`
	ChangeSetID    int64  `db:"change_set_id"`
	Line           int    `db:"line"`
	Kind           string `db:"kind"`
	Message        string `db:"message"`
	Resolution     string `db:"resolution"`
	OtherChangeSet *int64 `db:"other_change_set"`
}

// Comment is a remark on a proposed change.
type Comment struct {
	ID          int64     `db:"id"`
	ChangeSetID int64     `db:"change_set_id"`
	AuthorID    *int64    `db:"author_id"`
	AuthorLabel string    `db:"author_label"`
	Body        string    `db:"body"`
	CreatedAt   time.Time `db:"created_at"`
}

// NewChangeSet is what it takes to propose a proposed change.
type NewChangeSet struct {
	Title     string
	Reason    string
	Source    string
	FileName  string
	RevertsID *int64
	Items     []ItemInput
}

// Errors of the change-set workflow, in words the person can act on.
var (
	ErrOwnChangeSet    = errors.New("you proposed this proposed change, so another admin must approve or reject it")
	ErrNotApprover     = errors.New("only an active admin can approve or reject proposed changes")
	ErrNotProposer     = errors.New("only the person who proposed this proposed change can do this")
	ErrNothingToChange = errors.New("this proposed change changes nothing: every row already matches the current mappings")
	ErrHasInvalidRows  = errors.New("this proposed change has invalid rows: fix them in the file and import it again")
)

// StateError says a proposed change is not in a state that allows an action.
type StateError struct{ Status string }

func (e StateError) Error() string {
	switch e.Status {
	case ChangeSetApproved:
		return "this proposed change was already approved"
	case ChangeSetRejected:
		return "this proposed change was rejected"
	case ChangeSetWithdrawn:
		return "this proposed change was withdrawn"
	case ChangeSetPending:
		return "this proposed change was already submitted for approval"
	}
	return "this proposed change is still a draft: submit it for approval first"
}

// ConflictsError is returned when conflicts block an approval or submission;
// they are stored on the proposed change.
type ConflictsError struct{ N int }

func (e ConflictsError) Error() string {
	if e.N == 1 {
		return "1 conflict blocks this proposed change"
	}
	return fmt.Sprintf("%d conflicts block this proposed change", e.N)
}

// validateItems checks rows proposed through a form; import rows are
// checked line by line by the importer.
func (q q) validateItems(ctx context.Context, items []ItemInput) (vocab.FieldErrors, error) {
	types, err := q.EntityTypes(ctx)
	if err != nil {
		return nil, err
	}
	conns, err := q.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	fe := vocab.FieldErrors{}
	for i := range items {
		it := &items[i]
		it.normalize()
		if msg := checkItem(*it, typeSet(types), connSet(conns)); msg != nil {
			for k, v := range msg {
				if _, dup := fe[k]; !dup {
					fe[k] = v
				}
			}
		}
	}
	if len(fe) == 0 {
		return nil, nil
	}
	return fe, nil
}

func typeSet(ts []EntityType) map[string]EntityType {
	m := make(map[string]EntityType, len(ts))
	for _, t := range ts {
		m[t.Key] = t
	}
	return m
}

func connSet(cs []Connection) map[int64]Connection {
	m := make(map[int64]Connection, len(cs))
	for _, c := range cs {
		m[c.ID] = c
	}
	return m
}

// checkItem says what is wrong with a row, field by field.
func checkItem(it ItemInput, types map[string]EntityType, conns map[int64]Connection) vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	if it.Op != OpSet && it.Op != OpRemove {
		fe["action"] = "The action must be empty (add or change) or \"remove\"."
	}
	if _, ok := types[it.EntityType]; !ok {
		fe["type"] = "Choose what kind of thing this is (product, variant, customer...)."
	}
	if _, ok := conns[it.ConnectionID]; !ok {
		fe["connection"] = "Choose the system this id belongs to."
	}
	switch {
	case it.ExternalID == "":
		fe["external_id"] = "Enter the id the system uses for this record."
	case utf8.RuneCountInString(it.ExternalID) > MaxKeyLen:
		fe["external_id"] = fmt.Sprintf("The id must be at most %d characters.", MaxKeyLen)
	}
	switch {
	case it.Op == OpSet && it.EntityKey == "":
		fe["entity_key"] = "Enter the entity key (usually the SKU or email) this id belongs to."
	case utf8.RuneCountInString(it.EntityKey) > MaxKeyLen:
		fe["entity_key"] = fmt.Sprintf("The entity key must be at most %d characters.", MaxKeyLen)
	}
	for name, p := range map[string]*string{"sku": it.SKU, "barcode": it.Barcode, "email": it.Email, "name": it.Name} {
		if p != nil && utf8.RuneCountInString(*p) > MaxKeyLen {
			fe[name] = fmt.Sprintf("The %s must be at most %d characters.", name, MaxKeyLen)
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func defaultTitle(items []ItemInput, source string) string {
	switch {
	case source == SourceImport:
		return "Import"
	case len(items) == 1 && items[0].Op == OpRemove:
		return "Remove " + items[0].ExternalID
	case len(items) == 1:
		return "Map " + items[0].EntityKey
	}
	return fmt.Sprintf("%d mapping changes", len(items))
}

// CreateChangeSet stores a draft proposed change, checks it against the current
// mappings and returns it. Rows are validated; a repeated external id is an error.
func (s *Store) CreateChangeSet(ctx context.Context, a Actor, in NewChangeSet) (ChangeSet, error) {
	in.Title, in.Reason = strings.TrimSpace(in.Title), strings.TrimSpace(in.Reason)
	if in.Source == "" {
		in.Source = SourceForm
	}
	fe, err := s.validateItems(ctx, in.Items)
	if err != nil {
		return ChangeSet{}, err
	}
	if fe == nil {
		fe = vocab.FieldErrors{}
	}
	if len(in.Items) == 0 {
		fe["form"] = "A proposed change needs at least one row."
	}
	if len(in.Items) > MaxChangeSetRow {
		fe["form"] = fmt.Sprintf("A proposed change can hold at most %d rows; split it.", MaxChangeSetRow)
	}
	if utf8.RuneCountInString(in.Reason) > MaxReasonLen {
		fe["reason"] = fmt.Sprintf("The reason must be at most %d characters.", MaxReasonLen)
	}
	if utf8.RuneCountInString(in.Title) > MaxTitleLen {
		fe["title"] = fmt.Sprintf("The title must be at most %d characters.", MaxTitleLen)
	}
	if len(fe) > 0 {
		return ChangeSet{}, fe
	}
	if in.Title == "" {
		in.Title = defaultTitle(in.Items, in.Source)
	}
	var cs ChangeSet
	err = s.InTx(ctx, func(tx *Tx) error {
		var err error
		if cs, err = tx.insertChangeSet(ctx, a, in); err != nil {
			return err
		}
		if err := tx.copyItems(ctx, cs.ID, 1, in.Items); err != nil {
			return err
		}
		if cs, err = tx.checkChangeSet(ctx, cs.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.created", ObjectType: "change_set", ObjectID: strconv.FormatInt(cs.ID, 10),
			Summary: fmt.Sprintf("Proposed change #%d %q (%s)", cs.ID, cs.Title, describeCounts(cs)), After: auditChangeSet(cs)})
	})
	return cs, err
}

func describeCounts(cs ChangeSet) string {
	return fmt.Sprintf("%d to add, %d to change, %d to remove, %d unchanged", cs.NAdd, cs.NChange, cs.NRemove, cs.NUnchanged)
}

func auditChangeSet(cs ChangeSet) map[string]any {
	return map[string]any{"title": cs.Title, "status": cs.Status, "source": cs.Source, "reason": cs.Reason,
		"add": cs.NAdd, "change": cs.NChange, "remove": cs.NRemove, "unchanged": cs.NUnchanged,
		"invalid": cs.NInvalid, "conflicts": cs.NConflicts, "version": cs.Version}
}

func (q q) insertChangeSet(ctx context.Context, a Actor, in NewChangeSet) (ChangeSet, error) {
	var proposer *int64
	if a.UserID != 0 {
		proposer = &a.UserID
	}
	var cs ChangeSet
	if err := sqlxGet(ctx, q, &cs, `INSERT INTO change_sets (title, reason, source, file_name, proposed_by, proposed_label, reverts_id)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+changeSetColumns,
		in.Title, in.Reason, in.Source, in.FileName, proposer, a.Label, in.RevertsID); err != nil {
		return ChangeSet{}, fmt.Errorf("store: insert proposed change: %w", err)
	}
	return cs, nil
}

// copyItems bulk-loads rows with COPY: 100,000 rows in one round trip, not
// 100,000 INSERTs. Lines are numbered from firstLine unless lines is given.
func (tx *Tx) copyItems(ctx context.Context, csID int64, firstLine int, items []ItemInput, lines ...int) error {
	if len(items) == 0 {
		return nil
	}
	stmt, err := tx.tx.PrepareContext(ctx, pq.CopyIn("change_set_items", "change_set_id", "line", "op", "entity_type",
		"connection_id", "entity_key", "external_id", "sku", "barcode", "email", "name", "action"))
	if err != nil {
		return fmt.Errorf("store: copy items: %w", err)
	}
	defer stmt.Close()
	for i, it := range items {
		line := firstLine + i
		if len(lines) == len(items) {
			line = lines[i]
		}
		if _, err := stmt.ExecContext(ctx, csID, line, it.Op, it.EntityType, it.ConnectionID, it.EntityKey, it.ExternalID,
			nullStr(it.SKU), nullStr(it.Barcode), nullStr(it.Email), nullStr(it.Name), initialAction(it.Op)); err != nil {
			return fmt.Errorf("store: copy item %d: %w", line, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		if isUniqueViolation(err) {
			return vocab.FieldErrors{"external_id": "This proposed change already has a row for this id; change or remove that row instead."}
		}
		return fmt.Errorf("store: copy items: %w", err)
	}
	if len(items) >= 1000 {
		// Fresh statistics, or the checks below plan nested loops over a
		// table the planner believes is tiny.
		if _, err := tx.ext.ExecContext(ctx, `ANALYZE change_set_items`); err != nil {
			return fmt.Errorf("store: analyze items: %w", err)
		}
	}
	return nil
}

// initialAction matches what a check starts from, so checking fresh rows
// rewrites none of them.
func initialAction(op string) string {
	if op == OpRemove {
		return ActionRemove
	}
	return ActionAdd
}

func nullStr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// classifySQL works out what each row means against the current mappings.
// Order matters: removals and rows about an id already mapped first, then
// rows that replace an entity's only reference in a system.
var classifySQL = []string{
	// Reset, and find the entity named by each row that sets a reference.
	`UPDATE change_set_items SET entity_id = NULL,
  action = CASE WHEN op = 'remove' THEN 'remove' ELSE 'add' END,
  before_ref_id = NULL, before_entity_key = '', before_external_id = '', before_sku = '', before_barcode = '',
  before_email = '', before_name = ''
WHERE change_set_id = $1 AND (entity_id IS NOT NULL OR before_ref_id IS NOT NULL OR action <> CASE WHEN op = 'remove' THEN 'remove' ELSE 'add' END)`,
	`UPDATE change_set_items i SET entity_id = e.id FROM mapping_entities e
WHERE i.change_set_id = $1 AND i.op = 'set' AND e.entity_type = i.entity_type AND lower(e.key) = lower(i.entity_key)`,
	// The current reference with the row's external id, wherever it is.
	`UPDATE change_set_items i SET before_ref_id = r.id, before_entity_key = e.key, before_external_id = r.external_id,
  before_sku = r.sku, before_barcode = r.barcode, before_email = r.email, before_name = r.name,
  entity_id = CASE WHEN i.op = 'remove' THEN r.entity_id ELSE i.entity_id END,
  action = CASE
    WHEN i.op = 'remove' THEN 'remove'
    WHEN r.entity_id IS DISTINCT FROM i.entity_id THEN 'change'
    WHEN (COALESCE(i.sku, r.sku), COALESCE(i.barcode, r.barcode), COALESCE(i.email, r.email), COALESCE(i.name, r.name))
       = (r.sku, r.barcode, r.email, r.name) THEN 'unchanged'
    ELSE 'change' END
FROM mapping_refs r JOIN mapping_entities e ON e.id = r.entity_id
WHERE i.change_set_id = $1 AND r.valid_to IS NULL AND r.connection_id = i.connection_id
  AND r.entity_type = i.entity_type AND r.external_id = i.external_id`,
	// A new id for an entity that already has its one reference in that
	// system replaces it, unless another row of the set moves or removes it.
	`UPDATE change_set_items i SET before_ref_id = r.id, before_entity_key = e.key, before_external_id = r.external_id,
  before_sku = r.sku, before_barcode = r.barcode, before_email = r.email, before_name = r.name, action = 'change'
FROM mapping_refs r JOIN mapping_entities e ON e.id = r.entity_id JOIN entity_types t ON t.key = r.entity_type
WHERE i.change_set_id = $1 AND i.op = 'set' AND i.before_ref_id IS NULL AND i.entity_id IS NOT NULL
  AND r.entity_id = i.entity_id AND r.connection_id = i.connection_id AND r.valid_to IS NULL AND NOT t.many_per_connection
  AND NOT EXISTS (SELECT 1 FROM change_set_items o WHERE o.change_set_id = $1 AND o.before_ref_id = r.id)`,
}

// conflictSQL finds what blocks a proposed change; every statement inserts issues.
// They hold both when a proposed change is built and at approval, when the
// mappings may have moved since.
var conflictSQL = []string{
	// Link rows to entities created by key since the last check, so the
	// checks below see those entities' references.
	`UPDATE change_set_items i SET entity_id = e.id FROM mapping_entities e
WHERE i.change_set_id = $1 AND i.op = 'set' AND i.entity_id IS NULL AND e.entity_type = i.entity_type AND lower(e.key) = lower(i.entity_key)`,
	// A reference the set expects to change or remove is no longer current.
	`INSERT INTO change_set_issues (change_set_id, line, kind, message, resolution, other_change_set)
SELECT i.change_set_id, i.line, 'stale',
  format('Since this proposed change was checked, the %s id %s was changed by proposed change #%s.', c.name, r.external_id, r.ended_change_set),
  'Re-check the proposed change to compare it with the current mappings, then review the rows again.', r.ended_change_set
FROM change_set_items i JOIN mapping_refs r ON r.id = i.before_ref_id JOIN connections c ON c.id = r.connection_id
WHERE i.change_set_id = $1 AND r.valid_to IS NOT NULL`,
	// An id the set maps (added, or moved to an entity in place of its old
	// id) is now mapped elsewhere, by someone else's change approved since:
	// a current reference with that id that this set neither replaces nor
	// ends. Found here, for every row that writes a reference, so that the
	// loser of two approvals is told what conflicts and how to get out of
	// it, never refused by the unique index.
	`INSERT INTO change_set_issues (change_set_id, line, kind, message, resolution, other_change_set)
SELECT i.change_set_id, i.line, 'claimed',
  CASE WHEN lower(e.key) = lower(i.entity_key)
    THEN format('The %s id %s is already mapped to %s (approved since this was proposed), so this row changes nothing now.', c.name, i.external_id, e.key)
    ELSE format('The %s id %s is already mapped to %s%s, so it cannot also be mapped to %s.', c.name, i.external_id, e.key,
         CASE WHEN r.created_change_set IS NOT NULL THEN format(' (by proposed change #%s, approved since)', r.created_change_set) ELSE '' END,
         i.entity_key) END,
  CASE WHEN lower(e.key) = lower(i.entity_key)
    THEN 'Check the proposed change again: the row becomes unchanged and the rest is what is left to approve.'
    ELSE format('If it belongs to %s, re-check this proposed change so this row moves it from %s; otherwise remove this row.', i.entity_key, e.key) END,
  r.created_change_set
FROM change_set_items i
JOIN mapping_refs r ON r.valid_to IS NULL AND r.connection_id = i.connection_id AND r.entity_type = i.entity_type AND r.external_id = i.external_id
JOIN mapping_entities e ON e.id = r.entity_id JOIN connections c ON c.id = i.connection_id
WHERE i.change_set_id = $1 AND i.op = 'set' AND i.action IN ('add', 'change') AND r.id IS DISTINCT FROM i.before_ref_id
  AND NOT EXISTS (SELECT 1 FROM change_set_items o WHERE o.change_set_id = $1 AND o.before_ref_id = r.id)`,
	// After the set, an entity would have two references in one system where
	// one is allowed: rows of the set naming it plus its current references
	// that the set does not end. Set-based (grouped), never row by row.
	`INSERT INTO change_set_issues (change_set_id, line, kind, message, resolution)
WITH target AS (
  SELECT i.line, i.connection_id, i.entity_type, i.external_id, i.entity_id, i.entity_key, lower(i.entity_key) AS k
  FROM change_set_items i JOIN entity_types t ON t.key = i.entity_type
  WHERE i.change_set_id = $1 AND i.op = 'set' AND NOT t.many_per_connection
), grp AS (
  SELECT connection_id, entity_type, k, max(entity_id) AS entity_id, count(*) AS n, string_agg(external_id, ', ' ORDER BY line) AS exts
  FROM target GROUP BY connection_id, entity_type, k
), kept AS (
  SELECT r.entity_id, r.connection_id, count(*) AS n, string_agg(r.external_id, ', ' ORDER BY r.id) AS exts
  FROM mapping_refs r
  JOIN (SELECT DISTINCT entity_id, connection_id FROM grp WHERE entity_id IS NOT NULL) g ON g.entity_id = r.entity_id AND g.connection_id = r.connection_id
  WHERE r.valid_to IS NULL
    AND NOT EXISTS (SELECT 1 FROM change_set_items o WHERE o.change_set_id = $1 AND o.before_ref_id = r.id)
  GROUP BY r.entity_id, r.connection_id
)
SELECT $1, t.line, 'two_refs',
  format('%s would have %s references in %s (%s), but a %s has only one per system.', t.entity_key, g.n + COALESCE(kp.n, 0), c.name,
         concat_ws(', ', g.exts, kp.exts), lower(et.label)),
  'Keep one: remove the other row, or add a row removing the old id from this entity.'
FROM target t
JOIN grp g ON g.connection_id = t.connection_id AND g.entity_type = t.entity_type AND g.k = t.k
LEFT JOIN kept kp ON kp.entity_id = g.entity_id AND kp.connection_id = g.connection_id
JOIN connections c ON c.id = t.connection_id JOIN entity_types et ON et.key = t.entity_type
WHERE g.n + COALESCE(kp.n, 0) > 1`,
	// The system no longer has the record (deleted, or absent from its catalogue).
	`INSERT INTO change_set_issues (change_set_id, line, kind, message, resolution)
SELECT i.change_set_id, i.line, 'missing',
  format('%s no longer has a %s with id %s%s.', c.name, lower(et.label), i.external_id,
         CASE WHEN x.deleted_at IS NOT NULL THEN format(' (it disappeared on %s)', to_char(x.deleted_at, 'YYYY-MM-DD')) ELSE '' END),
  format('Check the id in %s; if the record was replaced, map the new id instead.', c.name)
FROM change_set_items i JOIN connections c ON c.id = i.connection_id JOIN entity_types et ON et.key = i.entity_type
LEFT JOIN external_records x ON x.connection_id = i.connection_id AND x.entity_type = i.entity_type AND x.external_id = i.external_id
WHERE i.change_set_id = $1 AND i.action IN ('add', 'change')
  AND (x.deleted_at IS NOT NULL
       OR (x.external_id IS NULL AND EXISTS (SELECT 1 FROM external_records y WHERE y.connection_id = i.connection_id AND y.entity_type = i.entity_type)))`,
	// Removing something that is not mapped.
	`INSERT INTO change_set_issues (change_set_id, line, kind, message, resolution)
SELECT i.change_set_id, i.line, 'not_mapped',
  format('The %s id %s is not mapped, so there is nothing to remove.', c.name, i.external_id),
  'Remove this row, or check the id and the system.'
FROM change_set_items i JOIN connections c ON c.id = i.connection_id
WHERE i.change_set_id = $1 AND i.op = 'remove' AND i.before_ref_id IS NULL`,
	// Removing from a named entity the id is not on.
	`INSERT INTO change_set_issues (change_set_id, line, kind, message, resolution)
SELECT i.change_set_id, i.line, 'wrong_entity',
  format('The %s id %s is mapped to %s, not to %s.', c.name, i.external_id, i.before_entity_key, i.entity_key),
  format('If you meant to remove it from %s, change the entity key in this row, or leave it empty.', i.before_entity_key)
FROM change_set_items i JOIN connections c ON c.id = i.connection_id
WHERE i.change_set_id = $1 AND i.op = 'remove' AND i.before_ref_id IS NOT NULL AND i.entity_key <> ''
  AND lower(i.entity_key) <> lower(i.before_entity_key)`,
	// An older pending proposed change touches the same id, or the same entity in
	// the same system. Only pending sets are joined (hash joins, both ways).
	`INSERT INTO change_set_issues (change_set_id, line, kind, message, resolution, other_change_set)
WITH mine AS (
  SELECT i.line, i.connection_id, i.entity_type, i.external_id, i.entity_key FROM change_set_items i
  WHERE i.change_set_id = $1 AND i.action <> 'unchanged'
), other AS (
  SELECT oi.change_set_id, oi.connection_id, oi.entity_type, oi.external_id, lower(oi.entity_key) AS k, o.status, o.created_at
  FROM change_set_items oi JOIN change_sets o ON o.id = oi.change_set_id
  WHERE o.status = 'pending' AND o.id < $1 AND oi.action <> 'unchanged'
), hit AS (
  SELECT m.*, o.change_set_id AS other_id, o.status, o.created_at FROM mine m JOIN other o
    ON o.connection_id = m.connection_id AND o.entity_type = m.entity_type AND o.external_id = m.external_id
  UNION ALL
  SELECT m.*, o.change_set_id, o.status, o.created_at FROM mine m JOIN other o
    ON o.connection_id = m.connection_id AND o.entity_type = m.entity_type AND o.k = lower(m.entity_key) AND m.entity_key <> ''
)
SELECT DISTINCT ON (h.line) $1, h.line, 'pending',
  format('Proposed change #%s (waiting for approval since %s) also changes the %s id %s or %s.', h.other_id,
         to_char(h.created_at, 'YYYY-MM-DD'), c.name, h.external_id, COALESCE(NULLIF(h.entity_key, ''), 'its entity')),
  format('Decide proposed change #%s first. If it is approved, re-check this one; if it is rejected or withdrawn, this conflict goes away.', h.other_id),
  h.other_id
FROM hit h JOIN connections c ON c.id = h.connection_id
ORDER BY h.line, h.other_id`,
}

const countSQL = `UPDATE change_sets cs SET
  n_add = x.adds, n_change = x.changes, n_remove = x.removes, n_unchanged = x.unchanged,
  n_invalid = (SELECT count(*) FROM change_set_issues s WHERE s.change_set_id = $1 AND s.kind = 'invalid'),
  n_conflicts = (SELECT count(*) FROM change_set_issues s WHERE s.change_set_id = $1 AND s.kind <> 'invalid'),
  checked_at = now()
FROM (SELECT count(*) FILTER (WHERE action = 'add') AS adds, count(*) FILTER (WHERE action = 'change') AS changes,
             count(*) FILTER (WHERE action = 'remove') AS removes, count(*) FILTER (WHERE action = 'unchanged') AS unchanged
      FROM change_set_items WHERE change_set_id = $1) x
WHERE cs.id = $1
RETURNING ` + changeSetColumns

// checkChangeSet classifies the rows against the current mappings, finds the
// conflicts again, and updates the counts.
func (q q) checkChangeSet(ctx context.Context, id int64) (ChangeSet, error) {
	for _, stmt := range classifySQL {
		if _, err := q.ext.ExecContext(ctx, stmt, id); err != nil {
			return ChangeSet{}, fmt.Errorf("store: classify proposed change %d: %w", id, err)
		}
	}
	return q.detectConflicts(ctx, id)
}

// detectConflicts replaces the conflicts of a proposed change (keeping invalid rows).
func (q q) detectConflicts(ctx context.Context, id int64) (ChangeSet, error) {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM change_set_issues WHERE change_set_id = $1 AND kind <> 'invalid'`, id); err != nil {
		return ChangeSet{}, fmt.Errorf("store: clear conflicts: %w", err)
	}
	for _, stmt := range conflictSQL {
		if _, err := q.ext.ExecContext(ctx, stmt, id); err != nil {
			return ChangeSet{}, fmt.Errorf("store: detect conflicts of proposed change %d: %w", id, err)
		}
	}
	var cs ChangeSet
	if err := sqlxGet(ctx, q, &cs, countSQL, id); err != nil {
		return ChangeSet{}, fmt.Errorf("store: count proposed change %d: %w", id, err)
	}
	return cs, nil
}

// ChangeSetByID returns a proposed change or ErrNotFound.
func (q q) ChangeSetByID(ctx context.Context, id int64) (ChangeSet, error) {
	var cs ChangeSet
	if err := sqlxGet(ctx, q, &cs, `SELECT `+changeSetColumns+` FROM change_sets WHERE id = $1`, id); err != nil {
		return ChangeSet{}, fmt.Errorf("store: proposed change %d: %w", id, err)
	}
	return cs, nil
}

func (q q) lockChangeSet(ctx context.Context, id int64) (ChangeSet, error) {
	var cs ChangeSet
	if err := sqlxGet(ctx, q, &cs, `SELECT `+changeSetColumns+` FROM change_sets WHERE id = $1 FOR UPDATE`, id); err != nil {
		return ChangeSet{}, fmt.Errorf("store: proposed change %d: %w", id, err)
	}
	return cs, nil
}

// ItemFilter selects a page of a proposed change's rows.
type ItemFilter struct {
	AfterLine   int
	Limit       int
	OnlyChanges bool // hide unchanged rows
	EntityID    int64
}

// ChangeSetItems returns a page of a proposed change's rows by line, and whether more follow.
func (q q) ChangeSetItems(ctx context.Context, id int64, f ItemFilter) ([]ChangeItem, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	query := `SELECT ` + itemColumns + ` FROM change_set_items i JOIN connections c ON c.id = i.connection_id
WHERE i.change_set_id = $1 AND i.line > $2`
	args := []any{id, f.AfterLine}
	if f.OnlyChanges {
		query += ` AND i.action <> 'unchanged'`
	}
	if f.EntityID != 0 {
		args = append(args, f.EntityID)
		query += fmt.Sprintf(` AND i.entity_id = $%d`, len(args))
	}
	args = append(args, limit+1)
	query += fmt.Sprintf(` ORDER BY i.line LIMIT $%d`, len(args))
	var items []ChangeItem
	if err := sqlxSelect(ctx, q, &items, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: proposed change %d items: %w", id, err)
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// ChangeSetIssues returns up to limit issues of a proposed change, by line.
func (q q) ChangeSetIssues(ctx context.Context, id int64, limit int) ([]Issue, error) {
	if limit <= 0 {
		limit = 200
	}
	var is []Issue
	if err := sqlxSelect(ctx, q, &is, `SELECT id, change_set_id, line, kind, message, resolution, other_change_set
FROM change_set_issues WHERE change_set_id = $1 ORDER BY kind = 'invalid' DESC, line, id LIMIT $2`, id, limit); err != nil {
		return nil, fmt.Errorf("store: proposed change %d issues: %w", id, err)
	}
	return is, nil
}

// ChangeSetComments returns the comments on a proposed change, oldest first.
func (q q) ChangeSetComments(ctx context.Context, id int64) ([]Comment, error) {
	var cs []Comment
	if err := sqlxSelect(ctx, q, &cs, `SELECT id, change_set_id, author_id, author_label, body, created_at
FROM change_set_comments WHERE change_set_id = $1 ORDER BY id`, id); err != nil {
		return nil, fmt.Errorf("store: proposed change %d comments: %w", id, err)
	}
	return cs, nil
}

// ChangeSetFilter selects proposed changes for a list.
type ChangeSetFilter struct {
	Statuses    []string
	EntityID    int64 // touching this entity
	NotProposer int64 // proposed by someone else (the approvals inbox)
	BeforeID    int64
	Limit       int
}

// ListChangeSets returns proposed changes, newest first, and whether more follow.
func (q q) ListChangeSets(ctx context.Context, f ChangeSetFilter) ([]ChangeSet, bool, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(f.Statuses) > 0 {
		where = append(where, "status = ANY("+arg(pq.Array(f.Statuses))+")")
	}
	if f.EntityID != 0 {
		where = append(where, "id IN (SELECT change_set_id FROM change_set_items WHERE entity_id = "+arg(f.EntityID)+")")
	}
	if f.NotProposer != 0 {
		where = append(where, "proposed_by IS DISTINCT FROM "+arg(f.NotProposer))
	}
	if f.BeforeID != 0 {
		where = append(where, "id < "+arg(f.BeforeID))
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	query := `SELECT ` + changeSetColumns + ` FROM change_sets`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT " + arg(limit+1)
	var out []ChangeSet
	if err := sqlxSelect(ctx, q, &out, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list proposed changes: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// CountPendingApprovals counts the proposed changes waiting for approval that the
// admin did not propose (the navigation badge).
func (q q) CountPendingApprovals(ctx context.Context, adminID int64) (int, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `SELECT count(*) FROM change_sets WHERE status = 'pending' AND proposed_by IS DISTINCT FROM $1`, adminID); err != nil {
		return 0, fmt.Errorf("store: count pending approvals: %w", err)
	}
	return n, nil
}

// AddChangeSetItems appends rows to a draft; only its proposer may.
func (s *Store) AddChangeSetItems(ctx context.Context, a Actor, id int64, items []ItemInput) (ChangeSet, error) {
	fe, err := s.validateItems(ctx, items)
	if err != nil {
		return ChangeSet{}, err
	}
	if fe != nil {
		return ChangeSet{}, fe
	}
	var cs ChangeSet
	err = s.InTx(ctx, func(tx *Tx) error {
		cur, err := tx.lockChangeSet(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != ChangeSetDraft {
			return StateError{cur.Status}
		}
		if !cur.ProposedByUser(a.UserID) {
			return ErrNotProposer
		}
		var last int
		if err := sqlxGet(ctx, tx.q, &last, `SELECT COALESCE(max(line), 0) FROM change_set_items WHERE change_set_id = $1`, id); err != nil {
			return fmt.Errorf("store: last line: %w", err)
		}
		if err := tx.copyItems(ctx, id, last+1, items); err != nil {
			return err
		}
		if cs, err = tx.checkChangeSet(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.edited", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Added %d row(s) to proposed change #%d", len(items), id), After: auditChangeSet(cs)})
	})
	return cs, err
}

// RemoveChangeSetItem deletes one row of a draft; only its proposer may.
func (s *Store) RemoveChangeSetItem(ctx context.Context, a Actor, id int64, line int) (ChangeSet, error) {
	var cs ChangeSet
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := tx.lockChangeSet(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != ChangeSetDraft {
			return StateError{cur.Status}
		}
		if !cur.ProposedByUser(a.UserID) {
			return ErrNotProposer
		}
		res, err := tx.ext.ExecContext(ctx, `DELETE FROM change_set_items WHERE change_set_id = $1 AND line = $2`, id, line)
		if err != nil {
			return fmt.Errorf("store: remove row: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: proposed change %d row %d: %w", id, line, ErrNotFound)
		}
		if _, err := tx.ext.ExecContext(ctx, `DELETE FROM change_set_issues WHERE change_set_id = $1 AND line = $2`, id, line); err != nil {
			return fmt.Errorf("store: remove row issues: %w", err)
		}
		if cs, err = tx.checkChangeSet(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.edited", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Removed row %d from proposed change #%d", line, id), After: auditChangeSet(cs)})
	})
	return cs, err
}

// RecheckChangeSet compares an open proposed change with the current mappings
// again: what each row adds, changes or removes, and its conflicts.
func (s *Store) RecheckChangeSet(ctx context.Context, a Actor, id int64) (ChangeSet, error) {
	var cs ChangeSet
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := tx.lockChangeSet(ctx, id)
		if err != nil {
			return err
		}
		if !cur.Open() {
			return StateError{cur.Status}
		}
		if cs, err = tx.checkChangeSet(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.rechecked", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Re-checked proposed change #%d: %s, %d conflict(s)", id, describeCounts(cs), cs.NConflicts),
			Before:  auditChangeSet(cur), After: auditChangeSet(cs)})
	})
	return cs, err
}

// SubmitChangeSet sends a draft for approval. Only its proposer may; a
// draft with invalid rows or nothing to change cannot be submitted.
func (s *Store) SubmitChangeSet(ctx context.Context, a Actor, id int64) (ChangeSet, error) {
	var cs ChangeSet
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := tx.lockChangeSet(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != ChangeSetDraft {
			return StateError{cur.Status}
		}
		if !cur.ProposedByUser(a.UserID) && !(cur.Source == SourceEngine && cur.ProposedBy == nil && a.UserID == 0) {
			return ErrNotProposer
		}
		if cs, err = tx.checkChangeSet(ctx, id); err != nil {
			return err
		}
		switch {
		case cs.NInvalid > 0:
			return ErrHasInvalidRows
		case cs.Changes() == 0:
			return ErrNothingToChange
		}
		if err := sqlxGet(ctx, tx.q, &cs, `UPDATE change_sets SET status = 'pending', submitted_at = now() WHERE id = $1 RETURNING `+changeSetColumns, id); err != nil {
			return fmt.Errorf("store: submit proposed change: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.submitted", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Submitted proposed change #%d %q for approval (%s)", id, cs.Title, describeCounts(cs)),
			Before:  auditChangeSet(cur), After: auditChangeSet(cs)})
	})
	return cs, err
}

// WithdrawChangeSet closes an open proposed change without applying it; only its proposer may.
func (s *Store) WithdrawChangeSet(ctx context.Context, a Actor, id int64) (ChangeSet, error) {
	var cs ChangeSet
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := tx.lockChangeSet(ctx, id)
		if err != nil {
			return err
		}
		if !cur.Open() {
			return StateError{cur.Status}
		}
		if !cur.ProposedByUser(a.UserID) {
			return ErrNotProposer
		}
		if err := sqlxGet(ctx, tx.q, &cs, `UPDATE change_sets SET status = 'withdrawn', decided_at = now(), decided_by = $2, decided_label = $3
WHERE id = $1 RETURNING `+changeSetColumns, id, a.UserID, a.Label); err != nil {
			return fmt.Errorf("store: withdraw proposed change: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.withdrawn", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Withdrew proposed change #%d %q", id, cs.Title), Before: auditChangeSet(cur), After: auditChangeSet(cs)})
	})
	return cs, err
}

// checkApprover enforces maker-checker: the decider is an active admin who
// did not propose the proposed change. The role is read from the database, not
// trusted from the caller.
func (q q) checkApprover(ctx context.Context, a Actor, cs ChangeSet) error {
	if a.UserID == 0 {
		return ErrNotApprover
	}
	u, err := q.UserByID(ctx, a.UserID)
	if errors.Is(err, ErrNotFound) {
		return ErrNotApprover
	}
	if err != nil {
		return err
	}
	if u.Role != vocab.RoleAdmin || !u.Active {
		return ErrNotApprover
	}
	if cs.ProposedByUser(a.UserID) {
		return ErrOwnChangeSet
	}
	return nil
}

// ApproveChangeSet applies a pending proposed change as the next mapping version,
// all of it or nothing. Approvals are serialised on the version counter, and
// conflicts are detected again under that lock: when two conflicting change
// sets are approved at once exactly one wins; the other keeps its pending
// state with its new conflicts stored, and ConflictsError is returned.
func (s *Store) ApproveChangeSet(ctx context.Context, a Actor, id int64, comment string) (ChangeSet, error) {
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > MaxCommentLen {
		return ChangeSet{}, vocab.FieldErrors{"comment": fmt.Sprintf("The comment must be at most %d characters.", MaxCommentLen)}
	}
	var cs ChangeSet
	var blocked error
	err := s.InTx(ctx, func(tx *Tx) error {
		var version int64
		if err := sqlxGet(ctx, tx.q, &version, `SELECT current_version FROM mapping_state FOR UPDATE`); err != nil {
			return fmt.Errorf("store: lock mapping version: %w", err)
		}
		cur, err := tx.lockChangeSet(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != ChangeSetPending {
			return StateError{cur.Status}
		}
		if err := tx.checkApprover(ctx, a, cur); err != nil {
			return err
		}
		if cs, err = tx.detectConflicts(ctx, id); err != nil {
			return err
		}
		if cs.NConflicts > 0 || cs.NInvalid > 0 {
			// Commit the conflicts just found, so the page explains them.
			blocked = ConflictsError{N: cs.NConflicts + cs.NInvalid}
			return tx.Audit(ctx, a, Change{Action: "changeset.blocked", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
				Summary: fmt.Sprintf("Could not approve proposed change #%d: %s", id, blockedWhy(cs))})
		}
		version++
		if err := tx.apply(ctx, cs, version); err != nil {
			return err
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO mapping_versions (version, change_set_id, applied_by, applied_label) VALUES ($1, $2, $3, $4)`,
			version, id, a.UserID, a.Label); err != nil {
			return fmt.Errorf("store: record version: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE mapping_state SET current_version = $1`, version); err != nil {
			return fmt.Errorf("store: bump version: %w", err)
		}
		if err := sqlxGet(ctx, tx.q, &cs, `UPDATE change_sets SET status = 'approved', version = $2, decided_at = now(), decided_by = $3,
  decided_label = $4, decision_comment = $5 WHERE id = $1 RETURNING `+changeSetColumns, id, version, a.UserID, a.Label, comment); err != nil {
			return fmt.Errorf("store: approve proposed change: %w", err)
		}
		// The open proposed changes touching the same records now say what is
		// left of them (rows already mapped this way, or taken).
		if err := tx.recheckOverlapping(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.approved", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Approved proposed change #%d %q by %s: mapping version %d (%s)", id, cs.Title, cs.ProposedLabel, version, describeCounts(cs)),
			Before:  auditChangeSet(cur), After: auditChangeSet(cs)})
	})
	if err != nil {
		return ChangeSet{}, err
	}
	if blocked != nil {
		return cs, blocked
	}
	return cs, nil
}

// blockedWhy counts what blocks an approval, in the audit log's words.
func blockedWhy(cs ChangeSet) string {
	n := cs.NConflicts + cs.NInvalid
	if n == 1 {
		return "1 conflict"
	}
	return fmt.Sprintf("%d conflicts", n)
}

// apply writes a checked proposed change's rows as mapping version v, set-based.
func (tx *Tx) apply(ctx context.Context, cs ChangeSet, v int64) error {
	// New entities first (named by key); the references below find them by
	// key (joining, rather than rewriting 100,000 rows to link them).
	if _, err := tx.ext.ExecContext(ctx, `INSERT INTO mapping_entities (entity_type, key, name)
SELECT DISTINCT ON (i.entity_type, lower(i.entity_key)) i.entity_type, i.entity_key, COALESCE(i.name, '')
FROM change_set_items i WHERE i.change_set_id = $1 AND i.op = 'set' AND i.action <> 'unchanged'
ORDER BY i.entity_type, lower(i.entity_key), i.line
ON CONFLICT (entity_type, lower(key)) DO NOTHING`, cs.ID); err != nil {
		return fmt.Errorf("store: create entities: %w", err)
	}
	var want int64
	if err := sqlxGet(ctx, tx.q, &want, `SELECT count(DISTINCT before_ref_id) FROM change_set_items
WHERE change_set_id = $1 AND action IN ('change', 'remove')`, cs.ID); err != nil {
		return fmt.Errorf("store: count ended refs: %w", err)
	}
	res, err := tx.ext.ExecContext(ctx, `UPDATE mapping_refs SET valid_to = $2, ended_change_set = $1
WHERE valid_to IS NULL AND id IN (SELECT before_ref_id FROM change_set_items WHERE change_set_id = $1 AND action IN ('change', 'remove'))`, cs.ID, v)
	if err != nil {
		return fmt.Errorf("store: end refs: %w", err)
	}
	if n, _ := res.RowsAffected(); n != want {
		// Cannot happen under the version lock after detectConflicts; refuse rather than half-apply.
		return fmt.Errorf("store: proposed change %d: %d of %d references had moved: %w", cs.ID, want-n, want, ErrConflict)
	}
	_, err = tx.ext.ExecContext(ctx, `INSERT INTO mapping_refs (entity_id, connection_id, entity_type, external_id, sku, barcode, email, name,
  one_per_connection, valid_from, created_change_set)
SELECT e.id, i.connection_id, i.entity_type, i.external_id, COALESCE(i.sku, i.before_sku), COALESCE(i.barcode, i.before_barcode),
  COALESCE(i.email, i.before_email), COALESCE(i.name, i.before_name), NOT t.many_per_connection, $2, $1
FROM change_set_items i JOIN entity_types t ON t.key = i.entity_type
JOIN mapping_entities e ON e.entity_type = i.entity_type AND lower(e.key) = lower(i.entity_key)
WHERE i.change_set_id = $1 AND i.op = 'set' AND i.action IN ('add', 'change')`, cs.ID, v)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: proposed change %d collides with the current mappings: %w", cs.ID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: add refs: %w", err)
	}
	return nil
}

// RejectChangeSet closes a pending proposed change with the reason why; the
// decider is an active admin who did not propose it.
func (s *Store) RejectChangeSet(ctx context.Context, a Actor, id int64, comment string) (ChangeSet, error) {
	comment = strings.TrimSpace(comment)
	switch {
	case comment == "":
		return ChangeSet{}, vocab.FieldErrors{"comment": "Say why you reject it, so the proposer can fix it."}
	case utf8.RuneCountInString(comment) > MaxCommentLen:
		return ChangeSet{}, vocab.FieldErrors{"comment": fmt.Sprintf("The comment must be at most %d characters.", MaxCommentLen)}
	}
	var cs ChangeSet
	err := s.InTx(ctx, func(tx *Tx) error {
		cur, err := tx.lockChangeSet(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != ChangeSetPending {
			return StateError{cur.Status}
		}
		if err := tx.checkApprover(ctx, a, cur); err != nil {
			return err
		}
		if err := sqlxGet(ctx, tx.q, &cs, `UPDATE change_sets SET status = 'rejected', decided_at = now(), decided_by = $2,
  decided_label = $3, decision_comment = $4 WHERE id = $1 RETURNING `+changeSetColumns, id, a.UserID, a.Label, comment); err != nil {
			return fmt.Errorf("store: reject proposed change: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.rejected", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Rejected proposed change #%d %q by %s: %s", id, cs.Title, cs.ProposedLabel, comment),
			Before:  auditChangeSet(cur), After: auditChangeSet(cs)})
	})
	return cs, err
}

// CommentOnChangeSet adds a remark to a proposed change.
func (s *Store) CommentOnChangeSet(ctx context.Context, a Actor, id int64, body string) (Comment, error) {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return Comment{}, vocab.FieldErrors{"body": "Write a comment first."}
	case utf8.RuneCountInString(body) > MaxCommentLen:
		return Comment{}, vocab.FieldErrors{"body": fmt.Sprintf("A comment must be at most %d characters.", MaxCommentLen)}
	}
	var cm Comment
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ChangeSetByID(ctx, id); err != nil {
			return err
		}
		var author *int64
		if a.UserID != 0 {
			author = &a.UserID
		}
		if err := sqlxGet(ctx, tx.q, &cm, `INSERT INTO change_set_comments (change_set_id, author_id, author_label, body)
VALUES ($1, $2, $3, $4) RETURNING id, change_set_id, author_id, author_label, body, created_at`, id, author, a.Label, body); err != nil {
			return fmt.Errorf("store: comment: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "changeset.commented", ObjectType: "change_set", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Commented on proposed change #%d", id), After: map[string]string{"comment": body}})
	})
	return cm, err
}

// RevertChangeSet proposes, as a new draft, the proposed change that undoes an
// approved one: references it added are removed, references it ended come back.
// The revert needs approval like any other proposed change.
func (s *Store) RevertChangeSet(ctx context.Context, a Actor, id int64, reason string) (ChangeSet, error) {
	orig, err := s.ChangeSetByID(ctx, id)
	if err != nil {
		return ChangeSet{}, err
	}
	if orig.Status != ChangeSetApproved {
		return ChangeSet{}, StateError{orig.Status}
	}
	type refRow struct {
		Ref
		EntityKey string `db:"entity_key"`
	}
	var ended, created []refRow
	if err := sqlxSelect(ctx, s.q, &ended, `SELECT `+refColumns+`, e.key AS entity_key FROM mapping_refs r
JOIN connections c ON c.id = r.connection_id JOIN mapping_entities e ON e.id = r.entity_id
WHERE r.ended_change_set = $1 ORDER BY r.id`, id); err != nil {
		return ChangeSet{}, fmt.Errorf("store: revert: ended refs: %w", err)
	}
	if err := sqlxSelect(ctx, s.q, &created, `SELECT `+refColumns+`, e.key AS entity_key FROM mapping_refs r
JOIN connections c ON c.id = r.connection_id JOIN mapping_entities e ON e.id = r.entity_id
WHERE r.created_change_set = $1 ORDER BY r.id`, id); err != nil {
		return ChangeSet{}, fmt.Errorf("store: revert: created refs: %w", err)
	}
	type extKey struct {
		conn int64
		typ  string
		ext  string
	}
	restored := map[extKey]bool{}
	var items []ItemInput
	for _, r := range ended {
		restored[extKey{r.ConnectionID, r.EntityType, r.ExternalID}] = true
		items = append(items, ItemInput{Op: OpSet, EntityType: r.EntityType, ConnectionID: r.ConnectionID, EntityKey: r.EntityKey,
			ExternalID: r.ExternalID, SKU: Str(r.SKU), Barcode: Str(r.Barcode), Email: Str(r.Email), Name: Str(r.Name)})
	}
	for _, r := range created {
		if restored[extKey{r.ConnectionID, r.EntityType, r.ExternalID}] {
			continue // the restoring row above sets this id back
		}
		items = append(items, ItemInput{Op: OpRemove, EntityType: r.EntityType, ConnectionID: r.ConnectionID, EntityKey: r.EntityKey, ExternalID: r.ExternalID})
	}
	if len(items) == 0 {
		return ChangeSet{}, ErrNothingToChange
	}
	if strings.TrimSpace(reason) == "" {
		reason = fmt.Sprintf("Undo proposed change #%d %q.", id, orig.Title)
	}
	return s.CreateChangeSet(ctx, a, NewChangeSet{Title: fmt.Sprintf("Revert #%d: %s", id, orig.Title), Reason: reason,
		Source: SourceRevert, RevertsID: &id, Items: items})
}
