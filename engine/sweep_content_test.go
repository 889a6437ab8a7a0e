package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
)

func TestCustomersSweepCatchesWhatWebhooksMissed(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.start(t)
	ctx := context.Background()
	all := e.shop.ShopCustomers()

	// First sweep: every customer once.
	n, err := e.eng.SweepCustomers(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, len(all), n)
	wait(t, "a partner per customer", func() bool { return e.odooWrites("res.partner") == len(all) })
	for _, c := range all {
		require.Len(t, e.partnersWithEmail(c.Email), 1, c.Email)
	}

	// Nothing changed: nothing queued, nothing written.
	n, err = e.eng.SweepCustomers(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Zero(t, n)

	// One change whose webhook never came, one whose webhook did.
	missed, err := e.shop.EditCustomer(all[0].GID(), func(c *shopsandbox.Customer) { c.City = "Lisbon" })
	require.NoError(t, err)
	seen, err := e.shop.EditCustomer(all[1].GID(), func(c *shopsandbox.Customer) { c.City = "Porto" })
	require.NoError(t, err)
	ss := e.endedSyncs(t, e.deliver(t, "customers/update", e.customerPayload(t, seen.GID())))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)

	n, err = e.eng.SweepCustomers(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the missed change")
	wait(t, "the missed change to arrive", func() bool {
		ps := e.partnersWithEmail(missed.Email)
		return len(ps) == 1 && ps[0].City == "Lisbon"
	})
	got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Search: missed.Email})
	require.NoError(t, err)
	require.NotEmpty(t, got)
	require.Equal(t, store.TriggerManual, got[0].Trigger)
	require.Equal(t, len(all)+2, e.odooWrites("res.partner"))

	// Not due yet: the rule's interval (15 minutes) has not passed.
	n, err = e.eng.SweepCustomers(ctx, store.TriggerSweep, false)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestProductsSweepSendsMissedChangesAndHonoursOwnership(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.productsFromShopify(t, map[string]int64{"sku": e.odooConn.ID, "barcode": e.odooConn.ID})
	e.start(t)
	ctx := context.Background()
	n, err := e.eng.SweepProducts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Positive(t, n)
	wait(t, "the first pass to end", func() bool {
		got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Products})
		require.NoError(t, err)
		for _, s := range got {
			if s.FinishedAt == nil {
				return false
			}
		}
		return len(got) > 0
	})
	before := len(e.odoo.Writes())

	v := e.shop.Variants()[0]
	op := e.productBySKU[v.SKU]
	_, err = e.shop.EditProduct(v.ProductGID(), func(p *shopsandbox.Product, vs []*shopsandbox.Variant) {
		p.Title = "Swept Title"
		vs[0].SKU = "RENAMED-IN-SHOPIFY" // Odoo owns the SKU
	})
	require.NoError(t, err)
	n, err = e.eng.SweepProducts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	wait(t, "the title to arrive", func() bool { return e.odooProduct(t, op.ID).Name == "Swept Title" })
	require.Equal(t, op.DefaultCode, e.odooProduct(t, op.ID).DefaultCode, "Odoo owns the SKU")
	require.Positive(t, len(e.odoo.Writes())-before)
}

// A product whose title holds U+0000 used to fail the sweep's whole page in
// the database, at every run. Now its sync alone fails, in words, and the
// other products' syncs are queued.
func TestProductsSweepWithANULTitleFailsThatProductAlone(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.productsFromShopify(t, map[string]int64{"sku": e.odooConn.ID, "barcode": e.odooConn.ID})
	ctx := context.Background()
	v := e.shop.Variants()[0]
	_, err := e.shop.EditProduct(v.ProductGID(), func(p *shopsandbox.Product, _ []*shopsandbox.Variant) { p.Title = "Oak\x00 chair" })
	require.NoError(t, err)

	n, err := e.eng.SweepProducts(ctx, store.TriggerManual, true)
	require.NoError(t, err, "one product must not fail the sweep")
	require.Greater(t, n, 1)
	got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Products, Limit: 200})
	require.NoError(t, err)
	failed, queued := 0, 0
	for _, s := range got {
		switch s.Status {
		case vocab.SyncFailed:
			failed++
			require.Equal(t, vocab.ClassValidation, s.Class())
			require.Contains(t, s.Message, "title contains a character that cannot be stored (a NUL byte)")
			require.NotContains(t, s.EntityKey, "\x00")
		case vocab.SyncPending:
			queued++
		}
	}
	require.Equal(t, 1, failed, "only the product with the NUL")
	require.Positive(t, queued, "the other products are queued")
}
