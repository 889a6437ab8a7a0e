package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// Replay batch states.
const (
	BatchQueued    = "queued"
	BatchRunning   = "running" // its failures are queued; their replays are still being made
	BatchDone      = "done"    // every replay is made; some may still run
	BatchCancelled = "cancelled"
	BatchFailed    = "failed"
)

// ReplayBatch is a bulk replay: a selection, or everything matching a filter.
type ReplayBatch struct {
	ID           int64         `db:"id"`
	CreatedAt    time.Time     `db:"created_at"`
	CreatedBy    *int64        `db:"created_by"`
	CreatedLabel string        `db:"created_label"`
	FilterJSON   []byte        `db:"filter"`
	SyncIDs      pq.Int64Array `db:"sync_ids"`
	Description  string        `db:"description"`
	Status       string        `db:"status"`
	// Taken is how many failures the batch queued (nil until its job has
	// listed them); Enqueued how many of them it replayed so far, Refused
	// how many it could not.
	Taken          *int            `db:"taken"`
	Enqueued       int             `db:"enqueued"`
	Refused        int             `db:"refused"`
	RefusalsJSON   json.RawMessage `db:"refusals"`
	MappingVersion *int64          `db:"mapping_version"`
	RulesVersion   *int64          `db:"rules_version"`
	ChangeSetID    *int64          `db:"change_set_id"`
	EnqueuedAt     *time.Time      `db:"enqueued_at"`
	CancelledAt    *time.Time      `db:"cancelled_at"`
	CancelledBy    *string         `db:"cancelled_by"`
}

// Filter is the batch's filter (zero for a selection).
func (b ReplayBatch) Filter() FailedFilter {
	var f FailedFilter
	_ = json.Unmarshal(b.FilterJSON, &f) // written by CreateReplayBatch
	return f
}

// Refusal is a failure a batch could not replay, and why.
type Refusal struct {
	SyncID int64  `json:"sync_id"`
	Reason string `json:"reason"`
}

// Refusals are the first refusals of the batch (at most MaxRefusals).
func (b ReplayBatch) Refusals() []Refusal {
	var out []Refusal
	_ = json.Unmarshal(b.RefusalsJSON, &out)
	return out
}

// MaxRefusals bounds the refusals a batch keeps with their reasons.
const MaxRefusals = 200

// Open reports whether the batch may still make replays.
func (b ReplayBatch) Open() bool { return b.Status == BatchQueued || b.Status == BatchRunning }

// Left is how many of the failures it took the batch has not come to yet.
func (b ReplayBatch) Left() int {
	if b.Taken == nil || !b.Open() {
		return 0
	}
	return max(*b.Taken-b.Enqueued-b.Refused, 0)
}

const replayBatchColumns = `id, created_at, created_by, created_label, filter, sync_ids, description, status, taken,
enqueued, refused, refusals, mapping_version, rules_version, change_set_id, enqueued_at, cancelled_at, cancelled_by`

// NewReplayBatch is a bulk replay to start.
type NewReplayBatch struct {
	Filter      FailedFilter // used when IDs is empty
	IDs         []int64
	Description string
	ChangeSetID int64
}

// CreateReplayBatch records a bulk replay, audited; the caller queues its
// job in the same transaction.
func (q q) CreateReplayBatch(ctx context.Context, a Actor, in NewReplayBatch) (ReplayBatch, error) {
	fj, err := json.Marshal(in.Filter)
	if err != nil {
		return ReplayBatch{}, fmt.Errorf("store: replay batch filter: %w", err)
	}
	var ids any
	if len(in.IDs) > 0 {
		ids = pq.Array(in.IDs)
	}
	var b ReplayBatch
	if err := sqlxGet(ctx, q, &b, `INSERT INTO replay_batches (created_by, created_label, filter, sync_ids, description, change_set_id)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+replayBatchColumns,
		nullInt(a.UserID), a.Label, fj, ids, in.Description, nullInt(in.ChangeSetID)); err != nil {
		return ReplayBatch{}, fmt.Errorf("store: create replay batch: %w", err)
	}
	if err := q.Audit(ctx, a, Change{Action: "sync.replay_batch", ObjectType: "replay_batch", ObjectID: strconv.FormatInt(b.ID, 10),
		Summary: "Started trying again in bulk: " + in.Description,
		After:   map[string]any{"filter": in.Filter, "ids": in.IDs, "change_set_id": in.ChangeSetID}}); err != nil {
		return ReplayBatch{}, err
	}
	return b, nil
}

// ReplayBatchByID returns one batch, or ErrNotFound.
func (q q) ReplayBatchByID(ctx context.Context, id int64) (ReplayBatch, error) {
	var b ReplayBatch
	if err := sqlxGet(ctx, q, &b, `SELECT `+replayBatchColumns+` FROM replay_batches WHERE id = $1`, id); err != nil {
		return ReplayBatch{}, fmt.Errorf("store: replay batch %d: %w", id, err)
	}
	return b, nil
}

// LockReplayBatch reads a batch and locks it for the caller's transaction:
// the job and a cancel take turns.
func (q q) LockReplayBatch(ctx context.Context, id int64) (ReplayBatch, error) {
	var b ReplayBatch
	if err := sqlxGet(ctx, q, &b, `SELECT `+replayBatchColumns+` FROM replay_batches WHERE id = $1 FOR UPDATE`, id); err != nil {
		return ReplayBatch{}, fmt.Errorf("store: lock replay batch %d: %w", id, err)
	}
	return b, nil
}

// RecentReplayBatches lists the latest batches, newest first.
func (q q) RecentReplayBatches(ctx context.Context, limit int) ([]ReplayBatch, error) {
	var out []ReplayBatch
	if err := sqlxSelect(ctx, q, &out, `SELECT `+replayBatchColumns+` FROM replay_batches ORDER BY created_at DESC, id DESC LIMIT $1`,
		pageLimit(limit)); err != nil {
		return nil, fmt.Errorf("store: replay batches: %w", err)
	}
	return out, nil
}

// TakeReplayFailures queues a batch's failures: the ticked ones, or those
// matching its filter that happened before it started (its own replays
// failing again are not taken), in one statement. It returns how many.
func (q q) TakeReplayFailures(ctx context.Context, b ReplayBatch) (int, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	var query string
	if len(b.SyncIDs) > 0 {
		query = `INSERT INTO replay_batch_items (batch_id, sync_id) SELECT DISTINCT ` + arg(b.ID) + `::bigint, unnest(` +
			arg(pq.Array(b.SyncIDs)) + `::bigint[])`
	} else {
		f := b.Filter()
		id := arg(b.ID)
		w := append(f.where(arg), "created_at <= (SELECT created_at FROM replay_batches WHERE id = "+id+")")
		query = `INSERT INTO replay_batch_items (batch_id, sync_id) SELECT ` + id + `::bigint, id FROM syncs WHERE ` +
			strings.Join(w, " AND ")
	}
	res, err := q.ext.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: queue the failures of replay batch %d: %w", b.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE replay_batches SET taken = $2, status = 'running' WHERE id = $1`, b.ID, n); err != nil {
		return 0, fmt.Errorf("store: queue the failures of replay batch %d: %w", b.ID, err)
	}
	return int(n), nil
}

// NextReplayFailures takes up to n failures off a batch's queue, newest
// first, for the caller's transaction to replay.
func (q q) NextReplayFailures(ctx context.Context, batchID int64, n int) ([]int64, error) {
	var ids []int64
	// The range form reads the primary key backwards, whatever the planner
	// believes of a queue filled a moment ago.
	if err := sqlxSelect(ctx, q, &ids, `DELETE FROM replay_batch_items WHERE batch_id = $1 AND sync_id >= (
  SELECT min(sync_id) FROM (SELECT sync_id FROM replay_batch_items WHERE batch_id = $1 ORDER BY sync_id DESC LIMIT $2) n)
RETURNING sync_id`, batchID, n); err != nil {
		return nil, fmt.Errorf("store: next failures of replay batch %d: %w", batchID, err)
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
	return ids, nil
}

// BatchStep is the progress one chunk of a batch made.
type BatchStep struct {
	ID                int64
	Enqueued, Refused int
	Refusals          []Refusal
	Done              bool
	MappingVersion    int64
	RulesVersion      int64
}

// AdvanceReplayBatch records a chunk's progress (on the chunk's transaction).
func (q q) AdvanceReplayBatch(ctx context.Context, st BatchStep) error {
	refusals, err := json.Marshal(st.Refusals)
	if err != nil {
		return err
	}
	if st.Refusals == nil {
		refusals = []byte("[]")
	}
	status := BatchRunning
	if st.Done {
		status = BatchDone
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE replay_batches SET status = $2,
  enqueued = enqueued + $3, refused = refused + $4,
  refusals = CASE WHEN jsonb_array_length(refusals) >= $8 THEN refusals ELSE refusals || $5::jsonb END,
  mapping_version = $6, rules_version = $7, enqueued_at = CASE WHEN $2 = 'done' THEN now() END
WHERE id = $1`, st.ID, status, st.Enqueued, st.Refused, refusals,
		st.MappingVersion, st.RulesVersion, MaxRefusals); err != nil {
		return fmt.Errorf("store: advance replay batch %d: %w", st.ID, err)
	}
	return nil
}

// FailReplayBatch ends a batch whose job gave up: the failures it had not
// come to leave its queue, open as they were.
func (q q) FailReplayBatch(ctx context.Context, id int64, why string) error {
	if _, err := q.ext.ExecContext(ctx, `WITH b AS (
  UPDATE replay_batches SET status = 'failed',
    refusals = refusals || jsonb_build_array(jsonb_build_object('sync_id', 0, 'reason', $2::text))
  WHERE id = $1 AND status IN ('queued', 'running') RETURNING id)
DELETE FROM replay_batch_items WHERE batch_id IN (SELECT id FROM b)`, id, why); err != nil {
		return fmt.Errorf("store: fail replay batch %d: %w", id, err)
	}
	return nil
}

// BatchProgress counts a batch's replays by status.
type BatchProgress struct {
	Waiting, Running, Succeeded, FailedAgain, Skipped int
}

// Finished is how many replays have ended.
func (p BatchProgress) Finished() int { return p.Succeeded + p.FailedAgain + p.Skipped }

// ReplayBatchProgress counts the batch's replays by status (from the index
// on replay_batch_id, status).
func (q q) ReplayBatchProgress(ctx context.Context, id int64) (BatchProgress, error) {
	var rows []struct {
		Status vocab.Status `db:"status"`
		N      int          `db:"n"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT status, count(*) AS n FROM syncs WHERE replay_batch_id = $1 GROUP BY status`, id); err != nil {
		return BatchProgress{}, fmt.Errorf("store: replay batch progress: %w", err)
	}
	var p BatchProgress
	for _, r := range rows {
		switch r.Status {
		case vocab.SyncPending, vocab.SyncRetrying:
			p.Waiting += r.N
		case vocab.SyncRunning:
			p.Running += r.N
		case vocab.SyncSucceeded:
			p.Succeeded += r.N
		case vocab.SyncFailed, vocab.SyncRejected:
			p.FailedAgain += r.N
		case vocab.SyncSkipped:
			p.Skipped += r.N
		}
	}
	return p, nil
}

// BatchReplaysFailedAgain lists the batch's replays that failed again.
func (q q) BatchReplaysFailedAgain(ctx context.Context, id int64, limit int) ([]Sync, error) {
	var out []Sync
	if err := sqlxSelect(ctx, q, &out, `SELECT `+syncListColumns+` FROM syncs
WHERE replay_batch_id = $1 AND status IN ('failed', 'rejected') ORDER BY id LIMIT $2`, id, pageLimit(limit)); err != nil {
		return nil, fmt.Errorf("store: failed replays of batch %d: %w", id, err)
	}
	return out, nil
}

// CancelReplayBatch stops a batch: the failures it has not come to yet leave
// its queue, its replays not started yet are skipped, and their originals
// become open failures again. Replays already running or ended stay as they
// are. It returns how many failures are left open by the cancel. Audited.
func (s *Store) CancelReplayBatch(ctx context.Context, a Actor, id int64) (ReplayBatch, int64, error) {
	var b ReplayBatch
	var reopened, dropped int64
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if b, err = tx.LockReplayBatch(ctx, id); err != nil {
			return err
		}
		if b.Status == BatchCancelled || b.Status == BatchFailed {
			return nil
		}
		res, err := tx.ext.ExecContext(ctx, `WITH c AS (
  UPDATE syncs SET status = 'skipped', message = 'Cancelled before it was sent.', finished_at = now(), updated_at = now()
  WHERE replay_batch_id = $1 AND status = 'pending' RETURNING replay_of)
UPDATE syncs o SET resolved_at = NULL, resolution = NULL, resolved_by = NULL, resolved_label = NULL, replayed_by = NULL,
  updated_at = now()
FROM c WHERE o.id = c.replay_of`, id)
		if err != nil {
			return fmt.Errorf("store: cancel replay batch %d: %w", id, err)
		}
		reopened, _ = res.RowsAffected()
		if res, err = tx.ext.ExecContext(ctx, `DELETE FROM replay_batch_items WHERE batch_id = $1`, id); err != nil {
			return fmt.Errorf("store: cancel replay batch %d: %w", id, err)
		}
		dropped, _ = res.RowsAffected()
		reopened += dropped
		if err := sqlxGet(ctx, tx.q, &b, `UPDATE replay_batches SET status = 'cancelled', cancelled_at = now(), cancelled_by = $2
WHERE id = $1 RETURNING `+replayBatchColumns, id, a.Label); err != nil {
			return fmt.Errorf("store: cancel replay batch %d: %w", id, err)
		}
		return tx.Audit(ctx, a, Change{Action: "sync.replay_batch_cancelled", ObjectType: "replay_batch", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Cancelled bulk replay #%d: %d failures not replayed yet stay open", id, reopened),
			After:   map[string]any{"reopened": reopened - dropped, "not_reached": dropped}})
	})
	return b, reopened, err
}
