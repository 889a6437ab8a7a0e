package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// How a failure was dealt with (syncs.resolution).
const (
	ResolutionResolved     = "resolved"      // a person fixed it elsewhere, with a note
	ResolutionIgnored      = "ignored"       // a person decided it needs nothing, with a reason
	ResolutionReplayed     = "replayed"      // replayed: replayed_by is the new sync
	ResolutionAutoResolved = "auto_resolved" // a later sync of the same record succeeded
	ResolutionExcluded     = "excluded"      // its record was excluded from syncing (see exclusions.go)
)

// Statuses of the failed-syncs console's filter. "" (open) is every failure
// not yet dealt with.
const (
	FailedOpen     = ""
	FailedFailed   = "failed" // failed or not allowed, not retried any more
	FailedRetrying = "retrying"
	FailedResolved = "resolved" // by a person or automatically
	FailedIgnored  = "ignored"
	FailedReplayed = "replayed"
	FailedExcluded = "excluded"
)

// FailedStatuses lists the filter's statuses, in the order it shows them.
var FailedStatuses = []string{FailedFailed, FailedRetrying, FailedResolved, FailedIgnored, FailedReplayed, FailedExcluded}

// problemsPredicate is spelled exactly as the partial indexes' predicate, so
// the planner uses them.
const problemsPredicate = "status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL"

// FailedFilter narrows the failed syncs. Zero values mean "any".
type FailedFilter struct {
	Status       string           `json:"status,omitempty"` // one of FailedStatuses, or "" for the open ones
	Family       vocab.Family     `json:"family,omitempty"`
	Direction    vocab.Direction  `json:"direction,omitempty"`
	ErrorClass   vocab.ErrorClass `json:"class,omitempty"`
	ConnectionID int64            `json:"connection,omitempty"` // source or target
	// AnyConnection: the source or the target is one of these.
	AnyConnection []int64           `json:"connections,omitempty"`
	Environment   vocab.Environment `json:"environment,omitempty"`
	// Search is one SKU, order name or number, e-mail (exact, any case), or an
	// external id in either system (exact).
	Search string    `json:"q,omitempty"`
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"` // exclusive
	// FixedBy: the open unmapped failures an approved change set fixes
	// (see fixedByWhere). Failures that recorded no missing record are not
	// among them: nothing says the change set is what they lack.
	FixedBy int64 `json:"fixed_by,omitempty"`
	// One group of FailedGroups: set Group and its fields.
	Group    bool   `json:"group,omitempty"`
	SourceID int64  `json:"source,omitempty"`
	TargetID int64  `json:"target,omitempty"`
	Cause    string `json:"cause,omitempty"`
	// CauseKey stands for Cause where the cause holds personal data and
	// the person does not see it: CauseKey(cause), so a link names the
	// group without the e-mail in its address.
	CauseKey string `json:"cause_key,omitempty"`

	// Keyset cursor: failures strictly older than (BeforeAt, BeforeID).
	BeforeAt time.Time `json:"-"`
	BeforeID int64     `json:"-"`
	Limit    int       `json:"-"`
}

// where renders the filter as SQL conditions; arg numbers its arguments.
func (f FailedFilter) where(arg func(any) string) []string {
	var w []string
	switch f.Status {
	case FailedFailed:
		w = append(w, problemsPredicate, "status IN ('failed', 'rejected')")
	case FailedRetrying:
		w = append(w, problemsPredicate, "status = 'retrying'")
	case FailedResolved:
		w = append(w, "resolution IS NOT NULL", "resolution IN ('resolved', 'auto_resolved')")
	case FailedIgnored:
		w = append(w, "resolution IS NOT NULL", "resolution = 'ignored'")
	case FailedReplayed:
		w = append(w, "resolution IS NOT NULL", "resolution = 'replayed'")
	case FailedExcluded:
		w = append(w, "resolution IS NOT NULL", "resolution = 'excluded'")
	default:
		if f.FixedBy == 0 {
			w = append(w, problemsPredicate)
		}
		// else: fixedByWhere picks open failures only, and the outer
		// query must read its ids by primary key, not walk a partial
		// index of open failures that this predicate would offer it.
	}
	w = append(w, f.causeWhere(arg)...)
	if s := strings.TrimSpace(f.Search); s != "" {
		// Three indexed arms (GIN over the keys, the failures' entity and
		// target refs), combined by a bitmap OR.
		keys, raw := arg(pq.Array(SearchKeys(s))), arg(s)
		w = append(w, "(search_keys @> "+keys+"::text[]"+
			" OR (entity_ref = "+raw+" AND status IN ('failed', 'retrying', 'rejected'))"+
			" OR (target_ref = "+raw+" AND status IN ('failed', 'retrying', 'rejected') AND target_ref <> ''))")
	}
	if !f.From.IsZero() {
		w = append(w, "created_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		w = append(w, "created_at < "+arg(f.To))
	}
	if f.Group {
		w = append(w, "source_connection_id = "+arg(f.SourceID), "target_connection_id = "+arg(f.TargetID))
		if f.CauseKey != "" {
			w = append(w, "md5(cause) = "+arg(f.CauseKey))
		} else {
			w = append(w, "cause = "+arg(f.Cause))
		}
	}
	if f.FixedBy != 0 {
		w = append(w, fixedByWhere(arg(f.FixedBy)))
	}
	return w
}

// fixedByWhere is the condition of FailedFilter.FixedBy, cs being the
// change set's argument: the failure recorded the records it lacked
// (Unmapped), one of them is a record (source system, kind, external id)
// the change set gave a counterpart in the failure's target system — it
// added or changed the reference of the record itself, or of its
// counterpart — and every one of them is mapped now (a failure still
// lacking another record would only fail again; the change set that maps
// that one tries it again).
//
// The pick walks from the references the change set created to the
// failures recording them, one lookup per record in the GIN index over
// open unmapped failures (migration 00027), so its cost follows the size of
// the change set, not the number of failures; the ids it finds are an
// array the outer query reads by primary key (as "id IN (subquery)" the
// planner walked a whole partial index once per id). Whether a recorded record is
// mapped now is a scalar subquery with LIMIT 1 on purpose: as an anti-join
// the planner read every reference of the kind per failure.
func fixedByWhere(cs string) string {
	return `syncs.id = ANY (ARRAY (SELECT m.id FROM (
    SELECT r.connection_id AS src, o.connection_id AS tgt, r.entity_type, r.external_id
    FROM mapping_refs r JOIN mapping_refs o ON o.entity_id = r.entity_id AND o.valid_to IS NULL AND o.connection_id <> r.connection_id
    WHERE r.created_change_set = ` + cs + ` AND r.valid_to IS NULL
    UNION
    SELECT o.connection_id, r.connection_id, o.entity_type, o.external_id
    FROM mapping_refs r JOIN mapping_refs o ON o.entity_id = r.entity_id AND o.valid_to IS NULL AND o.connection_id <> r.connection_id
    WHERE r.created_change_set = ` + cs + ` AND r.valid_to IS NULL) k,
  LATERAL (SELECT s.id FROM syncs s
    WHERE s.error_class = 'unmapped' AND s.status IN ('failed', 'retrying', 'rejected') AND s.resolved_at IS NULL
      AND (s.response -> 'unmapped' -> 'external_ids') @> jsonb_build_array(k.external_id)
      AND s.response -> 'unmapped' ->> 'entity_type' = k.entity_type
      AND s.source_connection_id = k.src AND s.target_connection_id = k.tgt
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.response -> 'unmapped' -> 'external_ids') x (id)
        WHERE (SELECT b.id FROM mapping_refs a JOIN mapping_refs b ON b.entity_id = a.entity_id
            AND b.connection_id = s.target_connection_id AND b.valid_to IS NULL
          WHERE a.connection_id = s.source_connection_id AND a.entity_type = s.response -> 'unmapped' ->> 'entity_type'
            AND a.external_id = x.id AND a.valid_to IS NULL LIMIT 1) IS NULL)) m))`
}

// causeWhere renders the filters on a cause's own fields (kind of problem,
// kind of data, direction, systems, environment): the columns failures and
// the summary of causes share.
func (f FailedFilter) causeWhere(arg func(any) string) []string {
	var w []string
	if f.Family != "" {
		w = append(w, "family = "+arg(f.Family))
	}
	if f.Direction != "" {
		w = append(w, "direction = "+arg(f.Direction))
	}
	if f.ErrorClass != "" {
		w = append(w, "error_class = "+arg(f.ErrorClass))
	}
	if f.ConnectionID != 0 {
		a := arg(f.ConnectionID)
		w = append(w, "(source_connection_id = "+a+" OR target_connection_id = "+a+")")
	}
	if len(f.AnyConnection) > 0 {
		a := arg(pq.Array(f.AnyConnection))
		w = append(w, "(source_connection_id = ANY("+a+"::bigint[]) OR target_connection_id = ANY("+a+"::bigint[]))")
	}
	if f.Environment != "" {
		w = append(w, "target_connection_id IN (SELECT id FROM connections WHERE environment = "+arg(f.Environment)+")")
	}
	return w
}

// SummarisedGroups reports whether FailedGroups answers f from the summary
// of causes: its filters are all on a cause's own fields. A search or a
// date range groups the matching failures themselves instead.
func (f FailedFilter) SummarisedGroups() bool {
	return strings.TrimSpace(f.Search) == "" && f.From.IsZero() && f.To.IsZero() && !f.Group && f.FixedBy == 0
}

// Unmapped is what an unmapped failure records in its response: the records
// of its source system that have no mapping to its target, so that the
// mappings can be proposed from the failures and an approved change set
// replays the failures it fixes.
type Unmapped struct {
	EntityType  string   `json:"entity_type"`
	ExternalIDs []string `json:"external_ids"`
}

// UnmappedResponse is the response of an unmapped failure.
func UnmappedResponse(entityType string, externalIDs []string) map[string]Unmapped {
	return map[string]Unmapped{"unmapped": {EntityType: entityType, ExternalIDs: externalIDs}}
}

// MissingMappings are the records unmapped failures say have no mapping:
// of one kind, in the failures' source system, towards their target.
type MissingMappings struct {
	SourceID    int64
	TargetID    int64
	EntityType  string
	ExternalIDs []string
}

// maxMissingScan bounds how many of the newest matching failures
// MissingMappingsOf reads: a proposal is made from a click, but a cause can
// hold half a million failures.
const maxMissingScan = 20_000

// MissingMappingsOf collects the missing records recorded by the newest open
// unmapped failures matching f (at most maxMissingScan of them, and
// MaxAcceptAtOnce records), for the source and target of the most failures.
// Zero when none recorded any (failures from before they did).
func (q q) MissingMappingsOf(ctx context.Context, f FailedFilter) (MissingMappings, error) {
	f.Status, f.ErrorClass = FailedOpen, vocab.ClassUnmapped
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := strings.Join(f.where(arg), " AND ")
	var rows []struct {
		SourceID   int64          `db:"source_connection_id"`
		TargetID   int64          `db:"target_connection_id"`
		EntityType string         `db:"entity_type"`
		IDs        pq.StringArray `db:"ids"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT source_connection_id, target_connection_id, entity_type,
  (array_agg(DISTINCT x ORDER BY x))[1:`+strconv.Itoa(MaxAcceptAtOnce)+`] AS ids
FROM (SELECT source_connection_id, target_connection_id, response FROM syncs
  WHERE `+w+` AND response ? 'unmapped' ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(maxMissingScan)+`) s,
  LATERAL (SELECT s.response->'unmapped'->>'entity_type' AS entity_type) t,
  jsonb_array_elements_text(s.response->'unmapped'->'external_ids') x
GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1`, args...); err != nil {
		return MissingMappings{}, fmt.Errorf("store: missing mappings of failures: %w", err)
	}
	if len(rows) == 0 {
		return MissingMappings{}, nil
	}
	r := rows[0]
	return MissingMappings{SourceID: r.SourceID, TargetID: r.TargetID, EntityType: r.EntityType, ExternalIDs: r.IDs}, nil
}

// FailedBeforeNoting reports whether the open unmapped failures matching f
// that do not say which records they lack all failed before Crossdock
// noted them (migration 00027, from which every flow records them): only
// then may a page say so. Failures of later that record none (a mapping
// pointing at a record that is not an id, a flow that cannot tell) make it
// false. It reads at most the newest maxMissingScan of them.
func (q q) FailedBeforeNoting(ctx context.Context, f FailedFilter) (bool, error) {
	f.Status, f.ErrorClass = FailedOpen, vocab.ClassUnmapped
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := strings.Join(f.where(arg), " AND ")
	var before bool
	if err := sqlxGet(ctx, q, &before, `SELECT NOT EXISTS (SELECT 1 FROM (SELECT created_at FROM syncs
  WHERE `+w+` AND NOT COALESCE(response ? 'unmapped', false) ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(maxMissingScan)+`) s
  WHERE s.created_at >= COALESCE((SELECT min(tstamp) FROM goose_db_version WHERE version_id = 27 AND is_applied), now()))`, args...); err != nil {
		return false, fmt.Errorf("store: failures before noting: %w", err)
	}
	return before, nil
}

// FailedSync is a failure with how it was dealt with.
type FailedSync struct {
	Sync
	Resolution     *string `db:"resolution"`
	ResolutionNote *string `db:"resolution_note"`
	ResolvedLabel  *string `db:"resolved_label"`
	ReplayedBy     *int64  `db:"replayed_by"`
	ReplayBatchID  *int64  `db:"replay_batch_id"`
	EditedFrom     *int64  `db:"edited_from"`
	MappingVersion *int64  `db:"mapping_version"`
	RulesVersion   *int64  `db:"rules_version"`
	Cause          *string `db:"cause"`
	// QueuedIn: the bulk replay whose queue holds the failure, waiting for
	// its turn (the first, when two do).
	QueuedIn *int64 `db:"queued_in"`
}

// HowResolved is the resolution, "" while the failure is open.
func (s FailedSync) HowResolved() string {
	if s.Resolution == nil {
		return ""
	}
	return *s.Resolution
}

const failedExtraColumns = `, resolution, resolution_note, resolved_label, replayed_by, replay_batch_id, edited_from,
mapping_version, rules_version, cause, (SELECT min(i.batch_id) FROM replay_batch_items i WHERE i.sync_id = syncs.id) AS queued_in`

// ListFailed returns one page of failures, newest first, without payloads;
// one row more is read to know whether a next page exists. It never counts.
func (q q) ListFailed(ctx context.Context, f FailedFilter) ([]FailedSync, bool, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := f.where(arg)
	if f.BeforeID != 0 {
		w = append(w, fmt.Sprintf("(created_at, id) < (%s, %s)", arg(f.BeforeAt), arg(f.BeforeID)))
	}
	limit := f.Limit
	if limit <= 0 || limit > 5000 {
		limit = 50
	}
	var out []FailedSync
	if err := sqlxSelect(ctx, q, &out, `SELECT `+syncListColumns+failedExtraColumns+` FROM syncs WHERE `+strings.Join(w, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT `+arg(limit+1), args...); err != nil {
		return nil, false, fmt.Errorf("store: list failed syncs: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// FailedSyncByID returns one sync with its payload and how it was dealt with.
func (q q) FailedSyncByID(ctx context.Context, id int64) (FailedSync, error) {
	var s FailedSync
	if err := sqlxGet(ctx, q, &s, `SELECT `+syncColumns+failedExtraColumns+` FROM syncs WHERE id = $1`, id); err != nil {
		return FailedSync{}, fmt.Errorf("store: sync %d: %w", id, err)
	}
	return s, nil
}

// TryAgain is how a failure was tried again: by whom, whether after an
// approved mapping change set, and how the new attempt (the replay) ended.
type TryAgain struct {
	ReplayID     int64        `db:"replay_id"`
	ReplayStatus vocab.Status `db:"replay_status"`
	ReplayOpen   bool         `db:"replay_open"` // failed again and not dealt with since
	// By is the person who tried it again — by hand, or the admin whose
	// approval of ChangeSetID tried it again automatically — by name.
	By          string `db:"by_name"`
	BatchID     *int64 `db:"batch_id"`
	ChangeSetID *int64 `db:"change_set_id"`
}

// Automatic reports whether the try was started by an approved change set.
func (t TryAgain) Automatic() bool { return t.ChangeSetID != nil }

// TryAgainOf describes the replay replayID: who made it, from what, and
// how it ended.
func (q q) TryAgainOf(ctx context.Context, replayID int64) (TryAgain, error) {
	var t TryAgain
	if err := sqlxGet(ctx, q, &t, `SELECT r.id AS replay_id, r.status AS replay_status,
  (r.status IN ('failed', 'retrying', 'rejected') AND r.resolved_at IS NULL) AS replay_open,
  COALESCE(NULLIF(u.name, ''), o.resolved_label, '') AS by_name, r.replay_batch_id AS batch_id, b.change_set_id
FROM syncs r JOIN syncs o ON o.id = r.replay_of
LEFT JOIN users u ON u.id = o.resolved_by
LEFT JOIN replay_batches b ON b.id = r.replay_batch_id
WHERE r.id = $1`, replayID); err != nil {
		return TryAgain{}, fmt.Errorf("store: replay %d: %w", replayID, err)
	}
	return t, nil
}

// DealtWithBy is the name of the person who resolved, ignored or tried
// again a failure ("" when nobody did; their label when they are gone).
func (q q) DealtWithBy(ctx context.Context, id int64) (string, error) {
	var name string
	if err := sqlxGet(ctx, q, &name, `SELECT COALESCE(NULLIF(u.name, ''), s.resolved_label, '')
FROM syncs s LEFT JOIN users u ON u.id = s.resolved_by WHERE s.id = $1`, id); err != nil {
		return "", fmt.Errorf("store: who dealt with sync %d: %w", id, err)
	}
	return name, nil
}

// CountFailed counts the failures matching f up to limit: it reads at most
// limit+1 index entries, so a page load never counts millions of rows.
// capped says there are more than limit.
func (q q) CountFailed(ctx context.Context, f FailedFilter, limit int) (n int, capped bool, err error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := f.where(arg)
	query := `SELECT count(*) FROM (SELECT 1 FROM syncs WHERE ` + strings.Join(w, " AND ") + ` LIMIT ` + arg(limit+1) + `) t`
	if err := sqlxGet(ctx, q, &n, query, args...); err != nil {
		return 0, false, fmt.Errorf("store: count failed syncs: %w", err)
	}
	if n > limit {
		return limit, true, nil
	}
	return n, false, nil
}

// FailureGroup is the open failures of one cause: one kind of problem, of
// one kind of data, between two systems, for one reason.
type FailureGroup struct {
	ErrorClass   vocab.ErrorClass `db:"error_class"`
	Family       vocab.Family     `db:"family"`
	Direction    vocab.Direction  `db:"direction"`
	SourceID     int64            `db:"source_connection_id"`
	TargetID     int64            `db:"target_connection_id"`
	Cause        string           `db:"cause"`
	Count        int              `db:"n"`
	Keys         int              `db:"keys"` // distinct records (SKUs, orders) concerned, up to MaxGroupKeys
	KeysCapped   bool             `db:"keys_capped"`
	FirstSeen    time.Time        `db:"first_seen"`
	LastSeen     time.Time        `db:"last_seen"`
	LastID       int64            `db:"last_id"`
	EntityType   string           `db:"entity_type"` // of the latest failure
	Sample       string           `db:"sample"`      // the latest failure's message
	RetryingOnly bool             `db:"retrying_only"`
}

// MaxGroupKeys caps the distinct records counted per cause ("100+ SKUs"):
// each costs one index lookup (~12 µs), for each of up to 50 causes shown.
const MaxGroupKeys = 100

// FailedGroups groups the open failures matching f by cause, largest first,
// at most limit groups.
//
// Filters on a cause's own fields (SummarisedGroups) read the summary of
// causes, failure_groups, plus the changes not folded into it yet: a few
// hundred rows whatever the number of failures. A search or a date range
// groups the matching failures themselves, over the cause index.
//
// Then, for the groups shown only, the distinct records are counted up to
// MaxGroupKeys (KeysCapped beyond): from the summary, by skipping from one
// record to the next in the cause index (one index lookup per record, however
// many failures each has).
func (q q) FailedGroups(ctx context.Context, f FailedFilter, limit int) ([]FailureGroup, error) {
	f.Status = FailedOpen
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	groupKey := `error_class, family, direction, source_connection_id, target_connection_id, cause`
	sameCause := `error_class = g.error_class AND family = g.family AND direction = g.direction
      AND source_connection_id = g.source_connection_id AND target_connection_id = g.target_connection_id AND cause = g.cause`
	var groups, keys string
	if f.SummarisedGroups() {
		w := "TRUE"
		if cw := f.causeWhere(arg); len(cw) > 0 {
			w = strings.Join(cw, " AND ")
		}
		groups = `SELECT ` + groupKey + `, sum(n)::int AS n, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
    max(last_id) AS last_id
  FROM (
    SELECT ` + groupKey + `, n, first_seen, last_seen, last_id FROM failure_groups
    UNION ALL
    SELECT ` + groupKey + `, n, CASE WHEN n > 0 THEN seen_at END, CASE WHEN n > 0 THEN seen_at END,
      CASE WHEN n > 0 THEN sync_id END FROM failure_group_changes) u
  WHERE ` + w + `
  GROUP BY ` + groupKey + ` HAVING sum(n) > 0`
		keys = `WITH RECURSIVE k(key, i) AS (
    (SELECT entity_key, 1 FROM syncs WHERE ` + problemsPredicate + ` AND ` + sameCause + `
      ORDER BY entity_key LIMIT 1)
    UNION ALL
    SELECT (SELECT entity_key FROM syncs WHERE ` + problemsPredicate + ` AND ` + sameCause + ` AND entity_key > k.key
      ORDER BY entity_key LIMIT 1), i + 1
    FROM k WHERE k.key IS NOT NULL AND i <= ` + strconv.Itoa(MaxGroupKeys) + `)
  SELECT count(key)::int AS keys FROM k`
	} else {
		w := strings.Join(f.where(arg), " AND ")
		groups = `SELECT COALESCE(error_class, '') AS error_class, family, direction, source_connection_id, target_connection_id,
    COALESCE(cause, '') AS cause, count(*)::int AS n, min(created_at) AS first_seen, max(created_at) AS last_seen, max(id) AS last_id
  FROM syncs WHERE ` + w + `
  GROUP BY ` + groupKey
		keys = `SELECT count(*)::int AS keys FROM (
    SELECT DISTINCT entity_key FROM syncs WHERE ` + w + ` AND ` + sameCause + `
    LIMIT ` + strconv.Itoa(MaxGroupKeys+1) + `) t`
	}
	query := `WITH g AS (` + groups + `
  ORDER BY n DESC, last_id DESC LIMIT ` + arg(limit) + `)
SELECT g.error_class, g.family, g.direction, g.source_connection_id, g.target_connection_id, g.cause, g.n,
  k.keys, k.keys > ` + strconv.Itoa(MaxGroupKeys) + ` AS keys_capped, g.first_seen, g.last_seen, g.last_id,
  COALESCE(s.entity_type, '') AS entity_type, COALESCE(s.message, '') AS sample, COALESCE(s.status = 'retrying', false) AS retrying_only
FROM g LEFT JOIN syncs s ON s.id = g.last_id
CROSS JOIN LATERAL (` + keys + `) k
ORDER BY g.n DESC, g.last_id DESC`
	var out []FailureGroup
	if err := sqlxSelect(ctx, q, &out, query, args...); err != nil {
		return nil, fmt.Errorf("store: group failed syncs: %w", err)
	}
	for i := range out {
		if out[i].KeysCapped {
			out[i].Keys = MaxGroupKeys
		}
	}
	return out, nil
}

// FoldFailureGroupChanges folds the failures opened and closed since the last
// call into the summary of causes, and drops the causes left with none open.
// Changes written meanwhile (not visible to this transaction) stay for the
// next call. It returns how many changes it folded.
func (q q) FoldFailureGroupChanges(ctx context.Context) (int64, error) {
	var n int64
	if err := sqlxGet(ctx, q, &n, `WITH d AS (DELETE FROM failure_group_changes RETURNING *),
a AS (
  SELECT error_class, family, direction, source_connection_id, target_connection_id, cause, sum(n) AS n,
    min(seen_at) FILTER (WHERE n > 0) AS first_seen, max(seen_at) FILTER (WHERE n > 0) AS last_seen,
    max(sync_id) FILTER (WHERE n > 0) AS last_id, count(*) AS changes
  FROM d GROUP BY error_class, family, direction, source_connection_id, target_connection_id, cause),
up AS (
  INSERT INTO failure_groups AS fg (error_class, family, direction, source_connection_id, target_connection_id, cause, n,
    first_seen, last_seen, last_id)
  SELECT error_class, family, direction, source_connection_id, target_connection_id, cause, n,
    COALESCE(first_seen, '-infinity'), COALESCE(last_seen, '-infinity'), COALESCE(last_id, 0) FROM a
  ON CONFLICT (error_class, family, direction, source_connection_id, target_connection_id, cause) DO UPDATE SET
    n = fg.n + EXCLUDED.n,
    first_seen = LEAST(fg.first_seen, NULLIF(EXCLUDED.first_seen, '-infinity')),
    last_seen = GREATEST(fg.last_seen, EXCLUDED.last_seen), last_id = GREATEST(fg.last_id, EXCLUDED.last_id))
SELECT COALESCE(sum(changes), 0)::bigint FROM a`); err != nil {
		return 0, fmt.Errorf("store: fold failure group changes: %w", err)
	}
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM failure_groups WHERE n <= 0`); err != nil {
		return 0, fmt.Errorf("store: drop closed failure groups: %w", err)
	}
	return n, nil
}

// Filter is the filter of the group's failures, within base.
func (g FailureGroup) Filter(base FailedFilter) FailedFilter {
	base.Status = FailedOpen
	base.ErrorClass, base.Family, base.Direction = g.ErrorClass, g.Family, g.Direction
	base.Group, base.SourceID, base.TargetID, base.Cause = true, g.SourceID, g.TargetID, g.Cause
	return base
}

// ErrNothingToResolve is returned when none of the failures is open any more.
var ErrNothingToResolve = errors.New("store: none of these failures is open any more")

// ResolveFailures marks open failures resolved (with a note) or ignored (with
// a reason), audited in the same transaction. It returns the ids it changed:
// a failure dealt with meanwhile by someone else is left as it is.
func (s *Store) ResolveFailures(ctx context.Context, a Actor, ids []int64, resolution, note string) ([]int64, error) {
	note = strings.TrimSpace(note)
	switch {
	case resolution != ResolutionResolved && resolution != ResolutionIgnored:
		return nil, fmt.Errorf("store: resolution %q: %w", resolution, ErrNotFound)
	case note == "" && resolution == ResolutionIgnored:
		return nil, vocab.FieldErrors{"note": "Say why these failures can be ignored."}
	case note == "":
		return nil, vocab.FieldErrors{"note": "Say how these failures were resolved."}
	case len([]rune(note)) > MaxReasonLen:
		return nil, vocab.FieldErrors{"note": fmt.Sprintf("Keep it under %d characters.", MaxReasonLen)}
	case len(ids) == 0:
		return nil, vocab.FieldErrors{"form": "Tick at least one failure."}
	}
	var done []int64
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := sqlxSelect(ctx, tx.q, &done, `UPDATE syncs SET resolved_at = now(), resolution = $2, resolution_note = $3,
  resolved_by = $4, resolved_label = $5, next_attempt_at = NULL, updated_at = now(),
  status = CASE WHEN status = 'retrying' THEN 'failed' ELSE status END
WHERE id = ANY($1) AND `+problemsPredicate+` RETURNING id`,
			pq.Array(ids), resolution, note, nullInt(a.UserID), a.Label); err != nil {
			return fmt.Errorf("store: resolve failures: %w", err)
		}
		if len(done) == 0 {
			return ErrNothingToResolve
		}
		verb := "Resolved"
		if resolution == ResolutionIgnored {
			verb = "Ignored"
		}
		return tx.Audit(ctx, a, Change{Action: "sync." + resolution, ObjectType: "sync", ObjectID: idList(done),
			Summary: fmt.Sprintf("%s %d failed sync(s): %s", verb, len(done), note),
			After:   map[string]any{"ids": done, "resolution": resolution, "note": note}})
	})
	return done, err
}

// MaxActAtOnce bounds how many failures one "everything matching" action
// changes, in one transaction: the confirmation says so when more match.
const MaxActAtOnce = 50_000

// Matching is what an "everything matching" action would touch: the open
// failures matching the filter now, counted exactly up to MaxActAtOnce, and
// the newest one's id. The confirmation carries Newest, so the action never
// touches a failure that arrived after the person looked.
type Matching struct {
	Count  int   `db:"n"`
	Capped bool  `db:"capped"`
	Newest int64 `db:"newest"`
}

// CountMatching counts the open failures matching f with ids up to upto (0:
// any), exactly up to MaxActAtOnce.
func (q q) CountMatching(ctx context.Context, f FailedFilter, upto int64) (Matching, error) {
	f.Status = FailedOpen
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := f.where(arg)
	if upto > 0 {
		w = append(w, "id <= "+arg(upto))
	}
	var m Matching
	if err := sqlxGet(ctx, q, &m, `SELECT least(count(*), `+strconv.Itoa(MaxActAtOnce)+`)::int AS n, count(*) > `+strconv.Itoa(MaxActAtOnce)+` AS capped,
  COALESCE(max(id), 0) AS newest
FROM (SELECT id FROM syncs WHERE `+strings.Join(w, " AND ")+` LIMIT `+strconv.Itoa(MaxActAtOnce+1)+`) t`, args...); err != nil {
		return Matching{}, fmt.Errorf("store: count matching failures: %w", err)
	}
	return m, nil
}

// ResolveMatching marks resolved (with a note) or ignored (with a reason)
// the open failures matching f whose id is at most upto — those the person
// saw counted —, at most MaxActAtOnce of them, in one statement and one
// transaction, audited once. It returns how many it changed: fewer than
// counted when some were dealt with meanwhile.
func (s *Store) ResolveMatching(ctx context.Context, a Actor, f FailedFilter, upto int64, resolution, note string) (int, error) {
	note = strings.TrimSpace(note)
	switch {
	case resolution != ResolutionResolved && resolution != ResolutionIgnored:
		return 0, fmt.Errorf("store: resolution %q: %w", resolution, ErrNotFound)
	case note == "" && resolution == ResolutionIgnored:
		return 0, vocab.FieldErrors{"note": "Say why these failures can be ignored."}
	case note == "":
		return 0, vocab.FieldErrors{"note": "Say how these failures were resolved."}
	case len([]rune(note)) > MaxReasonLen:
		return 0, vocab.FieldErrors{"note": fmt.Sprintf("Keep it under %d characters.", MaxReasonLen)}
	case upto <= 0:
		return 0, vocab.FieldErrors{"form": "The confirmation was not understood; count the failures again."}
	}
	f.Status = FailedOpen
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	w := append(f.where(arg), "id <= "+arg(upto))
	var n int
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := sqlxGet(ctx, tx.q, &n, `WITH m AS (SELECT id FROM syncs WHERE `+strings.Join(w, " AND ")+`
  ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(MaxActAtOnce)+` FOR UPDATE SKIP LOCKED),
u AS (UPDATE syncs SET resolved_at = now(), resolution = `+arg(resolution)+`, resolution_note = `+arg(note)+`,
  resolved_by = `+arg(nullInt(a.UserID))+`, resolved_label = `+arg(a.Label)+`, next_attempt_at = NULL, updated_at = now(),
  status = CASE WHEN status = 'retrying' THEN 'failed' ELSE status END
  WHERE id IN (SELECT id FROM m) AND `+problemsPredicate+` RETURNING 1)
SELECT count(*) FROM u`, args...); err != nil {
			return fmt.Errorf("store: resolve matching failures: %w", err)
		}
		if n == 0 {
			return ErrNothingToResolve
		}
		verb := "Resolved"
		if resolution == ResolutionIgnored {
			verb = "Ignored"
		}
		return tx.Audit(ctx, a, Change{Action: "sync." + resolution, ObjectType: "sync", ObjectID: "filter",
			Summary: fmt.Sprintf("%s all %d failed sync(s) matching a filter: %s", verb, n, note),
			After:   map[string]any{"filter": f, "upto": upto, "count": n, "resolution": resolution, "note": note}})
	})
	return n, err
}

func idList(ids []int64) string {
	parts := make([]string, 0, min(len(ids), 20))
	for i, id := range ids {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("… (%d)", len(ids)))
			break
		}
		parts = append(parts, strconv.FormatInt(id, 10))
	}
	return strings.Join(parts, ",")
}

// Replay is a replay ReplayFailures made: what its queue job needs.
type Replay struct {
	ID                 int64  `db:"id"`
	ReplayOf           int64  `db:"replay_of"`
	TargetConnectionID int64  `db:"target_connection_id"`
	Flow               string `db:"flow"`
	EntityRef          string `db:"entity_ref"`
	IdempotencyKey     string `db:"idempotency_key"`
}

// ReplayFailures claims finished syncs for replay and creates their replays,
// in one statement. The claim marks each original replayed by a (with the id
// its replay gets); a sync already replayed (or dealt with), or still queued
// or running, is not taken, so two replays of one failure racing each other,
// or a replay racing its automatic retry, end with exactly one of them
// holding it. A retrying sync stops waiting (its queued job finds it
// resolved). The replays are copied from their originals inside the
// database (the payloads never travel to Crossdock and back): trigger
// replay, pending, the same payload and idempotency key, stamped with the
// batch and the mapping and rules versions they are made under.
func (q q) ReplayFailures(ctx context.Context, a Actor, ids []int64, batchID, mappingVersion, rulesVersion int64) ([]Replay, error) {
	var out []Replay
	if err := sqlxSelect(ctx, q, &out, `WITH o AS (
  UPDATE syncs SET resolved_at = now(),
    resolution = CASE WHEN status IN ('failed', 'retrying', 'rejected') THEN 'replayed' END,
    resolved_by = $2, resolved_label = $3, next_attempt_at = NULL, updated_at = now(),
    status = CASE WHEN status = 'retrying' THEN 'failed' ELSE status END,
    finished_at = COALESCE(finished_at, now()), replayed_by = nextval('syncs_id_seq')
  WHERE id = ANY($1) AND resolved_at IS NULL AND status NOT IN ('pending', 'running')
  RETURNING id, replayed_by, family, direction, flow, source_connection_id, target_connection_id, entity_type, entity_ref,
    entity_key, search_keys, source_version, payload, idempotency_key, max_attempts)
INSERT INTO syncs (id, family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, entity_key, search_keys, source_version, replay_of, status, message, payload,
  idempotency_key, max_attempts, replay_batch_id, mapping_version, rules_version)
SELECT o.replayed_by, o.family, o.direction, o.flow, o.source_connection_id, o.target_connection_id, 'replay', o.entity_type,
  o.entity_ref, o.entity_key, o.search_keys, o.source_version, o.id, 'pending', 'Tried again; waiting to be sent.', o.payload,
  o.idempotency_key, o.max_attempts, $4, $5, $6
FROM o ORDER BY o.id
RETURNING id, replay_of, target_connection_id, flow, entity_ref, idempotency_key`,
		pq.Array(ids), nullInt(a.UserID), a.Label, nullInt(batchID), mappingVersion, rulesVersion); err != nil {
		return nil, fmt.Errorf("store: replay failures: %w", err)
	}
	return out, nil
}

// EditReplay gives a replay not yet started the corrected payload of an
// edit-and-replay, and a key of its own: it is a new write.
func (q q) EditReplay(ctx context.Context, replay, original int64, payload []byte, key string) error {
	p, err := JSON(json.RawMessage(payload))
	if err != nil {
		return err
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE syncs SET payload = $3, idempotency_key = $4, edited_from = $2,
  message = 'Edited and replayed; waiting to be sent.' WHERE id = $1 AND status = 'pending'`, replay, original, p, key); err != nil {
		return fmt.Errorf("store: edit replay: %w", err)
	}
	return nil
}

// autoResolveSet is the UPDATE that resolves earlier failures of a record a
// later sync wrote (AutoResolve, FinishSync), with the parameter holding the
// note (autoResolveNote); the caller adds the WHERE clause.
func autoResolveSet(noteParam string) string {
	return `UPDATE syncs SET resolved_at = now(), resolution = 'auto_resolved',
  resolution_note = ` + noteParam + `, resolved_label = 'Crossdock', next_attempt_at = NULL, updated_at = now(),
  status = CASE WHEN status = 'retrying' THEN 'failed' ELSE status END`
}

// autoResolveNote says why a failure was resolved automatically.
func autoResolveNote(syncID int64) string {
	return fmt.Sprintf("A later sync of the same record succeeded (sync #%d).", syncID)
}

// AutoResolve resolves the open failures of the same record, direction and
// target that happened before s, now that s succeeded. It returns how many.
func (q q) AutoResolve(ctx context.Context, s Sync) (int64, error) {
	if s.EntityRef == "" {
		return 0, nil
	}
	res, err := q.ext.ExecContext(ctx, autoResolveSet("$5")+`
WHERE entity_ref = $1 AND target_connection_id = $2 AND status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL
  AND family = $3 AND direction = $6 AND id < $4`,
		s.EntityRef, s.TargetConnectionID, s.Family, s.ID, autoResolveNote(s.ID), s.Direction)
	if err != nil {
		return 0, fmt.Errorf("store: auto-resolve: %w", err)
	}
	return res.RowsAffected()
}

// PruneResolvedFailures deletes up to limit failures resolved before cutoff
// (with their attempts), oldest first, keeping any whose split-off items are
// still open. It returns how many it deleted; call it again while it deletes.
func (q q) PruneResolvedFailures(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := q.ext.ExecContext(ctx, `DELETE FROM syncs WHERE id IN (
  SELECT s.id FROM syncs s WHERE s.resolution IS NOT NULL AND s.resolved_at < $1
    AND s.status IN ('failed', 'retrying', 'rejected')
    AND NOT EXISTS (SELECT 1 FROM syncs c WHERE c.parent_id = s.id AND c.resolved_at IS NULL)
  ORDER BY s.resolved_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune resolved failures: %w", err)
	}
	return res.RowsAffected()
}

// FailedSettings are the console's installation-wide settings.
type FailedSettings struct {
	// RetentionDays: a resolved failure is deleted this many days after it
	// was resolved [30]. Open failures are never deleted.
	RetentionDays int `json:"retention_days"`
	// AutoReplay replays the failures a mapping change set fixes once it is
	// approved [on].
	AutoReplay bool `json:"auto_replay"`
}

// DefaultFailedSettings apply until an admin saves others.
var DefaultFailedSettings = FailedSettings{RetentionDays: 30, AutoReplay: true}

const failedSettingsKey = "failed_syncs"

// FailedSettings returns the saved settings, or the defaults.
func (q q) FailedSettings(ctx context.Context) (FailedSettings, error) {
	s := DefaultFailedSettings
	if err := q.Setting(ctx, failedSettingsKey, &s); err != nil && !errors.Is(err, ErrNotFound) {
		return s, err
	}
	if s.RetentionDays <= 0 {
		s.RetentionDays = DefaultFailedSettings.RetentionDays
	}
	return s, nil
}

// SaveFailedSettings stores the settings, audited.
func (s *Store) SaveFailedSettings(ctx context.Context, a Actor, in FailedSettings) error {
	if in.RetentionDays < 1 || in.RetentionDays > 3650 {
		return vocab.FieldErrors{"retention_days": "Keep resolved failures between 1 and 3,650 days."}
	}
	return s.InTx(ctx, func(tx *Tx) error {
		before, err := tx.FailedSettings(ctx)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(in)
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, failedSettingsKey, b); err != nil {
			return fmt.Errorf("store: save failed-sync settings: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "settings.failed_syncs", ObjectType: "settings", ObjectID: failedSettingsKey,
			Summary: fmt.Sprintf("Failed syncs: resolved failures kept %d days, automatic try-again after a mapping fix %s",
				in.RetentionDays, map[bool]string{true: "on", false: "off"}[in.AutoReplay]),
			Before: before, After: in})
	})
}

// ReplayLimits are the connections a replay may not write through now, by
// id, with their names: the disabled ones, and the production ones when the
// person replaying may write into test systems only (see MayWriteInto).
type ReplayLimits struct {
	Disabled     map[int64]string
	OutOfScope   map[int64]string
	ScopeLimited bool // the person may write into test systems only
}

// ReplayLimits reads the limits of a replay made by the actor (Crossdock
// itself has no scope), with the rule and words of MayWriteInto.
func (q q) ReplayLimits(ctx context.Context, a Actor) (ReplayLimits, error) {
	scope, err := q.writeScope(ctx, a)
	if err != nil {
		return ReplayLimits{}, err
	}
	var cs []Connection
	if err := sqlxSelect(ctx, q, &cs, `SELECT id, name, environment, enabled FROM connections
WHERE NOT enabled OR $1 <> 'all'`, scope); err != nil {
		return ReplayLimits{}, fmt.Errorf("store: replay limits: %w", err)
	}
	out := ReplayLimits{Disabled: map[int64]string{}, OutOfScope: map[int64]string{}, ScopeLimited: scope != vocab.ScopeAll}
	for _, c := range cs {
		if !c.Enabled {
			out.Disabled[c.ID] = c.Name
		}
		if mayWrite(scope, c) != nil {
			out.OutOfScope[c.ID] = c.Name
		}
	}
	return out, nil
}

// Refusal says in plain words why the sync may not be replayed now, or "".
func (l ReplayLimits) Refusal(s SyncState) string {
	if name, ok := l.OutOfScope[s.Target]; ok {
		return (&OutOfScopeError{System: name}).Error()
	}
	for _, id := range []int64{s.Target, s.Source} {
		if name, ok := l.Disabled[id]; ok {
			return name + " is disabled. Enable it on its connection page, then try again."
		}
	}
	return ""
}

// SyncState is where a sync stands, for explaining why it was not replayed.
type SyncState struct {
	ID         int64        `db:"id"`
	Source     int64        `db:"source_connection_id"`
	Target     int64        `db:"target_connection_id"`
	Status     vocab.Status `db:"status"`
	Resolution *string      `db:"resolution"`
	ReplayedBy *int64       `db:"replayed_by"`
}

// SyncStates returns the state of the given syncs (those that exist).
func (q q) SyncStates(ctx context.Context, ids []int64) ([]SyncState, error) {
	var out []SyncState
	if err := sqlxSelect(ctx, q, &out, `SELECT id, source_connection_id, target_connection_id, status, resolution, replayed_by
FROM syncs WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: sync states: %w", err)
	}
	return out, nil
}

// RulesVersionAt is the sources-of-truth version in force at t (0 before any).
func (q q) RulesVersionAt(ctx context.Context, t time.Time) (int64, error) {
	var v int64
	if err := sqlxGet(ctx, q, &v, `SELECT COALESCE(max(version), 0) FROM source_rule_versions WHERE saved_at <= $1`, t); err != nil {
		return 0, fmt.Errorf("store: rules version at %s: %w", t, err)
	}
	return v, nil
}

// RulesVersion is the sources-of-truth version in force now.
func (q q) RulesVersion(ctx context.Context) (int64, error) {
	return q.RulesVersionAt(ctx, time.Now().Add(time.Hour))
}

// ApprovedChangeSet is a mapping change set approved since the console last
// looked, with the connections its rows map.
type ApprovedChangeSet struct {
	ID          int64         `db:"id"`
	DecidedAt   time.Time     `db:"decided_at"`
	Connections pq.Int64Array `db:"connections"`
	// The admin who approved it, on whose behalf its failures are
	// replayed (their environment scope applies), and their name.
	ApprovedBy   *int64 `db:"decided_by"`
	ApproverName string `db:"approver_name"`
}

// ApprovalsToFollow lists the change sets approved after since that the
// console has not followed up yet, oldest first.
func (q q) ApprovalsToFollow(ctx context.Context, since time.Time) ([]ApprovedChangeSet, error) {
	var out []ApprovedChangeSet
	if err := sqlxSelect(ctx, q, &out, `SELECT cs.id, cs.decided_at, array_agg(DISTINCT i.connection_id) AS connections,
  cs.decided_by, COALESCE(u.name, cs.decided_label) AS approver_name
FROM change_sets cs JOIN change_set_items i ON i.change_set_id = cs.id
LEFT JOIN users u ON u.id = cs.decided_by
WHERE cs.status = 'approved' AND cs.decided_at > $1
  AND NOT EXISTS (SELECT 1 FROM failure_fixes f WHERE f.change_set_id = cs.id)
GROUP BY cs.id, cs.decided_at, u.name ORDER BY cs.decided_at LIMIT 20`, since); err != nil {
		return nil, fmt.Errorf("store: approvals to follow: %w", err)
	}
	return out, nil
}

// FailureFix is how Crossdock followed up an approved mapping change set:
// the bulk replay it started for the failures the change set fixes, or why
// none (Outcome, in words).
type FailureFix struct {
	CreatedAt time.Time `db:"created_at"`
	BatchID   *int64    `db:"batch_id"`
	Outcome   string    `db:"outcome"`
}

// NothingToTryAgain is the follow-up of a change set none of whose
// failures it fixes were open.
const NothingToTryAgain = "Nothing to try again."

// FixResult is what became of the failures an approved change set tried
// again, counted from the replays of its bulk replay: fixed (succeeded, or
// nothing left to send), still failing (failed again and still open),
// waiting (not finished yet, or not made yet: still in the batch's queue), dealt with since (failed again, then resolved,
// ignored or tried again by someone), and refused (not tried again: not
// allowed, or dealt with before their turn).
type FixResult struct {
	TriedAgain   int `db:"tried_again"`
	Fixed        int `db:"fixed"`
	StillFailing int `db:"still_failing"`
	Waiting      int `db:"waiting"`
	DealtWith    int `db:"dealt_with"`
	Refused      int `db:"refused"`
}

// FixResultOf counts the replays of a change set's bulk replay (from the
// index on replay_batch_id, status).
func (q q) FixResultOf(ctx context.Context, batchID int64) (FixResult, error) {
	var r FixResult
	// Failures still in the batch's queue are counted as tried again,
	// waiting for the result.
	if err := sqlxGet(ctx, q, &r, `WITH queued AS (SELECT count(*) AS n FROM replay_batch_items WHERE batch_id = $1)
SELECT count(*) + (SELECT n FROM queued) AS tried_again,
  count(*) FILTER (WHERE status IN ('succeeded', 'skipped')) AS fixed,
  count(*) FILTER (WHERE status IN ('failed', 'rejected') AND resolved_at IS NULL) AS still_failing,
  count(*) FILTER (WHERE status IN ('pending', 'running', 'retrying')) + (SELECT n FROM queued) AS waiting,
  count(*) FILTER (WHERE status IN ('failed', 'rejected') AND resolved_at IS NOT NULL) AS dealt_with,
  COALESCE((SELECT refused FROM replay_batches WHERE id = $1), 0) AS refused
FROM syncs WHERE replay_batch_id = $1`, batchID); err != nil {
		return FixResult{}, fmt.Errorf("store: result of replay batch %d: %w", batchID, err)
	}
	return r, nil
}

// FailureFixOf returns the follow-up of a change set; nil before there is one.
func (q q) FailureFixOf(ctx context.Context, changeSetID int64) (*FailureFix, error) {
	var f FailureFix
	err := notFound(sqlxGet(ctx, q, &f, `SELECT created_at, batch_id, outcome FROM failure_fixes WHERE change_set_id = $1`, changeSetID))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: follow-up of change set %d: %w", changeSetID, err)
	}
	return &f, nil
}

// FollowApproval records how an approved change set was followed up; false
// when another replica did it first (call it in the transaction that starts
// the batch, so that only one batch is started).
func (q q) FollowApproval(ctx context.Context, changeSetID, batchID int64, outcome string) (bool, error) {
	res, err := q.ext.ExecContext(ctx, `INSERT INTO failure_fixes (change_set_id, batch_id, outcome) VALUES ($1, $2, $3)
ON CONFLICT (change_set_id) DO NOTHING`, changeSetID, nullInt(batchID), outcome)
	if err != nil {
		return false, fmt.Errorf("store: follow approval %d: %w", changeSetID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CauseKey names a cause without its words (an e-mail in them): the md5 of
// the cause, as FailedFilter.CauseKey matches it. It is a name, not a
// secret: it keeps the e-mail out of addresses, histories and logs.
func CauseKey(cause string) string {
	sum := md5.Sum([]byte(cause))
	return hex.EncodeToString(sum[:])
}
