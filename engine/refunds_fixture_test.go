package engine

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Shopify's own sample refund: its lines are custom items (variant_id null),
// so the flow must read it fully and then say why it cannot send it on.
func TestParseShopifySampleRefund(t *testing.T) {
	t.Parallel()
	payload, err := os.ReadFile("testdata/refunds-create.2026-04.json")
	require.NoError(t, err)
	r, problem := parseRefund(payload)
	require.Equal(t, "gid://shopify/Refund/890088186047892319", r.ID)
	require.Equal(t, "gid://shopify/Order/820982911946154508", r.OrderID, "64-bit ids survive")
	require.False(t, r.CreatedAt.IsZero())
	require.Contains(t, problem, "is not a product from the catalogue")
	require.Contains(t, problem, "Enter this refund in the ERP by hand")
}
