package engine

import (
	"context"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"crossdock/store"
	"crossdock/store/mask"
	"crossdock/vocab"
)

// Retention of personal data: syncs of flows that carry personal data keep
// their payload, request and answers whole for the retention period after
// they ended (an open failure until it is resolved); then the periodic job
// erases their personal fields with the erasure's own scrubbing (redactor),
// keeping amounts, SKUs, ids and order names. The webhook deliveries of
// those flows' topics go the same way. The job walks the syncs oldest first
// through syncs_created_idx from where it stopped (privacy_retention), so
// no run reads a table from its start and the syncs' write path carries no
// extra index or write; what it passes that cannot be pruned yet waits in
// privacy_retention_waiting and is looked at again by primary key.

// PrunePersonalArgs is the periodic job pruning personal data.
type PrunePersonalArgs struct{}

// Kind is the job kind in River's table.
func (PrunePersonalArgs) Kind() string { return "crossdock_prune_personal" }

// retentionChunk is how many syncs or deliveries one pruning transaction
// goes through: short transactions, no long lock on the syncs.
const retentionChunk = 500

type prunePersonalWorker struct {
	river.WorkerDefaults[PrunePersonalArgs]
	e *Engine
}

func (w *prunePersonalWorker) Work(ctx context.Context, _ *river.Job[PrunePersonalArgs]) error {
	_, err := w.e.PrunePersonal(ctx)
	return err
}

// addRetentionWorkers registers the pruning job and returns its hourly
// schedule.
func addRetentionWorkers(workers *river.Workers, e *Engine) []*river.PeriodicJob {
	river.AddWorker(workers, &prunePersonalWorker{e: e})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return PrunePersonalArgs{}, sweepOpts() // at most one waiting or running
	}, &river.PeriodicJobOpts{ID: "prune_personal", RunOnStart: true})}
}

// retention is one run's rules: the cutoff, and which flows and webhook
// topics carry personal data (from the flows' declarations).
type retention struct {
	cutoff time.Time
	flows  map[string]bool
	topics map[string]bool
}

func newRetention(days int, now time.Time) retention {
	r := retention{cutoff: now.Add(-time.Duration(days) * 24 * time.Hour), flows: map[string]bool{}, topics: map[string]bool{}}
	for _, f := range Flows() {
		if len(f.Personal) == 0 {
			continue
		}
		r.flows[f.Name] = true
		for _, t := range f.Topics {
			r.topics[t] = true
		}
	}
	return r
}

// keepVerdict is what pruning does with a sync or delivery.
type keepVerdict int

const (
	keepSkip  keepVerdict = iota // carries no personal data: nothing to do
	keepPrune                    // ended before the cutoff: erase its personal fields
	keepWait                     // not ended, or a failure still open: look again later
)

func (r retention) sync(s store.RetentionSync) keepVerdict {
	if !r.flows[s.Flow] {
		return keepSkip
	}
	ended := s.FinishedAt
	switch s.Status {
	case vocab.SyncPending, vocab.SyncRunning:
		return keepWait
	case vocab.SyncFailed, vocab.SyncRetrying, vocab.SyncRejected:
		if s.ResolvedAt == nil {
			return keepWait // failures are kept whole until resolved
		}
		if ended == nil || s.ResolvedAt.After(*ended) {
			ended = s.ResolvedAt
		}
	}
	if ended == nil || !ended.Before(r.cutoff) {
		return keepWait
	}
	return keepPrune
}

func (r retention) event(ev store.RetentionEvent) keepVerdict {
	switch {
	case !r.topics[ev.Topic]:
		return keepSkip
	case ev.Status == "received" || ev.OpenFailure:
		return keepWait
	}
	return keepPrune
}

// PrunePersonal erases the personal fields of what ended longer ago than
// the retention setting, a chunk per transaction, and counts the people
// held per connection. It returns how many syncs and deliveries it pruned.
func (e *Engine) PrunePersonal(ctx context.Context) (int64, error) {
	set, err := e.st.PrivacySettings(ctx)
	if err != nil {
		return 0, err
	}
	r := newRetention(set.RetentionDays, time.Now())
	var total int64
	for _, step := range []func(context.Context, retention, *int64) (int, bool, error){
		e.pruneNextSyncs, e.pruneWaitingSyncs, e.pruneNextEvents, e.pruneWaitingEvents,
	} {
		var after int64 // where a step over the waiting ones stands, by id
		for more := true; more; {
			var n int
			n, more, err = step(ctx, r, &after)
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	}
	if err := e.countPeople(ctx, r); err != nil {
		return total, err
	}
	if err := e.st.FinishRetentionRun(ctx, total); err != nil {
		return total, err
	}
	if total > 0 {
		e.log.Info("pruned personal data", "records", total, "retention_days", set.RetentionDays)
	}
	return total, nil
}

// pruneNextSyncs takes the next chunk of syncs past where pruning stands.
func (e *Engine) pruneNextSyncs(ctx context.Context, r retention, _ *int64) (n int, more bool, err error) {
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		at, err := tx.LockRetention(ctx)
		if err != nil {
			return err
		}
		ss, err := tx.NextRetentionSyncs(ctx, at.SyncCreatedAt, at.SyncID, r.cutoff, retentionChunk)
		if err != nil || len(ss) == 0 {
			return err
		}
		var due, later []int64
		for _, s := range ss {
			switch r.sync(s) {
			case keepPrune:
				due = append(due, s.ID)
			case keepWait:
				later = append(later, s.ID)
			}
		}
		if n, err = scrubSyncs(ctx, tx, due); err != nil {
			return err
		}
		last := ss[len(ss)-1]
		more = len(ss) == retentionChunk
		return tx.AdvanceRetention(ctx, store.RetentionStep{SyncAt: &last.CreatedAt, SyncID: last.ID, Kind: "sync", Wait: later})
	})
	return n, more, err
}

// pruneWaitingSyncs looks again at a chunk of the syncs put aside.
func (e *Engine) pruneWaitingSyncs(ctx context.Context, r retention, after *int64) (n int, more bool, err error) {
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.LockRetention(ctx); err != nil {
			return err
		}
		ss, err := tx.WaitingRetentionSyncs(ctx, *after, retentionChunk)
		if err != nil || len(ss) == 0 {
			return err
		}
		var due, done []int64
		for _, s := range ss {
			switch r.sync(s) {
			case keepPrune:
				due = append(due, s.ID)
				done = append(done, s.ID)
			case keepSkip:
				done = append(done, s.ID)
			}
		}
		if n, err = scrubSyncs(ctx, tx, due); err != nil {
			return err
		}
		*after, more = ss[len(ss)-1].ID, len(ss) == retentionChunk
		return tx.AdvanceRetention(ctx, store.RetentionStep{Kind: "sync", Done: done})
	})
	return n, more, err
}

// pruneNextEvents takes the next chunk of webhook deliveries past where
// pruning stands, up to the first received after the cutoff.
func (e *Engine) pruneNextEvents(ctx context.Context, r retention, _ *int64) (n int, more bool, err error) {
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		at, err := tx.LockRetention(ctx)
		if err != nil {
			return err
		}
		evs, err := tx.NextRetentionEvents(ctx, at.EventID, retentionChunk)
		if err != nil {
			return err
		}
		var due, later []int64
		last := at.EventID
		for i, ev := range evs {
			if !ev.ReceivedAt.Before(r.cutoff) {
				evs = evs[:i]
				break
			}
			switch r.event(ev) {
			case keepPrune:
				due = append(due, ev.ID)
			case keepWait:
				later = append(later, ev.ID)
			}
			last = ev.ID
		}
		if len(evs) == 0 {
			return nil
		}
		if n, err = scrubBodies(ctx, tx, due); err != nil {
			return err
		}
		more = len(evs) == retentionChunk
		return tx.AdvanceRetention(ctx, store.RetentionStep{EventID: &last, Kind: "event", Wait: later})
	})
	return n, more, err
}

// pruneWaitingEvents looks again at a chunk of the deliveries put aside.
func (e *Engine) pruneWaitingEvents(ctx context.Context, r retention, after *int64) (n int, more bool, err error) {
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.LockRetention(ctx); err != nil {
			return err
		}
		evs, err := tx.WaitingRetentionEvents(ctx, *after, retentionChunk)
		if err != nil || len(evs) == 0 {
			return err
		}
		var due, done []int64
		for _, ev := range evs {
			switch r.event(ev) {
			case keepPrune:
				due = append(due, ev.ID)
				done = append(done, ev.ID)
			case keepSkip:
				done = append(done, ev.ID)
			}
		}
		if n, err = scrubBodies(ctx, tx, due); err != nil {
			return err
		}
		*after, more = evs[len(evs)-1].ID, len(evs) == retentionChunk
		return tx.AdvanceRetention(ctx, store.RetentionStep{Kind: "event", Done: done})
	})
	return n, more, err
}

// scrubSyncs erases the personal fields of the syncs and their attempts'
// answers: the erasure's redactor, given the personal values each sync
// itself holds (so its sentences and search keys lose them too).
func scrubSyncs(ctx context.Context, tx *store.Tx, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ss, err := tx.StoredSyncs(ctx, ids)
	if err != nil {
		return 0, err
	}
	by := make(map[int64]redactor, len(ss))
	for i, s := range ss {
		r := redactor{terms: cleanTerms(mask.Values(s.Payload, s.Request, s.Response))}
		by[s.ID], ss[i] = r, r.sync(s)
	}
	if err := tx.RewriteSyncs(ctx, ss); err != nil {
		return 0, err
	}
	as, err := tx.StoredAnswers(ctx, ids)
	if err != nil {
		return 0, err
	}
	for i, a := range as {
		r := by[a.SyncID]
		as[i].Message, as[i].Response = r.text(a.Message), r.json(a.Response)
	}
	return len(ss), tx.RewriteAnswers(ctx, as)
}

// scrubBodies erases the personal fields of webhook deliveries' bodies.
func scrubBodies(ctx context.Context, tx *store.Tx, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	bs, err := tx.StoredBodies(ctx, ids)
	if err != nil {
		return 0, err
	}
	for i, b := range bs {
		bs[i].Payload = redactor{terms: cleanTerms(mask.Values(b.Payload))}.json(b.Payload)
	}
	return len(bs), tx.RewriteBodies(ctx, bs)
}

// peopleChunk is how many syncs one transaction of counting people reads.
const peopleChunk = 2000

// countPeople notes the people of the syncs created since its last pass
// (and within the retention period) on their routes, and forgets those last
// seen before the cutoff: the personal data map's counts. It reads the
// syncs' search keys through syncs_created_idx, never their payloads.
func (e *Engine) countPeople(ctx context.Context, r retention) error {
	key, err := e.st.PseudonymKey(ctx)
	if err != nil {
		return err
	}
	// A sync's created_at is its transaction's start: the last minutes are
	// left to the next pass, so none committed late is passed over.
	before := time.Now().Add(-5 * time.Minute)
	for more := true; more; {
		err := e.st.InTx(ctx, func(tx *store.Tx) error {
			at, err := tx.LockRetention(ctx)
			if err != nil {
				return err
			}
			ss, err := tx.NextPeopleSyncs(ctx, at.CountCreatedAt, at.CountID, r.cutoff, before, peopleChunk)
			if err != nil || len(ss) == 0 {
				more = false
				return err
			}
			var ps []store.Person
			for _, s := range ss {
				if !r.flows[s.Flow] {
					continue
				}
				for _, who := range personOf(s) {
					ps = append(ps, store.Person{Route: store.Route{Family: s.Family, SourceID: s.SourceID, TargetID: s.TargetID},
						Key: mask.PersonKey(key, who), LastSeen: s.CreatedAt})
				}
			}
			last := ss[len(ss)-1]
			more = len(ss) == peopleChunk
			return tx.NotePeople(ctx, ps, last.CreatedAt, last.ID)
		})
		if err != nil {
			return err
		}
	}
	for {
		n, err := e.st.ForgetPeople(ctx, r.cutoff, 2000)
		if err != nil || n < 2000 {
			return err
		}
	}
}

// personOf names the person a sync carries: the e-mail among its search
// keys, else a customer's own id.
func personOf(s store.PersonSync) []string {
	for _, k := range s.SearchKeys {
		if strings.Contains(k, "@") {
			return []string{k}
		}
	}
	if s.EntityType == entityCustomer && s.EntityRef != "" {
		return []string{s.EntityRef}
	}
	return nil
}
