package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

func stateOf(e *env, id int64) (engine.ConnectionState, bool) {
	for _, cs := range e.eng.Connections() {
		if cs.ConnectionID == id {
			return cs, true
		}
	}
	return engine.ConnectionState{}, false
}

func countOf(e *env, family string, status vocab.Status, class vocab.ErrorClass) uint64 {
	for _, c := range e.eng.SyncCounts() {
		if c.Family == family && c.Status == string(status) && c.Class == string(class) {
			return c.N
		}
	}
	return 0
}

func TestObservedBudgetAndCounts(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	_, known := stateOf(e, e.shopConn.ID)
	require.False(t, known, "nothing is known before the first call")

	e.sweep(t)
	cs, ok := stateOf(e, e.shopConn.ID)
	require.True(t, ok)
	require.Equal(t, "Main store", cs.Name)
	require.False(t, cs.BreakerOpen)
	require.True(t, cs.BudgetKnown, "Shopify reported its bucket")
	require.Positive(t, cs.BudgetMax)
	require.LessOrEqual(t, cs.BudgetAvailable, cs.BudgetMax)
	// The count follows the recorded outcome the sweep saw, a moment later.
	wait(t, "the succeeded syncs to be counted", func() bool {
		return countOf(e, "inventory", vocab.SyncSucceeded, "") > 0
	})
}

func TestObservedBreakerOpens(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, configure: func(c *engine.Config) {
		c.BreakerThreshold, c.BreakerCooldown = 1, time.Minute
	}})
	e.shop.FailNext(1000, shopsandbox.FailStatus503)
	_, err := e.eng.SweepInventory(t.Context(), store.TriggerManual, true)
	require.NoError(t, err)
	// The breaker opens as the attempt ends; the count follows once the
	// outcome is recorded.
	wait(t, "the breaker of the failing shop to open and the attempt to be counted", func() bool {
		cs, _ := stateOf(e, e.shopConn.ID)
		return cs.BreakerOpen && countOf(e, "inventory", vocab.SyncRetrying, vocab.ClassTransient) > 0
	})
	cs, _ := stateOf(e, e.shopConn.ID)
	require.True(t, cs.OpenUntil.After(time.Now()))
}
