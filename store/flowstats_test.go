package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// finish runs one attempt of a sync to the given status.
func (e syncEnv) finish(t *testing.T, id int64, status vocab.Status) {
	t.Helper()
	s, err := e.st.BeginSyncAttempt(t.Context(), id)
	require.NoError(t, err)
	o := store.SyncOutcome{ID: id, Attempt: s.Attempts, Status: status}
	if status == vocab.SyncRetrying {
		o.ErrorClass, o.NextAttemptAt = vocab.ClassTransient, time.Now().Add(time.Minute)
	}
	require.NoError(t, e.st.FinishSyncAttempt(t.Context(), o))
}

func TestFlowStats(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	stock := func(ref string) store.NewSync {
		s := e.newSync(ref)
		s.Family, s.Direction, s.Flow, s.EntityType = "inventory", "odoo_to_shopify", "inventory.odoo_shopify", "stock"
		s.SourceConnectionID, s.TargetConnectionID = e.odoo.ID, e.shop.ID
		return s
	}
	failed := e.newSync("F1")
	failed.Status, failed.ErrorClass, failed.Message = vocab.SyncFailed, vocab.ClassValidation, "No lines."
	ids, err := e.st.InsertSyncs(ctx, []store.NewSync{e.newSync("S1"), e.newSync("S2"), failed, e.newSync("P1"), e.newSync("R1"),
		e.newSync("OLD"), stock("I1")})
	require.NoError(t, err)
	e.finish(t, ids[0], vocab.SyncSucceeded)
	e.finish(t, ids[1], vocab.SyncSucceeded)
	e.finish(t, ids[4], vocab.SyncRetrying)
	e.finish(t, ids[5], vocab.SyncSucceeded)
	e.finish(t, ids[6], vocab.SyncSucceeded)
	// S2 was created three hours ago; OLD two days ago (outside the window);
	// the stock sync succeeded a day and a half ago.
	_, err = e.st.DB.ExecContext(ctx, `UPDATE syncs SET created_at = now() - interval '3 hours' WHERE id = $1`, ids[1])
	require.NoError(t, err)
	_, err = e.st.DB.ExecContext(ctx, `UPDATE syncs SET created_at = now() - interval '2 days', updated_at = now() - interval '2 days' WHERE id = $1`, ids[5])
	require.NoError(t, err)
	_, err = e.st.DB.ExecContext(ctx, `UPDATE syncs SET created_at = now() - interval '36 hours', updated_at = now() - interval '36 hours' WHERE id = $1`, ids[6])
	require.NoError(t, err)

	stats, err := e.st.FlowStats(ctx, time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Len(t, stats, len(vocab.AllFamilies()))
	by := map[vocab.Family]store.FlowStat{}
	for _, s := range stats {
		by[s.Family] = s
	}

	o := by[vocab.Orders]
	require.Equal(t, 5, o.Total, "OLD is outside the window")
	require.Equal(t, 2, o.Succeeded)
	require.Equal(t, 1, o.Failed)
	require.Equal(t, 1, o.FailedLastHour)
	require.NotNil(t, o.LastFailedAt)
	require.Equal(t, 1, o.Retrying)
	require.NotNil(t, o.LastSucceededAt)
	require.WithinDuration(t, time.Now(), *o.LastSucceededAt, time.Minute)
	require.NotNil(t, o.OldestWaitingAt, "P1 waits and R1 retries")
	require.WithinDuration(t, time.Now(), *o.OldestWaitingAt, time.Minute)
	require.Len(t, o.Hours, 2, "three hours ago and now")
	require.True(t, o.Hours[0].Hour.Before(o.Hours[1].Hour))
	require.Equal(t, store.FlowHour{Hour: o.Hours[0].Hour, Succeeded: 1}, o.Hours[0])
	require.Equal(t, 1, o.Hours[1].Succeeded)
	require.Equal(t, 1, o.Hours[1].Failed)
	require.Equal(t, 2, o.Hours[1].Other)
	require.Equal(t, o.Hours[1].Hour, o.Hours[1].Hour.Truncate(time.Hour))

	inv := by[vocab.Inventory]
	require.Zero(t, inv.Total)
	require.Empty(t, inv.Hours)
	require.NotNil(t, inv.LastSucceededAt, "the last success is found outside the window too")
	require.WithinDuration(t, time.Now().Add(-36*time.Hour), *inv.LastSucceededAt, time.Minute)
	require.Nil(t, inv.OldestWaitingAt)

	require.Zero(t, by[vocab.Customers].Total)
	require.Nil(t, by[vocab.Customers].LastSucceededAt)
}
