package store_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

const (
	mainLoc  = "gid://shopify/Location/1"
	floorLoc = "gid://shopify/Location/2"
)

// stockRun starts a warehouse stock run with the two snapshots.
func (e warehouseEnv) stockRun(t *testing.T, shop, sb []store.StockRow) store.ReconRun {
	t.Helper()
	ctx := t.Context()
	var run store.ReconRun
	require.NoError(t, e.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = tx.CreateReconRun(ctx, store.ReconWarehouseStock, "manual", "test")
		return err
	}))
	run, err := e.st.StartReconRun(ctx, run.ID)
	require.NoError(t, err)
	require.NoError(t, e.st.AddStockSnapshot(ctx, run.ID, e.shop.ID, shop))
	require.NoError(t, e.st.AddStockSnapshot(ctx, run.ID, e.sb.ID, sb))
	return run
}

// mapCentre maps a fulfilment centre to a Shopify location, as an approved
// change set does.
func (e warehouseEnv) mapCentre(t *testing.T, centre, name, loc, locName string) {
	t.Helper()
	_, err := e.st.SeedMappings(t.Context(), store.SystemActor("test"), store.NewChangeSet{Title: "centre " + centre, Items: []store.ItemInput{
		{EntityType: "location", ConnectionID: e.sb.ID, EntityKey: name, ExternalID: centre, Name: store.Str(name)},
		{EntityType: "location", ConnectionID: e.shop.ID, EntityKey: name, ExternalID: loc, Name: store.Str(locName)}}})
	require.NoError(t, err)
}

func TestCompareWarehouseStockPerCentre(t *testing.T) {
	t.Parallel()
	e := setupWarehouse(t)
	ctx := t.Context()
	_, err := e.st.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{
		{ExternalID: "gid://shopify/ProductVariant/1", SKU: "CH-1", Name: "Oak chair", VariantTitle: "Black"},
		{ExternalID: "gid://shopify/ProductVariant/2", SKU: "TB-1", Name: "Oak table", VariantTitle: "Default Title"}})
	require.NoError(t, err)
	e.mapCentre(t, "11", "Cicero (IL)", mainLoc, "Main warehouse")
	e.mapCentre(t, "228", "Moreno Valley (CA)", floorLoc, "West coast")
	shop := []store.StockRow{
		{VariantRef: "gid://shopify/ProductVariant/1", LocationRef: mainLoc, Label: "CH-1", Location: "Main warehouse", Available: 10, OnHand: 10},
		{VariantRef: "gid://shopify/ProductVariant/2", LocationRef: mainLoc, Label: "TB-1", Location: "Main warehouse", Available: 4, OnHand: 4},
		{VariantRef: "gid://shopify/ProductVariant/1", LocationRef: floorLoc, Label: "CH-1", Location: "West coast", Available: 3, OnHand: 3},
		// A location no centre is mapped to is not the warehouse's.
		{VariantRef: "gid://shopify/ProductVariant/1", LocationRef: "gid://shopify/Location/9", Label: "CH-1", Location: "Shop floor", Available: 50},
	}
	sb := []store.StockRow{
		{VariantRef: "ch-1", LocationRef: "11", Label: "Chair", Location: "Cicero (IL)", Available: 7, OnHand: 9}, // differs: 10 in Shopify
		{VariantRef: "TB-1", LocationRef: "11", Label: "Table", Location: "Cicero (IL)", Available: 4, OnHand: 4}, // agrees
		{VariantRef: "CH-1", LocationRef: "228", Label: "Chair", Location: "Moreno Valley (CA)", Available: 3, OnHand: 3},
		{VariantRef: "LAMP-1", LocationRef: "228", Label: "Brass lamp", Location: "Moreno Valley (CA)", Available: 2, OnHand: 2}, // not in Shopify there
		{VariantRef: "CH-1", LocationRef: "500", Label: "Chair", Location: "Wall (NJ)", Available: 5},                            // centre not mapped
	}
	run := e.stockRun(t, shop, sb)
	r, err := e.st.CompareWarehouseStock(ctx, run.ID, e.shop.ID, e.sb.ID, "")
	require.NoError(t, err)
	require.EqualValues(t, 4, r.Compared)
	require.EqualValues(t, 2, r.Differing)
	require.Len(t, r.NotComparable, 1)
	require.Contains(t, r.NotComparable[0].What, "Wall (NJ)")
	require.EqualValues(t, 1, r.NotComparable[0].Count)

	ds, _, err := e.st.ListDiscrepancies(ctx, store.DiscFilter{Family: store.ReconWarehouseStock})
	require.NoError(t, err)
	got := map[string]store.Discrepancy{}
	for _, d := range ds {
		got[d.Label] = d
	}
	chair, ok := got["Oak chair – Black at Cicero (IL) (Main warehouse in Shopify)"]
	require.True(t, ok, "named by product and variant, centre and location: %v", got)
	require.Equal(t, "10", chair.MasterValue)
	require.Equal(t, "7", chair.OtherValue)
	require.EqualValues(t, 3, chair.Size)
	require.Equal(t, store.DiscWarehouseStock, chair.Kind)
	var detail map[string]any
	require.NoError(t, json.Unmarshal(chair.Detail, &detail))
	require.EqualValues(t, 9, detail["shipbob_on_hand"])
	require.Equal(t, mainLoc, detail["shopify_location_id"])
	lamp, ok := got["Brass lamp at Moreno Valley (CA) (West coast in Shopify)"]
	require.True(t, ok, "an item Shopify does not stock there is named by ShipBob's name: %v", got)
	require.Equal(t, "not stocked there", lamp.MasterValue)
	require.Equal(t, "2", lamp.OtherValue)
	e.finish(t, run, r)

	// Fixed in Shopify: the next run closes it, and keeps the other.
	shop[0].Available = 7
	run2 := e.stockRun(t, shop, sb)
	r, err = e.st.CompareWarehouseStock(ctx, run2.ID, e.shop.ID, e.sb.ID, "")
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Differing)
	require.EqualValues(t, 1, e.finish(t, run2, r).Closed)
}

// An account with one fulfilment centre and no mapping compares it at the
// connection's own Shopify location; without it, nothing is compared and
// the run says why.
func TestCompareWarehouseStockFallsBackToTheConnectionsLocation(t *testing.T) {
	t.Parallel()
	e := setupWarehouse(t)
	ctx := t.Context()
	shop := []store.StockRow{{VariantRef: "gid://shopify/ProductVariant/1", LocationRef: mainLoc, Label: "CH-1", Location: "Main warehouse", Available: 10}}
	sb := []store.StockRow{{VariantRef: "CH-1", LocationRef: "11", Label: "Chair", Location: "Cicero (IL)", Available: 8}}
	run := e.stockRun(t, shop, sb)
	r, err := e.st.CompareWarehouseStock(ctx, run.ID, e.shop.ID, e.sb.ID, mainLoc)
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Compared)
	require.EqualValues(t, 1, r.Differing)
	require.Empty(t, r.NotComparable)
	ds, _, err := e.st.ListDiscrepancies(ctx, store.DiscFilter{Family: store.ReconWarehouseStock})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "Chair at Cicero (IL) (Main warehouse in Shopify)", ds[0].Label)
	e.finish(t, run, r)

	run = e.stockRun(t, shop, sb)
	r, err = e.st.CompareWarehouseStock(ctx, run.ID, e.shop.ID, e.sb.ID, "")
	require.NoError(t, err)
	require.Zero(t, r.Compared)
	require.Len(t, r.NotComparable, 1)
	require.Contains(t, r.NotComparable[0].Why, "Map each fulfilment centre")
}

// finish ends a run as the engine does, closing what it no longer found.
func (e warehouseEnv) finish(t *testing.T, run store.ReconRun, r store.CompareResult) store.ReconRun {
	t.Helper()
	run, err := e.st.FinishReconRun(t.Context(), run, store.RunOutcome{Status: store.RunSucceeded, Result: r, ClosePairs: []int64{e.sb.ID}})
	require.NoError(t, err)
	return run
}
