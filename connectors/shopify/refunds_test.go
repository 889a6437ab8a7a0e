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

// suggestedRefund and refundCreate with transactions against the twin: an
// order of 3 × 20.00 and 1 × 15.00, 7.50 off (6.00 and 1.50 of the lines),
// 8 % tax on the discounted lines (4.32 and 1.08), paid 72.90 through
// shopify_payments. Two of the first line are worth 40.00 − 4.00 + 2.88.
func TestRefundMovesMoneyAgainstTheSandbox(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{})
	ctx := context.Background()
	vs := b.shop.Variants()
	require.NoError(t, b.shop.SetPriceDirect(vs[0].GID(), "20.00"))
	require.NoError(t, b.shop.SetPriceDirect(vs[1].GID(), "15.00"))
	o, err := b.shop.AddOrder(sandbox.NewOrder{Lines: []sandbox.NewLine{{VariantID: vs[0].GID(), Quantity: 3}, {VariantID: vs[1].GID(), Quantity: 1}},
		Discount: "7.50", Tax: &sandbox.Tax{Title: "State tax", Rate: 0.08}, Gateway: "shopify_payments"})
	require.NoError(t, err)
	require.Len(t, o.Transactions, 1)
	sale := o.Transactions[0]
	require.Equal(t, "72.90", sale.Amount, "the checkout took the discounted lines and their tax")
	order, err := c.Order(ctx, o.GID())
	require.NoError(t, err)
	l0, l1 := order.LineItems.Nodes[0], order.LineItems.Nodes[1]

	two := []RefundLineInput{{LineItemID: l0.ID, Quantity: 2, RestockType: RestockNone}}
	sug, err := c.SuggestRefund(ctx, o.GID(), two)
	require.NoError(t, err)
	require.Equal(t, "40.00", sug.SubtotalSet.ShopMoney.Amount)
	require.Equal(t, "2.88", sug.TotalTaxSet.ShopMoney.Amount)
	require.Equal(t, Money{Amount: "38.88", CurrencyCode: "USD"}, sug.Amount())
	require.Equal(t, "72.90", sug.MaximumRefundableSet.ShopMoney.Amount)
	require.Len(t, sug.Transactions, 1)
	st := sug.Transactions[0]
	require.Equal(t, "SUGGESTED_REFUND", st.Kind)
	require.Equal(t, "shopify_payments", st.Gateway)
	require.Equal(t, sale.GID(), st.ParentTransaction.ID)
	require.Equal(t, "38.88", st.AmountSet.ShopMoney.Amount)
	require.Equal(t, "72.90", st.MaximumRefundableSet.ShopMoney.Amount)
	txs := sug.RefundTransactions(o.GID())
	require.Equal(t, []RefundTransactionInput{{OrderID: o.GID(), ParentID: sale.GID(), Gateway: "shopify_payments", Kind: "REFUND", Amount: "38.88"}}, txs)

	in := RefundInput{OrderID: o.GID(), Note: "ShipBob return 9", Lines: two, Transactions: txs}
	r, err := c.CreateRefund(ctx, in, "return-9-money")
	require.NoError(t, err)
	require.Equal(t, "38.88", r.TotalRefundedSet.ShopMoney.Amount)
	require.NotNil(t, r.Transactions)
	require.Len(t, r.Transactions.Nodes, 1)
	rt := r.Transactions.Nodes[0]
	require.Equal(t, []string{"REFUND", "SUCCESS", "shopify_payments", "38.88"}, []string{rt.Kind, rt.Status, rt.Gateway, rt.Amount().Amount})
	refunded := func() string {
		for _, x := range b.shop.Orders() {
			if x.GID() == o.GID() {
				return x.TotalRefunded()
			}
		}
		return "no order"
	}
	require.Equal(t, "38.88", refunded())

	again, err := c.CreateRefund(ctx, in, "return-9-money")
	require.NoError(t, err)
	require.Equal(t, r.ID, again.ID, "the same key answers the first refund")
	require.Equal(t, "38.88", refunded(), "and moves no money again")

	// What is left: one of the first line (20.00 − 2.00 + 1.44) and the
	// second (15.00 − 1.50 + 1.08) is all the order has left to refund.
	rest := []RefundLineInput{{LineItemID: l0.ID, Quantity: 1, RestockType: RestockNone}, {LineItemID: l1.ID, Quantity: 1, RestockType: RestockNone}}
	sug, err = c.SuggestRefund(ctx, o.GID(), rest)
	require.NoError(t, err)
	require.Equal(t, "34.02", sug.Amount().Amount)
	require.Equal(t, "34.02", sug.MaximumRefundableSet.ShopMoney.Amount)

	over := RefundInput{OrderID: o.GID(), Lines: rest, Transactions: []RefundTransactionInput{{OrderID: o.GID(), ParentID: sale.GID(),
		Gateway: "shopify_payments", Kind: "REFUND", Amount: "40.00"}}}
	_, err = c.CreateRefund(ctx, over, "return-10-money")
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "transactions.0.amount: Amount 40.00 is greater than the 34.02 left to refund on this payment")
	unknown := over
	unknown.Transactions = []RefundTransactionInput{{OrderID: o.GID(), ParentID: "gid://shopify/OrderTransaction/1", Gateway: "shopify_payments",
		Kind: "REFUND", Amount: "1.00"}}
	_, err = c.CreateRefund(ctx, unknown, "return-11-money")
	require.ErrorContains(t, err, "transactions.0.parentId: Parent transaction does not exist")
	order, err = c.Order(ctx, o.GID())
	require.NoError(t, err)
	require.Len(t, order.Refunds, 1, "a refused refund is not created, lines included")
	require.Equal(t, "38.88", refunded(), "and moves no money")

	// The rest, then nothing is left to suggest.
	_, err = c.CreateRefund(ctx, RefundInput{OrderID: o.GID(), Lines: rest, Transactions: sug.RefundTransactions(o.GID())}, "return-12-money")
	require.NoError(t, err)
	require.Equal(t, "72.90", refunded())
	sug, err = c.SuggestRefund(ctx, o.GID(), []RefundLineInput{{LineItemID: l0.ID, Quantity: 1}})
	require.NoError(t, err)
	require.Equal(t, "0.00", sug.Amount().Amount, "every line is refunded")
	require.Empty(t, sug.RefundTransactions(o.GID()))
}
