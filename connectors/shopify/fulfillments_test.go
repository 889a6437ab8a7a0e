package shopify

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
)

func TestFulfillmentsAgainstTheSandbox(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Plan: "plus"})
	ctx := context.Background()
	vs := b.shop.Variants()
	o, err := b.shop.AddOrder(sandbox.NewOrder{Lines: []sandbox.NewLine{{VariantID: vs[0].GID(), Quantity: 3}, {VariantID: vs[1].GID(), Quantity: 1}}})
	require.NoError(t, err)

	_, found, err := c.OrderShipping(ctx, "gid://shopify/Order/1")
	require.NoError(t, err)
	require.False(t, found)

	sh, found, err := c.OrderShipping(ctx, o.GID())
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "UNFULFILLED", sh.DisplayFulfillmentStatus)
	require.Len(t, sh.FulfillmentOrders.Nodes, 1)
	fo := sh.FulfillmentOrders.Nodes[0]
	require.Equal(t, "OPEN", fo.Status)
	require.Equal(t, vs[0].GID(), fo.LineItems.Nodes[0].VariantID())
	require.Equal(t, 3, fo.LineItems.Nodes[0].RemainingQuantity)

	// More than is left is refused, whole.
	_, err = c.CreateFulfillment(ctx, FulfillmentInput{Orders: []FulfillmentOrderLines{{FulfillmentOrderID: fo.ID,
		Lines: []FulfillmentLineQ{{ID: fo.LineItems.Nodes[0].ID, Quantity: 4}}}}})
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "Invalid fulfillment order line item quantity requested.")

	f, err := c.CreateFulfillment(ctx, FulfillmentInput{Orders: []FulfillmentOrderLines{{FulfillmentOrderID: fo.ID,
		Lines: []FulfillmentLineQ{{ID: fo.LineItems.Nodes[0].ID, Quantity: 2}}}}, Tracking: &Tracking{Number: "1Z1", Company: "UPS"}})
	require.NoError(t, err)
	require.Equal(t, "SUCCESS", f.Status)
	sh, _, err = c.OrderShipping(ctx, o.GID())
	require.NoError(t, err)
	require.Equal(t, "PARTIALLY_FULFILLED", sh.DisplayFulfillmentStatus)
	require.Equal(t, "IN_PROGRESS", sh.FulfillmentOrders.Nodes[0].Status)
	got, ok := sh.FulfillmentWithTracking("1z1")
	require.True(t, ok)
	require.Equal(t, f.ID, got.ID)

	// Fulfilled by hand in the admin: the fulfillment order closes and takes no more.
	require.NoError(t, b.shop.FulfillDirect(o.GID(), "DHL Express", "BYHAND"))
	sh, _, err = c.OrderShipping(ctx, o.GID())
	require.NoError(t, err)
	require.Equal(t, "FULFILLED", sh.DisplayFulfillmentStatus)
	require.Equal(t, "CLOSED", sh.FulfillmentOrders.Nodes[0].Status)
	_, err = c.CreateFulfillment(ctx, FulfillmentInput{Orders: []FulfillmentOrderLines{{FulfillmentOrderID: fo.ID}}})
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "has an unfulfillable status= closed")

	creates := 0
	for _, w := range b.shop.Writes() {
		if w.Op == "fulfillmentCreate" {
			creates++
		}
	}
	require.Equal(t, 3, creates, "the write log holds every call, refused ones with their user errors")
}
