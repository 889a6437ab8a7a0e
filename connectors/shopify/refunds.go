package shopify

import (
	"context"
	"fmt"
	"strconv"
)

// RefundCreateMutation refunds lines of an order, restocking some. The
// @idempotent directive is mandatory for refundCreate from 2026-04
// (shopify.dev changelog "making idempotency mandatory for inventory
// adjustments and refund mutations"); the key is a variable so the document
// is the same for every call.
const RefundCreateMutation = `mutation CrossdockRefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund {
      id createdAt note
      totalRefundedSet { shopMoney { amount currencyCode } }
      refundLineItems(first: 250) { nodes { quantity restockType lineItem { id sku } } }
      transactions(first: 10) { nodes { id kind status gateway amountSet { shopMoney { amount currencyCode } } } }
    }
    userErrors { field message }
  }
}`

// Restock types of a refunded line (RefundLineItemRestockType).
const (
	RestockReturn = "RETURN"     // back into stock at the line's location
	RestockNone   = "NO_RESTOCK" // refunded, not restocked
)

// RefundLineInput is one line of a refund (RefundLineItemInput).
type RefundLineInput struct {
	LineItemID  string `json:"lineItemId"`
	Quantity    int    `json:"quantity"`
	RestockType string `json:"restockType"`
	// LocationID is where a restocked quantity goes; empty for NO_RESTOCK.
	LocationID string `json:"locationId,omitempty"`
}

// RefundInput is refundCreate's input (RefundInput). The lines record what
// came back and its restock; the transactions move the money. A refund
// without transactions refunds no money (the merchant refunds it by hand);
// SuggestRefund says which transactions refund the lines.
type RefundInput struct {
	OrderID      string                   `json:"orderId"`
	Note         string                   `json:"note,omitempty"`
	Notify       bool                     `json:"notify"`
	Lines        []RefundLineInput        `json:"refundLineItems"`
	Transactions []RefundTransactionInput `json:"transactions,omitempty"`
}

// TransactionRefund is the kind of transaction a refund creates
// (OrderTransactionKind REFUND).
const TransactionRefund = "REFUND"

// RefundTransactionInput is one transaction of a refund
// (OrderTransactionInput: orderId, parentId, gateway, kind, amount, per
// shopify.dev/docs/api/admin-graphql/latest/input-objects/OrderTransactionInput,
// the same in 2024-04 to 2026-10): money given back through gateway,
// taken from the parent SALE or CAPTURE.
type RefundTransactionInput struct {
	OrderID  string `json:"orderId"`
	ParentID string `json:"parentId,omitempty"`
	Gateway  string `json:"gateway"`
	Kind     string `json:"kind"`
	// Amount is a decimal string in the shop's currency ("42.50").
	Amount string `json:"amount"`
}

// SuggestedRefundQuery asks Shopify what refunding some lines is worth and
// through which payments (Order.suggestedRefund, shopify.dev
// docs/api/admin-graphql/latest/objects/Order, arguments shippingAmount,
// refundShipping, refundLineItems, refundDuties, suggestFullRefund,
// refundMethodAllocation; SuggestedRefund's amountSet, subtotalSet,
// totalTaxSet, maximumRefundableSet, suggestedTransactions; and
// SuggestedOrderTransaction's parentTransaction, gateway, kind
// (SUGGESTED_REFUND), amountSet, maximumRefundableSet: objects/SuggestedRefund
// and objects/SuggestedOrderTransaction, 2024-04 to 2026-07). Shipping is
// never refunded for a return.
const SuggestedRefundQuery = `query CrossdockSuggestedRefund($id: ID!, $lines: [RefundLineItemInput!]) {
  order(id: $id) {
    suggestedRefund(refundLineItems: $lines, suggestFullRefund: false, refundShipping: false) {
      amountSet { shopMoney { amount currencyCode } }
      subtotalSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      maximumRefundableSet { shopMoney { amount currencyCode } }
      suggestedTransactions {
        parentTransaction { id }
        gateway kind
        amountSet { shopMoney { amount currencyCode } }
        maximumRefundableSet { shopMoney { amount currencyCode } }
      }
    }
  }
}`

// SuggestedTransaction is one payment Shopify suggests refunding from
// (SuggestedOrderTransaction).
type SuggestedTransaction struct {
	ParentTransaction *struct {
		ID string `json:"id"`
	} `json:"parentTransaction"`
	Gateway              string    `json:"gateway"`
	Kind                 string    `json:"kind"`
	AmountSet            moneyBag  `json:"amountSet"`
	MaximumRefundableSet *moneyBag `json:"maximumRefundableSet"`
}

// SuggestedRefund is what Shopify suggests refunding for some lines: their
// subtotal and tax, the amount (capped at what the order has left to
// refund) and the transactions that refund it.
type SuggestedRefund struct {
	AmountSet            moneyBag               `json:"amountSet"`
	SubtotalSet          moneyBag               `json:"subtotalSet"`
	TotalTaxSet          moneyBag               `json:"totalTaxSet"`
	MaximumRefundableSet moneyBag               `json:"maximumRefundableSet"`
	Transactions         []SuggestedTransaction `json:"suggestedTransactions"`
}

// Amount is the money the suggestion refunds, in shop currency.
func (s SuggestedRefund) Amount() Money { return s.AmountSet.ShopMoney }

// RefundTransactions are the suggestion's transactions as refundCreate
// takes them: one REFUND per suggested transaction of a positive amount.
// None means Shopify has nothing left to refund for these lines.
func (s SuggestedRefund) RefundTransactions(orderID string) []RefundTransactionInput {
	var out []RefundTransactionInput
	for _, t := range s.Transactions {
		amount := t.AmountSet.ShopMoney.Amount
		if n, err := strconv.ParseFloat(amount, 64); err != nil || n <= 0 {
			continue
		}
		in := RefundTransactionInput{OrderID: orderID, Gateway: t.Gateway, Kind: TransactionRefund, Amount: amount}
		if t.ParentTransaction != nil {
			in.ParentID = t.ParentTransaction.ID
		}
		out = append(out, in)
	}
	return out
}

// SuggestRefund asks Shopify what refunding lines of an order is worth and
// through which payments. It answers KindValidation when the order does not
// exist.
func (c *Client) SuggestRefund(ctx context.Context, orderID string, lines []RefundLineInput) (SuggestedRefund, error) {
	if n := len(lines); n == 0 || n > maxInputItems {
		return SuggestedRefund{}, &Error{Kind: KindValidation, Message: fmt.Sprintf("a refund takes 1 to %d lines, not %d", maxInputItems, n)}
	}
	var out struct {
		Order *struct {
			SuggestedRefund *SuggestedRefund `json:"suggestedRefund"`
		} `json:"order"`
	}
	if err := c.Do(ctx, SuggestedRefundQuery, map[string]any{"id": orderID, "lines": lines}, &out); err != nil {
		return SuggestedRefund{}, err
	}
	if out.Order == nil {
		return SuggestedRefund{}, &Error{Kind: KindValidation, Message: "order " + orderID + " does not exist"}
	}
	if out.Order.SuggestedRefund == nil {
		return SuggestedRefund{}, &Error{Kind: KindValidation, Message: "Shopify suggested no refund for order " + orderID}
	}
	return *out.Order.SuggestedRefund, nil
}

// CreateRefund creates a refund once per idempotency key: the same key and
// input again answers the first refund, and creates nothing.
func (c *Client) CreateRefund(ctx context.Context, in RefundInput, idempotencyKey string) (Refund, error) {
	if idempotencyKey == "" {
		return Refund{}, &Error{Kind: KindValidation, Message: errNoKey.Error(), Err: errNoKey}
	}
	if n := len(in.Lines); n == 0 || n > maxInputItems {
		return Refund{}, &Error{Kind: KindValidation, Message: fmt.Sprintf("a refund takes 1 to %d lines, not %d", maxInputItems, n)}
	}
	var out struct {
		RefundCreate struct {
			Refund     *Refund     `json:"refund"`
			UserErrors []UserError `json:"userErrors"`
		} `json:"refundCreate"`
	}
	if err := c.Do(ctx, RefundCreateMutation, map[string]any{"input": in, "key": idempotencyKey}, &out); err != nil {
		return Refund{}, err
	}
	if err := userErrorsToError(out.RefundCreate.UserErrors); err != nil {
		return Refund{}, err
	}
	if out.RefundCreate.Refund == nil {
		return Refund{}, &Error{Kind: KindValidation, Message: "refundCreate answered no refund and no error"}
	}
	return *out.RefundCreate.Refund, nil
}
