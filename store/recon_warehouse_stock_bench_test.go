package store_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// Run with: go test -run '^$' -bench CompareWarehouseStock -benchtime 5x ./store/
// CROSSDOCK_BENCH_WAREHOUSE_SKUS sets how many SKUs the warehouse stocks
// [50,000], each at three fulfilment centres mapped to three Shopify
// locations: 150,000 levels on each side, one in a hundred differing. A
// run stores both snapshots (COPY, as the engine's pulls do) and compares
// them in one statement; the figure is the comparison alone.
func BenchmarkCompareWarehouseStock(b *testing.B) {
	n := 50_000
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_WAREHOUSE_SKUS")); err == nil && v > 0 {
		n = v
	}
	e := benchSetup(b)
	ctx := b.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(b, err)
	sys := store.SystemActor("bench")
	sb, err := e.st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Warehouse", Kind: vocab.KindShipBob,
		Environment: vocab.EnvTest, Settings: map[string]string{"environment": "sandbox", "shopify_location_id": "1"},
		Secrets: map[string]string{"access_token": "pat-test"}})
	require.NoError(b, err)
	centres := []string{"11", "228", "500"}
	var items []store.ItemInput
	for i, c := range centres {
		loc := "gid://shopify/Location/" + strconv.Itoa(i+1)
		items = append(items,
			store.ItemInput{EntityType: "location", ConnectionID: sb.ID, EntityKey: "Centre " + c, ExternalID: c, Name: store.Str("Centre " + c)},
			store.ItemInput{EntityType: "location", ConnectionID: e.shop.ID, EntityKey: "Centre " + c, ExternalID: loc, Name: store.Str("Location " + c)})
	}
	_, err = e.st.SeedMappings(ctx, sys, store.NewChangeSet{Title: "centres", Items: items})
	require.NoError(b, err)
	var shopRows, sbRows []store.StockRow
	for i := range n {
		sku := "SKU-" + strconv.Itoa(i)
		for k, c := range centres {
			q := float64(i%40 + k)
			shopQ := q
			if i%100 == k {
				shopQ++
			}
			shopRows = append(shopRows, store.StockRow{VariantRef: "gid://shopify/ProductVariant/" + strconv.Itoa(i), LocationRef: "gid://shopify/Location/" + strconv.Itoa(k+1),
				Label: sku, Location: "Location " + c, Available: shopQ, OnHand: shopQ})
			sbRows = append(sbRows, store.StockRow{VariantRef: sku, LocationRef: c, Label: "Item " + sku, Location: "Centre " + c, Available: q, OnHand: q + 1})
		}
	}
	var r store.CompareResult
	for b.Loop() {
		b.StopTimer()
		var run store.ReconRun
		require.NoError(b, e.st.InTx(ctx, func(tx *store.Tx) error {
			var err error
			run, err = tx.CreateReconRun(ctx, store.ReconWarehouseStock, "manual", "bench")
			return err
		}))
		run, err = e.st.StartReconRun(ctx, run.ID)
		require.NoError(b, err)
		for start := 0; start < len(shopRows); start += 5000 {
			require.NoError(b, e.st.AddStockSnapshot(ctx, run.ID, e.shop.ID, shopRows[start:min(start+5000, len(shopRows))]))
			require.NoError(b, e.st.AddStockSnapshot(ctx, run.ID, sb.ID, sbRows[start:min(start+5000, len(sbRows))]))
		}
		_, err = e.st.DB.ExecContext(ctx, `ANALYZE recon_stock`)
		require.NoError(b, err)
		b.StartTimer()
		r, err = e.st.CompareWarehouseStock(ctx, run.ID, e.shop.ID, sb.ID, "")
		require.NoError(b, err)
		b.StopTimer()
		_, err = e.st.FinishReconRun(ctx, run, store.RunOutcome{Status: store.RunSucceeded, Result: r, ClosePairs: []int64{sb.ID}})
		require.NoError(b, err)
		b.StartTimer()
	}
	b.ReportMetric(float64(r.Compared), "levels_compared")
	b.ReportMetric(float64(r.Differing), "differing")
}
