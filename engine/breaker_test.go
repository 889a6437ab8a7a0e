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
		all, _, err := e.st.ListSyncs(t.Context(), store.SyncFilter{Family: "inventory", Status: store.SyncRetrying})
		require.NoError(t, err)
		for _, s := range all {
			if s.EntityRef == "location:"+strconv.Itoa(odoosandbox.LocationStock) {
				batch = s
				return true
			}
		}
		return false
	})
	require.Equal(t, store.ClassTransient, batch.Class())
	require.Contains(t, batch.Message, "Main store: Shopify is temporarily unavailable (503)")

	// Meanwhile orders into Odoo flow as usual.
	o, payload := e.order(t)
	s := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, store.SyncSucceeded, s.Status, s.Message)
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)

	time.Sleep(300 * time.Millisecond) // many retry delays (20 ms) pass
	batch = e.sync(t, batch.ID)
	require.Equal(t, store.SyncRetrying, batch.Status)
	require.Equal(t, 1, batch.Attempts, "an open breaker holds the retries back without spending attempts")
}
