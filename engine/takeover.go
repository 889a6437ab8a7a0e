package engine

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"crossdock/store"
)

// Taking over the work of a replica that stopped.
//
// River rescues a job left running by a dead replica only once the job's own
// timeout has passed (an hour for a reconciliation, two for a bulk replay,
// JobTimeout plus two minutes for a sync). Instead, every replica beats every
// ReplicaBeat (store.BeatReplica, its River client id), and in the same loop
// hands back to the queue the running jobs of any replica whose beat is older
// than ReplicaDeadAfter (store.TakeOverDeadReplicas): a dead replica's syncs,
// reconciliation, bulk replay and periodic jobs run elsewhere within about
// ReplicaDeadAfter + ReplicaBeat, and a live replica's long job is never
// taken from it, however long it runs.
//
// A replica that cannot write its beat (cut off from the database, stalled)
// may be taken for dead by the others while it still runs: it fences itself
// first. Once its last beat is three quarters of ReplicaDeadAfter old, every
// job it runs is cancelled and new ones are put back, so the same job never
// runs on two replicas at once.

// fence cancels the jobs of a replica that has lost its beat.
type fence struct {
	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	tripped bool
}

func newFence() *fence {
	f := &fence{}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// current returns the context jobs run under, and whether the fence is
// tripped (no job may start).
func (f *fence) current() (context.Context, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ctx, f.tripped
}

// trip cancels every job running under the fence.
func (f *fence) trip() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tripped {
		return false
	}
	f.tripped = true
	f.cancel()
	return true
}

// reset lets jobs run again once the replica beats again.
func (f *fence) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tripped {
		f.ctx, f.cancel = context.WithCancel(context.Background())
		f.tripped = false
	}
}

// fenceMiddleware runs every job under the replica's fence.
type fenceMiddleware struct {
	river.MiddlewareDefaults
	f *fence
}

func (m *fenceMiddleware) Work(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
	fctx, tripped := m.f.current()
	if tripped {
		return river.JobSnooze(time.Second)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(fctx, cancel)
	defer stop()
	return doInner(ctx)
}

// beatLoop beats and takes over the work of stopped replicas, every
// ReplicaBeat until ctx ends; then it forgets the replica.
func (e *Engine) beatLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.ReplicaBeat)
	defer t.Stop()
	lastBeat := time.Now()
	for {
		bctx, cancel := context.WithTimeout(ctx, e.cfg.ReplicaBeat)
		err := e.st.BeatReplica(bctx, e.replica)
		cancel()
		switch {
		case err == nil:
			lastBeat = time.Now()
			e.fence.reset()
			e.takeOver(ctx)
		case ctx.Err() == nil:
			e.log.Warn("replica beat", "err", err)
		}
		if time.Since(lastBeat) > e.cfg.ReplicaDeadAfter*3/4 && e.fence.trip() {
			e.log.Error("this replica could not say it is alive; its jobs are stopped and left to the other replicas",
				"last_beat", lastBeat, "dead_after", e.cfg.ReplicaDeadAfter)
		}
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := e.st.ForgetLiveReplica(fctx, e.replica); err != nil {
				e.log.Warn("forget replica", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

// takeOver hands back the jobs of replicas that stopped beating.
func (e *Engine) takeOver(ctx context.Context) {
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := e.st.TakeOverDeadReplicas(tctx, e.cfg.ReplicaDeadAfter)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("take over stopped replicas", "err", err)
		}
		return
	}
	if n > 0 {
		e.log.Info("took over the jobs of a replica that stopped", "jobs", n)
	}
}

// takenOver reports whether a job was handed over from a replica that
// stopped while running it.
func takenOver(job *rivertype.JobRow) bool {
	var md map[string]any
	if json.Unmarshal(job.Metadata, &md) != nil {
		return false
	}
	n, _ := md[store.TakenOverKey].(float64)
	return n > 0
}

// beating calls beat every interval while fn runs: the run or batch shows
// that a replica works on it (the stuck-work alert reads it).
func beating(ctx context.Context, every time.Duration, beat func(context.Context) error, fn func(context.Context) error) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				bctx, cancel := context.WithTimeout(ctx, every)
				_ = beat(bctx) // a missed beat is caught by the next one, or the alert
				cancel()
			}
		}
	})
	err := fn(ctx)
	close(done)
	wg.Wait()
	return err
}
