package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// A paused flow records and queues its syncs but writes nothing; resumed, the
// waiting syncs run, without having spent attempts.
func TestPausedFlowWritesNothingUntilResumed(t *testing.T) {
	t.Parallel()
	e := setup(t, options{configure: func(c *engine.Config) { c.PausedRecheck = 100 * time.Millisecond }})
	ctx := context.Background()
	admin := store.SystemActor("test")
	require.NoError(t, e.st.PauseFlow(ctx, admin, "orders", "Odoo maintenance tonight"))
	require.NoError(t, e.st.PauseFlow(ctx, admin, "orders", "twice"), "pausing a paused flow changes nothing")
	e.start(t)

	_, payload := e.order(t)
	ev := e.deliver(t, "orders/create", payload)
	var ids []int64
	wait(t, "the order's sync to be queued", func() bool {
		ss, err := e.st.SyncsOfWebhookEvent(ctx, ev)
		require.NoError(t, err)
		ids = ids[:0]
		for _, s := range ss {
			ids = append(ids, s.ID)
		}
		return len(ids) == 1
	})
	// A positive signal that the worker took the job and held it back,
	// several times, rather than a pause long enough on a fast machine.
	s := e.sync(t, ids[0])
	require.NotNil(t, s.JobID)
	wait(t, "the worker to find the flow paused three times", func() bool {
		require.Nil(t, e.sync(t, ids[0]).FinishedAt, "the sync ran while its flow was paused")
		return e.snoozes(t, *s.JobID) >= 3
	})
	s = e.sync(t, ids[0])
	require.Nil(t, s.FinishedAt, "the sync waits")
	require.Zero(t, s.Attempts, "no attempt is spent while paused")
	require.Empty(t, e.odoo.SaleOrders(), "nothing is written while paused")

	require.NoError(t, e.st.ResumeFlow(ctx, admin, "orders"))
	done := e.ended(t, ids[0])
	require.Equal(t, vocab.SyncSucceeded, done.Status, done.Message)
	require.Equal(t, 1, done.Attempts)
	require.Len(t, e.odoo.SaleOrders(), 1)

	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "flow"})
	require.NoError(t, err)
	require.Len(t, entries, 2, "one pause and one resume are audited")
	require.Equal(t, "flow.resumed", entries[0].Action)
}

// snoozes is how many times River's worker took a job and snoozed it: each
// time the engine ran it and chose to wait (paused flow, open breaker,
// retry delay) without spending an attempt.
func (e *env) snoozes(t testing.TB, jobID int64) int {
	t.Helper()
	var n int
	require.NoError(t, e.st.DB.GetContext(context.Background(), &n,
		`SELECT coalesce((metadata->>'snoozes')::int, 0) FROM river_job WHERE id = $1`, jobID))
	return n
}
