package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"crossdock/store"
)

// Round is what RunScheduledOnce did.
type Round struct {
	Events, Swept, Worked, Compared int
}

// RunScheduledOnce does, in the calling goroutine, one round of what a
// started engine does in the background: it takes in the stored webhooks,
// runs every scheduled check (sweep) now, works the syncs they queued, then
// what the packages above the core added (engine/recon runs the comparisons
// that are due or queued, engine/alert evaluates the alerts). It is
// for tests and the demo's browser walk, on an engine that was never
// started: never call it while Start's workers run.
func (e *Engine) RunScheduledOnce(ctx context.Context) (Round, error) {
	var r Round
	for {
		n, err := e.IntakeOnce(ctx)
		if err != nil {
			return r, fmt.Errorf("engine: intake: %w", err)
		}
		r.Events += n
		if n == 0 {
			break
		}
	}
	var errs []error
	for _, job := range []string{sweepJobStock, sweepJobContent} {
		n, err := e.runSweeps(ctx, job, store.TriggerSweep, true)
		r.Swept += n
		errs = append(errs, err)
	}
	n, err := e.workQueued(ctx)
	r.Worked += n
	errs = append(errs, err)

	// Then what packages above the core added (OnRound): comparisons, alerts.
	for _, fn := range e.rounds {
		if err := fn(ctx, &r); err != nil {
			errs = append(errs, err)
		}
	}
	return r, errors.Join(errs...)
}

// workQueued works the bulk replays waiting in River's table (an approval's
// follow-up queues one), then the sync jobs waiting there, each once, as a
// worker would, and the jobs those queue in turn. A job that snoozes (a
// paused flow) or fails is left as River would keep it.
func (e *Engine) workQueued(ctx context.Context) (int, error) {
	worked, err := e.workQueuedBatches(ctx)
	if err != nil {
		return worked, err
	}
	var after int64
	for {
		jobs, err := e.st.QueuedJobs(ctx, SyncArgs{}.Kind(), after, 1000)
		if err != nil {
			return worked, err
		}
		if len(jobs) == 0 {
			return worked, nil
		}
		for _, j := range jobs {
			after = j.ID
			var a SyncArgs
			if err := json.Unmarshal(j.Args, &a); err != nil {
				return worked, fmt.Errorf("engine: job %d: %w", j.ID, err)
			}
			if err := e.work(ctx, a); err != nil {
				// Snoozed (a paused flow) or to be retried: its sync says
				// why, and River would try it again.
				continue
			}
			if err := e.st.CompleteJob(ctx, j.ID); err != nil {
				return worked, err
			}
			worked++
		}
	}
}

// workQueuedBatches works the bulk replay jobs waiting in River's table to
// their end, step by step as replayBatchWorker does: the syncs they make
// wait as sync jobs, for workQueued.
func (e *Engine) workQueuedBatches(ctx context.Context) (int, error) {
	jobs, err := e.st.QueuedJobs(ctx, ReplayBatchArgs{}.Kind(), 0, 1000)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		var a ReplayBatchArgs
		if err := json.Unmarshal(j.Args, &a); err != nil {
			return 0, fmt.Errorf("engine: job %d: %w", j.ID, err)
		}
		for {
			done, err := e.replayBatchStep(ctx, a.BatchID)
			if err != nil {
				return 0, fmt.Errorf("engine: bulk replay %d: %w", a.BatchID, err)
			}
			if done {
				break
			}
		}
		if err := e.st.CompleteJob(ctx, j.ID); err != nil {
			return 0, err
		}
	}
	return len(jobs), nil
}
