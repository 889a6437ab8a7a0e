package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// What started a sync.
const (
	TriggerWebhook = "webhook"
	TriggerSweep   = "sweep"
	TriggerManual  = "manual"
	TriggerReplay  = "replay"
)

// Sync is one sync record.
type Sync struct {
	ID                 int64             `db:"id"`
	CreatedAt          time.Time         `db:"created_at"`
	UpdatedAt          time.Time         `db:"updated_at"`
	Family             vocab.Family      `db:"family"`
	Direction          vocab.Direction   `db:"direction"`
	Flow               string            `db:"flow"`
	SourceConnectionID int64             `db:"source_connection_id"`
	TargetConnectionID int64             `db:"target_connection_id"`
	Trigger            string            `db:"trigger"`
	EntityType         string            `db:"entity_type"`
	EntityRef          string            `db:"entity_ref"`
	EntityID           *int64            `db:"entity_id"`
	EntityKey          string            `db:"entity_key"`
	SearchKeys         pq.StringArray    `db:"search_keys"`
	SourceVersion      *time.Time        `db:"source_version"`
	WebhookEventID     *int64            `db:"webhook_event_id"`
	ReplayOf           *int64            `db:"replay_of"`
	ParentID           *int64            `db:"parent_id"`
	Status             vocab.Status      `db:"status"`
	ErrorClass         *vocab.ErrorClass `db:"error_class"`
	Message            string            `db:"message"`
	Payload            []byte            `db:"payload"`  // empty in lists
	Request            []byte            `db:"request"`  // nil until something was sent; empty in lists
	Response           []byte            `db:"response"` // nil until an answer came; empty in lists
	IdempotencyKey     string            `db:"idempotency_key"`
	TargetRef          string            `db:"target_ref"`
	Attempts           int               `db:"attempts"`
	MaxAttempts        int               `db:"max_attempts"`
	NextAttemptAt      *time.Time        `db:"next_attempt_at"`
	FinishedAt         *time.Time        `db:"finished_at"`
	ResolvedAt         *time.Time        `db:"resolved_at"`
	JobID              *int64            `db:"job_id"`
}

// Class is the error class, "" when there is none.
func (s Sync) Class() vocab.ErrorClass {
	if s.ErrorClass == nil {
		return ""
	}
	return *s.ErrorClass
}

// Problem reports whether the sync belongs on the failed-syncs console.
func (s Sync) Problem() bool {
	return s.ResolvedAt == nil && (s.Status == vocab.SyncFailed || s.Status == vocab.SyncRetrying || s.Status == vocab.SyncRejected)
}

const syncListColumns = `id, created_at, updated_at, family, direction, flow, source_connection_id, target_connection_id,
trigger, entity_type, entity_ref, entity_id, entity_key, search_keys, source_version, webhook_event_id, replay_of, parent_id,
status, error_class, message, idempotency_key, target_ref, attempts, max_attempts, next_attempt_at, finished_at,
resolved_at, job_id`

const syncColumns = syncListColumns + `, payload, request, response`

// NewSync is a sync record to create.
type NewSync struct {
	Family             vocab.Family
	Direction          vocab.Direction
	Flow               string
	SourceConnectionID int64
	TargetConnectionID int64
	Trigger            string
	EntityType         string
	EntityRef          string
	EntityKey          string
	SearchKeys         []string // lower-cased here
	SourceVersion      time.Time
	WebhookEventID     int64
	ReplayOf           int64
	ParentID           int64
	// Status is SyncPending unless intake already knows the outcome
	// (failed, rejected, skipped), in which case ErrorClass and Message say why.
	Status     vocab.Status
	ErrorClass vocab.ErrorClass
	Message    string
	Payload    any // marshalled to JSON
	Request    any // marshalled to JSON; nil for none
	// Response: the evidence a failure is born with (marshalled to JSON;
	// nil for none): the records an unmapped failure lacks
	// (UnmappedResponse), the record OnlyInOneResponse names.
	Response       any
	IdempotencyKey string
	MaxAttempts    int
}

// SearchKeys lower-cases, trims and dedupes keys for Sync.SearchKeys.
func SearchKeys(keys ...string) []string {
	out := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	return out
}

// JSON marshals v for a jsonb column: nil stays NULL, and NUL characters
// (valid JSON that jsonb refuses) become U+FFFD.
func JSON(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	var b []byte
	switch x := v.(type) {
	case json.RawMessage:
		if len(x) == 0 {
			return nil, nil
		}
		b = x
	case []byte:
		if len(x) == 0 {
			return nil, nil
		}
		b = x
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("store: json: %w", err)
		}
	}
	if !json.Valid(b) {
		s, _ := json.Marshal(string(b)) // evidence that is not JSON is kept as a string
		b = s
	}
	return WithoutNUL(b), nil
}

// WithoutNUL returns the JSON text b with every escaped NUL character
// ("\u0000": valid JSON, which neither jsonb nor a text column accepts)
// turned into U+FFFD, the replacement character. An escaped backslash before
// "u0000" is left alone. b is returned as it is when it holds none.
func WithoutNUL(b []byte) []byte {
	const nul, repl = `\u0000`, `\ufffd`
	if !bytes.Contains(b, []byte(nul)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] != '\\':
			out = append(out, b[i])
		case bytes.HasPrefix(b[i:], []byte(nul)):
			out = append(out, repl...)
			i += len(nul) - 1
		case i+1 < len(b):
			out = append(out, b[i], b[i+1])
			i++
		default:
			out = append(out, b[i])
		}
	}
	return out
}

func nullInt(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// InsertSyncs creates sync records in one round trip (two with the ids) and
// returns their ids in order. A sync that already exists — from the same
// webhook delivery into the same target, or the same item of the same parent
// — is not created again: its place holds 0.
func (q q) InsertSyncs(ctx context.Context, syncs []NewSync) ([]int64, error) {
	if len(syncs) == 0 {
		return nil, nil
	}
	// Ids are drawn first, so each row's id is known whatever the conflicts.
	var ids []int64
	if err := sqlxSelect(ctx, q, &ids, `SELECT nextval('syncs_id_seq') FROM generate_series(1, $1)`, len(syncs)); err != nil {
		return nil, fmt.Errorf("store: sync ids: %w", err)
	}
	n := len(syncs)
	var (
		family, direction, flow, trigger, entityType, entityRef, entityKey = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		searchKeys, version, status, class, message, payload, request, key = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		response                                                           = make([]string, n)
		source, target, webhook, replayOf, parent, maxAttempts             = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	)
	for i, s := range syncs {
		p, err := JSON(s.Payload)
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = []byte("{}")
		}
		r, err := JSON(s.Request)
		if err != nil {
			return nil, err
		}
		resp, err := JSON(s.Response)
		if err != nil {
			return nil, err
		}
		response[i] = string(resp)
		family[i], direction[i], flow[i], trigger[i] = string(s.Family), string(s.Direction), s.Flow, s.Trigger
		entityType[i], entityRef[i], entityKey[i] = s.EntityType, s.EntityRef, s.EntityKey
		// Keys never hold control characters: the unit separator joins them.
		searchKeys[i] = strings.Join(SearchKeys(s.SearchKeys...), "\x1f")
		if !s.SourceVersion.IsZero() {
			version[i] = s.SourceVersion.UTC().Format(time.RFC3339Nano)
		}
		status[i] = string(s.Status)
		if status[i] == "" {
			status[i] = string(vocab.SyncPending)
		}
		class[i], message[i], payload[i], request[i], key[i] = string(s.ErrorClass), s.Message, string(p), string(r), s.IdempotencyKey
		source[i], target[i], webhook[i], replayOf[i], parent[i] = s.SourceConnectionID, s.TargetConnectionID, s.WebhookEventID, s.ReplayOf, s.ParentID
		maxAttempts[i] = int64(max(s.MaxAttempts, 1))
	}
	var inserted []int64
	err := sqlxSelect(ctx, q, &inserted, `INSERT INTO syncs (id, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, search_keys, source_version, webhook_event_id,
  replay_of, parent_id, status, error_class, message, payload, request, idempotency_key, max_attempts, finished_at, response)
SELECT id, family, direction, flow, source, target, trigger, entity_type, entity_ref, entity_key,
  CASE WHEN search_keys = '' THEN '{}'::text[] ELSE string_to_array(search_keys, E'\x1f') END,
  NULLIF(version, '')::timestamptz, NULLIF(webhook, 0), NULLIF(replay_of, 0), NULLIF(parent, 0), status,
  NULLIF(class, ''), message, payload::jsonb, NULLIF(request, '')::jsonb, key, max_attempts,
  CASE WHEN status = 'pending' THEN NULL ELSE now() END, NULLIF(response, '')::jsonb
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[],
  $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[], $15::bigint[], $16::text[],
  $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::int[], $23::text[])
  AS t(id, family, direction, flow, source, target, trigger, entity_type, entity_ref, entity_key, search_keys, version,
       webhook, replay_of, parent, status, class, message, payload, request, key, max_attempts, response)
ON CONFLICT DO NOTHING
RETURNING id`, pq.Array(ids), pq.Array(family), pq.Array(direction), pq.Array(flow), pq.Array(source), pq.Array(target),
		pq.Array(trigger), pq.Array(entityType), pq.Array(entityRef), pq.Array(entityKey), pq.Array(searchKeys),
		pq.Array(version), pq.Array(webhook), pq.Array(replayOf), pq.Array(parent), pq.Array(status), pq.Array(class),
		pq.Array(message), pq.Array(payload), pq.Array(request), pq.Array(key), pq.Array(maxAttempts), pq.Array(response))
	if err != nil {
		return nil, fmt.Errorf("store: insert syncs: %w", err)
	}
	done := make(map[int64]bool, len(inserted))
	for _, id := range inserted {
		done[id] = true
	}
	for i, id := range ids {
		if !done[id] {
			ids[i] = 0
		}
	}
	return ids, nil
}

// SQLTx is the transaction's database/sql handle, for libraries that enqueue
// in the caller's transaction (River's InsertTx).
func (tx *Tx) SQLTx() *sql.Tx { return tx.tx.Tx }

// SetSyncJobs records the queue job of each sync (ids and jobs pair up).
func (q q) SetSyncJobs(ctx context.Context, ids, jobs []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE syncs s SET job_id = t.job FROM unnest($1::bigint[], $2::bigint[]) AS t(id, job)
WHERE s.id = t.id`, pq.Array(ids), pq.Array(jobs)); err != nil {
		return fmt.Errorf("store: set sync jobs: %w", err)
	}
	return nil
}

// SyncByID returns one sync with its payload, request and answer, or ErrNotFound.
func (q q) SyncByID(ctx context.Context, id int64) (Sync, error) {
	var s Sync
	if err := sqlxGet(ctx, q, &s, `SELECT `+syncColumns+` FROM syncs WHERE id = $1`, id); err != nil {
		return Sync{}, fmt.Errorf("store: sync %d: %w", id, err)
	}
	return s, nil
}

// SyncsOfWebhookEvent returns the syncs a webhook delivery became.
func (q q) SyncsOfWebhookEvent(ctx context.Context, eventID int64) ([]Sync, error) {
	var out []Sync
	if err := sqlxSelect(ctx, q, &out, `SELECT `+syncListColumns+` FROM syncs WHERE webhook_event_id = $1 ORDER BY id`, eventID); err != nil {
		return nil, fmt.Errorf("store: syncs of webhook event %d: %w", eventID, err)
	}
	return out, nil
}

// SyncItems returns the syncs a batch split off (its unmapped or invalid items).
func (q q) SyncItems(ctx context.Context, parentID int64, limit int) ([]Sync, error) {
	var out []Sync
	if err := sqlxSelect(ctx, q, &out, `SELECT `+syncListColumns+` FROM syncs WHERE parent_id = $1 ORDER BY id LIMIT $2`,
		parentID, pageLimit(limit)); err != nil {
		return nil, fmt.Errorf("store: items of sync %d: %w", parentID, err)
	}
	return out, nil
}

// SyncFilter narrows the sync records. Zero values mean "any".
type SyncFilter struct {
	// Problems lists only unresolved failed, retrying and rejected syncs
	// (the failed-syncs console); it uses the small partial indexes.
	Problems           bool
	Status             vocab.Status
	ErrorClass         vocab.ErrorClass
	Family             vocab.Family
	Trigger            string
	SourceConnectionID int64
	TargetConnectionID int64
	// Search is one SKU, order name or number, or e-mail, matched exactly
	// (case-insensitive) against the sync's search keys.
	Search   string
	From, To time.Time // created_at; To is exclusive
	// Keyset cursor: syncs strictly older than (BeforeAt, BeforeID).
	BeforeAt time.Time
	BeforeID int64
	Limit    int
}

// ListSyncs returns one page of sync records, newest first, without their
// payloads. It fetches one row more than asked so the caller knows whether a
// next page exists; it never counts.
func (q q) ListSyncs(ctx context.Context, f SyncFilter) (syncs []Sync, more bool, err error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Problems {
		// Spelled exactly as the partial indexes' predicate, so the planner uses them.
		where = append(where, "status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL")
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.ErrorClass != "" {
		where = append(where, "error_class = "+arg(f.ErrorClass))
	}
	if f.Family != "" {
		where = append(where, "family = "+arg(f.Family))
	}
	if f.Trigger != "" {
		where = append(where, "trigger = "+arg(f.Trigger))
	}
	if f.SourceConnectionID != 0 {
		where = append(where, "source_connection_id = "+arg(f.SourceConnectionID))
	}
	if f.TargetConnectionID != 0 {
		where = append(where, "target_connection_id = "+arg(f.TargetConnectionID))
	}
	if keys := SearchKeys(f.Search); len(keys) > 0 {
		where = append(where, "search_keys @> "+arg(pq.Array(keys))+"::text[]")
	}
	if !f.From.IsZero() {
		where = append(where, "created_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "created_at < "+arg(f.To))
	}
	if f.BeforeID != 0 {
		where = append(where, fmt.Sprintf("(created_at, id) < (%s, %s)", arg(f.BeforeAt), arg(f.BeforeID)))
	}
	limit := pageLimit(f.Limit)
	query := `SELECT ` + syncListColumns + ` FROM syncs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT " + arg(limit+1)
	if err := sqlxSelect(ctx, q, &syncs, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list syncs: %w", err)
	}
	if len(syncs) > limit {
		return syncs[:limit], true, nil
	}
	return syncs, false, nil
}

// SyncAttempt is one attempt of a sync.
type SyncAttempt struct {
	SyncID     int64             `db:"sync_id"`
	Attempt    int               `db:"attempt"`
	StartedAt  time.Time         `db:"started_at"`
	FinishedAt *time.Time        `db:"finished_at"`
	Status     vocab.Status      `db:"status"`
	ErrorClass *vocab.ErrorClass `db:"error_class"`
	Message    string            `db:"message"`
	Response   []byte            `db:"response"`
}

// Duration is how long the attempt took (0 while it runs).
func (a SyncAttempt) Duration() time.Duration {
	if a.FinishedAt == nil {
		return 0
	}
	return a.FinishedAt.Sub(a.StartedAt)
}

// SyncAttempts returns the attempts of a sync, first first.
func (q q) SyncAttempts(ctx context.Context, syncID int64) ([]SyncAttempt, error) {
	var out []SyncAttempt
	if err := sqlxSelect(ctx, q, &out, `SELECT sync_id, attempt, started_at, finished_at, status, error_class, message, response
FROM sync_attempts WHERE sync_id = $1 ORDER BY attempt`, syncID); err != nil {
		return nil, fmt.Errorf("store: attempts of sync %d: %w", syncID, err)
	}
	return out, nil
}

// ErrSyncDone is returned by BeginSyncAttempt for a sync that already ended
// (a job delivered twice, or a sync resolved by hand meanwhile).
var ErrSyncDone = errors.New("store: the sync has already ended")

// BeginSyncAttempt marks a sync running, counts the attempt and records its
// start, in one statement, and returns the sync with its payload.
func (q q) BeginSyncAttempt(ctx context.Context, id int64) (Sync, error) {
	var s Sync
	err := sqlxGet(ctx, q, &s, `WITH s AS (
  UPDATE syncs SET status = 'running', attempts = attempts + 1, next_attempt_at = NULL, updated_at = now()
  WHERE id = $1 AND status IN ('pending', 'retrying', 'running') AND resolved_at IS NULL
  RETURNING `+syncColumns+`),
a AS (INSERT INTO sync_attempts (sync_id, attempt) SELECT id, attempts FROM s
      ON CONFLICT (sync_id, attempt) DO UPDATE SET started_at = now(), status = 'running')
SELECT * FROM s`, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Sync{}, ErrSyncDone
		}
		return Sync{}, fmt.Errorf("store: begin sync %d: %w", id, err)
	}
	return s, nil
}

// SyncOutcome is how an attempt ended.
type SyncOutcome struct {
	ID      int64
	Attempt int
	// Status is the sync's new status: succeeded, failed, rejected, skipped,
	// or retrying (with NextAttemptAt).
	Status        vocab.Status
	ErrorClass    vocab.ErrorClass
	Message       string
	Request       any // nil keeps the request already stored
	Response      any
	TargetRef     string
	NextAttemptAt time.Time
}

// FinishSyncAttempt records the outcome on the sync and on its attempt.
func (q q) FinishSyncAttempt(ctx context.Context, o SyncOutcome) error {
	request, err := JSON(o.Request)
	if err != nil {
		return err
	}
	response, err := JSON(o.Response)
	if err != nil {
		return err
	}
	attemptStatus := o.Status
	if attemptStatus == vocab.SyncRetrying {
		attemptStatus = vocab.SyncFailed
	}
	_, err = q.ext.ExecContext(ctx, `WITH s AS (
  UPDATE syncs SET status = $3, error_class = $4, message = $5, request = COALESCE($6::jsonb, request),
    response = COALESCE($7::jsonb, response), target_ref = CASE WHEN $8 = '' THEN target_ref ELSE $8 END,
    next_attempt_at = $9, finished_at = CASE WHEN $3 IN ('retrying', 'pending', 'running') THEN NULL ELSE now() END,
    updated_at = now()
  WHERE id = $1 RETURNING id)
UPDATE sync_attempts SET finished_at = now(), status = $10, error_class = $4, message = $5, response = $7::jsonb
WHERE sync_id = $1 AND attempt = $2`,
		o.ID, o.Attempt, o.Status, nullString(string(o.ErrorClass)), o.Message, request, response, o.TargetRef, nullTime(o.NextAttemptAt), attemptStatus)
	if err != nil {
		return fmt.Errorf("store: finish sync %d: %w", o.ID, err)
	}
	return nil
}

// ResolveSync marks a problem sync resolved (replayed, or dismissed by a person).
func (q q) ResolveSync(ctx context.Context, id int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE syncs SET resolved_at = now(), updated_at = now() WHERE id = $1 AND resolved_at IS NULL`, id); err != nil {
		return fmt.Errorf("store: resolve sync %d: %w", id, err)
	}
	return nil
}

// StopRetrying ends a retrying sync's wait: it becomes failed (with the
// reason appended) and its pending job finds it ended.
func (q q) StopRetrying(ctx context.Context, id int64, why string) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE syncs SET status = 'failed', next_attempt_at = NULL, finished_at = now(),
  message = message || ' ' || $2, updated_at = now() WHERE id = $1 AND status = 'retrying'`, id, why); err != nil {
		return fmt.Errorf("store: stop retrying sync %d: %w", id, err)
	}
	return nil
}

// ClaimWebhookEvents locks up to limit received webhook events, oldest first,
// skipping those another replica holds. Call it on a Tx, and mark every
// claimed event in the same transaction: a crash rolls the claim back.
func (q q) ClaimWebhookEvents(ctx context.Context, limit int) ([]WebhookEvent, error) {
	var out []WebhookEvent
	if err := sqlxSelect(ctx, q, &out, `SELECT `+webhookEventListColumns+`, payload FROM webhook_events
WHERE status = 'received' ORDER BY received_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit); err != nil {
		return nil, fmt.Errorf("store: claim webhook events: %w", err)
	}
	return out, nil
}

// WebhookOutcome is what became of a claimed webhook event.
type WebhookOutcome struct {
	ID     int64
	Status string // processed, ignored or failed
	Error  string // why it was ignored or failed, in plain words
}

// MarkWebhookEvents sets the status of claimed events in one statement.
func (q q) MarkWebhookEvents(ctx context.Context, outs []WebhookOutcome) error {
	if len(outs) == 0 {
		return nil
	}
	ids, statuses, errs := make([]int64, len(outs)), make([]string, len(outs)), make([]string, len(outs))
	for i, o := range outs {
		ids[i], statuses[i], errs[i] = o.ID, o.Status, o.Error
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE webhook_events e SET status = t.status, error = t.error, processed_at = now()
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(id, status, error) WHERE e.id = t.id`,
		pq.Array(ids), pq.Array(statuses), pq.Array(errs)); err != nil {
		return fmt.Errorf("store: mark webhook events: %w", err)
	}
	return nil
}

// Watermark is a version of one source entity.
type Watermark struct {
	ConnectionID int64
	EntityType   string
	ExternalID   string
	Version      time.Time
	// Digest summarises the content at Version (AdvanceWatermarksOrEqual).
	Digest string
}

// AdvanceWatermarks raises each entity's high-water mark to the given
// version when it is newer, and reports which inputs were accepted. An input
// whose version is not newer than the mark (a late or duplicate change) is
// not; of duplicates within the input, only the first is. Concurrent callers
// on one entity take turns on its row, so exactly one of them wins a version.
func (q q) AdvanceWatermarks(ctx context.Context, ws []Watermark) ([]bool, error) {
	return q.advanceWatermarks(ctx, ws, "< EXCLUDED.version")
}

// AdvanceWatermarksOrEqual is AdvanceWatermarks that also accepts a version
// equal to the mark when its digest differs: for sweeps of sources with
// coarse timestamps, where two writes in one second share a version.
func (q q) AdvanceWatermarksOrEqual(ctx context.Context, ws []Watermark) ([]bool, error) {
	return q.advanceWatermarks(ctx, ws, "< EXCLUDED.version OR (w.version = EXCLUDED.version AND w.digest <> EXCLUDED.digest)")
}

// advanceWatermarks raises marks where cond (an SQL condition following
// "w.version ") holds; cond is one of the two constants above, never input.
func (q q) advanceWatermarks(ctx context.Context, ws []Watermark, cond string) ([]bool, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	conns, types, exts, versions, digests := make([]int64, len(ws)), make([]string, len(ws)), make([]string, len(ws)), make([]time.Time, len(ws)), make([]string, len(ws))
	for i, w := range ws {
		conns[i], types[i], exts[i], versions[i], digests[i] = w.ConnectionID, w.EntityType, w.ExternalID, w.Version, w.Digest
	}
	var won []int64
	err := sqlxSelect(ctx, q, &won, `WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) WITH ORDINALITY AS t(conn, typ, ext, ver, digest, ord)),
best AS (
  SELECT DISTINCT ON (conn, typ, ext) conn, typ, ext, ver, digest, ord FROM input ORDER BY conn, typ, ext, ver DESC, ord),
up AS (
  INSERT INTO sync_watermarks AS w (connection_id, entity_type, external_id, version, digest)
  SELECT conn, typ, ext, ver, digest FROM best ORDER BY conn, typ, ext
  ON CONFLICT (connection_id, entity_type, external_id) DO UPDATE SET version = EXCLUDED.version, digest = EXCLUDED.digest, updated_at = now()
  WHERE w.version `+cond+`
  RETURNING connection_id, entity_type, external_id)
SELECT best.ord FROM best JOIN up ON (up.connection_id, up.entity_type, up.external_id) = (best.conn, best.typ, best.ext)`,
		pq.Array(conns), pq.Array(types), pq.Array(exts), pq.Array(versions), pq.Array(digests))
	if err != nil {
		return nil, fmt.Errorf("store: advance watermarks: %w", err)
	}
	out := make([]bool, len(ws))
	for _, ord := range won {
		out[ord-1] = true
	}
	return out, nil
}

// Watermarks returns the high-water marks of entities of one type of a
// connection, by external id (entities never seen are absent).
func (q q) Watermarks(ctx context.Context, connectionID int64, entityType string, externalIDs []string) (map[string]time.Time, error) {
	var rows []struct {
		ExternalID string    `db:"external_id"`
		Version    time.Time `db:"version"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT external_id, version FROM sync_watermarks
WHERE connection_id = $1 AND entity_type = $2 AND external_id = ANY($3)`, connectionID, entityType, pq.Array(externalIDs)); err != nil {
		return nil, fmt.Errorf("store: watermarks: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.ExternalID] = r.Version
	}
	return out, nil
}

// AcquireLease takes the lease on key for a sync until ttl passes, unless
// another sync holds it unexpired. A sync that holds it already renews it.
func (q q) AcquireLease(ctx context.Context, key string, syncID int64, ttl time.Duration) (bool, error) {
	var holder int64
	err := sqlxGet(ctx, q, &holder, `INSERT INTO sync_leases AS l (key, sync_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
ON CONFLICT (key) DO UPDATE SET sync_id = EXCLUDED.sync_id, expires_at = EXCLUDED.expires_at
WHERE l.expires_at < now() OR l.sync_id = EXCLUDED.sync_id
RETURNING sync_id`, key, syncID, ttl.Milliseconds())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("store: acquire lease %q: %w", key, err)
}

// ReleaseLease gives the lease up, if the sync still holds it.
func (q q) ReleaseLease(ctx context.Context, key string, syncID int64) error {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM sync_leases WHERE key = $1 AND sync_id = $2`, key, syncID); err != nil {
		return fmt.Errorf("store: release lease %q: %w", key, err)
	}
	return nil
}

// SyncCursor is where a sweep of one connection got to.
type SyncCursor struct {
	ConnectionID int64      `db:"connection_id"`
	Name         string     `db:"name"`
	PositionAt   *time.Time `db:"position_at"`
	PositionID   int64      `db:"position_id"`
	LastRunAt    *time.Time `db:"last_run_at"`
}

// ClaimSweep starts a sweep run when the last one began at least every ago,
// and returns the cursor; due is false (and nothing changes) otherwise. Two
// replicas asking at once: one gets it.
func (q q) ClaimSweep(ctx context.Context, connectionID int64, name string, every time.Duration) (c SyncCursor, due bool, err error) {
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO sync_cursors (connection_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		connectionID, name); err != nil {
		return SyncCursor{}, false, fmt.Errorf("store: sweep cursor: %w", err)
	}
	err = sqlxGet(ctx, q, &c, `UPDATE sync_cursors SET last_run_at = now()
WHERE connection_id = $1 AND name = $2 AND (last_run_at IS NULL OR last_run_at <= now() - $3 * interval '1 millisecond')
RETURNING connection_id, name, position_at, position_id, last_run_at`, connectionID, name, every.Milliseconds())
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return SyncCursor{}, false, nil
		}
		return SyncCursor{}, false, fmt.Errorf("store: claim sweep: %w", err)
	}
	return c, true, nil
}

// SaveSyncCursor moves a sweep's position on.
func (q q) SaveSyncCursor(ctx context.Context, c SyncCursor) error {
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO sync_cursors (connection_id, name, position_at, position_id)
VALUES ($1, $2, $3, $4)
ON CONFLICT (connection_id, name) DO UPDATE SET position_at = EXCLUDED.position_at, position_id = EXCLUDED.position_id`,
		c.ConnectionID, c.Name, c.PositionAt, c.PositionID); err != nil {
		return fmt.Errorf("store: save sweep cursor: %w", err)
	}
	return nil
}

// InventoryLevel is a stock level Crossdock set in a target system.
type InventoryLevel struct {
	ItemID     string `db:"item_id"`
	LocationID string `db:"location_id"`
	Quantity   int64  `db:"quantity"`
}

// LastInventoryLevels returns the levels Crossdock last set at one location
// of a connection, by item id.
func (q q) LastInventoryLevels(ctx context.Context, connectionID int64, locationID string, itemIDs []string) (map[string]int64, error) {
	var rows []InventoryLevel
	if err := sqlxSelect(ctx, q, &rows, `SELECT item_id, location_id, quantity FROM sync_inventory_levels
WHERE connection_id = $1 AND location_id = $2 AND item_id = ANY($3)`, connectionID, locationID, pq.Array(itemIDs)); err != nil {
		return nil, fmt.Errorf("store: last inventory levels: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.ItemID] = r.Quantity
	}
	return out, nil
}

// SaveInventoryLevels records the levels a sync set.
func (q q) SaveInventoryLevels(ctx context.Context, connectionID, syncID int64, levels []InventoryLevel) error {
	if len(levels) == 0 {
		return nil
	}
	items, locs, qtys := make([]string, len(levels)), make([]string, len(levels)), make([]int64, len(levels))
	for i, l := range levels {
		items[i], locs[i], qtys[i] = l.ItemID, l.LocationID, l.Quantity
	}
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO sync_inventory_levels (connection_id, item_id, location_id, quantity, sync_id)
SELECT $1, item, loc, qty, $2 FROM unnest($3::text[], $4::text[], $5::bigint[]) AS t(item, loc, qty)
ON CONFLICT (connection_id, item_id, location_id) DO UPDATE SET quantity = EXCLUDED.quantity, sync_id = EXCLUDED.sync_id, updated_at = now()`,
		connectionID, syncID, pq.Array(items), pq.Array(locs), pq.Array(qtys)); err != nil {
		return fmt.Errorf("store: save inventory levels: %w", err)
	}
	return nil
}
