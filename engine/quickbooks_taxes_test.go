package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/vocab"
)

// taxedOrder is an order of the shop whose lines Shopify charged a tax on,
// paid through gateway: the twin's orders/create body carries them as
// Shopify's does (tax_lines on the order and on each line,
// payment_gateway_names).
func taxedOrder(t *testing.T, env *enginetest.Env, title string, rate float64, gateway string) (string, []byte) {
	t.Helper()
	v := env.Shop.Variants()[0]
	o, err := env.Shop.AddOrder(shopsandbox.NewOrder{Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 2}},
		Tax: &shopsandbox.Tax{Title: title, Rate: rate}, Gateway: gateway})
	require.NoError(t, err)
	payload, err := env.Shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)
	return o.Name, payload
}

func lineTaxCode(t *testing.T, receipt map[string]any) string {
	t.Helper()
	d := receipt["Line"].([]any)[0].(map[string]any)["SalesItemLineDetail"].(map[string]any)
	return d["TaxCodeRef"].(map[string]any)["value"].(string)
}

func refValue(rec map[string]any, field string) string {
	r, _ := rec[field].(map[string]any)
	v, _ := r["value"].(string)
	return v
}

func twinID(t *testing.T, qb *enginetest.QuickBooks, entity, name string) string {
	t.Helper()
	id, ok := qb.Twin.NamedID(entity, name)
	require.True(t, ok, "%s %q", entity, name)
	return id
}

func TestQuickBooksOrderTaxAndPaymentFromTheMappings(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true, RealMappings: true})
	// The connection's own codes are there too: the mappings win over them.
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, map[string]string{quickbooks.FieldTaxCode: "TAX"})
	ca := twinID(t, qb, qbsandbox.EntityTaxCode, "CA Sales Tax")
	paypal := twinID(t, qb, qbsandbox.EntityPaymentMethod, "PayPal")
	bank := twinID(t, qb, qbsandbox.EntityAccount, "PayPal Bank")
	enginetest.ApproveMappings(t, env.St, []store.ItemInput{
		{EntityType: "tax_code", ConnectionID: env.ShopConn.ID, EntityKey: "CA State Tax", ExternalID: "CA State Tax 7.25%", Name: store.Str("CA State Tax 7.25%")},
		{EntityType: "tax_code", ConnectionID: qb.Conn.ID, EntityKey: "CA State Tax", ExternalID: ca, Name: store.Str("CA Sales Tax")},
		{EntityType: "payment_method", ConnectionID: env.ShopConn.ID, EntityKey: "PayPal", ExternalID: "paypal", Name: store.Str("paypal")},
		{EntityType: "payment_method", ConnectionID: qb.Conn.ID, EntityKey: "PayPal", ExternalID: paypal, Name: store.Str("PayPal")},
		{EntityType: "payment_method", ConnectionID: qb.Conn.ID, EntityKey: "PayPal", ExternalID: quickbooks.AccountRefPrefix + bank, Name: store.Str("PayPal Bank (account)")},
	})
	_, payload := taxedOrder(t, env, "CA State Tax", 0.0725, "paypal")
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	receipts := qb.Twin.Records(quickbooks.EntitySalesReceipt)
	require.Len(t, receipts, 1)
	require.Equal(t, ca, lineTaxCode(t, receipts[0]), "the Shopify tax's mapped code, not the connection's TAX")
	require.Equal(t, paypal, refValue(receipts[0], "PaymentMethodRef"))
	require.Equal(t, bank, refValue(receipts[0], "DepositToAccountRef"))
}

func TestQuickBooksOrderTaxAndPaymentFallBackOnTheConnection(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	// The twin's seeded chart of accounts is the same in every twin.
	checking, ok := qbsandbox.New(qbsandbox.Options{}).AccountID("Checking")
	require.True(t, ok)
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, map[string]string{quickbooks.FieldTaxCode: "TAX", quickbooks.FieldDepositTo: checking})
	_, payload := taxedOrder(t, env, "Ontario HST", 0.13, "shopify_payments")
	s := qbSync(t, env, env.Deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	receipts := qb.Twin.Records(quickbooks.EntitySalesReceipt)
	require.Len(t, receipts, 1)
	require.Equal(t, "TAX", lineTaxCode(t, receipts[0]), "no mapping: the connection's tax code")
	require.Equal(t, checking, refValue(receipts[0], "DepositToAccountRef"), "no mapping: the connection's deposit account")
	require.Empty(t, refValue(receipts[0], "PaymentMethodRef"))

	// The tax and the gateway are now records of the store the mapping
	// pages offer to map.
	for typ, id := range map[string]string{"tax_code": "Ontario HST 13%", "payment_method": "shopify_payments"} {
		rows, _, err := env.St.ListUnmapped(context.Background(), store.UnmappedFilter{From: env.ShopConn.ID, To: qb.Conn.ID, EntityType: typ})
		require.NoError(t, err)
		require.Len(t, rows, 1, typ)
		require.Equal(t, id, rows[0].Record.ExternalID)
	}
}

func TestQuickBooksUnmappedTaxFailsAloneThenReplaysOnce(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true, RealMappings: true})
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, nil) // no tax code of its own
	ctx := context.Background()
	name, bad := taxedOrder(t, env, "Mystery  Tax", 0.05, "manual")
	_, good := env.Order(t) // no tax: nothing to map
	failed := qbSync(t, env, env.Deliver(t, "orders/create", bad))
	ok := qbSync(t, env, env.Deliver(t, "orders/create", good))

	require.Equal(t, vocab.SyncSucceeded, ok.Status, "the other order went through: %s", ok.Message)
	require.Equal(t, vocab.SyncFailed, failed.Status, failed.Message)
	require.Equal(t, vocab.ClassUnmapped, *failed.ErrorClass)
	require.Equal(t, "Order "+name+" cannot be sent to Books: Shopify's tax “Mystery Tax 5%” is not mapped to a QuickBooks tax code yet. "+
		"Map it on the Mappings page (or set the connection's tax code for taxed lines), then try this order again.", failed.Message)
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 1, "nothing of the failed order was written")

	// Its "Map it" link lands on that tax, in the Shopify store's records.
	miss, err := env.St.MissingRecordsOfSync(ctx, failed.ID)
	require.NoError(t, err)
	require.Equal(t, store.MissingMappings{SourceID: env.ShopConn.ID, TargetID: qb.Conn.ID, EntityType: "tax_code", ExternalIDs: []string{"Mystery Tax 5%"}}, miss)
	rows, _, err := env.St.ListUnmapped(ctx, store.UnmappedFilter{From: env.ShopConn.ID, To: qb.Conn.ID, EntityType: "tax_code", ExternalIDs: miss.ExternalIDs})
	require.NoError(t, err)
	require.Len(t, rows, 1)

	// Mapped, then tried again: one sales receipt with the mapped code.
	ca := twinID(t, qb, qbsandbox.EntityTaxCode, "CA Sales Tax")
	enginetest.ApproveMappings(t, env.St, []store.ItemInput{
		{EntityType: "tax_code", ConnectionID: env.ShopConn.ID, EntityKey: "Mystery Tax", ExternalID: "Mystery Tax 5%"},
		{EntityType: "tax_code", ConnectionID: qb.Conn.ID, EntityKey: "Mystery Tax", ExternalID: ca},
	})
	again, err := env.Eng.Replay(ctx, store.SystemActor("test"), failed.ID)
	require.NoError(t, err)
	again = env.Ended(t, again.ID)
	require.Equal(t, vocab.SyncSucceeded, again.Status, again.Message)
	receipts := qb.Twin.Records(quickbooks.EntitySalesReceipt)
	require.Len(t, receipts, 2)
	require.Equal(t, ca, lineTaxCode(t, receipts[1]))
	once, err := env.Eng.Replay(ctx, store.SystemActor("test"), again.ID)
	require.NoError(t, err)
	once = env.Ended(t, once.ID)
	require.Equal(t, vocab.SyncSucceeded, once.Status, once.Message)
	require.Contains(t, once.Message, "nothing was created again")
	require.Len(t, qb.Twin.Records(quickbooks.EntitySalesReceipt), 2)
}
