package store

import (
	"context"
	"fmt"
	"time"

	"crossdock/vocab"
)

// QueueStat is the work of one family waiting in the queue right now.
type QueueStat struct {
	Family   string `db:"family"`
	Pending  int    `db:"pending"`
	Retrying int    `db:"retrying"`
	Running  int    `db:"running"`
	// OldestWaitingAt is the creation of the oldest pending or retrying sync:
	// the queue lag is its age. Nil when nothing waits.
	OldestWaitingAt *time.Time `db:"oldest_waiting"`
}

// QueueStats counts the syncs waiting or running, by family. Waiting syncs
// are few and sit in the partial index of 00008, so this stays cheap however
// long the history grows.
func (q q) QueueStats(ctx context.Context) ([]QueueStat, error) {
	var out []QueueStat
	if err := sqlxSelect(ctx, q, &out, `SELECT family,
  count(*) FILTER (WHERE status = 'pending') AS pending,
  count(*) FILTER (WHERE status = 'retrying') AS retrying,
  count(*) FILTER (WHERE status = 'running') AS running,
  min(created_at) FILTER (WHERE status IN ('pending', 'retrying')) AS oldest_waiting
FROM syncs WHERE status IN ('pending', 'retrying', 'running')
GROUP BY family ORDER BY family`); err != nil {
		return nil, fmt.Errorf("store: queue stats: %w", err)
	}
	return out, nil
}

// ProblemCount counts the unresolved problem syncs of one family, status and
// error class.
type ProblemCount struct {
	Family string           `db:"family"`
	Status vocab.Status     `db:"status"`
	Class  vocab.ErrorClass `db:"error_class"`
	N      int              `db:"n"`
}

// ProblemCounts counts the unresolved failed, retrying and rejected syncs
// (the partial index syncs_problems_class_idx holds exactly them).
func (q q) ProblemCounts(ctx context.Context) ([]ProblemCount, error) {
	var out []ProblemCount
	if err := sqlxSelect(ctx, q, &out, `SELECT family, status, COALESCE(error_class, '') AS error_class, count(*) AS n
FROM syncs WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`); err != nil {
		return nil, fmt.Errorf("store: problem counts: %w", err)
	}
	return out, nil
}

// IntakeBacklog is the webhook deliveries accepted but not yet turned into syncs.
type IntakeBacklog struct {
	Waiting          int        `db:"waiting"`
	OldestReceivedAt *time.Time `db:"oldest"`
}

// WebhookIntakeBacklog reads the received, unprocessed webhook events.
func (q q) WebhookIntakeBacklog(ctx context.Context) (IntakeBacklog, error) {
	var b IntakeBacklog
	if err := sqlxGet(ctx, q, &b, `SELECT count(*) AS waiting, min(received_at) AS oldest
FROM webhook_events WHERE status = 'received'`); err != nil {
		return IntakeBacklog{}, fmt.Errorf("store: webhook intake backlog: %w", err)
	}
	return b, nil
}
