package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
)

// The running jobs of a replica whose beat stopped go back to the queue at
// once, without spending an attempt, with the leases of its syncs; a live
// replica's jobs stay with it however long they have run.
func TestTakeOverDeadReplicas(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	require.NoError(t, st.BeatReplica(ctx, "alive"))
	require.NoError(t, st.BeatReplica(ctx, "dead"))
	_, err := st.DB.ExecContext(ctx, `UPDATE replicas SET beat_at = now() - interval '30 seconds' WHERE id = 'dead'`)
	require.NoError(t, err)
	job := func(by string, attempt, max int, args string) int64 {
		var id int64
		require.NoError(t, st.DB.GetContext(ctx, &id, `INSERT INTO river_job (args, kind, max_attempts, queue, state, attempt, attempted_at, attempted_by, scheduled_at)
VALUES ($1, 'crossdock_sync', $2, 'syncs', 'running', $3, now() - interval '2 hours', ARRAY['someone-before', $4], now() - interval '2 hours') RETURNING id`,
			args, max, attempt, by))
		return id
	}
	deadSync := job("dead", 3, 3, `{"sync_id": 41}`)
	deadRecon := job("dead", 1, 3, `{"run_id": 7}`)
	liveLong := job("alive", 1, 3, `{"sync_id": 42}`)
	_, err = st.DB.ExecContext(ctx, `INSERT INTO sync_leases (key, sync_id, expires_at) VALUES
 ('order:1:a', 41, now() + interval '2 minutes'), ('partner:1:c', 41, now() + interval '30 seconds'), ('order:1:b', 42, now() + interval '2 minutes')`)
	require.NoError(t, err)

	n, err := st.TakeOverDeadReplicas(ctx, 20*time.Second)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	type row struct {
		State    string          `db:"state"`
		Attempt  int             `db:"attempt"`
		Max      int             `db:"max_attempts"`
		Metadata json.RawMessage `db:"metadata"`
		Errors   int             `db:"errors"`
	}
	read := func(id int64) row {
		var r row
		require.NoError(t, st.DB.GetContext(ctx, &r, `SELECT state, attempt, max_attempts, metadata, coalesce(cardinality(errors), 0) AS errors FROM river_job WHERE id = $1`, id))
		return r
	}
	for _, id := range []int64{deadSync, deadRecon} {
		r := read(id)
		require.Equal(t, "available", r.State)
		require.Greater(t, r.Max, r.Attempt, "a replica that died did not spend the job's last attempt")
		require.JSONEq(t, `{"`+store.TakenOverKey+`": 1}`, string(r.Metadata))
		require.Equal(t, 1, r.Errors, "the hand-over is said in the job's errors")
	}
	require.Equal(t, "running", read(liveLong).State, "a live replica keeps its job, however long it runs")
	var leases []string
	require.NoError(t, st.DB.SelectContext(ctx, &leases, `SELECT key FROM sync_leases ORDER BY key`))
	require.Equal(t, []string{"order:1:b"}, leases, "the dead replica's leases are released, the live one's kept")

	n, err = st.TakeOverDeadReplicas(ctx, 20*time.Second)
	require.NoError(t, err)
	require.Zero(t, n, "nothing twice")
}

// A family whose run still goes on (a replica beats for it) keeps its
// scheduled slot: the schedule queues the next run once that one has ended,
// instead of spending a slot a minute on "already running".
func TestScheduleWaitsForTheLiveRunInsteadOfSpendingItsSlot(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	_, err := st.DB.ExecContext(ctx, `UPDATE recon_schedules SET every_minutes = CASE WHEN family = 'inventory' THEN 1 ELSE 0 END,
  last_queued_at = now() - interval '10 minutes'`)
	require.NoError(t, err)
	var run int64
	require.NoError(t, st.DB.GetContext(ctx, &run, `INSERT INTO recon_runs (family, trigger, status, started_at, beat_at)
VALUES ('inventory', 'schedule', 'running', now() - interval '2 hours', now()) RETURNING id`))

	fs, err := st.ClaimDueReconFamilies(ctx, store.ReconFamilies)
	require.NoError(t, err)
	require.Empty(t, fs)
	r, err := st.ReconRunByID(ctx, run)
	require.NoError(t, err)
	require.Equal(t, store.RunRunning, r.Status, "a run that beats is not taken for lost, however long it runs")

	_, err = st.FinishReconRun(ctx, r, store.RunOutcome{Status: store.RunSucceeded})
	require.NoError(t, err)
	fs, err = st.ClaimDueReconFamilies(ctx, store.ReconFamilies)
	require.NoError(t, err)
	require.Equal(t, []string{"inventory"}, fs, "the slot it kept is used as soon as the run ended")
}
