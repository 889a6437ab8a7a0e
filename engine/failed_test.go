package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// unmappedOrders places n orders of one variant that is not mapped, and
// returns their failed syncs (one per order) and the variant.
func (e *env) unmappedOrders(t *testing.T, n int) ([]store.Sync, sandbox.Variant) {
	t.Helper()
	v := e.shop.Variants()[0]
	e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", v.GID())
	var out []store.Sync
	for range n {
		_, payload := e.order(t, sandbox.NewLine{VariantID: v.GID(), Quantity: 1})
		s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
		require.Equal(t, vocab.ClassUnmapped, s.Class(), s.Message)
		out = append(out, s)
	}
	return out, v
}

// batchDone waits until a bulk replay has queued everything it could.
func (e *env) batchDone(t *testing.T, b store.ReplayBatch) store.ReplayBatch {
	t.Helper()
	wait(t, fmt.Sprintf("bulk replay %d to queue everything", b.ID), func() bool {
		var err error
		b, err = e.st.ReplayBatchByID(context.Background(), b.ID)
		require.NoError(t, err)
		return b.Status == store.BatchDone
	})
	return b
}

func (e *env) mapVariant(v sandbox.Variant) {
	e.res.set(e.shopConn.ID, e.odooConn.ID, "variant", v.GID(), strconv.Itoa(e.productBySKU[v.SKU].ID))
}

// The same failure replayed twice, by two people at once and then again:
// one replay, one sale order.
func TestReplayTwiceAndConcurrentlyWritesOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	fails, v := e.unmappedOrders(t, 1)
	e.mapVariant(v)

	var wg sync.WaitGroup
	results := make([]error, 4)
	replays := make([]store.Sync, 4)
	for i := range results {
		wg.Go(func() {
			replays[i], results[i] = e.eng.Replay(ctx, store.SystemActor("person "+strconv.Itoa(i)), fails[0].ID)
		})
	}
	wg.Wait()
	var won store.Sync
	for i, err := range results {
		if err == nil {
			require.Zero(t, won.ID, "only one replay wins")
			won = replays[i]
		} else {
			require.ErrorIs(t, err, engine.ErrAlreadyReplayed)
		}
	}
	require.NotZero(t, won.ID)
	r := e.ended(t, won.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	_, err := e.eng.Replay(ctx, store.SystemActor("later"), fails[0].ID)
	require.ErrorIs(t, err, engine.ErrAlreadyReplayed)

	orig, err := e.st.FailedSyncByID(ctx, fails[0].ID)
	require.NoError(t, err)
	require.Equal(t, store.ResolutionReplayed, orig.HowResolved())
	require.Equal(t, won.ID, *orig.ReplayedBy)
	require.Len(t, e.saleOrdersWithRef(fails[0].EntityRef), 1, "one sale order in Odoo's write log")
	rep, err := e.st.FailedSyncByID(ctx, won.ID)
	require.NoError(t, err)
	require.NotNil(t, rep.MappingVersion, "the replay records the mapping version it ran under")
	require.NotNil(t, rep.RulesVersion)
}

// A replay racing the automatic retry of the same failure: the retry's job
// finds its sync replayed and does nothing.
func TestReplayRacingTheAutomaticRetryWritesOnce(t *testing.T) {
	t.Parallel()
	down := &failOdoo{}
	down.failing.Store(true)
	e := setup(t, options{start: true, transport: down, configure: func(c *engine.Config) { c.RetryBase = time.Hour }})
	ctx := context.Background()
	o, payload := e.order(t)
	ev := e.deliver(t, "orders/create", payload)
	var s store.Sync
	wait(t, "the order to wait for a retry", func() bool {
		ss, err := e.st.SyncsOfWebhookEvent(ctx, ev)
		require.NoError(t, err)
		if len(ss) == 1 && ss[0].Status == vocab.SyncRetrying {
			s = ss[0]
			return true
		}
		return false
	})
	down.failing.Store(false)
	r, err := e.eng.Replay(ctx, store.SystemActor("ops"), s.ID)
	require.NoError(t, err)
	// Bring the automatic retry forward, to run beside the replay.
	_, err = e.st.DB.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1`, *s.JobID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	// The job may meet the replay's lease and snooze first; River's scheduler
	// then makes it available again, which takes seconds on a busy machine.
	deadline := waitDeadline(t)
	for {
		var state string
		require.NoError(t, e.st.DB.GetContext(ctx, &state, `SELECT state FROM river_job WHERE id = $1`, *s.JobID))
		if state == "completed" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the original's job did not end (state %s)", state)
		if state == "scheduled" { // snoozed on the lease: bring it forward again
			_, err = e.st.DB.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = $1 AND state = 'scheduled'`, *s.JobID)
			require.NoError(t, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	orig := e.sync(t, s.ID)
	require.Equal(t, s.Attempts, orig.Attempts, "the automatic retry made no attempt")
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
}

// Everything matching a filter is replayed by a background job; progress
// counts what succeeded; a second bulk replay of the same failures replays
// nothing and says why.
func TestReplayByFilter(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	fails, v := e.unmappedOrders(t, 5)
	e.mapVariant(v)
	f := store.FailedFilter{ErrorClass: vocab.ClassUnmapped}

	b, err := e.eng.StartReplayBatch(ctx, store.SystemActor("ops"), store.NewReplayBatch{Filter: f, Description: "every unmapped failure"})
	require.NoError(t, err)
	b = e.batchDone(t, b)
	require.Equal(t, 5, b.Enqueued)
	require.Zero(t, b.Refused)
	wait(t, "the replays to succeed", func() bool {
		p, err := e.st.ReplayBatchProgress(ctx, b.ID)
		require.NoError(t, err)
		return p.Succeeded == 5
	})
	for _, s := range fails {
		require.Len(t, e.saleOrdersWithRef(s.EntityRef), 1)
	}
	open, _, err := e.st.ListFailed(ctx, store.FailedFilter{})
	require.NoError(t, err)
	require.Empty(t, open, "every failure is dealt with")

	again, err := e.eng.StartReplayBatch(ctx, store.SystemActor("ops"), store.NewReplayBatch{IDs: []int64{fails[0].ID}, Description: "once more"})
	require.NoError(t, err)
	again = e.batchDone(t, again)
	require.Zero(t, again.Enqueued)
	require.Equal(t, 1, again.Refused)
	require.Contains(t, again.Refusals()[0].Reason, "already tried again")
}

// A bulk replay queues its failures in one step, untouched; each is claimed
// when its turn comes, so one replayed by hand meanwhile is refused then,
// and written once. Cancelled after queueing, the failures it had not come
// to stay open as they were.
func TestReplayBatchQueuesThenClaimsInTurn(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	fails, v := e.unmappedOrders(t, 3)
	e.mapVariant(v)
	f := store.FailedFilter{ErrorClass: vocab.ClassUnmapped}
	// Made without its job: the test moves it on step by step.
	b, err := e.st.CreateReplayBatch(ctx, store.SystemActor("ops"), store.NewReplayBatch{Filter: f, Description: "every unmapped failure"})
	require.NoError(t, err)
	done, err := engine.ReplayBatchStep(e.eng, ctx, b.ID)
	require.NoError(t, err)
	require.False(t, done)
	b, err = e.st.ReplayBatchByID(ctx, b.ID)
	require.NoError(t, err)
	require.NotNil(t, b.Taken)
	require.Equal(t, 3, *b.Taken)
	require.Equal(t, store.BatchRunning, b.Status)
	require.Zero(t, b.Enqueued)
	require.Equal(t, 3, b.Left())
	open, _, err := e.st.ListFailed(ctx, f)
	require.NoError(t, err)
	require.Len(t, open, 3, "queued, not claimed yet")

	_, err = e.eng.Replay(ctx, store.SystemActor("someone"), fails[1].ID)
	require.NoError(t, err)
	done, err = engine.ReplayBatchStep(e.eng, ctx, b.ID)
	require.NoError(t, err)
	require.True(t, done)
	b, err = e.st.ReplayBatchByID(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, store.BatchDone, b.Status)
	require.Equal(t, 2, b.Enqueued)
	require.Equal(t, 1, b.Refused)
	require.Zero(t, b.Left())
	require.Equal(t, fails[1].ID, b.Refusals()[0].SyncID)
	require.Contains(t, b.Refusals()[0].Reason, "already tried again")
	wait(t, "the replays to succeed", func() bool {
		p, err := e.st.ReplayBatchProgress(ctx, b.ID)
		require.NoError(t, err)
		return p.Succeeded == 2
	})
	for _, s := range fails {
		wait(t, "the sale order of "+s.EntityKey, func() bool { return len(e.saleOrdersWithRef(s.EntityRef)) > 0 })
		require.Len(t, e.saleOrdersWithRef(s.EntityRef), 1, s.EntityKey)
	}

	// Queued, then cancelled before its turn: nothing is claimed.
	more, v2 := e.unmappedOrders(t, 2)
	e.mapVariant(v2)
	b, err = e.st.CreateReplayBatch(ctx, store.SystemActor("ops"), store.NewReplayBatch{IDs: []int64{more[0].ID, more[1].ID, more[0].ID}})
	require.NoError(t, err)
	_, err = engine.ReplayBatchStep(e.eng, ctx, b.ID)
	require.NoError(t, err)
	b, err = e.st.ReplayBatchByID(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, 2, *b.Taken, "a failure ticked twice is queued once")
	b, left, err := e.eng.CancelReplayBatch(ctx, store.SystemActor("ops"), b.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, left)
	require.Equal(t, store.BatchCancelled, b.Status)
	done, err = engine.ReplayBatchStep(e.eng, ctx, b.ID)
	require.NoError(t, err)
	require.True(t, done)
	for _, s := range more {
		got := e.sync(t, s.ID)
		require.Nil(t, got.ResolvedAt, "still open")
	}
	p, err := e.st.ReplayBatchProgress(ctx, b.ID)
	require.NoError(t, err)
	require.Zero(t, p.Waiting+p.Running+p.Finished(), "no replay made")
}

// A cancelled bulk replay calls off the replays that have not started and
// opens their failures again.
func TestCancelReplayBatch(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, configure: func(c *engine.Config) { c.PausedRecheck = 50 * time.Millisecond }})
	ctx := context.Background()
	fails, v := e.unmappedOrders(t, 3)
	e.mapVariant(v)
	require.NoError(t, e.st.PauseFlow(ctx, store.SystemActor("admin"), "orders", "hold the replays"))
	b, err := e.eng.StartReplayBatch(ctx, store.SystemActor("ops"), store.NewReplayBatch{IDs: []int64{fails[0].ID, fails[1].ID, fails[2].ID}})
	require.NoError(t, err)
	b = e.batchDone(t, b)
	b, reopened, err := e.eng.CancelReplayBatch(ctx, store.SystemActor("ops"), b.ID)
	require.NoError(t, err)
	require.Equal(t, store.BatchCancelled, b.Status)
	require.EqualValues(t, 3, reopened)
	require.NoError(t, e.st.ResumeFlow(ctx, store.SystemActor("admin"), "orders"))
	p, err := e.st.ReplayBatchProgress(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, 3, p.Skipped)
	open, _, err := e.st.ListFailed(ctx, store.FailedFilter{})
	require.NoError(t, err)
	require.Len(t, open, 3, "the failures are open again")
	// Resumed, the workers take the cancelled replays' jobs and end them
	// without an attempt: wait for that positive signal, then look at Odoo.
	// (A replay's job points at its sync; the sync does not point back.)
	const replayJobs = `SELECT s.id, j.state FROM syncs s
JOIN river_job j ON j.kind = 'crossdock_sync' AND (j.args->>'sync_id')::bigint = s.id
WHERE s.replay_batch_id = $1 ORDER BY s.id`
	var jobs []struct {
		ID    int64  `db:"id"`
		State string `db:"state"`
	}
	wait(t, "the cancelled replays' jobs to end", func() bool {
		jobs = jobs[:0]
		require.NoError(t, e.st.DB.SelectContext(ctx, &jobs, replayJobs, b.ID))
		for _, j := range jobs {
			if j.State != "completed" {
				return false
			}
		}
		return true
	})
	require.Len(t, jobs, 3, "each cancelled replay had its job")
	for _, j := range jobs {
		r := e.sync(t, j.ID)
		require.Equal(t, vocab.SyncSkipped, r.Status, r.Message)
		require.Zero(t, r.Attempts, "a cancelled replay is never attempted")
	}
	require.Empty(t, e.odoo.SaleOrders(), "nothing was written")
}

// Bad input: a replay into a disabled connection is refused with the reason
// and leaves the failure open; a replay whose mapping is still missing fails
// again, saying so; edit-and-replay keeps the original.
func TestReplayBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	fails, _ := e.unmappedOrders(t, 2)

	r, err := e.eng.Replay(ctx, store.SystemActor("ops"), fails[0].ID)
	require.NoError(t, err, "the mapping is still missing")
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncFailed, r.Status)
	require.Equal(t, vocab.ClassUnmapped, r.Class())
	require.Contains(t, r.Message, "Map it on the Mappings page")

	_, err = e.st.SetConnectionEnabled(ctx, store.SystemActor("admin"), e.odooConn.ID, false)
	require.NoError(t, err)
	_, err = e.eng.Replay(ctx, store.SystemActor("ops"), fails[1].ID)
	var nr *engine.NotReplayedError
	require.True(t, errors.As(err, &nr), "%v", err)
	require.Contains(t, nr.Reason, "Odoo is disabled")
	require.Nil(t, e.sync(t, fails[1].ID).ResolvedAt, "the failure stays open")

	_, err = e.st.SetConnectionEnabled(ctx, store.SystemActor("admin"), e.odooConn.ID, true)
	require.NoError(t, err)
	_, err = e.eng.EditAndReplay(ctx, store.SystemActor("admin"), fails[1].ID, []byte(`not json`))
	require.Error(t, err)
	require.Nil(t, e.sync(t, fails[1].ID).ResolvedAt, "nothing half done")
	edited, err := e.eng.EditAndReplay(ctx, store.SystemActor("admin"), fails[1].ID, []byte(`{"id": 1, "line_items": []}`))
	require.NoError(t, err)
	got, err := e.st.FailedSyncByID(ctx, edited.ID)
	require.NoError(t, err)
	require.Equal(t, fails[1].ID, *got.EditedFrom)
	require.NotEqual(t, fails[1].IdempotencyKey, got.IdempotencyKey)
	require.NotContains(t, string(e.sync(t, fails[1].ID).Payload), `"line_items": []`, "the original keeps its payload")
	require.JSONEq(t, `{"id": 1, "line_items": []}`, string(got.Payload))
}

// failOdoo answers 503 to every Odoo call while failing is set.
type failOdoo struct{ failing atomic.Bool }

func (f *failOdoo) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.failing.Load() && strings.HasPrefix(r.URL.Path, "/json/2/") {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Header: http.Header{},
			Body: io.NopCloser(strings.NewReader("down for maintenance")), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Fixing the cause where you stand: the failure's "See unmapped records" leads to the
// suggested matches; once the change set is approved, the unmapped failures
// between the two systems are replayed by themselves, and the batch names
// the change set.
func TestApprovedMappingReplaysItsFailures(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, noMappings: true, configure: func(c *engine.Config) { c.Resolver = nil }})
	ctx := context.Background()
	v := e.shop.Variants()[0]
	o, payload := e.order(t, sandbox.NewLine{VariantID: v.GID(), Quantity: 1})
	fail := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.ClassUnmapped, fail.Class(), fail.Message)

	// Nothing approved yet: nothing to follow.
	started, err := e.eng.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Empty(t, started)

	_, err = e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.shopConn.ID)
	require.NoError(t, err)
	_, err = e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.odooConn.ID)
	require.NoError(t, err)
	proposer := store.Actor{UserID: mustAdmin(t, e.st, "proposer@shop.test").ID, Label: "proposer@shop.test"}
	approver := store.Actor{UserID: mustAdmin(t, e.st, "approver@shop.test").ID, Label: "approver@shop.test"}
	cs, err := e.st.ChangeSetFromSuggestions(ctx, proposer, e.shopConn.ID, e.odooConn.ID, "variant", []string{v.GID()}, "from a failed order")
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, proposer, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, approver, cs.ID, "ok")
	require.NoError(t, err)

	started, err = e.eng.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, started, 1)
	require.Equal(t, cs.ID, *started[0].ChangeSetID)
	again, err := e.eng.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Empty(t, again, "an approval is followed up once")
	wait(t, "the replay to succeed", func() bool {
		p, err := e.st.ReplayBatchProgress(ctx, started[0].ID)
		require.NoError(t, err)
		return p.Succeeded == 1
	})
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
	got, err := e.st.FailedSyncByID(ctx, fail.ID)
	require.NoError(t, err)
	require.Equal(t, store.ResolutionReplayed, got.HowResolved())
}

// The automatic replay after an approval acts on behalf of the approver:
// an admin limited to test systems approves a mapping between Shopify and a
// production Odoo; the bulk replay it starts is theirs (their scope, their
// name in the audit log), so its replays into production are refused in
// words, the failure stays open and Odoo receives nothing.
func TestApprovedMappingReplaysOnBehalfOfTheApprover(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, noMappings: true, configure: func(c *engine.Config) { c.Resolver = nil }})
	ctx := context.Background()
	v := e.shop.Variants()[0]
	_, payload := e.order(t, sandbox.NewLine{VariantID: v.GID(), Quantity: 1})
	fail := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.ClassUnmapped, fail.Class(), fail.Message)
	sys := store.SystemActor("test")
	_, err := e.eng.RefreshCatalogue(ctx, sys, e.shopConn.ID)
	require.NoError(t, err)
	_, err = e.eng.RefreshCatalogue(ctx, sys, e.odooConn.ID)
	require.NoError(t, err)
	_, err = e.st.DB.ExecContext(ctx, `UPDATE connections SET environment = 'production' WHERE id = $1`, e.odooConn.ID)
	require.NoError(t, err)

	proposer := store.Actor{UserID: mustAdmin(t, e.st, "proposer@shop.test").ID, Label: "proposer@shop.test"}
	ana, err := e.st.CreateUser(ctx, sys, store.NewUser{Email: "ana@shop.test", Name: "Ana", Role: vocab.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	_, err = e.st.UpdateUser(ctx, sys, ana.ID, store.UserUpdate{Name: "Ana", Role: vocab.RoleAdmin, Active: true, Scope: vocab.ScopeTest})
	require.NoError(t, err)
	cs, err := e.st.ChangeSetFromSuggestions(ctx, proposer, e.shopConn.ID, e.odooConn.ID, "variant", []string{v.GID()}, "from a failed order")
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, proposer, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, store.Actor{UserID: ana.ID, Label: ana.Email}, cs.ID, "ok")
	require.NoError(t, err)

	started, err := e.eng.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, started, 1)
	b := started[0]
	require.NotNil(t, b.CreatedBy)
	require.Equal(t, ana.ID, *b.CreatedBy, "the batch is the approver's")
	want := "tried again automatically after Ana approved it"
	require.Contains(t, b.Description, want)
	b = e.batchDone(t, b)
	require.Zero(t, b.Enqueued)
	require.Equal(t, 1, b.Refused)
	require.Equal(t, "You may write only into test systems, and Odoo is a production system. Ask an admin.", b.Refusals()[0].Reason)
	got, err := e.st.FailedSyncByID(ctx, fail.ID)
	require.NoError(t, err)
	require.Nil(t, got.ResolvedAt, "the failure stays open for someone who may write into production")
	require.Empty(t, e.odoo.SaleOrders())

	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "replay_batch"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "Crossdock, on behalf of Ana", entries[0].ActorLabel)
	require.NotNil(t, entries[0].ActorID)
	require.Equal(t, ana.ID, *entries[0].ActorID)
	require.Contains(t, entries[0].Summary, fmt.Sprintf("proposed change #%d fixes, %s", cs.ID, want))
}

// An operator allowed to replay into test systems only: a failure into a
// production system is refused, one by one, by filter or edited, in words;
// the failures stay open and nothing is written. Someone without the limit
// replays them.
func TestReplayScopeTestOnly(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	fails, v := e.unmappedOrders(t, 3)
	e.mapVariant(v)
	sys := store.SystemActor("admin")
	_, err := e.st.DB.ExecContext(ctx, `UPDATE connections SET environment = 'production' WHERE id = $1`, e.odooConn.ID)
	require.NoError(t, err)
	u, err := e.st.CreateUser(ctx, sys, store.NewUser{Email: "op@shop.test", Name: "Op", Role: vocab.RoleOperator, Password: "correct horse battery"})
	require.NoError(t, err)
	_, err = e.st.UpdateUser(ctx, sys, u.ID, store.UserUpdate{Name: "Op", Role: vocab.RoleOperator, Active: true, Scope: vocab.ScopeTest})
	require.NoError(t, err)
	op := store.Actor{UserID: u.ID, Label: u.Email}

	_, err = e.eng.Replay(ctx, op, fails[0].ID)
	var nr *engine.NotReplayedError
	require.True(t, errors.As(err, &nr), "%v", err)
	require.Equal(t, "You may write only into test systems, and Odoo is a production system. Ask an admin.", nr.Reason)
	_, err = e.eng.EditAndReplay(ctx, op, fails[0].ID, []byte(`{"id": 1}`))
	require.True(t, errors.As(err, &nr), "%v", err)

	b, err := e.eng.StartReplayBatch(ctx, op, store.NewReplayBatch{Filter: store.FailedFilter{ErrorClass: vocab.ClassUnmapped}, Description: "all"})
	require.NoError(t, err)
	b = e.batchDone(t, b)
	require.Zero(t, b.Enqueued)
	require.Equal(t, 3, b.Refused)
	require.Contains(t, b.Refusals()[0].Reason, "Odoo is a production system")
	open, _, err := e.st.ListFailed(ctx, store.FailedFilter{})
	require.NoError(t, err)
	require.Len(t, open, 3, "nothing was claimed")
	require.Empty(t, e.odoo.SaleOrders())

	r, err := e.eng.Replay(ctx, store.Actor{UserID: mustAdmin(t, e.st, "boss@shop.test").ID, Label: "boss@shop.test"}, fails[0].ID)
	require.NoError(t, err, "an admin with every system replays it")
	require.Equal(t, vocab.SyncSucceeded, e.ended(t, r.ID).Status)
}

// Bad input, each with its own outcome and nothing half done: the product
// was deleted in Odoo since the mapping was made (Odoo answers it does not
// exist: the replay fails, saying so, and no order is created); the mapping
// was removed since the failure (the replay fails as unmapped again); the
// connection is disabled within a bulk replay (refused, left open).
func TestReplayDeletedEntityRemovedMappingDisabledConnection(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	ctx := context.Background()
	fails, v := e.unmappedOrders(t, 1)

	// Mapped to an Odoo product that is then deleted in Odoo.
	p := e.productBySKU[v.SKU]
	e.mapVariant(v)
	req, err := http.NewRequest(http.MethodPost, e.odooConn.Settings["url"]+"/json/2/product.product/unlink", strings.NewReader(`{"ids": [`+strconv.Itoa(p.ID)+`]}`))
	require.NoError(t, err)
	_, _, _, key := e.odoo.Credentials()
	req.Header.Set("Authorization", "bearer "+key)
	req.Header.Set("X-Odoo-Database", e.odooConn.Settings["database"])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	r, err := e.eng.Replay(ctx, store.SystemActor("ops"), fails[0].ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncFailed, r.Status, r.Message)
	require.Equal(t, vocab.ClassValidation, r.Class())
	require.Contains(t, r.Message, "Odoo refused the change: The operation cannot be completed", "Odoo's own words")
	require.Empty(t, e.saleOrdersWithRef(fails[0].EntityRef), "no order half made")
	open, _, err := e.st.ListFailed(ctx, store.FailedFilter{})
	require.NoError(t, err)
	require.Len(t, open, 1, "the replay's failure is open, the original replayed")
	require.Equal(t, r.ID, open[0].ID)

	// The mapping removed: the replay fails as unmapped again.
	e.res.unset(e.shopConn.ID, e.odooConn.ID, "variant", v.GID())
	r2, err := e.eng.Replay(ctx, store.SystemActor("ops"), r.ID)
	require.NoError(t, err)
	r2 = e.ended(t, r2.ID)
	require.Equal(t, vocab.SyncFailed, r2.Status)
	require.Equal(t, vocab.ClassUnmapped, r2.Class())
	require.Contains(t, r2.Message, "Map it on the Mappings page")
	require.Empty(t, e.saleOrdersWithRef(fails[0].EntityRef))

	// A bulk replay with the target disabled: refused per item, left open.
	_, err = e.st.SetConnectionEnabled(ctx, store.SystemActor("admin"), e.odooConn.ID, false)
	require.NoError(t, err)
	b, err := e.eng.StartReplayBatch(ctx, store.SystemActor("ops"), store.NewReplayBatch{IDs: []int64{r2.ID}, Description: "disabled"})
	require.NoError(t, err)
	b = e.batchDone(t, b)
	require.Zero(t, b.Enqueued)
	require.Equal(t, []store.Refusal{{SyncID: r2.ID, Reason: "Odoo is disabled. Enable it on its connection page, then try again."}}, b.Refusals())
	require.Nil(t, e.sync(t, r2.ID).ResolvedAt, "left open")
}

// From the failures to the change set and back: unmapped orders record which
// variants were missing; "Propose the missing mappings" makes a draft of
// them matched by SKU; once approved, exactly the failures of the mapped
// variants are replayed, not the others between the same systems.
func TestProposedMappingsReplayExactlyTheirFailures(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, noMappings: true, configure: func(c *engine.Config) { c.Resolver = nil }})
	ctx := context.Background()
	va, vb := e.shop.Variants()[0], e.shop.Variants()[1]
	oa, pa := e.order(t, sandbox.NewLine{VariantID: va.GID(), Quantity: 1})
	failA := e.endedSyncs(t, e.deliver(t, "orders/create", pa))[0]
	_, pb := e.order(t, sandbox.NewLine{VariantID: vb.GID(), Quantity: 1})
	failB := e.endedSyncs(t, e.deliver(t, "orders/create", pb))[0]
	require.Equal(t, vocab.ClassUnmapped, failA.Class(), failA.Message)
	require.JSONEq(t, `{"unmapped": {"entity_type": "variant", "external_ids": ["`+va.GID()+`"]}}`, string(e.sync(t, failA.ID).Response))

	_, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.shopConn.ID)
	require.NoError(t, err)
	_, err = e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.odooConn.ID)
	require.NoError(t, err)
	// The cause of the first order alone (a search by its record).
	missing, err := e.st.MissingMappingsOf(ctx, store.FailedFilter{Search: failA.EntityRef})
	require.NoError(t, err)
	require.Equal(t, store.MissingMappings{SourceID: e.shopConn.ID, TargetID: e.odooConn.ID, EntityType: "variant", ExternalIDs: []string{va.GID()}}, missing)
	both, err := e.st.MissingMappingsOf(ctx, store.FailedFilter{})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{va.GID(), vb.GID()}, both.ExternalIDs)

	proposer := store.Actor{UserID: mustAdmin(t, e.st, "proposer@shop.test").ID, Label: "proposer@shop.test"}
	approver := store.Actor{UserID: mustAdmin(t, e.st, "approver@shop.test").ID, Label: "approver@shop.test"}
	cs, err := e.st.ChangeSetFromSuggestions(ctx, proposer, missing.SourceID, missing.TargetID, missing.EntityType, missing.ExternalIDs, "from failures")
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, proposer, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, approver, cs.ID, "ok")
	require.NoError(t, err)
	started, err := e.eng.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, started, 1)
	started[0] = e.batchDone(t, started[0])
	require.Equal(t, 1, started[0].Enqueued, "only the failure of the mapped variant")
	wait(t, "the replay to succeed", func() bool {
		p, err := e.st.ReplayBatchProgress(ctx, started[0].ID)
		require.NoError(t, err)
		return p.Succeeded == 1
	})
	require.Len(t, e.saleOrdersWithRef(oa.GID()), 1)
	require.Nil(t, e.sync(t, failB.ID).ResolvedAt, "the other variant's failure is left open, not replayed")
}
