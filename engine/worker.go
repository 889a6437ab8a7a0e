package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"crossdock/store"
	"crossdock/vocab"
)

// SyncArgs is the queue job of one sync record. The job carries only ids: the
// sync record holds the data, so a replay or a retry reads the same.
type SyncArgs struct {
	SyncID int64 `json:"sync_id"`
	// Target is the connection written to, for its limit and breaker,
	// checked before the database is touched.
	Target int64 `json:"target"`
	// Lease serialises writes to one target entity across replicas.
	Lease string `json:"lease,omitempty"`
}

// Kind is the job kind in River's table.
func (SyncArgs) Kind() string { return "crossdock_sync" }

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	e *Engine
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	return w.e.work(ctx, job.Args)
}

// result is how a flow's attempt ended.
type result struct {
	status    vocab.Status     // succeeded, skipped or rejected; empty when err is set
	class     vocab.ErrorClass // for rejected
	message   string
	request   any
	response  any
	targetRef string
	err       error  // the failure, classified by finish
	system    string // the system called, for messages
}

// Snooze waits: a snoozed job does not use up an attempt, in River or here.
const (
	snoozeBusy  = 250 * time.Millisecond // no free slot for the connection
	snoozeLease = 500 * time.Millisecond // another sync writes the same entity
	leaseSlack  = time.Minute
)

func (e *Engine) work(ctx context.Context, a SyncArgs) error {
	if wait, ok := e.limits.admit(a.Target); !ok {
		return river.JobSnooze(wait + jittered(time.Second))
	}
	release, ok := e.limits.acquire(ctx, a.Target, time.Second)
	if !ok {
		e.limits.cancelProbe(a.Target)
		return river.JobSnooze(jittered(snoozeBusy))
	}
	defer release()
	// One statement: a paused flow keeps its syncs queued without spending
	// attempts; the lease serialises writes to one target entity across
	// replicas; then the attempt begins.
	s, err := e.st.StartSync(ctx, a.SyncID, a.Lease, e.cfg.JobTimeout+leaseSlack)
	leased := a.Lease != "" // held, possibly, whatever StartSync answered
	defer func() {
		if !leased {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := e.st.ReleaseLease(rctx, a.Lease, a.SyncID); err != nil {
			e.log.Warn("release lease", "lease", a.Lease, "err", err) // it expires on its own
		}
	}()
	if err != nil {
		e.limits.cancelProbe(a.Target)
		switch {
		case errors.Is(err, store.ErrSyncDone):
			return nil
		case errors.Is(err, store.ErrFlowPaused):
			leased = false // a paused sync takes no lease
			return river.JobSnooze(jittered(e.cfg.PausedRecheck))
		case errors.Is(err, store.ErrLeaseHeld):
			leased = false // another sync's
			return river.JobSnooze(jittered(snoozeLease))
		}
		return err
	}
	res := e.run(ctx, s)
	err = e.finish(ctx, s, res, a.Lease)
	var snoozed *river.JobSnoozeError
	if err == nil || errors.As(err, &snoozed) {
		leased = false // recorded, and given up in the same statement
	}
	return err
}

func (e *Engine) run(ctx context.Context, s store.Sync) (res result) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("sync panicked", "sync_id", s.ID, "panic", p)
			res = result{err: fail(vocab.ClassInternal, fmt.Sprintf("Crossdock hit an internal error: %v", p), nil)}
		}
	}()
	if f := e.flows().named(s.Flow); f != nil {
		return f.Run(e, ctx, s)
	}
	return result{err: fail(vocab.ClassInternal, fmt.Sprintf("Crossdock does not know the flow %q.", s.Flow), nil)}
}

// retriedOrReplayed reports whether a sync runs again: a retry after a
// failure (an answer lost on its way back, perhaps) or a replay.
func retriedOrReplayed(s store.Sync) bool { return s.Attempts > 1 || s.ReplayOf != nil }

// finish records the outcome and tells River what to do with the job.
// The lease, when not empty, is given up in the statement that records it.
func (e *Engine) finish(ctx context.Context, s store.Sync, res result, lease string) error {
	// The job's context may have ended (timeout, shutdown): the outcome is
	// recorded regardless.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	o := store.SyncOutcome{ID: s.ID, Attempt: s.Attempts, Status: res.status, ErrorClass: res.class, Message: res.message,
		Request: res.request, Response: res.response, TargetRef: res.targetRef, Lease: lease}
	var snooze time.Duration
	switch {
	case res.err != nil:
		f := classify(res.err, cmpStr(res.system, "The other system"))
		o.ErrorClass, o.Message = f.class, f.message
		if o.Response == nil {
			o.Response = f.evidence
		}
		e.limits.record(s.TargetConnectionID, false, tripsBreaker(f.class) && !f.waiting)
		if f.class == vocab.ClassAuth {
			// Odoo refuses credentials inside an answer that looks fine on the wire.
			e.calls.note(s.TargetConnectionID, false, f.message)
		}
		switch {
		case retryable(f.class) && s.Attempts < s.MaxAttempts:
			snooze = backoff(e.cfg.RetryBase, s.ID, s.Attempts)
			o.Status, o.NextAttemptAt = vocab.SyncRetrying, time.Now().Add(snooze)
			o.Message += fmt.Sprintf(" Crossdock tries again in %s (attempt %d of %d).", roughly(snooze), s.Attempts+1, s.MaxAttempts)
		case retryable(f.class):
			o.Status = vocab.SyncFailed
			o.Message += fmt.Sprintf(" Crossdock gave up after %d attempts; try it again once the system is back.", s.Attempts)
		default:
			o.Status = vocab.SyncFailed
		}
		e.log.Info("sync failed", "sync_id", s.ID, "flow", s.Flow, "class", o.ErrorClass, "attempt", s.Attempts, "err", res.err)
	case res.status == vocab.SyncSucceeded:
		e.limits.record(s.TargetConnectionID, true, false)
	default:
		e.limits.record(s.TargetConnectionID, false, false)
	}
	// Earlier failures of the same record are resolved when it succeeded.
	o.Resolves = &s
	n, err := e.st.FinishSync(fctx, o)
	if err != nil {
		// Not recorded: let River retry the job; the writes are idempotent.
		return err
	}
	e.counts.add(string(s.Family), string(o.Status), string(o.ErrorClass))
	if n > 0 {
		e.log.Info("auto-resolved failures", "sync_id", s.ID, "resolved", n)
	}
	if snooze > 0 {
		return river.JobSnooze(snooze)
	}
	return nil
}

// decide asks the sources of truth whether the sync may write its family
// (fields: those product fields); a refusal is the sync's result (rejected,
// class ownership), never a write.
func (e *Engine) decide(ctx context.Context, s store.Sync, fields []string) (verdict, *result, error) {
	rs, err := e.Rules(ctx)
	if err != nil {
		return verdict{}, nil, err
	}
	d := rs.Decide(vocab.Family(s.Family), s.SourceConnectionID, s.TargetConnectionID, fields)
	if !d.Allowed {
		// The snapshot may predate a rule saved a moment ago, under which
		// intake planned this sync: a refusal is checked against the rules
		// as they are now (refusals are rare, so this read is too).
		if rs, err = e.freshRules(ctx); err != nil {
			return verdict{}, nil, err
		}
		d = rs.Decide(vocab.Family(s.Family), s.SourceConnectionID, s.TargetConnectionID, fields)
	}
	if d.Allowed {
		return verdict{rs: rs, d: d}, nil, nil
	}
	return verdict{}, &result{status: vocab.SyncRejected, class: vocab.ClassOwnership, message: d.Reason, response: d}, nil
}

// roughly says a duration the way a person would: "2 minutes", "1 hour".
func roughly(d time.Duration) string {
	switch {
	case d < 2*time.Second:
		return "a moment"
	case d < 2*time.Minute:
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	return fmt.Sprintf("%d hours", int(d.Hours()))
}

func cmpStr(a, b string) string {
	if strings.TrimSpace(a) == "" {
		return b
	}
	return a
}

// queued is a sync to create with the lease of its job.
type queued struct {
	sync  store.NewSync
	lease string
}

// insertSyncs creates sync records and, for the pending ones, their queue
// jobs, inside the caller's transaction: the record and its job exist
// together or not at all. It returns the ids (0 for a sync that existed).
func (e *Engine) insertSyncs(ctx context.Context, tx *store.Tx, qs []queued) ([]int64, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	ns := make([]store.NewSync, len(qs))
	for i, q := range qs {
		ns[i] = mendSync(q.sync)
	}
	ids, err := tx.InsertSyncs(ctx, ns)
	if err != nil {
		return nil, err
	}
	var params []river.InsertManyParams
	var jobSyncs []int64
	for i, q := range qs {
		if ids[i] == 0 || cmp.Or(ns[i].Status, vocab.SyncPending) != vocab.SyncPending {
			continue
		}
		params = append(params, river.InsertManyParams{
			Args:       SyncArgs{SyncID: ids[i], Target: q.sync.TargetConnectionID, Lease: q.lease},
			InsertOpts: &river.InsertOpts{Queue: e.flows().queue(q.sync.Flow)},
		})
		jobSyncs = append(jobSyncs, ids[i])
	}
	if len(params) == 0 {
		return ids, nil
	}
	res, err := e.river.InsertManyTx(ctx, tx.SQLTx(), params)
	if err != nil {
		return nil, fmt.Errorf("engine: enqueue syncs: %w", err)
	}
	jobs := make([]int64, len(res))
	for i, r := range res {
		jobs[i] = r.Job.ID
	}
	if err := tx.SetSyncJobs(ctx, jobSyncs, jobs); err != nil {
		return nil, err
	}
	return ids, nil
}
