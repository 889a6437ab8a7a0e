package engine

import (
	"context"
)

// OpenBreaker opens the circuit breaker of a connection on this replica, as
// BreakerThreshold system failures in a row would.
func OpenBreaker(e *Engine, id int64) {
	for range e.cfg.BreakerThreshold {
		e.limits.record(id, false, true)
	}
}

// CloseBreaker closes it, as a success would.
func CloseBreaker(e *Engine, id int64) { e.limits.record(id, true, false) }

// PublishStates writes the replica's breakers and budgets now.
func PublishStates(e *Engine, ctx context.Context) error { return e.publishStates(ctx) }

// ReplayBatchStep moves a bulk replay on by one transaction, as its job does.
func ReplayBatchStep(e *Engine, ctx context.Context, id int64) (bool, error) {
	return e.replayBatchStep(ctx, id)
}
