package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Taking over the work of a replica that stopped. Every replica writes a beat
// every few seconds (replicas.beat_at). A replica whose beat is older than the
// engine's dead-after has stopped (killed, crashed, cut off from the
// database): the River jobs it was running are handed back to the queue at
// once, for any replica to take, whatever their timeout. A live replica's jobs
// are never touched, however long they run.

// BeatReplica records that a replica is alive.
func (q q) BeatReplica(ctx context.Context, id string) error {
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO replicas (id) VALUES ($1)
ON CONFLICT (id) DO UPDATE SET beat_at = now()`, id); err != nil {
		return fmt.Errorf("store: replica beat: %w", err)
	}
	return nil
}

// ForgetLiveReplica removes a replica that stops cleanly (its jobs have
// ended or were handed back by River itself).
func (q q) ForgetLiveReplica(ctx context.Context, id string) error {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM replicas WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: forget replica: %w", err)
	}
	return nil
}

// TakenOverKey is the job metadata key counting how often a job was taken
// over from a replica that stopped.
const TakenOverKey = "crossdock_taken_over"

// TakeOverDeadReplicas makes the running jobs of replicas whose last beat is
// older than deadAfter available again, without spending an attempt on them
// (a replica that died did not fail the job), and says so in the job's
// errors and metadata; the leases of its syncs are released. Concurrent
// callers skip each other's rows. It returns
// how many jobs it handed back. Replicas silent for a day are forgotten.
func (q q) TakeOverDeadReplicas(ctx context.Context, deadAfter time.Duration) (int64, error) {
	var n int64
	err := sqlxGet(ctx, q, &n, `WITH dead AS (
  SELECT id FROM replicas WHERE beat_at < now() - $1 * interval '1 second'
), held AS (
  SELECT j.id, j.attempted_by[cardinality(j.attempted_by)] AS replica
  FROM river_job j
  WHERE j.state = 'running' AND j.attempted_by[cardinality(j.attempted_by)] IN (SELECT id FROM dead)
  FOR UPDATE OF j SKIP LOCKED
), moved AS (
  UPDATE river_job j SET state = 'available', scheduled_at = now(),
    max_attempts = greatest(j.max_attempts, j.attempt + 1),
    errors = array_append(j.errors, jsonb_build_object('at', now(), 'attempt', j.attempt,
      'error', 'Taken over: replica ' || held.replica || ' stopped while running it', 'trace', '')),
    metadata = j.metadata || jsonb_build_object('`+TakenOverKey+`',
      coalesce(CASE WHEN jsonb_typeof(j.metadata -> '`+TakenOverKey+`') = 'number' THEN (j.metadata ->> '`+TakenOverKey+`')::int END, 0) + 1)
  FROM held WHERE j.id = held.id
  RETURNING j.id, j.kind, j.args
), freed AS (
  -- The leases its syncs held (their target record, their customer) go
  -- with them: a lease waits out its expiry only for a replica still alive.
  DELETE FROM sync_leases WHERE sync_id IN (SELECT (args ->> 'sync_id')::bigint FROM moved WHERE kind = 'crossdock_sync')
), forgotten AS (
  DELETE FROM replicas WHERE beat_at < now() - interval '1 day'
)
SELECT count(*) FROM moved`, deadAfter.Seconds())
	if err != nil {
		return 0, fmt.Errorf("store: take over stopped replicas: %w", err)
	}
	return n, nil
}

// ---- reconciliation runs ----

// ResumeReconRun claims a run that was running on a replica that stopped:
// it counts the restart, and keeps the snapshots pulled in full unless
// PostgreSQL itself restarted since (snapshot tables are unlogged: a
// crash empties them). A run not running answers ErrSyncDone.
func (q q) ResumeReconRun(ctx context.Context, id int64) (ReconRun, error) {
	var r ReconRun
	err := sqlxGet(ctx, q, &r, `UPDATE recon_runs SET resumes = resumes + 1, resumed_at = now(), beat_at = now(),
  pulled = CASE WHEN pg_postmaster_start_time() > coalesce(resumed_at, started_at) THEN '{}' ELSE pulled END
WHERE id = $1 AND status = 'running'
RETURNING `+reconRunColumns, id)
	if errors.Is(err, ErrNotFound) {
		return r, ErrSyncDone
	}
	if err != nil {
		return r, fmt.Errorf("store: resume run %d: %w", id, err)
	}
	return r, nil
}

// BeatReconRun records that a replica still works on a run.
func (q q) BeatReconRun(ctx context.Context, id int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE recon_runs SET beat_at = now() WHERE id = $1 AND status = 'running'`, id); err != nil {
		return fmt.Errorf("store: run beat: %w", err)
	}
	return nil
}

// ClearSnapshot drops what a run had pulled of one connection, before it is
// pulled again (a pull cut short leaves part of it).
func (s *Store) ClearSnapshot(ctx context.Context, runID, connID int64) error {
	for _, t := range snapshotTables {
		if _, err := s.DB.ExecContext(ctx, `DELETE FROM `+t+` WHERE run_id = $1 AND connection_id = $2`, runID, connID); err != nil {
			return fmt.Errorf("store: clear snapshot: %w", err)
		}
	}
	return nil
}

// MarkSnapshotPulled records that a run has one connection's snapshot in full.
func (q q) MarkSnapshotPulled(ctx context.Context, runID, connID int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE recon_runs SET pulled = array_append(pulled, $2::bigint), beat_at = now()
WHERE id = $1 AND NOT ($2::bigint = ANY (pulled))`, runID, connID); err != nil {
		return fmt.Errorf("store: snapshot pulled: %w", err)
	}
	return nil
}

// ---- bulk replays ----

// ResumeReplayBatch counts a restart of an open batch taken over from a
// replica that stopped.
func (q q) ResumeReplayBatch(ctx context.Context, id int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE replay_batches SET resumes = resumes + 1, resumed_at = now(), beat_at = now()
WHERE id = $1 AND status IN ('queued', 'running')`, id); err != nil {
		return fmt.Errorf("store: resume replay batch %d: %w", id, err)
	}
	return nil
}

// BeatReplayBatch records that a replica still works on a batch.
func (q q) BeatReplayBatch(ctx context.Context, id int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE replay_batches SET beat_at = now() WHERE id = $1 AND status IN ('queued', 'running')`, id); err != nil {
		return fmt.Errorf("store: replay batch beat: %w", err)
	}
	return nil
}

// Resumed says how often a piece of long work was taken over after a
// replica stopped, and when last.
type Resumed struct {
	Times int        `db:"resumes"`
	At    *time.Time `db:"resumed_at"`
}

// ReplayBatchResumed reads how often a batch resumed after a restart.
func (q q) ReplayBatchResumed(ctx context.Context, id int64) (Resumed, error) {
	var r Resumed
	if err := sqlxGet(ctx, q, &r, `SELECT resumes, resumed_at FROM replay_batches WHERE id = $1`, id); err != nil {
		return r, fmt.Errorf("store: replay batch %d resumed: %w", id, err)
	}
	return r, nil
}

// StuckWork is a reconciliation or bulk replay that no replica has worked on
// for a while.
type StuckWork struct {
	What  string    `db:"what"` // "reconciliation" or "replay"
	ID    int64     `db:"id"`
	Label string    `db:"label"` // the family, or the batch's description
	Since time.Time `db:"since"` // the last sign of work
}

// StuckLongWork lists the open runs and batches whose last sign of work (a
// beat, or their creation while they wait) is older than after.
func (q q) StuckLongWork(ctx context.Context, after time.Duration) ([]StuckWork, error) {
	var out []StuckWork
	err := sqlxSelect(ctx, q, &out, `SELECT 'reconciliation' AS what, id, family AS label, coalesce(beat_at, started_at, created_at) AS since
FROM recon_runs WHERE status IN ('queued', 'running') AND coalesce(beat_at, started_at, created_at) < now() - $1 * interval '1 second'
UNION ALL
SELECT 'replay', id, description, coalesce(beat_at, created_at)
FROM replay_batches WHERE status IN ('queued', 'running') AND coalesce(beat_at, created_at) < now() - $1 * interval '1 second'
ORDER BY since`, after.Seconds())
	if err != nil {
		return nil, fmt.Errorf("store: stuck work: %w", err)
	}
	return out, nil
}
