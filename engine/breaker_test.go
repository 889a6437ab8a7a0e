package engine_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

func TestFailingSystemDoesNotClogOthers(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, configure: func(c *engine.Config) {
		c.BreakerThreshold, c.BreakerCooldown = 1, time.Minute
	}})
	e.shop.FailNext(1000, shopsandbox.FailStatus503)

	// Stock for Shopify fails once; the breaker opens; its retries wait
	// (snoozed) without using up attempts.
	_, err := e.eng.SweepInventory(t.Context(), store.TriggerManual, true)
	require.NoError(t, err)
	var batch store.Sync
	wait(t, "the stock batch to fail once", func() bool {
		all, _, err := e.st.ListSyncs(t.Context(), store.SyncFilter{Family: "inventory", Status: vocab.SyncRetrying})
		require.NoError(t, err)
		for _, s := range all {
			if s.EntityRef == "location:"+strconv.Itoa(odoosandbox.LocationStock) {
				batch = s
				return true
			}
		}
		return false
	})
	require.Equal(t, vocab.ClassTransient, batch.Class())
	require.Contains(t, batch.Message, "Main store: Shopify is temporarily unavailable (503)")

	// Meanwhile orders into Odoo flow as usual.
	o, payload := e.order(t)
	s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)

	// The retry (due after 20 ms) is taken by a worker and held back by the
	// breaker: a second snooze, this one until the breaker's minute is over.
	// Both are positive signals, whatever the machine's speed.
	require.NotNil(t, batch.JobID)
	wait(t, "the breaker to hold the retry back", func() bool {
		require.Equal(t, 1, e.sync(t, batch.ID).Attempts, "the retry was attempted through an open breaker")
		var held bool
		require.NoError(t, e.st.DB.GetContext(t.Context(), &held,
			`SELECT state = 'scheduled' AND scheduled_at > now() + interval '30 seconds' FROM river_job WHERE id = $1`, *batch.JobID))
		return held && e.snoozes(t, *batch.JobID) >= 2
	})
	batch = e.sync(t, batch.ID)
	require.Equal(t, vocab.SyncRetrying, batch.Status)
	require.Equal(t, 1, batch.Attempts, "an open breaker holds the retries back without spending attempts")
}
