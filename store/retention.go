package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// PrivacySettings are what Crossdock keeps of people, and who sees it.
type PrivacySettings struct {
	// RetentionDays: personal fields are erased from a sync's payload,
	// request and answers, and from its webhook delivery, this many days
	// after the sync ended [90]. Open failures keep theirs until resolved.
	RetentionDays int `json:"retention_days"`
	// OperatorsSee and FinanceSees: whether the role sees customers' names,
	// e-mails, phones and addresses, or masked ("j•••@example.com"). Admins
	// always see them.
	OperatorsSee bool `json:"operators_see"`
	FinanceSees  bool `json:"finance_sees"`
}

// DefaultPrivacySettings apply until an admin saves others: operators fix
// failed customer and order syncs, which needs the e-mail and address they
// carry; finance reviews amounts and margins, which never needs them.
var DefaultPrivacySettings = PrivacySettings{RetentionDays: 90, OperatorsSee: true, FinanceSees: false}

const privacySettingsKey = "privacy"

// Sees reports whether a role sees customers' personal data unmasked.
func (p PrivacySettings) Sees(r vocab.Role) bool {
	switch r {
	case vocab.RoleAdmin:
		return true
	case vocab.RoleOperator:
		return p.OperatorsSee
	case vocab.RoleFinance:
		return p.FinanceSees
	}
	return false
}

// PrivacySettings returns the saved settings, or the defaults.
func (q q) PrivacySettings(ctx context.Context) (PrivacySettings, error) {
	s := DefaultPrivacySettings
	if err := q.Setting(ctx, privacySettingsKey, &s); err != nil && !errors.Is(err, ErrNotFound) {
		return s, err
	}
	if s.RetentionDays <= 0 {
		s.RetentionDays = DefaultPrivacySettings.RetentionDays
	}
	return s, nil
}

// SeesPersonal reports whether the role sees customers' personal data.
func (q q) SeesPersonal(ctx context.Context, r vocab.Role) (bool, error) {
	if r == vocab.RoleAdmin {
		return true, nil
	}
	s, err := q.PrivacySettings(ctx)
	return s.Sees(r), err
}

// MaxRetentionDays is the longest retention the setting takes (ten years).
const MaxRetentionDays = 3650

// SavePrivacySettings stores the settings, audited.
func (s *Store) SavePrivacySettings(ctx context.Context, a Actor, in PrivacySettings) error {
	if in.RetentionDays < 1 || in.RetentionDays > MaxRetentionDays {
		return vocab.FieldErrors{"retention_days": "Keep personal data from 1 to 3,650 days after a sync ended."}
	}
	return s.InTx(ctx, func(tx *Tx) error {
		before, err := tx.PrivacySettings(ctx)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(in)
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, privacySettingsKey, b); err != nil {
			return fmt.Errorf("store: save privacy settings: %w", err)
		}
		yes := map[bool]string{true: "see", false: "do not see"}
		return tx.Audit(ctx, a, Change{Action: "settings.privacy", ObjectType: "settings", ObjectID: privacySettingsKey,
			Summary: fmt.Sprintf("Personal data: kept %d days after a sync ended; operators %s it, finance %s it",
				in.RetentionDays, yes[in.OperatorsSee], yes[in.FinanceSees]),
			Before: before, After: in})
	})
}

// PeopleCount is how many people's personal data Crossdock keeps from the
// syncs of one route: a family from one connection to another.
type PeopleCount struct {
	Family   string `json:"family"`
	SourceID int64  `json:"source_connection_id"`
	TargetID int64  `json:"target_connection_id"`
	People   int64  `json:"people"`
}

// Route names a route for PeopleCount lookups.
type Route struct {
	Family             string
	SourceID, TargetID int64
}

// RetentionState is where the pruning of personal data stands.
type RetentionState struct {
	SyncCreatedAt  time.Time  `db:"sync_created_at"`
	SyncID         int64      `db:"sync_id"`
	EventID        int64      `db:"event_id"`
	CountCreatedAt time.Time  `db:"count_created_at"`
	CountID        int64      `db:"count_id"`
	LastRunAt      *time.Time `db:"last_run_at"`
	LastPruned     int64      `db:"last_pruned"`
	PrunedTotal    int64      `db:"pruned_total"`
	PeopleJSON     []byte     `db:"people"`
	CountedAt      *time.Time `db:"counted_at"`
}

// People are the counts of people held per route.
func (r RetentionState) People() map[Route]int64 {
	var cs []PeopleCount
	_ = json.Unmarshal(r.PeopleJSON, &cs)
	out := make(map[Route]int64, len(cs))
	for _, c := range cs {
		out[Route{c.Family, c.SourceID, c.TargetID}] = c.People
	}
	return out
}

const retentionColumns = `sync_created_at, sync_id, event_id, count_created_at, count_id, last_run_at, last_pruned, pruned_total, people, counted_at`

// RetentionState reads where pruning stands.
func (q q) RetentionState(ctx context.Context) (RetentionState, error) {
	var r RetentionState
	if err := sqlxGet(ctx, q, &r, `SELECT `+retentionColumns+` FROM privacy_retention`); err != nil {
		return r, fmt.Errorf("store: retention state: %w", err)
	}
	return r, nil
}

// LockRetention locks where pruning stands for the transaction: one
// replica prunes at a time. Call it on a Tx.
func (q q) LockRetention(ctx context.Context) (RetentionState, error) {
	var r RetentionState
	if err := sqlxGet(ctx, q, &r, `SELECT `+retentionColumns+` FROM privacy_retention FOR UPDATE`); err != nil {
		return r, fmt.Errorf("store: lock retention: %w", err)
	}
	return r, nil
}

// RetentionSync is what pruning decides on: whether a sync carries personal
// data (its flow) and whether it ended (its status and times).
type RetentionSync struct {
	ID         int64        `db:"id"`
	CreatedAt  time.Time    `db:"created_at"`
	Flow       string       `db:"flow"`
	Status     vocab.Status `db:"status"`
	FinishedAt *time.Time   `db:"finished_at"`
	ResolvedAt *time.Time   `db:"resolved_at"`
}

// NextRetentionSyncs lists up to limit syncs created before cutoff, after
// (at, id), oldest first: a keyset range on syncs_created_idx, never a scan.
func (q q) NextRetentionSyncs(ctx context.Context, at time.Time, id int64, cutoff time.Time, limit int) ([]RetentionSync, error) {
	var out []RetentionSync
	if err := sqlxSelect(ctx, q, &out, `SELECT id, created_at, flow, status, finished_at, resolved_at FROM syncs
WHERE (created_at, id) > ($1, $2) AND created_at < $3 ORDER BY created_at, id LIMIT $4`, at, id, cutoff, limit); err != nil {
		return nil, fmt.Errorf("store: next syncs to prune: %w", err)
	}
	return out, nil
}

// WaitingRetentionSyncs lists up to limit syncs put aside after afterID
// (by id), as they stand now; ones deleted since are forgotten.
func (q q) WaitingRetentionSyncs(ctx context.Context, afterID int64, limit int) ([]RetentionSync, error) {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM privacy_retention_waiting w WHERE kind = 'sync' AND id IN (
  SELECT w2.id FROM privacy_retention_waiting w2 WHERE w2.kind = 'sync' AND w2.id > $1
    AND NOT EXISTS (SELECT 1 FROM syncs s WHERE s.id = w2.id) ORDER BY w2.id LIMIT $2)`, afterID, limit); err != nil {
		return nil, fmt.Errorf("store: forget deleted waiting syncs: %w", err)
	}
	var out []RetentionSync
	if err := sqlxSelect(ctx, q, &out, `SELECT s.id, s.created_at, s.flow, s.status, s.finished_at, s.resolved_at
FROM privacy_retention_waiting w JOIN syncs s ON s.id = w.id WHERE w.kind = 'sync' AND w.id > $1 ORDER BY w.id LIMIT $2`, afterID, limit); err != nil {
		return nil, fmt.Errorf("store: waiting syncs: %w", err)
	}
	return out, nil
}

// RetentionEvent is a webhook delivery as pruning decides on it.
type RetentionEvent struct {
	ID         int64     `db:"id"`
	ReceivedAt time.Time `db:"received_at"`
	Topic      string    `db:"topic"`
	Status     string    `db:"status"`
	// OpenFailure: a sync the delivery became is an open failure.
	OpenFailure bool `db:"open_failure"`
}

const retentionEventColumns = `e.id, e.received_at, e.topic, e.status, EXISTS (SELECT 1 FROM syncs s WHERE s.webhook_event_id = e.id
  AND s.status IN ('failed', 'retrying', 'rejected') AND s.resolved_at IS NULL) AS open_failure`

// NextRetentionEvents lists up to limit webhook deliveries after id, by id
// (the primary key); the caller stops at the first received after the
// cutoff.
func (q q) NextRetentionEvents(ctx context.Context, afterID int64, limit int) ([]RetentionEvent, error) {
	var out []RetentionEvent
	if err := sqlxSelect(ctx, q, &out, `SELECT `+retentionEventColumns+` FROM webhook_events e WHERE e.id > $1 ORDER BY e.id LIMIT $2`,
		afterID, limit); err != nil {
		return nil, fmt.Errorf("store: next deliveries to prune: %w", err)
	}
	return out, nil
}

// WaitingRetentionEvents lists up to limit deliveries put aside after
// afterID, as they stand now.
func (q q) WaitingRetentionEvents(ctx context.Context, afterID int64, limit int) ([]RetentionEvent, error) {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM privacy_retention_waiting w WHERE kind = 'event' AND id IN (
  SELECT w2.id FROM privacy_retention_waiting w2 WHERE w2.kind = 'event' AND w2.id > $1
    AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.id = w2.id) ORDER BY w2.id LIMIT $2)`, afterID, limit); err != nil {
		return nil, fmt.Errorf("store: forget deleted waiting deliveries: %w", err)
	}
	var out []RetentionEvent
	if err := sqlxSelect(ctx, q, &out, `SELECT `+retentionEventColumns+` FROM privacy_retention_waiting w
JOIN webhook_events e ON e.id = w.id WHERE w.kind = 'event' AND w.id > $1 ORDER BY w.id LIMIT $2`, afterID, limit); err != nil {
		return nil, fmt.Errorf("store: waiting deliveries: %w", err)
	}
	return out, nil
}

// RetentionStep is what one chunk of pruning did.
type RetentionStep struct {
	// Cursor moves (nil: unchanged).
	SyncAt  *time.Time
	SyncID  int64
	EventID *int64
	// Kind ("sync" or "event") of Wait and Done.
	Kind string
	// Wait are ids put aside; Done ids no longer waiting.
	Wait, Done []int64
}

// AdvanceRetention records a chunk's work.
func (q q) AdvanceRetention(ctx context.Context, s RetentionStep) error {
	if s.SyncAt != nil {
		if _, err := q.ext.ExecContext(ctx, `UPDATE privacy_retention SET sync_created_at = $1, sync_id = $2`, *s.SyncAt, s.SyncID); err != nil {
			return fmt.Errorf("store: advance retention: %w", err)
		}
	}
	if s.EventID != nil {
		if _, err := q.ext.ExecContext(ctx, `UPDATE privacy_retention SET event_id = $1`, *s.EventID); err != nil {
			return fmt.Errorf("store: advance retention: %w", err)
		}
	}
	if len(s.Wait) > 0 {
		if _, err := q.ext.ExecContext(ctx, `INSERT INTO privacy_retention_waiting (kind, id) SELECT $1, unnest($2::bigint[])
ON CONFLICT DO NOTHING`, s.Kind, pq.Array(s.Wait)); err != nil {
			return fmt.Errorf("store: put aside for retention: %w", err)
		}
	}
	if len(s.Done) > 0 {
		if _, err := q.ext.ExecContext(ctx, `DELETE FROM privacy_retention_waiting WHERE kind = $1 AND id = ANY($2)`, s.Kind, pq.Array(s.Done)); err != nil {
			return fmt.Errorf("store: retention done: %w", err)
		}
	}
	return nil
}

// PersonSync is what counting people reads of a sync: its route and the
// keys that name its person (its search keys, its record).
type PersonSync struct {
	ID         int64          `db:"id"`
	CreatedAt  time.Time      `db:"created_at"`
	Flow       string         `db:"flow"`
	Family     string         `db:"family"`
	SourceID   int64          `db:"source_connection_id"`
	TargetID   int64          `db:"target_connection_id"`
	EntityType string         `db:"entity_type"`
	EntityRef  string         `db:"entity_ref"`
	SearchKeys pq.StringArray `db:"search_keys"`
}

// NextPeopleSyncs lists up to limit syncs created in [from, before) after
// (at, id), oldest first: a keyset range on syncs_created_idx.
func (q q) NextPeopleSyncs(ctx context.Context, at time.Time, id int64, from, before time.Time, limit int) ([]PersonSync, error) {
	var out []PersonSync
	if at.Before(from) {
		at, id = from, 0
	}
	if err := sqlxSelect(ctx, q, &out, `SELECT id, created_at, flow, family, source_connection_id, target_connection_id, entity_type,
  entity_ref, search_keys FROM syncs WHERE (created_at, id) > ($1, $2) AND created_at < $3 ORDER BY created_at, id LIMIT $4`,
		at, id, before, limit); err != nil {
		return nil, fmt.Errorf("store: next syncs to count: %w", err)
	}
	return out, nil
}

// Person is one person seen on a route.
type Person struct {
	Route
	Key      []byte
	LastSeen time.Time
}

// NotePeople records people seen on their routes and moves the count
// cursor to (at, id).
func (q q) NotePeople(ctx context.Context, ps []Person, at time.Time, id int64) error {
	if len(ps) > 0 {
		fams, srcs, tgts, keys, seen := make([]string, len(ps)), make([]int64, len(ps)), make([]int64, len(ps)), make([][]byte, len(ps)), make([]time.Time, len(ps))
		for i, p := range ps {
			fams[i], srcs[i], tgts[i], keys[i], seen[i] = p.Family, p.SourceID, p.TargetID, p.Key, p.LastSeen
		}
		if _, err := q.ext.ExecContext(ctx, `INSERT INTO privacy_people AS p (family, source_connection_id, target_connection_id, person, last_seen)
SELECT family, src, tgt, person, max(seen) FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[], $5::timestamptz[])
  AS t(family, src, tgt, person, seen) GROUP BY family, src, tgt, person
ON CONFLICT (family, source_connection_id, target_connection_id, person) DO UPDATE SET last_seen = greatest(p.last_seen, EXCLUDED.last_seen)`,
			pq.Array(fams), pq.Array(srcs), pq.Array(tgts), pq.Array(keys), pq.Array(seen)); err != nil {
			return fmt.Errorf("store: note people: %w", err)
		}
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE privacy_retention SET count_created_at = $1, count_id = $2`, at, id); err != nil {
		return fmt.Errorf("store: advance the count of people: %w", err)
	}
	return nil
}

// ForgetPeople drops up to limit people last seen before cutoff (their
// personal data is pruned by now), through privacy_people_last_seen_idx.
func (q q) ForgetPeople(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := q.ext.ExecContext(ctx, `DELETE FROM privacy_people WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM privacy_people WHERE last_seen < $1 ORDER BY last_seen LIMIT $2))`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("store: forget people: %w", err)
	}
	return res.RowsAffected()
}

// FinishRetentionRun records a run's end: how many records it pruned, and
// the people held per route, counted from privacy_people (one pass over a
// table of people, nothing on the syncs).
func (q q) FinishRetentionRun(ctx context.Context, pruned int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE privacy_retention SET last_run_at = now(), last_pruned = $1,
  pruned_total = pruned_total + $1,
  people = COALESCE((SELECT jsonb_agg(jsonb_build_object('family', family, 'source_connection_id', source_connection_id,
      'target_connection_id', target_connection_id, 'people', n) ORDER BY family, source_connection_id, target_connection_id)
    FROM (SELECT family, source_connection_id, target_connection_id, count(*) AS n FROM privacy_people
      GROUP BY family, source_connection_id, target_connection_id) c), '[]'),
  counted_at = now()`, pruned); err != nil {
		return fmt.Errorf("store: finish retention run: %w", err)
	}
	return nil
}
