package store_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// A variant's card is Shopify's record (name, variant title, image) when
// Shopify has the SKU, else another system's; an image address a page could
// not show safely is not stored; a second read replaces what the first said.
func TestCardsBySKU(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	swatch := "data:image/svg+xml;base64,PHN2Zy8+"
	_, err := e.st.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{
		{ExternalID: "s-1", SKU: "TEE-BLU-L", Name: "Linen tee", VariantTitle: "Blue / L", ImageURL: swatch},
		{ExternalID: "s-2", SKU: "MUG", Name: "Stoneware mug", VariantTitle: "Default Title"},
		{ExternalID: "s-3", SKU: "BAD-1", Name: "Bad image", ImageURL: "javascript:alert(1)"},
		{ExternalID: "s-4", SKU: "BAD-2", Name: "Huge image", ImageURL: "data:image/png;base64," + strings.Repeat("A", 10_000)},
		{ExternalID: "s-5", SKU: "BAD-3", Name: "Quote", ImageURL: `https://cdn.example/a.png" onerror="x`},
		{ExternalID: "s-6", SKU: "CDN", Name: "CDN image", ImageURL: "https://cdn.shopify.com/s/files/1/a.png?v=1"},
	})
	require.NoError(t, err)
	_, err = e.st.UpsertExternalRecords(ctx, e.odoo.ID, "variant", []store.ExternalRecord{
		{ExternalID: "o-1", SKU: "tee-blu-l", Name: "[TEE] Linen tee (Blue, L)"},
		{ExternalID: "o-2", SKU: "ODOO-ONLY", Name: "Odoo only"},
	})
	require.NoError(t, err)

	cards, err := e.st.CardsBySKU(ctx, "variant", []string{"tee-BLU-l", "MUG", "BAD-1", "BAD-2", "BAD-3", "CDN", "ODOO-ONLY", "NOWHERE"})
	require.NoError(t, err)
	require.Equal(t, map[string]store.RecordCard{
		"tee-BLU-l": {Name: "Linen tee", VariantTitle: "Blue / L", ImageURL: swatch},
		"MUG":       {Name: "Stoneware mug", VariantTitle: "Default Title"},
		"BAD-1":     {Name: "Bad image"},
		"BAD-2":     {Name: "Huge image"},
		"BAD-3":     {Name: "Quote"},
		"CDN":       {Name: "CDN image", ImageURL: "https://cdn.shopify.com/s/files/1/a.png?v=1"},
		"ODOO-ONLY": {Name: "Odoo only"},
	}, cards)

	require.Equal(t, "Blue / L", cards["tee-BLU-l"].Variant())
	require.Empty(t, cards["MUG"].Variant(), "a product without options has no variant to name")

	names, err := e.st.NamesBySKU(ctx, "variant", []string{"tee-BLU-l", "ODOO-ONLY"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"tee-BLU-l": "Linen tee", "ODOO-ONLY": "Odoo only"}, names)

	// The next catalogue read says the variant lost its image and was renamed.
	_, err = e.st.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{
		{ExternalID: "s-1", SKU: "TEE-BLU-L", Name: "Linen tee", VariantTitle: "Navy / L"},
	})
	require.NoError(t, err)
	cards, err = e.st.CardsBySKU(ctx, "variant", []string{"TEE-BLU-L"})
	require.NoError(t, err)
	require.Equal(t, store.RecordCard{Name: "Linen tee", VariantTitle: "Navy / L"}, cards["TEE-BLU-L"])
}
