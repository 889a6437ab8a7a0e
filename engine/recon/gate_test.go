package recon_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/engine/alert"
	"crossdock/engine/enginetest"
	"crossdock/engine/recon"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// liveRuns lists the families with a queued or running comparison.
func liveRuns(t *testing.T, e *env) map[string]store.ReconRun {
	t.Helper()
	runs, _, err := e.St.ListReconRuns(t.Context(), store.ReconRunFilter{})
	require.NoError(t, err)
	out := map[string]store.ReconRun{}
	for _, r := range runs {
		if !r.Ended() {
			out[r.Family] = r
		}
	}
	return out
}

func TestComparisonRunsOnlyForFamiliesWithASource(t *testing.T) {
	t.Parallel()
	e := setup(t, options{}) // Shopify decides orders, Odoo stock; nobody decides prices or refunds
	al, err := alert.New(e.Eng, alert.Config{Manual: true})
	require.NoError(t, err)
	ctx := t.Context()
	e.MapInDB(t)
	enginetest.OnlyAlertRule(t, e.St, store.AlertFailedSyncsBurst)
	enginetest.SetAlertRule(t, e.St, store.AlertReconRunFailed, true, 0, 60, 240)
	enginetest.SetAlertRule(t, e.St, store.AlertReconDiscrepancies, true, 1, 60, 240)

	require.NoError(t, recon.Tick(e.rc, ctx))
	live := liveRuns(t, e)
	require.Contains(t, live, store.ReconInventory)
	require.Contains(t, live, store.ReconOrders)
	require.Contains(t, live, store.ReconMappings, "the mapping check needs no source")
	require.NotContains(t, live, store.ReconPrices, "nobody decides prices: nothing to compare them with")
	require.NotContains(t, live, store.ReconRefunds)
	require.NotContains(t, live, store.ReconWarehouse, "no warehouse receives orders")

	// A comparison that failed, and differences left, from before the
	// source was removed or never set, raise nothing the merchant cannot clear.
	_, err = e.St.DB.ExecContext(ctx, `INSERT INTO recon_runs (family, trigger, status, finished_at, message)
VALUES ('prices', 'manual', 'failed', now(), 'No system decides prices yet.')`)
	require.NoError(t, err)
	_, err = e.St.DB.ExecContext(ctx, `INSERT INTO discrepancies (family, kind, key, label, first_run_id, last_run_id) VALUES ('prices', 'price', 'x', 'x', 1, 1)`)
	require.NoError(t, err)
	notices, err := al.Evaluate(ctx)
	require.NoError(t, err)
	for _, n := range notices {
		require.NotEqual(t, "prices", n.Alert.Key, "no alert about prices while nobody decides them: %s", n.Alert.Title)
	}
	run, queued, err := e.rc.SourceSaved(ctx, vocab.Prices, "test")
	require.NoError(t, err)
	require.False(t, queued, "saving another family's rule, or none, queues nothing")
	require.Zero(t, run.ID)

	// Naming a source runs the comparison then, not at the next scheduled check.
	_, err = e.St.SaveSourceRule(ctx, store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Prices, Master: e.OdooConn.ID,
		Receivers: []int64{e.ShopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 15, FreshnessMinutes: 60, Policy: rules.MasterWins})
	require.NoError(t, err)
	run, queued, err = e.rc.SourceSaved(ctx, vocab.Prices, "test")
	require.NoError(t, err)
	require.True(t, queued)
	require.Equal(t, store.ReconPrices, run.Family)
	run, err = e.rc.Reconcile(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	require.Positive(t, run.Compared)

	// Its schedule counts from now: the next tick does not queue it again.
	require.NoError(t, recon.Tick(e.rc, ctx))
	require.NotContains(t, liveRuns(t, e), store.ReconPrices)

	// And now alerts about prices are raised again.
	_, err = e.St.DB.ExecContext(ctx, `INSERT INTO recon_runs (family, trigger, status, finished_at, message)
VALUES ('prices', 'manual', 'failed', now() + interval '1 second', 'Shopify could not be reached.')`)
	require.NoError(t, err)
	notices, err = al.Evaluate(ctx)
	require.NoError(t, err)
	var keys []string
	for _, n := range notices {
		keys = append(keys, n.Alert.Kind+"/"+n.Alert.Key)
	}
	require.Contains(t, keys, store.AlertReconRunFailed+"/prices")
}
