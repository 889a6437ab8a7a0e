package shopify

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
)

func TestVariantsByID(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Seed: 40})
	shop := b.shop
	ctx := context.Background()
	vs := shop.Variants()
	require.Greater(t, len(vs), 60, "more than one aliased query's worth")
	ids := []string{"gid://shopify/ProductVariant/1"} // unknown: left out
	for _, v := range vs {
		ids = append(ids, v.GID(), v.GID()) // duplicates are asked once
	}

	items, err := c.InventoryItemIDs(ctx, ids)
	require.NoError(t, err)
	require.Len(t, items, len(vs))
	require.Equal(t, vs[0].InventoryItemGID(), items[vs[0].GID()])

	prices, err := c.VariantPrices(ctx, ids)
	require.NoError(t, err)
	require.Len(t, prices, len(vs))
	last := vs[len(vs)-1]
	require.Equal(t, last.ProductGID(), prices[last.GID()].ProductID)
	require.Equal(t, last.Price, prices[last.GID()].Price)
	require.Equal(t, last.Cost, prices[last.GID()].Cost)
}
