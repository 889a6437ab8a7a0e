package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

type warehouseEnv struct {
	st       *store.Store
	shop, sb store.Connection
}

func setupWarehouse(t *testing.T) warehouseEnv {
	t.Helper()
	st := storetest.New(t)
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	sys := store.SystemActor("test")
	shop, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Shop", Kind: vocab.KindShopify, Environment: vocab.EnvTest})
	require.NoError(t, err)
	sb, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Warehouse East", Kind: vocab.KindShipBob, Environment: vocab.EnvTest,
		Settings: map[string]string{"environment": "sandbox", "shopify_location_id": "1"}, Secrets: map[string]string{"access_token": "pat-test"}})
	require.NoError(t, err)
	return warehouseEnv{st: st, shop: shop, sb: sb}
}

// sent records an order sync to the warehouse as the orders flow writes it
// (the Shopify order GID as entity, the ShipBob order id as target).
func (e warehouseEnv) sent(t *testing.T, gid, name, sbID string, at time.Time, cancelled bool) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"id": gid, "name": name, "cancelled": cancelled})
	_, err := e.st.DB.ExecContext(t.Context(), `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, status, payload, idempotency_key, target_ref, attempts, max_attempts, finished_at)
VALUES ($1::timestamptz, $1, 'orders', 'shopify_to_shipbob', 'orders.shopify_shipbob', $2, $3, 'webhook', 'order', $4, $5, 'succeeded', $6, $4 || $1::timestamptz::text, $7, 1, 8, $1)`,
		at, e.shop.ID, e.sb.ID, gid, name, payload, sbID)
	require.NoError(t, err)
}

// shipped records a shipments sync back to Shopify with status.
func (e warehouseEnv) shipped(t *testing.T, sbID, status string) {
	t.Helper()
	_, err := e.st.DB.ExecContext(t.Context(), `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, entity_key, status, idempotency_key, attempts, max_attempts)
VALUES ('fulfillments', 'shipbob_to_shopify', 'shipments.shipbob_shopify', $1, $2, 'webhook', 'shipbob_order', $3, 'Shipments', $4,
  'shipbob-' || $3 || '-' || $4, 1, 8)`, e.sb.ID, e.shop.ID, sbID, status)
	require.NoError(t, err)
}

// runWarehouse runs one warehouse comparison as the engine does, and
// finishes the run (closing what it no longer found).
func (e warehouseEnv) runWarehouse(t *testing.T, now time.Time, late time.Duration) (store.CompareResult, store.ReconRun) {
	t.Helper()
	ctx := t.Context()
	var run store.ReconRun
	require.NoError(t, e.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = tx.CreateReconRun(ctx, store.ReconWarehouse, "manual", "test")
		return err
	}))
	run, err := e.st.StartReconRun(ctx, run.ID)
	require.NoError(t, err)
	r, err := e.st.CompareWarehouse(ctx, run.ID, e.sb.ID, e.sb.Name, late, now)
	require.NoError(t, err)
	run, err = e.st.FinishReconRun(ctx, run, store.RunOutcome{Status: store.RunSucceeded, Result: r, ClosePairs: []int64{e.sb.ID}})
	require.NoError(t, err)
	return r, run
}

func warehouseDiscs(t *testing.T, st *store.Store, status string) []store.Discrepancy {
	t.Helper()
	ds, _, err := st.ListDiscrepancies(t.Context(), store.DiscFilter{Family: store.ReconWarehouse, Status: status})
	require.NoError(t, err)
	return ds
}

// Orders sent to the warehouse more than the late-after days ago with no
// shipment back are listed, in words, once each; shipped, recent and
// cancelled ones are not; the order resolves when its shipment comes back.
func TestCompareWarehouseListsLateOrders(t *testing.T) {
	t.Parallel()
	e := setupWarehouse(t)
	now := time.Now()
	day := 24 * time.Hour
	const gid = "gid://shopify/Order/"
	e.sent(t, gid+"1043", "#1043", "501", now.Add(-4*day-time.Hour), false) // late
	e.sent(t, gid+"1043", "#1043", "501", now.Add(-2*day), false)           // an address edit: still one order, sent 4 days ago
	e.sent(t, gid+"1044", "#1044", "502", now.Add(-5*day), false)           // shipped
	e.shipped(t, "502", "succeeded")
	e.sent(t, gid+"1045", "#1045", "503", now.Add(-1*day), false) // recent
	e.sent(t, gid+"1046", "#1046", "504", now.Add(-6*day), false) // cancelled before it shipped
	e.sent(t, gid+"1046", "#1046", "504", now.Add(-5*day), true)
	e.sent(t, gid+"1047", "#1047", "505", now.Add(-4*day), false) // its shipment sync waits for tracking: not shipped yet
	e.shipped(t, "505", "skipped")

	r, _ := e.runWarehouse(t, now, 3*day)
	require.EqualValues(t, 3, r.Compared, "1043, 1044 and 1047 are older than 3 days; 1046 was cancelled")
	require.EqualValues(t, 2, r.Differing)
	require.EqualValues(t, 2, r.Opened)
	ds := warehouseDiscs(t, e.st, store.DiscOpen)
	require.Len(t, ds, 2)
	byName := map[string]store.Discrepancy{}
	for _, d := range ds {
		var det struct {
			Name string `json:"order_name"`
		}
		require.NoError(t, json.Unmarshal(d.Detail, &det))
		byName[det.Name] = d
	}
	late := byName["#1043"]
	require.Equal(t, "Order #1043 has not shipped 4 days after it was sent to Warehouse East", late.Label)
	require.Equal(t, "Order not shipped by the warehouse", late.KindText())
	require.Equal(t, "not shipped", late.OtherValue)
	require.True(t, strings.HasPrefix(late.MasterValue, "sent "), late.MasterValue)
	require.NotContains(t, late.Label, "gid://")
	require.EqualValues(t, 4, late.Size)
	require.Contains(t, byName, "#1047")

	// Acknowledged, it stays so; a second comparison finds it again, once.
	_, err := e.st.ActOnDiscrepancy(t.Context(), store.SystemActor("test"), store.DiscAction{ID: late.ID, Action: "acknowledge", Note: "Asked the warehouse."})
	require.NoError(t, err)
	r, _ = e.runWarehouse(t, now, 3*day)
	require.EqualValues(t, 2, r.Differing)
	require.EqualValues(t, 0, r.Opened)
	ack := warehouseDiscs(t, e.st, store.DiscAcknowledged)
	require.Len(t, ack, 1)
	require.Equal(t, late.ID, ack[0].ID)

	// It ships: the next comparison resolves it, with a note.
	e.shipped(t, "501", "succeeded")
	e.shipped(t, "505", "succeeded")
	r, run := e.runWarehouse(t, now, 3*day)
	require.EqualValues(t, 0, r.Differing)
	require.EqualValues(t, 2, run.Closed)
	resolved := warehouseDiscs(t, e.st, store.DiscResolved)
	require.Len(t, resolved, 2)
	require.Contains(t, resolved[0].Note, "Closed automatically")
}

// An order listed stays listed past the look-back bound until it ships:
// the bound limits what is read, never closes what is open.
func TestCompareWarehouseKeepsOldListedOrders(t *testing.T) {
	t.Parallel()
	e := setupWarehouse(t)
	now := time.Now()
	e.sent(t, "gid://shopify/Order/2001", "#2001", "601", now.Add(-80*24*time.Hour), false)
	r, _ := e.runWarehouse(t, now, 3*24*time.Hour)
	require.EqualValues(t, 1, r.Differing)
	later := now.Add(30 * 24 * time.Hour) // the order is now 110 days old
	r, run := e.runWarehouse(t, later, 3*24*time.Hour)
	require.EqualValues(t, 1, r.Differing)
	require.EqualValues(t, 0, run.Closed)
	ds := warehouseDiscs(t, e.st, store.DiscOpen)
	require.Len(t, ds, 1)
	require.Equal(t, "Order #2001 has not shipped 110 days after it was sent to Warehouse East", ds[0].Label)
}

// The late-after days are an admin's setting: 3 until saved, 1 to 60, audited.
func TestWarehouseSettings(t *testing.T) {
	t.Parallel()
	e := setupWarehouse(t)
	ctx := t.Context()
	s, err := e.st.WarehouseSettings(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, s.LateAfterDays)
	for _, bad := range []int{0, -1, 61, 1 << 30} {
		err := e.st.SaveWarehouseSettings(ctx, store.SystemActor("test"), store.WarehouseSettings{LateAfterDays: bad})
		var fe vocab.FieldErrors
		require.True(t, errors.As(err, &fe), "%d: %v", bad, err)
		require.Contains(t, fe["late_after_days"], "between 1 and 60")
	}
	require.NoError(t, e.st.SaveWarehouseSettings(ctx, store.SystemActor("test"), store.WarehouseSettings{LateAfterDays: 5}))
	s, err = e.st.WarehouseSettings(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, s.LateAfterDays)
	var n int
	require.NoError(t, e.st.DB.GetContext(ctx, &n, `SELECT count(*) FROM audit_log WHERE action = 'settings.recon_warehouse'`))
	require.Equal(t, 1, n)
}

// The comparison reads syncs through its three partial indexes, never a
// scan of syncs, among 20,000 syncs of other flows and warehouses. A plan
// (EXPLAIN; 20,000 syncs of another flow, 3,000 orders sent to the
// warehouse over 300 days; PostgreSQL 15):
//
//	Index Scan using syncs_warehouse_sent_idx on syncs
//	  Index Cond: ((target_connection_id = '2') AND (updated_at >= …) AND (updated_at < …))
//	Index Scan using discrepancies_family_open on discrepancies
//	  Index Cond: (family = 'warehouse')
//	Index Scan using syncs_warehouse_order_idx on syncs y
//	  Index Cond: ((entity_ref = syncs.entity_ref) AND (target_connection_id = '2'))
//	Index Only Scan using syncs_warehouse_shipped_idx on syncs z
//	  Index Cond: ((source_connection_id = '2') AND (entity_ref = (max(NULLIF(y.target_ref, '')))))
func TestCompareWarehouseUsesIndexes(t *testing.T) {
	t.Parallel()
	e := setupWarehouse(t)
	ctx := t.Context()
	_, err := e.st.DB.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, status, idempotency_key, attempts, max_attempts)
SELECT now() - g * interval '1 minute', now() - g * interval '1 minute', 'orders', 'shopify_to_odoo', 'orders.shopify_odoo', $1, $1,
  'webhook', 'order', 'gid://shopify/Order/' || g, 'succeeded', 'k' || g, 1, 8
FROM generate_series(1, 20000) g`, e.shop.ID)
	require.NoError(t, err)
	// 3,000 orders sent to the warehouse over 300 days, all but one in a
	// hundred shipped.
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, status, payload, idempotency_key, target_ref, attempts, max_attempts)
SELECT now() - g * interval '100 minutes', now() - g * interval '100 minutes', 'orders', 'shopify_to_shipbob', 'orders.shopify_shipbob', $1, $2,
  'webhook', 'order', 'gid://shopify/Order/w' || g, '#w' || g, 'succeeded', '{}', 'w' || g, (100000 + g)::text, 1, 8
FROM generate_series(1, 3000) g`, e.shop.ID, e.sb.ID)
	require.NoError(t, err)
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, status, idempotency_key, attempts, max_attempts)
SELECT 'fulfillments', 'shipbob_to_shopify', 'shipments.shipbob_shopify', $1, $2, 'webhook', 'shipbob_order', (100000 + g)::text, 'succeeded', 's' || g, 1, 8
FROM generate_series(1, 3000) g WHERE g % 100 <> 0`, e.sb.ID, e.shop.ID)
	require.NoError(t, err)
	_, err = e.st.DB.ExecContext(ctx, `ANALYZE syncs`)
	require.NoError(t, err)
	plan := explainWarehouse(t, ctx, e)
	for _, idx := range []string{"syncs_warehouse_sent_idx", "syncs_warehouse_order_idx", "syncs_warehouse_shipped_idx"} {
		require.Contains(t, plan, idx, plan)
	}
	require.NotContains(t, plan, "Seq Scan on syncs", plan)
	// Each index is probed with its whole key: the sent orders by their
	// window, the shipments one order at a time (not hashed all at once).
	lines := strings.Split(plan, "\n")
	for i, l := range lines {
		switch {
		case strings.Contains(l, "syncs_warehouse_sent_idx"):
			require.Contains(t, lines[i+1], "updated_at >=", plan)
		case strings.Contains(l, "syncs_warehouse_shipped_idx"):
			require.Contains(t, lines[i+1], "entity_ref =", plan)
		}
	}
}

func explainWarehouse(t *testing.T, ctx context.Context, e warehouseEnv) string {
	t.Helper()
	now := time.Now()
	tx, err := e.st.DB.BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // EXPLAIN writes nothing
	var lines []string
	require.NoError(t, tx.SelectContext(ctx, &lines, `EXPLAIN `+store.WarehouseSQLForPlan,
		int64(1), e.sb.ID, e.sb.ID, store.ReconWarehouse, now.Add(-72*time.Hour), now.Add(-store.WarehouseLookBack), now, e.sb.Name))
	return strings.Join(lines, "\n")
}
