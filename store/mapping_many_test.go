package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// A payment method maps to two records of one accounting system (its
// payment method and its deposit account); two Shopify taxes may share one
// tax code.
func TestManyPerConnectionRefsResolveAndShare(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t,
		set("payment_method", e.shop.ID, "PayPal", "paypal", ""),
		set("payment_method", e.odoo.ID, "PayPal", "7", ""),
		set("payment_method", e.odoo.ID, "PayPal", "account:35", ""),
		set("tax_code", e.shop.ID, "State tax", "State tax 6%", ""),
		set("tax_code", e.odoo.ID, "State tax", "TAX", ""),
	)
	all, missing, err := e.st.ResolveAllRefs(ctx, e.shop.ID, e.odoo.ID, "payment_method", []string{"paypal", "manual"})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"paypal": {"7", "account:35"}}, all, "every reference, oldest first")
	require.Equal(t, []string{"manual"}, missing)
	one, _, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "payment_method", []string{"paypal"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"paypal": "7"}, one, "the oldest")

	// A second Shopify tax picked onto the same tax code joins its entity.
	_, err = e.st.UpsertExternalRecords(ctx, e.shop.ID, "tax_code", []store.ExternalRecord{{ExternalID: "County tax 1%", Name: "County tax 1%"}})
	require.NoError(t, err)
	_, err = e.st.UpsertExternalRecords(ctx, e.odoo.ID, "tax_code", []store.ExternalRecord{{ExternalID: "TAX", Name: "TAX"}})
	require.NoError(t, err)
	cs, err := e.st.ProposePick(ctx, e.oper, store.Pick{From: e.shop.ID, To: e.odoo.ID, EntityType: "tax_code", ExternalID: "County tax 1%", MatchID: "TAX"})
	require.NoError(t, err)
	cs, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, e.admin1, cs.ID, "")
	require.NoError(t, err)
	both, missing, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "tax_code", []string{"State tax 6%", "County tax 1%"})
	require.NoError(t, err)
	require.Empty(t, missing)
	require.Equal(t, map[string]string{"State tax 6%": "TAX", "County tax 1%": "TAX"}, both)

	// A variant stays one to one: its counterpart cannot be picked twice.
	e.apply(t, set("variant", e.shop.ID, "SKU-1", "gid://v/1", "SKU-1"), set("variant", e.odoo.ID, "SKU-1", "1", "SKU-1"))
	_, err = e.st.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{{ExternalID: "gid://v/2", SKU: "SKU-2"}})
	require.NoError(t, err)
	_, err = e.st.UpsertExternalRecords(ctx, e.odoo.ID, "variant", []store.ExternalRecord{{ExternalID: "1", SKU: "SKU-1"}})
	require.NoError(t, err)
	_, err = e.st.ProposePick(ctx, e.oper, store.Pick{From: e.shop.ID, To: e.odoo.ID, EntityType: "variant", ExternalID: "gid://v/2", MatchID: "1"})
	require.ErrorContains(t, err, "already mapped")
}
