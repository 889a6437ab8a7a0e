package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
)

// The whole chain a merchant walks: read both catalogues, accept the SKU
// matches as a change set, have another admin approve it, and an order then
// flows through the real mapping store.
func TestCatalogueSuggestionsApprovedMappingsCarryAnOrder(t *testing.T) {
	t.Parallel()
	e := setup(t, options{noMappings: true, configure: func(c *engine.Config) { c.Resolver = nil }})
	ctx := context.Background()

	shopN, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.shopConn.ID)
	require.NoError(t, err)
	require.Equal(t, len(e.shop.Variants()), shopN.Variants)
	require.Equal(t, len(e.shop.Locations()), shopN.Locations)
	odooN, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.odooConn.ID)
	require.NoError(t, err)
	require.Equal(t, len(e.odoo.Products()), odooN.Variants)

	rows, _, err := e.st.ListUnmapped(ctx, store.UnmappedFilter{From: e.shopConn.ID, To: e.odooConn.ID, EntityType: "variant", Limit: 500})
	require.NoError(t, err)
	require.Len(t, rows, len(e.shop.Variants()), "nothing is mapped yet")
	var ids []string
	for _, r := range rows {
		require.NotNil(t, r.Suggestion, "%s has a counterpart with the same SKU", r.Record.SKU)
		require.Equal(t, "sku", r.Suggestion.Rule)
		ids = append(ids, r.Record.ExternalID)
	}

	proposer := store.Actor{UserID: mustAdmin(t, e.st, "proposer@shop.test").ID, Label: "proposer@shop.test"}
	approver := store.Actor{UserID: mustAdmin(t, e.st, "approver@shop.test").ID, Label: "approver@shop.test"}
	cs, err := e.st.ChangeSetFromSuggestions(ctx, proposer, e.shopConn.ID, e.odooConn.ID, "variant", ids, "SKU matches from the catalogue")
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, proposer, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, proposer, cs.ID, "")
	require.Error(t, err, "nobody approves their own change")
	_, err = e.st.ApproveChangeSet(ctx, approver, cs.ID, "checked")
	require.NoError(t, err)

	// The engine resolves through the store now (Resolver nil = Store).
	e.start(t)
	v := e.shop.Variants()[0]
	_, payload := e.order(t, shopsandbox.NewLine{VariantID: v.GID(), Quantity: 1})
	ev := e.deliver(t, "orders/create", payload)
	ss := e.endedSyncs(t, ev)
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, store.SyncSucceeded, s.Status, s.Message)
	require.Len(t, e.odoo.SaleOrders(), 1)

	// Nothing disappeared from the shop: a second refresh marks nothing gone.
	again, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.shopConn.ID)
	require.NoError(t, err)
	require.Zero(t, again.Gone)
}

func mustAdmin(t *testing.T, st *store.Store, email string) store.User {
	t.Helper()
	u, err := st.CreateUser(context.Background(), store.SystemActor("test"), store.NewUser{Email: email, Name: email, Role: store.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	return u
}
