package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// The review names each variant "Product — Variant" (no "Default Title")
// with its catalogue image as a small lazy thumbnail whose alt is the
// product's name — inline, or from Shopify's image CDN, the one outside
// host the page's Content-Security-Policy allows; a row without an image
// shows none rather than a broken image.
func TestFinanceReviewNamesVariantsWithImages(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	var shop int64
	require.NoError(t, env.Store.DB.Get(&shop, `SELECT id FROM connections WHERE kind = 'shopify'`))
	swatch := "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
	_, err := env.Store.UpsertExternalRecords(t.Context(), shop, "variant", []store.ExternalRecord{
		{ExternalID: "gid://shopify/ProductVariant/1", SKU: "GOOD-1", Name: "Linen tee", VariantTitle: "Blue / L", ImageURL: swatch},
		{ExternalID: "gid://shopify/ProductVariant/2", SKU: "DIFF-2", Name: "Stoneware mug", VariantTitle: "Default Title"},
		{ExternalID: "gid://shopify/ProductVariant/3", SKU: "LOSS-3", Name: "Oak chair", VariantTitle: "Black",
			ImageURL: "https://cdn.shopify.com/s/files/1/oak.png"},
	})
	require.NoError(t, err)
	c := env.SignIn(t, vocab.RoleFinance)

	res, body := c.Get("/finance")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "<strong>Linen tee — Blue / L</strong>")
	require.Contains(t, body, `<img class="thumb" src="`+swatch+`" alt="Linen tee" width="40" height="40" loading="lazy" decoding="async">`)
	require.Contains(t, body, "<strong>Stoneware mug</strong>")
	require.NotContains(t, body, "Default Title")
	require.Contains(t, body, "<strong>Oak chair — Black</strong>")
	require.Contains(t, body, `<img class="thumb" src="https://cdn.shopify.com/s/files/1/oak.png" alt="Oak chair"`, "Shopify's CDN images are shown")
	require.Equal(t, 2, strings.Count(body, `<img class="thumb"`), "only the rows with an image show one")
	require.Contains(t, body, "NOCOST-4", "a variant the catalogue does not know is named by its SKU")
	// The SKU stays below the names.
	require.Contains(t, body, "<small>GOOD-1</small>")

	// The export names them too: the product, and the variant in its own
	// column (none for a product without options).
	res, csv := c.Get("/finance.csv")
	require.Equal(t, http.StatusOK, res.StatusCode)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.True(t, strings.HasSuffix(lines[0], ",fixed_since_comparison,variant"), lines[0])
	byStart := map[string]string{}
	for _, l := range lines[1:] {
		byStart[strings.SplitN(l, ",", 2)[0]] = l
	}
	require.Contains(t, byStart["GOOD-1"], ",Linen tee,")
	require.True(t, strings.HasSuffix(byStart["GOOD-1"], ",Blue / L"), byStart["GOOD-1"])
	require.Contains(t, byStart["DIFF-2"], ",Stoneware mug,")
	require.True(t, strings.HasSuffix(byStart["DIFF-2"], ","), "no variant for a product without options: %s", byStart["DIFF-2"])

	res, _ = c.Get("/finance")
	csp := res.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "img-src 'self' data: https://cdn.shopify.com;")
	require.Equal(t, 1, strings.Count(csp, "https:"), "Shopify's image CDN is the only outside source: %s", csp)
	require.NotContains(t, csp, "*")
}
