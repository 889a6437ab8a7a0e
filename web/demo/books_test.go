package demo_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
	"crossdock/web/demo"
)

func TestDemoShopifyQuickBooksLoadsTwoSignedInSystemsAndTheirMappings(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	ctx := t.Context()
	var h demo.Holder
	l, err := demo.LoadWithQuickBooks(ctx, st, box, store.Actor{Label: "owner@shop.test"}, "http://127.0.0.1:1", &h, 60)
	require.NoError(t, err)
	w := h.Workspace()
	require.NotNil(t, w)

	conns, err := st.ListConnections(ctx)
	require.NoError(t, err)
	require.Len(t, conns, 2, "the store and the company, nothing else")
	books, err := st.ConnectionByID(ctx, l.QuickBooksConnectionID)
	require.NoError(t, err)
	require.Equal(t, vocab.KindQuickBooks, books.Kind)
	require.Equal(t, w.Books.RealmID(), books.Settings[quickbooks.FieldRealmID], "signed in already")
	sec, err := store.ConnectionSecrets(box, books)
	require.NoError(t, err)
	require.True(t, w.Books.ValidRefreshToken(sec[quickbooks.FieldRefreshToken]))

	rs, err := st.SourceRules(ctx)
	require.NoError(t, err)
	for _, f := range []vocab.Family{vocab.Orders, vocab.Refunds, vocab.Customers, vocab.Payouts} {
		r := rs.Rule(f)
		require.Equal(t, l.ShopifyConnectionID, r.Master, "the source of %s", f)
		require.Len(t, r.Receivers, 1)
		require.Equal(t, l.QuickBooksConnectionID, r.Receivers[0].ConnectionID)
	}

	// The state tax and both gateways are mapped; the city tax is not.
	taxes, missing, err := st.ResolveRefs(ctx, l.ShopifyConnectionID, l.QuickBooksConnectionID, "tax_code", []string{"CA State Tax 7.25%", "SF City Tax 1.25%"})
	require.NoError(t, err)
	ca, _ := w.Books.NamedID("TaxCode", "CA Sales Tax")
	require.Equal(t, map[string]string{"CA State Tax 7.25%": ca}, taxes)
	require.Equal(t, []string{"SF City Tax 1.25%"}, missing)
	pay, _, err := st.ResolveAllRefs(ctx, l.ShopifyConnectionID, l.QuickBooksConnectionID, "payment_method", []string{"shopify_payments", "paypal"})
	require.NoError(t, err)
	require.Len(t, pay["shopify_payments"], 2, "a payment method and the account it is deposited to")
	require.Len(t, pay["paypal"], 2)
	require.Positive(t, l.Mapped)

	var events int
	require.NoError(t, st.DB.GetContext(ctx, &events, `SELECT count(*) FROM webhook_events WHERE topic = 'orders/create' AND status = 'received'`))
	require.Equal(t, l.Orders, events)

	// Loaded once: a second load, of either demo, is refused.
	_, err = demo.LoadWithQuickBooks(ctx, st, box, store.Actor{Label: "owner@shop.test"}, "http://127.0.0.1:1", &h, 60)
	require.ErrorIs(t, err, demo.ErrLoaded)

	// After a restart, the company's twin still accepts the connection's sign-in.
	var again demo.Holder
	ok, err := demo.Restore(ctx, st, box, "http://127.0.0.1:1", &again)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, again.Workspace().Books.ValidRefreshToken(sec[quickbooks.FieldRefreshToken]))
}
