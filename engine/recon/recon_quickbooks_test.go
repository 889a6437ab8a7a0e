package recon_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/vocab"
)

// With QuickBooks the source of prices and costs, the prices comparison
// reads its items, and the finance review measures margins with
// QuickBooks' purchase cost.
func TestFinanceReviewTakesQuickBooksCost(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	qb := e.AddQuickBooks(t, qbsandbox.Options{Items: e.InventoryItems(5)}, nil)
	var items []store.ItemInput
	for sku, v := range e.VariantBySKU {
		if id, ok := qb.ItemBySKU[sku]; ok {
			items = append(items,
				store.ItemInput{EntityType: "variant", ConnectionID: e.ShopConn.ID, EntityKey: sku, ExternalID: v.GID(), SKU: store.Str(sku)},
				store.ItemInput{EntityType: "variant", ConnectionID: qb.Conn.ID, EntityKey: sku, ExternalID: id, SKU: store.Str(sku)})
		}
	}
	enginetest.ApproveMappings(t, e.St, items)
	e.priceRule(t, vocab.Prices, qb.Conn.ID, e.ShopConn.ID)
	e.priceRule(t, vocab.Costs, qb.Conn.ID, e.ShopConn.ID)
	sku := e.MappedSKUs(t, 1)[0]
	_, ok := qb.Twin.EditItem(qb.ItemBySKU[sku], map[string]any{"PurchaseCost": 3.21})
	require.True(t, ok)

	run := e.reconcile(t, store.ReconPrices)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	th, err := e.St.FinanceThresholds(ctx)
	require.NoError(t, err)
	rows, _, err := e.St.FinanceReview(ctx, th, store.FinanceFilter{Limit: 500})
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	found := false
	for _, r := range rows {
		if r.SKU == sku {
			found = true
			require.NotNil(t, r.OdooCost)
			require.InDelta(t, 3.21, *r.OdooCost, 0.001, "the cost is QuickBooks' purchase cost")
			require.NotNil(t, r.Margin)
		}
	}
	require.True(t, found, "%s is in the review", sku)
}
