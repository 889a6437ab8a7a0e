package shopify

import (
	"context"
	"fmt"
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

// RefundInput is refundCreate's input (RefundInput). No transactions are
// sent: the refund records the returned lines and their restock; the money
// is refunded by whoever records the transaction.
type RefundInput struct {
	OrderID string            `json:"orderId"`
	Note    string            `json:"note,omitempty"`
	Notify  bool              `json:"notify"`
	Lines   []RefundLineInput `json:"refundLineItems"`
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
