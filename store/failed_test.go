package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// failures inserts failed syncs: refs with their class and message.
func (e syncEnv) failures(t *testing.T, rows ...store.NewSync) []int64 {
	t.Helper()
	ids, err := e.st.InsertSyncs(t.Context(), rows)
	require.NoError(t, err)
	return ids
}

func (e syncEnv) failed(ref string, class vocab.ErrorClass, msg string, keys ...string) store.NewSync {
	s := e.newSync(ref, keys...)
	s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, class, msg
	return s
}

func TestFailedListFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	ok := e.newSync("#ok", "sku-ok")
	ok.Status = vocab.SyncSucceeded
	ids := e.failures(t,
		e.failed("#1001", vocab.ClassUnmapped, "#1001 cannot be sent to Odoo: SKU-1 is not mapped.", "sku-1", "#1001", "ana@shop.test"),
		e.failed("#1002", vocab.ClassValidation, "Odoo refused the change: customer 42 has no country.", "sku-2", "#1002"),
		e.failed("#1003", vocab.ClassValidation, "Odoo refused the change: customer 43 has no country.", "sku-3", "#1003"),
		ok,
	)
	all, more, err := e.st.ListFailed(ctx, store.FailedFilter{})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, all, 3, "the success is not a failure")
	require.Equal(t, ids[2], all[0].ID, "newest first")

	tests := []struct {
		name string
		f    store.FailedFilter
		want []int64
	}{
		{"class", store.FailedFilter{ErrorClass: vocab.ClassValidation}, []int64{ids[2], ids[1]}},
		{"search by SKU, any case", store.FailedFilter{Search: "SKU-2"}, []int64{ids[1]}},
		{"search by e-mail", store.FailedFilter{Search: "Ana@Shop.test"}, []int64{ids[0]}},
		{"search by external id", store.FailedFilter{Search: "#1003"}, []int64{ids[2]}},
		{"connection", store.FailedFilter{ConnectionID: e.odoo.ID, Family: "orders", Direction: "shopify_to_odoo"}, []int64{ids[2], ids[1], ids[0]}},
		{"environment", store.FailedFilter{Environment: vocab.EnvProduction}, nil},
		{"date range", store.FailedFilter{From: time.Now().Add(time.Hour)}, nil},
		{"resolved", store.FailedFilter{Status: store.FailedResolved}, nil},
	}
	for _, tc := range tests {
		got, _, err := e.st.ListFailed(ctx, tc.f)
		require.NoError(t, err, tc.name)
		var gotIDs []int64
		for _, s := range got {
			gotIDs = append(gotIDs, s.ID)
		}
		require.Equal(t, tc.want, gotIDs, tc.name)
	}

	// Keyset pages of one.
	p1, more, err := e.st.ListFailed(ctx, store.FailedFilter{Limit: 1})
	require.NoError(t, err)
	require.True(t, more)
	p2, _, err := e.st.ListFailed(ctx, store.FailedFilter{Limit: 1, BeforeAt: p1[0].CreatedAt, BeforeID: p1[0].ID})
	require.NoError(t, err)
	require.Equal(t, ids[1], p2[0].ID)

	n, capped, err := e.st.CountFailed(ctx, store.FailedFilter{}, 2)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.True(t, capped, "3 failures counted up to 2 say 'more than 2'")
	n, capped, err = e.st.CountFailed(ctx, store.FailedFilter{}, 10)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.False(t, capped)

	// Grouped by cause: the two refusals for a missing country are one cause.
	groups, err := e.st.FailedGroups(ctx, store.FailedFilter{}, 10)
	require.NoError(t, err)
	require.Len(t, groups, 2)
	require.Equal(t, vocab.ClassValidation, groups[0].ErrorClass)
	require.Equal(t, 2, groups[0].Count)
	require.Equal(t, 2, groups[0].Keys)
	require.Equal(t, "Odoo refused the change: customer … has no country.", groups[0].Cause)
	require.Equal(t, ids[2], groups[0].LastID)
	inGroup, _, err := e.st.ListFailed(ctx, groups[0].Filter(store.FailedFilter{}))
	require.NoError(t, err)
	require.Len(t, inGroup, 2)
	require.Equal(t, 1, groups[1].Count)
	require.Equal(t, vocab.ClassUnmapped, groups[1].ErrorClass)
}

func TestResolveIgnoreAutoResolveAndPrune(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	a := store.SystemActor("ops")
	ids := e.failures(t,
		e.failed("#1", vocab.ClassValidation, "refused"),
		e.failed("#2", vocab.ClassValidation, "refused"),
		e.failed("#3", vocab.ClassTransient, "down"),
	)
	_, err := e.st.ResolveFailures(ctx, a, ids[:1], store.ResolutionIgnored, " ")
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe["note"], "why")

	done, err := e.st.ResolveFailures(ctx, a, ids[:1], store.ResolutionResolved, "Fixed the customer in Odoo")
	require.NoError(t, err)
	require.Equal(t, ids[:1], done)
	_, err = e.st.ResolveFailures(ctx, a, ids[:1], store.ResolutionIgnored, "again")
	require.ErrorIs(t, err, store.ErrNothingToResolve, "a failure is dealt with once")
	_, err = e.st.ResolveFailures(ctx, a, ids[1:2], store.ResolutionIgnored, "Test order")
	require.NoError(t, err)

	got, err := e.st.FailedSyncByID(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, store.ResolutionResolved, got.HowResolved())
	require.Equal(t, "Fixed the customer in Odoo", *got.ResolutionNote)
	for status, want := range map[string]int64{store.FailedResolved: ids[0], store.FailedIgnored: ids[1]} {
		l, _, err := e.st.ListFailed(ctx, store.FailedFilter{Status: status})
		require.NoError(t, err)
		require.Len(t, l, 1, status)
		require.Equal(t, want, l[0].ID, status)
	}
	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Contains(t, entries[0].Summary, "Ignored 1 failed sync(s): Test order")

	// A later success of #3 into the same system resolves its failure.
	later := e.newSync("#3")
	later.Status = vocab.SyncSucceeded
	lid := e.failures(t, later)[0]
	s, err := e.st.SyncByID(ctx, lid)
	require.NoError(t, err)
	n, err := e.st.AutoResolve(ctx, s)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	got, err = e.st.FailedSyncByID(ctx, ids[2])
	require.NoError(t, err)
	require.Equal(t, store.ResolutionAutoResolved, got.HowResolved())

	// Retention: nothing resolved is older than an hour ago; everything is
	// older than an hour from now. Open failures are never pruned.
	open := e.failures(t, e.failed("#4", vocab.ClassValidation, "refused"))[0]
	n, err = e.st.PruneResolvedFailures(ctx, time.Now().Add(-time.Hour), 100)
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = e.st.PruneResolvedFailures(ctx, time.Now().Add(time.Hour), 100)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	_, err = e.st.SyncByID(ctx, ids[0])
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = e.st.SyncByID(ctx, open)
	require.NoError(t, err)
}

// TestFailureGroupsSummary checks the summary of causes against grouping the
// failures themselves (a date range forces that) as failures open, change
// cause, are resolved, replayed and deleted, before and after folding.
func TestFailureGroupsSummary(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	a := store.SystemActor("ops")
	same := func(stage string) {
		t.Helper()
		summary, err := e.st.FailedGroups(ctx, store.FailedFilter{}, 50)
		require.NoError(t, err, stage)
		direct, err := e.st.FailedGroups(ctx, store.FailedFilter{From: time.Unix(0, 0)}, 50)
		require.NoError(t, err, stage)
		type group struct {
			class   vocab.ErrorClass
			cause   string
			n, keys int
		}
		var got, want []group
		for _, g := range summary {
			got = append(got, group{g.ErrorClass, g.Cause, g.Count, g.Keys})
		}
		for _, g := range direct {
			want = append(want, group{g.ErrorClass, g.Cause, g.Count, g.Keys})
		}
		require.Equal(t, want, got, stage)
		for _, f := range []store.FailedFilter{{ErrorClass: vocab.ClassValidation}, {Environment: vocab.EnvProduction}, {ConnectionID: e.odoo.ID}} {
			summary, err := e.st.FailedGroups(ctx, f, 50)
			require.NoError(t, err, stage)
			f.From = time.Unix(0, 0)
			direct, err := e.st.FailedGroups(ctx, f, 50)
			require.NoError(t, err, stage)
			require.Equal(t, len(direct), len(summary), stage)
		}
	}
	fold := func(stage string) {
		t.Helper()
		_, err := e.st.FoldFailureGroupChanges(ctx)
		require.NoError(t, err, stage)
		same(stage + ", folded")
	}
	ok := e.newSync("#ok")
	ok.Status = vocab.SyncSucceeded
	ids := e.failures(t,
		e.failed("#1", vocab.ClassValidation, "Odoo refused the change: customer 1 has no country."),
		e.failed("#2", vocab.ClassValidation, "Odoo refused the change: customer 2 has no country."),
		e.failed("#2", vocab.ClassValidation, "Odoo refused the change: customer 2 has no country."),
		e.failed("#3", vocab.ClassUnmapped, "#3 cannot be sent: SKU-3 is not mapped."),
		ok,
	)
	same("opened")
	groups, err := e.st.FailedGroups(ctx, store.FailedFilter{}, 50)
	require.NoError(t, err)
	require.Len(t, groups, 2)
	require.Equal(t, 3, groups[0].Count)
	require.Equal(t, 2, groups[0].Keys, "#2 failed twice: two orders")
	require.Equal(t, ids[2], groups[0].LastID)
	fold("opened")

	// A retry that fails differently moves to another cause.
	_, err = e.st.DB.ExecContext(ctx, `UPDATE syncs SET error_class = 'transient', message = 'Odoo did not answer in time.' WHERE id = $1`, ids[0])
	require.NoError(t, err)
	same("cause changed")
	_, err = e.st.ResolveFailures(ctx, a, ids[1:2], store.ResolutionIgnored, "Test order")
	require.NoError(t, err)
	same("ignored")
	fold("ignored")
	reps, err := e.st.ReplayFailures(ctx, a, ids[2:3], 0, 0, 0)
	require.NoError(t, err)
	require.Len(t, reps, 1)
	require.Equal(t, ids[2], reps[0].ReplayOf)
	same("replayed")
	_, err = e.st.DB.ExecContext(ctx, `DELETE FROM syncs WHERE id = $1`, ids[3])
	require.NoError(t, err)
	fold("deleted")
	groups, err = e.st.FailedGroups(ctx, store.FailedFilter{}, 50)
	require.NoError(t, err)
	require.Len(t, groups, 1, "only the transient failure is open")
	var rows int
	require.NoError(t, e.st.DB.GetContext(ctx, &rows, `SELECT count(*) FROM failure_groups`))
	require.Equal(t, 1, rows, "causes with nothing open are dropped")
}

// TestFailureGroupsConcurrentWriters fails syncs of one cause from many
// connections at once while the summary is folded: none waits on another's
// counter, and no failure is lost or counted twice.
func TestFailureGroupsConcurrentWriters(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	const writers, each = 8, 25
	// Every goroutine is waited for before errs is read: a folder still
	// running when the test returns would send on a closed channel and
	// panic, taking the package's results (and its cluster) with it.
	var writersWG, folderWG sync.WaitGroup
	errs := make(chan error, writers+1)
	stop := make(chan struct{})
	folderWG.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.st.FoldFailureGroupChanges(ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	for w := range writers {
		writersWG.Go(func() {
			for i := range each {
				ref := fmt.Sprintf("#%d-%d", w, i)
				if _, err := e.st.InsertSyncs(ctx, []store.NewSync{e.failed(ref, vocab.ClassValidation, "Odoo refused the change: customer 7 has no country.")}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	writersWG.Wait()
	close(stop)
	folderWG.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, err := e.st.FoldFailureGroupChanges(ctx)
	require.NoError(t, err)
	groups, err := e.st.FailedGroups(ctx, store.FailedFilter{}, 50)
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Equal(t, writers*each, groups[0].Count)
	require.Equal(t, store.MaxGroupKeys, groups[0].Keys)
	require.True(t, groups[0].KeysCapped, "200 orders, counted up to 100")
}

// TestReplayScope: an admin limits a person to test systems, audited; the
// limits of their replays name the production systems, and not for others.
func TestReplayScope(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	sys := store.SystemActor("test")
	prod, err := e.st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Odoo live", Kind: vocab.KindOdoo, Environment: vocab.EnvProduction})
	require.NoError(t, err)
	op, err := e.st.CreateUser(ctx, sys, store.NewUser{Email: "op@shop.test", Name: "Op", Role: vocab.RoleOperator, Password: "correct horse battery"})
	require.NoError(t, err)
	require.Equal(t, vocab.ScopeAll, op.Scope, "every system until an admin says otherwise")

	_, err = e.st.UpdateUser(ctx, sys, op.ID, store.UserUpdate{Name: "Op", Role: vocab.RoleOperator, Active: true, Scope: "staging"})
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe["scope"], "test systems only")
	op, err = e.st.UpdateUser(ctx, sys, op.ID, store.UserUpdate{Name: "Op", Role: vocab.RoleOperator, Active: true, Scope: vocab.ScopeTest})
	require.NoError(t, err)
	require.Equal(t, vocab.ScopeTest, op.Scope)
	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Equal(t, "op@shop.test: may write into test systems only", entries[0].Summary)
	op, err = e.st.UpdateUser(ctx, sys, op.ID, store.UserUpdate{Name: "Op 2", Role: vocab.RoleOperator, Active: true})
	require.NoError(t, err)
	require.Equal(t, vocab.ScopeTest, op.Scope, "a form without the field keeps the scope")

	limits, err := e.st.ReplayLimits(ctx, store.Actor{UserID: op.ID})
	require.NoError(t, err)
	require.True(t, limits.ScopeLimited)
	require.Equal(t, map[int64]string{prod.ID: "Odoo live"}, limits.OutOfScope)
	require.Contains(t, limits.Refusal(store.SyncState{Source: e.shop.ID, Target: prod.ID}), "Odoo live is a production system")
	require.Empty(t, limits.Refusal(store.SyncState{Source: e.shop.ID, Target: e.odoo.ID}), "test systems are theirs")
	require.Empty(t, limits.Refusal(store.SyncState{Source: prod.ID, Target: e.odoo.ID}), "reading from production into test is allowed")

	limits, err = e.st.ReplayLimits(ctx, sys)
	require.NoError(t, err)
	require.False(t, limits.ScopeLimited, "Crossdock itself has no scope")
	require.Empty(t, limits.OutOfScope)
	limits, err = e.st.ReplayLimits(ctx, store.Actor{UserID: 999999})
	require.NoError(t, err)
	require.True(t, limits.ScopeLimited, "a user id naming nobody fails closed")
	require.Equal(t, map[int64]string{prod.ID: "Odoo live"}, limits.OutOfScope)
	_, err = e.st.SetConnectionEnabled(ctx, sys, e.odoo.ID, false)
	require.NoError(t, err)
	limits, err = e.st.ReplayLimits(ctx, sys)
	require.NoError(t, err)
	require.Contains(t, limits.Refusal(store.SyncState{Source: e.shop.ID, Target: e.odoo.ID}), "Odoo is disabled")
}

// A bulk replay's queue: the ticked failures once each, or those matching
// its filter from before it started; taken off newest first; emptied when
// the batch is cancelled or its job gives up, leaving the failures open.
func TestReplayBatchQueue(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	sys := store.SystemActor("test")
	ids := e.failures(t,
		e.failed("#7001", vocab.ClassUnmapped, "#7001 cannot be sent to Odoo: SKU-A is not mapped yet."),
		e.failed("#7002", vocab.ClassUnmapped, "#7002 cannot be sent to Odoo: SKU-B is not mapped yet."),
		e.failed("#7003", vocab.ClassValidation, "Odoo refused the change: customer 7 has no country."))

	byFilter, err := e.st.CreateReplayBatch(ctx, sys, store.NewReplayBatch{Filter: store.FailedFilter{ErrorClass: vocab.ClassUnmapped}})
	require.NoError(t, err)
	later := e.failures(t, e.failed("#7004", vocab.ClassUnmapped, "#7004 cannot be sent to Odoo: SKU-C is not mapped yet."))
	_, err = e.st.DB.ExecContext(ctx, `UPDATE syncs SET created_at = now() + interval '1 second' WHERE id = $1`, later[0])
	require.NoError(t, err)
	n, err := e.st.TakeReplayFailures(ctx, byFilter)
	require.NoError(t, err)
	require.Equal(t, 2, n, "the unmapped failures from before the batch, not the validation one nor the later one")
	next, err := e.st.NextReplayFailures(ctx, byFilter.ID, 1)
	require.NoError(t, err)
	require.Equal(t, []int64{ids[1]}, next, "newest first")
	s, err := e.st.FailedSyncByID(ctx, ids[0])
	require.NoError(t, err)
	require.NotNil(t, s.QueuedIn)
	require.Equal(t, byFilter.ID, *s.QueuedIn)
	s, err = e.st.FailedSyncByID(ctx, ids[1])
	require.NoError(t, err)
	require.Nil(t, s.QueuedIn, "taken off the queue")

	// Its job gives up: what is left leaves the queue; the failure is open.
	require.NoError(t, e.st.FailReplayBatch(ctx, byFilter.ID, "the database went away"))
	byFilter, err = e.st.ReplayBatchByID(ctx, byFilter.ID)
	require.NoError(t, err)
	require.Equal(t, store.BatchFailed, byFilter.Status)
	require.Zero(t, byFilter.Left())
	s, err = e.st.FailedSyncByID(ctx, ids[0])
	require.NoError(t, err)
	require.Nil(t, s.QueuedIn)
	require.Nil(t, s.ResolvedAt)

	ticked, err := e.st.CreateReplayBatch(ctx, sys, store.NewReplayBatch{IDs: []int64{ids[2], ids[0], ids[2]}})
	require.NoError(t, err)
	n, err = e.st.TakeReplayFailures(ctx, ticked)
	require.NoError(t, err)
	require.Equal(t, 2, n, "a failure ticked twice is queued once")
	ticked, err = e.st.ReplayBatchByID(ctx, ticked.ID)
	require.NoError(t, err)
	require.Equal(t, store.BatchRunning, ticked.Status)
	require.Equal(t, 2, ticked.Left())
	_, left, err := e.st.CancelReplayBatch(ctx, sys, ticked.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, left)
	next, err = e.st.NextReplayFailures(ctx, ticked.ID, 10)
	require.NoError(t, err)
	require.Empty(t, next)
}
