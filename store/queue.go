package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// QueuedJob is a job waiting in the engine's queue (River's table).
type QueuedJob struct {
	ID   int64           `db:"id"`
	Args json.RawMessage `db:"args"`
}

// QueuedJobs returns up to limit jobs of a kind waiting to run (available,
// scheduled or retryable), after the id after, in id order. It serves an
// engine that works its queue in the caller (tests, the demo's walk).
func (q q) QueuedJobs(ctx context.Context, kind string, after int64, limit int) ([]QueuedJob, error) {
	var jobs []QueuedJob
	if err := sqlxSelect(ctx, q, &jobs, `SELECT id, args FROM river_job
WHERE kind = $1 AND state IN ('available', 'scheduled', 'retryable') AND id > $2 ORDER BY id LIMIT $3`, kind, after, limit); err != nil {
		return nil, fmt.Errorf("store: queued %s jobs: %w", kind, err)
	}
	return jobs, nil
}

// CompleteJob records a job worked in the caller as completed, as River
// would.
func (q q) CompleteJob(ctx context.Context, id int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now(), attempt = attempt + 1
WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: complete job %d: %w", id, err)
	}
	return nil
}
