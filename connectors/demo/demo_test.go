package demo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/demo"
)

func TestDemoDriftIsDeliberateAndRepeatable(t *testing.T) {
	t.Parallel()
	cfg := demo.Config{Seed: 300, ShopifyToken: "t", OdooAPIKey: "k", ShopDomain: "d.myshopify.com", OdooDatabase: "demo", OdooLogin: "u"}
	w1, d1 := demo.New("http://127.0.0.1:1", cfg)
	_, d2 := demo.New("http://127.0.0.1:1", cfg)
	require.Equal(t, d1, d2, "the same seed gives the same drift after a restart")
	require.Positive(t, d1.Prices)
	require.Positive(t, d1.Stock)
	require.Positive(t, d1.OnlyInOdoo, "the ERP has items the store does not sell")
	require.Zero(t, d1.OnlyInShopify)
	require.Less(t, d1.Prices, len(w1.Shop.Variants())/10, "drift is the exception, not the rule")
}
