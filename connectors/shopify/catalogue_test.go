package shopify

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/shopify/sandbox"
)

// The catalogue read names each variant by its product's title and its own
// title, with its image, else its product's featured image, else none: as
// the twin holds them.
func TestReadCatalogueNamesAndImages(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Seed: 15})
	got := map[string]connectors.Record{}
	require.NoError(t, c.ReadCatalogue(context.Background(), func(entity string, batch []connectors.Record) error {
		if entity == connectors.EntityVariant {
			for _, r := range batch {
				got[r.ExternalID] = r
			}
		}
		return nil
	}))
	vs := b.shop.Variants()
	require.Len(t, got, len(vs))
	var own, product, none int
	for _, v := range vs {
		p, _, ok := b.shop.ShopProduct(v.ProductGID())
		require.True(t, ok)
		r := got[v.GID()]
		require.Equal(t, p.Title, r.Name, v.SKU)
		require.Equal(t, v.Title, r.VariantTitle, v.SKU)
		require.NotEmpty(t, r.VariantTitle, v.SKU)
		switch {
		case v.ImageURL != "":
			require.Equal(t, v.ImageURL, r.ImageURL, v.SKU)
			own++
		case p.ImageURL != "":
			require.Equal(t, p.ImageURL, r.ImageURL, v.SKU)
			product++
		default:
			require.Empty(t, r.ImageURL, v.SKU)
			none++
		}
		if r.ImageURL != "" {
			require.True(t, strings.HasPrefix(r.ImageURL, "data:image/svg+xml;base64,"), r.ImageURL)
		}
	}
	// The seed has all three cases, so each branch above is exercised.
	require.Positive(t, own)
	require.Positive(t, product)
	require.Positive(t, none)
}
