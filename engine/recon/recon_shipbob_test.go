package recon_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/engine/enginetest"
	"crossdock/engine/recon"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// Once a warehouse receives orders, the comparison of orders at the
// warehouse is scheduled; its run lists, per ShipBob connection, the orders
// sent more than the late-after days ago with no shipment back.
func TestWarehouseComparisonOnceAWarehouseReceivesOrders(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := t.Context()
	box, err := secretbox.New(enginetest.SecretKey)
	require.NoError(t, err)
	sb, err := e.St.CreateConnection(ctx, store.SystemActor("test"), box, store.ConnectionInput{Name: "Warehouse East", Kind: vocab.KindShipBob,
		Environment: vocab.EnvTest, Settings: map[string]string{"environment": "sandbox", "shopify_location_id": "1"},
		Secrets: map[string]string{"access_token": "pat-test"}})
	require.NoError(t, err)
	e.SourceRule(t, store.SourceRuleInput{Family: vocab.Orders, Master: e.ShopConn.ID, Receivers: []int64{e.OdooConn.ID, sb.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})

	_, err = e.St.DB.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, entity_key, status, payload, idempotency_key, target_ref, attempts, max_attempts)
VALUES (now() - interval '100 hours', now() - interval '100 hours', 'orders', 'shopify_to_shipbob', 'orders.shopify_shipbob', $1, $2,
  'webhook', 'order', 'gid://shopify/Order/77', '#1077', 'succeeded', '{}', 'o77', '9077', 1, 8)`, e.ShopConn.ID, sb.ID)
	require.NoError(t, err)

	require.NoError(t, recon.Tick(e.rc, ctx))
	run, ok := liveRuns(t, e)[store.ReconWarehouse]
	require.True(t, ok, "a warehouse receives orders: its comparison is due")
	run, err = e.rc.Reconcile(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	require.EqualValues(t, 1, run.Differing)
	require.Equal(t, "1 order sent more than 3 days ago checked, 1 not shipped.", run.Message)
	ds, _, err := e.St.ListDiscrepancies(ctx, store.DiscFilter{Family: store.ReconWarehouse})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "Order #1077 has not shipped 4 days after it was sent to Warehouse East", ds[0].Label)
	require.Equal(t, sb.ID, *ds[0].OtherConnectionID)

	// The warehouse turned off: nothing to compare, said so; nothing closed.
	_, err = e.St.DB.ExecContext(ctx, `UPDATE connections SET enabled = false WHERE id = $1`, sb.ID)
	require.NoError(t, err)
	run, err = e.rc.RequestReconciliation(ctx, store.ReconWarehouse, "manual", "test")
	require.NoError(t, err)
	run, err = e.rc.Reconcile(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, store.RunSucceeded, run.Status)
	require.Contains(t, run.Message, "No warehouse (ShipBob) is connected and enabled")
	require.Zero(t, run.Closed)
}
