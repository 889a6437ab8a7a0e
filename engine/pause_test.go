package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/store"
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
	time.Sleep(700 * time.Millisecond) // several rechecks while paused
	s := e.sync(t, ids[0])
	require.Nil(t, s.FinishedAt, "the sync waits")
	require.Zero(t, s.Attempts, "no attempt is spent while paused")
	require.Empty(t, e.odoo.SaleOrders(), "nothing is written while paused")

	require.NoError(t, e.st.ResumeFlow(ctx, admin, "orders"))
	done := e.ended(t, ids[0])
	require.Equal(t, store.SyncSucceeded, done.Status, done.Message)
	require.Equal(t, 1, done.Attempts)
	require.Len(t, e.odoo.SaleOrders(), 1)

	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "flow"})
	require.NoError(t, err)
	require.Len(t, entries, 2, "one pause and one resume are audited")
	require.Equal(t, "flow.resumed", entries[0].Action)
}
