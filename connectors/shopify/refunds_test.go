package shopify

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
)

// refundCreate against the twin: restocked lines go back to stock at the
// location given, others do not; more than was bought is refused whole; the
// same idempotency key never makes a second refund.
func TestCreateRefundAgainstTheSandbox(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{})
	ctx := context.Background()
	vs := b.shop.Variants()
	loc := b.shop.Locations()[0].GID()
	o, err := b.shop.AddOrder(sandbox.NewOrder{Lines: []sandbox.NewLine{{VariantID: vs[0].GID(), Quantity: 3}, {VariantID: vs[1].GID(), Quantity: 1}}})
	require.NoError(t, err)
	order, err := c.Order(ctx, o.GID())
	require.NoError(t, err)
	l0, l1 := order.LineItems.Nodes[0], order.LineItems.Nodes[1]
	before0, _, ok := b.shop.InventoryLevel(vs[0].InventoryItemGID(), loc)
	require.True(t, ok)
	before1, _, _ := b.shop.InventoryLevel(vs[1].InventoryItemGID(), loc)

	in := RefundInput{OrderID: o.GID(), Note: "ShipBob return 7", Lines: []RefundLineInput{
		{LineItemID: l0.ID, Quantity: 2, RestockType: RestockReturn, LocationID: loc},
		{LineItemID: l1.ID, Quantity: 1, RestockType: RestockNone}}}
	_, err = c.CreateRefund(ctx, in, "")
	require.Equal(t, KindValidation, kindOf(t, err), "no key, no refund")

	r, err := c.CreateRefund(ctx, in, "return-7")
	require.NoError(t, err)
	require.Equal(t, "ShipBob return 7", *r.Note)
	require.Len(t, r.RefundLineItems.Nodes, 2)
	require.Equal(t, RestockReturn, r.RefundLineItems.Nodes[0].RestockType)
	require.Equal(t, RestockNone, r.RefundLineItems.Nodes[1].RestockType)
	after0, _, _ := b.shop.InventoryLevel(vs[0].InventoryItemGID(), loc)
	after1, _, _ := b.shop.InventoryLevel(vs[1].InventoryItemGID(), loc)
	require.Equal(t, before0+2, after0, "restocked at the location")
	require.Equal(t, before1, after1, "not restocked")

	again, err := c.CreateRefund(ctx, in, "return-7")
	require.NoError(t, err)
	require.Equal(t, r.ID, again.ID, "the same key answers the first refund")
	order, err = c.Order(ctx, o.GID())
	require.NoError(t, err)
	require.Len(t, order.Refunds, 1)
	require.Equal(t, 1, b.shop.IdempotentReplays())

	_, err = c.CreateRefund(ctx, RefundInput{OrderID: o.GID(), Lines: []RefundLineInput{{LineItemID: l0.ID, Quantity: 2, RestockType: RestockNone}}}, "return-8")
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "cannot refund more items than were purchased")
	_, err = c.CreateRefund(ctx, RefundInput{OrderID: o.GID(), Lines: []RefundLineInput{{LineItemID: l0.ID, Quantity: 1, RestockType: RestockReturn}}}, "return-9")
	require.ErrorContains(t, err, "Location is required to restock")
	_, err = c.CreateRefund(ctx, RefundInput{OrderID: "gid://shopify/Order/1", Lines: []RefundLineInput{{LineItemID: l0.ID, Quantity: 1}}}, "return-10")
	require.ErrorContains(t, err, "Order does not exist")
	order, err = c.Order(ctx, o.GID())
	require.NoError(t, err)
	require.Len(t, order.Refunds, 1, "refused refunds left nothing")
}
