package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"crossdock/store"
	"crossdock/vocab"
)

// ReplayBatchArgs is the job of a bulk replay: it queues the batch's failures
// in one transaction, then replays them in chunks, each chunk replayed and
// its progress recorded in one transaction, so a crash resumes where the
// last chunk ended and never replays twice.
type ReplayBatchArgs struct {
	BatchID int64 `json:"batch_id"`
}

// Kind is the job kind in River's table.
func (ReplayBatchArgs) Kind() string { return "crossdock_replay_batch" }

// PruneFailedArgs is the periodic job deleting resolved failures past the
// retention period, and rejected webhook deliveries past theirs.
type PruneFailedArgs struct{}

// Kind is the job kind in River's table.
func (PruneFailedArgs) Kind() string { return "crossdock_prune_failed" }

// FoldFailureGroupsArgs is the periodic job folding the failures opened and
// closed lately into the summary of causes the grouped view reads.
type FoldFailureGroupsArgs struct{}

// Kind is the job kind in River's table.
func (FoldFailureGroupsArgs) Kind() string { return "crossdock_fold_failure_groups" }

type foldFailureGroupsWorker struct {
	river.WorkerDefaults[FoldFailureGroupsArgs]
	e *Engine
}

func (w *foldFailureGroupsWorker) Work(ctx context.Context, _ *river.Job[FoldFailureGroupsArgs]) error {
	_, err := w.e.st.FoldFailureGroupChanges(ctx)
	return err
}

// replayChunk is how many failures one transaction of a bulk replay takes.
const replayChunk = 1000

// addFailedWorkers registers the failed-syncs console's jobs and returns its
// periodic ones.
func addFailedWorkers(workers *river.Workers, e *Engine) []*river.PeriodicJob {
	river.AddWorker(workers, &replayBatchWorker{e: e})
	river.AddWorker(workers, &pruneFailedWorker{e: e})
	river.AddWorker(workers, &followApprovalsWorker{e: e})
	river.AddWorker(workers, &foldFailureGroupsWorker{e: e})
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
			return PruneFailedArgs{}, sweepOpts() // at most one waiting or running
		}, &river.PeriodicJobOpts{ID: "prune_failed", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(10*time.Second), func() (river.JobArgs, *river.InsertOpts) {
			return FollowApprovalsArgs{}, sweepOpts()
		}, &river.PeriodicJobOpts{ID: "follow_approvals"}),
		// The grouped view is exact without it (it adds the changes not
		// folded yet); folding keeps those few.
		river.NewPeriodicJob(river.PeriodicInterval(10*time.Second), func() (river.JobArgs, *river.InsertOpts) {
			return FoldFailureGroupsArgs{}, sweepOpts()
		}, &river.PeriodicJobOpts{ID: "fold_failure_groups", RunOnStart: true}),
	}
}

// ErrAlreadyReplayed is returned for a failure already replayed or dealt with.
var ErrAlreadyReplayed = errors.New("this sync has already been replayed or dealt with")

// replayed pairs an original with its replay.
type replayed struct {
	original, replay int64
}

// edit is the corrected payload of an edit-and-replay.
type edit struct {
	payload json.RawMessage
}

// replayTx replays the given syncs inside tx: each is claimed (marked
// replayed) and copied into its replay in one statement, so whatever races
// it — a second click, another person, a bulk replay, its own automatic
// retry — only one replay is made; then their queue jobs are created. Syncs that
// cannot be replayed come back as refusals with the reason in plain words.
func (e *Engine) replayTx(ctx context.Context, tx *store.Tx, a store.Actor, ids []int64, batchID int64, ed *edit) ([]replayed, []store.Refusal, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	limits, err := tx.ReplayLimits(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	claimIDs := ids
	var refusals []store.Refusal
	if len(limits.Disabled)+len(limits.OutOfScope) > 0 {
		// A sync into a production system, from someone who may replay into
		// test systems only, or touching a disabled system, is left open,
		// untouched: the first is not theirs to replay, the second would
		// only fail again.
		rows, err := tx.SyncStates(ctx, ids)
		if err != nil {
			return nil, nil, err
		}
		claimIDs = claimIDs[:0:0]
		for _, r := range rows {
			if why := limits.Refusal(r); why != "" {
				refusals = append(refusals, store.Refusal{SyncID: r.ID, Reason: why})
			} else {
				claimIDs = append(claimIDs, r.ID)
			}
		}
	}
	mv, err := tx.CurrentVersion(ctx)
	if err != nil {
		return nil, nil, err
	}
	rs, err := e.Rules(ctx)
	if err != nil {
		return nil, nil, err
	}
	reps, err := tx.ReplayFailures(ctx, a, claimIDs, batchID, mv, rs.Version)
	if err != nil {
		return nil, nil, err
	}
	got := make(map[int64]bool, len(reps))
	for _, r := range reps {
		got[r.ReplayOf] = true
	}
	var missing []int64
	for _, id := range claimIDs {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	why, err := e.whyNotReplayable(ctx, tx, missing)
	if err != nil {
		return nil, nil, err
	}
	refusals = append(refusals, why...)
	if len(reps) == 0 {
		return nil, refusals, nil
	}
	if ed != nil && len(reps) == 1 {
		// The original keeps its payload; the edited one is a new write with
		// a key of its own.
		if err := tx.EditReplay(ctx, reps[0].ID, reps[0].ReplayOf, ed.payload, reps[0].IdempotencyKey+"-edit-"+strconv.FormatInt(reps[0].ReplayOf, 10)); err != nil {
			return nil, nil, err
		}
	}
	if err := e.enqueue(ctx, tx, reps); err != nil {
		return nil, nil, err
	}
	out := make([]replayed, len(reps))
	for i, r := range reps {
		out[i] = replayed{original: r.ReplayOf, replay: r.ID}
	}
	return out, refusals, nil
}

// enqueue queues the jobs of replays already created, in tx.
func (e *Engine) enqueue(ctx context.Context, tx *store.Tx, reps []store.Replay) error {
	if len(reps) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(reps))
	for i, r := range reps {
		params[i] = river.InsertManyParams{Args: SyncArgs{SyncID: r.ID, Target: r.TargetConnectionID, Lease: leaseFor(r.Flow, r.TargetConnectionID, r.EntityRef)},
			InsertOpts: &river.InsertOpts{Queue: syncQueue(r.Flow)}}
	}
	// The job points at its sync; the sync's job_id is not written back for
	// replays (nothing reads it, and it would be one more write per replay
	// of a bulk replay, measured at a quarter of its time). The jobs are not
	// read back either (InsertManyFast).
	if _, err := e.river.InsertManyFastTx(ctx, tx.SQLTx(), params); err != nil {
		return fmt.Errorf("engine: enqueue replays: %w", err)
	}
	return nil
}

// whyNotReplayable says, for each sync a claim did not take, why.
func (e *Engine) whyNotReplayable(ctx context.Context, tx *store.Tx, ids []int64) ([]store.Refusal, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.SyncStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	found := map[int64]bool{}
	var out []store.Refusal
	for _, r := range rows {
		found[r.ID] = true
		reason := "It was already dealt with."
		switch {
		case r.ReplayedBy != nil:
			reason = fmt.Sprintf("It was already tried again (sync #%d).", *r.ReplayedBy)
		case r.Status == vocab.SyncPending || r.Status == vocab.SyncRunning:
			reason = "It has not finished yet; wait for it to end."
		case r.Resolution != nil && *r.Resolution == store.ResolutionIgnored:
			reason = "It was ignored."
		case r.Resolution != nil:
			reason = "It was already resolved."
		}
		out = append(out, store.Refusal{SyncID: r.ID, Reason: reason})
	}
	for _, id := range ids {
		if !found[id] {
			out = append(out, store.Refusal{SyncID: id, Reason: "It no longer exists (pruned, or its connection was removed)."})
		}
	}
	return out, nil
}

// Replay runs a finished sync again: a new sync (trigger replay, pointing at
// the original) with the same payload and the same idempotency key, under
// today's mappings and rules (their versions are recorded on it). The
// original is marked replayed, and the replay audited, in the transaction that
// queues it. A sync already replayed gives ErrAlreadyReplayed.
func (e *Engine) Replay(ctx context.Context, a store.Actor, id int64) (store.Sync, error) {
	return e.replayOne(ctx, a, id, nil)
}

// EditAndReplay replays a failure with a corrected payload (a JSON object);
// the original, with its payload, is kept and marked replayed.
func (e *Engine) EditAndReplay(ctx context.Context, a store.Actor, id int64, payload []byte) (store.Sync, error) {
	var obj map[string]any
	if err := json.Unmarshal(payload, &obj); err != nil || obj == nil {
		return store.Sync{}, vocab.FieldErrors{"payload": "The data must be a JSON object, like the one received: { \"field\": value, … }."}
	}
	return e.replayOne(ctx, a, id, &edit{payload: payload})
}

func (e *Engine) replayOne(ctx context.Context, a store.Actor, id int64, ed *edit) (store.Sync, error) {
	var out store.Sync
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		s, err := tx.SyncByID(ctx, id)
		if err != nil {
			return err
		}
		if s.ResolvedAt != nil {
			return ErrAlreadyReplayed
		}
		if s.Status == vocab.SyncPending || s.Status == vocab.SyncRunning {
			return ErrNotReplayable
		}
		done, refused, err := e.replayTx(ctx, tx, a, []int64{id}, 0, ed)
		if err != nil {
			return err
		}
		if len(done) == 0 {
			// Read again: a concurrent replay that won has committed by now.
			if now, err := tx.SyncByID(ctx, id); err == nil && now.ResolvedAt != nil {
				return ErrAlreadyReplayed
			}
			if len(refused) > 0 {
				return &NotReplayedError{Reason: refused[0].Reason}
			}
			return ErrAlreadyReplayed
		}
		action, verb := "sync.replayed", "Replayed"
		if ed != nil {
			action, verb = "sync.edited_replayed", "Edited and replayed"
		}
		if err := tx.Audit(ctx, a, store.Change{Action: action, ObjectType: "sync", ObjectID: strconv.FormatInt(s.ID, 10),
			Summary: fmt.Sprintf("%s %s (%s) as sync #%d", verb, s.EntityKey, s.Family, done[0].replay),
			After:   map[string]any{"replay_id": done[0].replay, "status": s.Status, "error_class": s.Class(), "edited": ed != nil}}); err != nil {
			return err
		}
		out, err = tx.SyncByID(ctx, done[0].replay)
		return err
	})
	return out, err
}

// NotReplayedError says why a sync was not replayed, in plain words.
type NotReplayedError struct{ Reason string }

func (e *NotReplayedError) Error() string { return "Not tried again: " + e.Reason }

// StartReplayBatch records a bulk replay and queues its job in one
// transaction; the job replays every failure of the selection or filter.
func (e *Engine) StartReplayBatch(ctx context.Context, a store.Actor, in store.NewReplayBatch) (store.ReplayBatch, error) {
	var b store.ReplayBatch
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		b, err = e.startReplayBatchTx(ctx, tx, a, in)
		return err
	})
	return b, err
}

func (e *Engine) startReplayBatchTx(ctx context.Context, tx *store.Tx, a store.Actor, in store.NewReplayBatch) (store.ReplayBatch, error) {
	b, err := tx.CreateReplayBatch(ctx, a, in)
	if err != nil {
		return b, err
	}
	if _, err = e.river.InsertTx(ctx, tx.SQLTx(), ReplayBatchArgs{BatchID: b.ID}, &river.InsertOpts{Queue: queueSweeps}); err != nil {
		return b, fmt.Errorf("engine: queue replay batch: %w", err)
	}
	return b, nil
}

// FollowApprovalsArgs is the periodic job that tries again the unmapped
// failures a newly approved mapping change set fixes.
type FollowApprovalsArgs struct{}

// Kind is the job kind in River's table.
func (FollowApprovalsArgs) Kind() string { return "crossdock_follow_approvals" }

type followApprovalsWorker struct {
	river.WorkerDefaults[FollowApprovalsArgs]
	e *Engine
}

func (w *followApprovalsWorker) Work(ctx context.Context, _ *river.Job[FollowApprovalsArgs]) error {
	_, err := w.e.FollowApprovals(ctx)
	return err
}

// followWindow is how far back an approval is still followed up (a replica
// that was down for less than this catches up).
const followWindow = 24 * time.Hour

// FollowApprovals looks at the mapping change sets approved recently: when
// automatic replay is on, the open unmapped failures a change set fixes,
// from before its approval — those recording a missing record it maps,
// whose missing records are all mapped now (store.FailedFilter.FixedBy) —
// are tried again by a bulk replay that names the change set and the admin
// who approved it. Nothing else is: not the other failures between the same
// systems, not failures that did not record what they lacked. The change
// set's page reads the result from that batch (store.FailureFixResult).
// It returns the batches it started.
func (e *Engine) FollowApprovals(ctx context.Context) ([]store.ReplayBatch, error) {
	approvals, err := e.st.ApprovalsToFollow(ctx, time.Now().Add(-followWindow))
	if err != nil {
		return nil, err
	}
	set, err := e.st.FailedSettings(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.ReplayBatch
	for _, cs := range approvals {
		f := store.FailedFilter{ErrorClass: vocab.ClassUnmapped, AnyConnection: cs.Connections, To: cs.DecidedAt, FixedBy: cs.ID}
		n, _, err := e.st.CountFailed(ctx, f, 1)
		if err != nil {
			return out, err
		}
		err = e.st.InTx(ctx, func(tx *store.Tx) error {
			switch {
			case !set.AutoReplay:
				_, err := tx.FollowApproval(ctx, cs.ID, 0, "Trying failed syncs again after a mapping fix is turned off: try them again from Failed syncs.")
				return err
			case n == 0:
				_, err := tx.FollowApproval(ctx, cs.ID, 0, store.NothingToTryAgain)
				return err
			case cs.ApprovedBy == nil:
				// Nobody whose scope could apply: replaying as Crossdock
				// would write anywhere.
				_, err := tx.FollowApproval(ctx, cs.ID, 0, "Not tried again automatically: the admin who approved it is no longer known. Try its failed syncs again from Failed syncs.")
				return err
			}
			b, err := e.startReplayBatchTx(ctx, tx, onBehalfOfApprover(cs), store.NewReplayBatch{Filter: f, ChangeSetID: cs.ID,
				Description: fmt.Sprintf("Failed syncs that proposed change #%d fixes, tried again automatically after %s approved it",
					cs.ID, cs.ApproverName)})
			if err != nil {
				return err
			}
			won, err := tx.FollowApproval(ctx, cs.ID, b.ID, "Tried again in bulk (#"+strconv.FormatInt(b.ID, 10)+")")
			if err != nil {
				return err
			}
			if !won {
				return errFollowedElsewhere // another replica did it: roll this batch back
			}
			out = append(out, b)
			return nil
		})
		if err != nil && !errors.Is(err, errFollowedElsewhere) {
			return out, err
		}
	}
	return out, nil
}

var errFollowedElsewhere = errors.New("engine: approval followed up by another replica")

// onBehalfOfApprover is who replays a change set's failures automatically:
// Crossdock, acting for the admin who approved it, so that their
// environment scope applies to every replay (a person limited to test
// systems approving a mapping does not replay into production through it)
// and the audit log says whose approval it follows.
func onBehalfOfApprover(cs store.ApprovedChangeSet) store.Actor {
	return store.Actor{UserID: *cs.ApprovedBy, Label: "Crossdock, on behalf of " + cs.ApproverName}
}

type replayBatchWorker struct {
	river.WorkerDefaults[ReplayBatchArgs]
	e *Engine
}

// Timeout: a batch of a million failures takes minutes, not the sync timeout.
func (w *replayBatchWorker) Timeout(*river.Job[ReplayBatchArgs]) time.Duration { return 2 * time.Hour }

// Work makes the batch's replays chunk by chunk, beating while it does. A
// job taken over from a replica that stopped goes on from the last chunk that
// committed, and the batch says it resumed after a restart.
func (w *replayBatchWorker) Work(ctx context.Context, job *river.Job[ReplayBatchArgs]) error {
	id := job.Args.BatchID
	if takenOver(job.JobRow) {
		if err := w.e.st.ResumeReplayBatch(ctx, id); err != nil {
			return err
		}
	}
	return beating(ctx, w.e.cfg.ReplicaBeat, func(ctx context.Context) error { return w.e.st.BeatReplayBatch(ctx, id) },
		func(ctx context.Context) error {
			for {
				done, err := w.e.replayBatchStep(ctx, id)
				if err != nil {
					if job.Attempt >= job.MaxAttempts {
						fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
						defer cancel()
						_ = w.e.st.FailReplayBatch(fctx, id, "Crossdock could not finish trying them again: "+err.Error())
					}
					return err
				}
				if done {
					return nil
				}
			}
		})
}

// replayBatchStep moves a batch on by one transaction: the first queues its
// failures (store.TakeReplayFailures), each next one replays a chunk of them
// and records it. done is true once its queue is empty (or the batch was
// cancelled). A crash resumes with the chunk that did not commit.
func (e *Engine) replayBatchStep(ctx context.Context, batchID int64) (done bool, err error) {
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		b, err := tx.LockReplayBatch(ctx, batchID)
		if errors.Is(err, store.ErrNotFound) {
			done = true
			return nil
		}
		if err != nil {
			return err
		}
		if !b.Open() {
			done = true
			return nil
		}
		if b.Taken == nil {
			_, err := tx.TakeReplayFailures(ctx, b)
			return err
		}
		a := store.Actor{Label: b.CreatedLabel + " (trying again in bulk, #" + strconv.FormatInt(b.ID, 10) + ")"}
		if b.CreatedBy != nil {
			a.UserID = *b.CreatedBy
		}
		ids, err := tx.NextReplayFailures(ctx, b.ID, replayChunk)
		if err != nil {
			return err
		}
		out, refusals, err := e.replayTx(ctx, tx, a, ids, b.ID, nil)
		if err != nil {
			return err
		}
		step := store.BatchStep{ID: b.ID, Enqueued: len(out), Refused: len(refusals), Done: len(ids) < replayChunk}
		if room := store.MaxRefusals - len(b.Refusals()); room > 0 {
			step.Refusals = refusals[:min(room, len(refusals))]
		}
		mv, err := tx.CurrentVersion(ctx)
		if err != nil {
			return err
		}
		rs, err := e.Rules(ctx)
		if err != nil {
			return err
		}
		step.MappingVersion, step.RulesVersion = mv, rs.Version
		done = step.Done
		return tx.AdvanceReplayBatch(ctx, step)
	})
	return done, err
}

// CancelReplayBatch stops a bulk replay (see store.CancelReplayBatch).
func (e *Engine) CancelReplayBatch(ctx context.Context, a store.Actor, id int64) (store.ReplayBatch, int64, error) {
	return e.st.CancelReplayBatch(ctx, a, id)
}

// autoResolve closes the earlier open failures of the record a sync just
// wrote successfully. A failure to do so is logged: the success stands.
func (e *Engine) autoResolve(ctx context.Context, s store.Sync) {
	n, err := e.st.AutoResolve(ctx, s)
	if err != nil {
		e.log.Warn("auto-resolve", "sync_id", s.ID, "err", err)
		return
	}
	if n > 0 {
		e.log.Info("auto-resolved failures", "sync_id", s.ID, "resolved", n)
	}
}

type pruneFailedWorker struct {
	river.WorkerDefaults[PruneFailedArgs]
	e *Engine
}

func (w *pruneFailedWorker) Work(ctx context.Context, _ *river.Job[PruneFailedArgs]) error {
	if _, err := w.e.PruneFailed(ctx); err != nil {
		return err
	}
	_, err := w.e.PruneWebhookRejections(ctx)
	return err
}

// PruneWebhookRejections deletes rejected webhook deliveries, and their
// hourly counts, older than store.WebhookRejectionRetention, in small
// batches. It returns how many deliveries it deleted.
func (e *Engine) PruneWebhookRejections(ctx context.Context) (int64, error) {
	total, err := pruneInBatches(ctx, time.Now().Add(-store.WebhookRejectionRetention), e.st.PruneWebhookRejections)
	if total > 0 {
		e.log.Info("pruned rejected webhooks", "deleted", total, "retention_days", int(store.WebhookRejectionRetention/(24*time.Hour)))
	}
	return total, err
}

// PruneFailed deletes the failures resolved longer ago than the retention
// setting, in small batches so that no long lock holds up the syncs. It
// returns how many it deleted.
func (e *Engine) PruneFailed(ctx context.Context) (int64, error) {
	set, err := e.st.FailedSettings(ctx)
	if err != nil {
		return 0, err
	}
	total, err := pruneInBatches(ctx, time.Now().Add(-time.Duration(set.RetentionDays)*24*time.Hour), e.st.PruneResolvedFailures)
	if total > 0 {
		e.log.Info("pruned resolved failures", "deleted", total, "retention_days", set.RetentionDays)
	}
	return total, err
}

// pruneInBatches deletes what is older than cutoff through prune, 2,000 rows
// at a time so that no long lock holds up the syncs, until a batch comes
// back short. It returns how many rows it deleted, also on an error.
func pruneInBatches(ctx context.Context, cutoff time.Time, prune func(context.Context, time.Time, int) (int64, error)) (int64, error) {
	const batch = 2000
	var total int64
	for {
		n, err := prune(ctx, cutoff, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}
