package odoo

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// AdjustInventory moves the on-hand quantity of a product in a location by
// delta, as an inventory adjustment booked under ref (the stock move's name,
// through the inventory_name context of action_apply_inventory), at most once
// per ref: the stock moves are searched for ref before anything is applied,
// and applied is false when it was there already. It returns the quantity on
// hand it counted. Callers serialise per product and location (the count is
// read, then written).
func (c *Client) AdjustInventory(ctx context.Context, productID, locationID int, delta float64, ref string) (onHand float64, applied bool, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return 0, false, fmt.Errorf("odoo: adjust inventory: the idempotency reference is empty")
	}
	if math.IsNaN(delta) || math.IsInf(delta, 0) {
		return 0, false, fmt.Errorf("odoo: adjust inventory: delta %v is not a number", delta)
	}
	done, err := c.InventoryAdjusted(ctx, productID, ref)
	if err != nil {
		return 0, false, fmt.Errorf("odoo: adjust inventory: %w", err)
	}
	qs, err := c.Quants(ctx, []int{locationID}, []int{productID})
	if err != nil {
		return 0, false, fmt.Errorf("odoo: adjust inventory: %w", err)
	}
	var quantID int
	for _, q := range qs {
		onHand += q.Quantity
		if quantID == 0 {
			quantID = q.ID
		}
	}
	if done {
		return onHand, false, nil
	}
	invCtx := map[string]any{"inventory_mode": true, "inventory_name": ref}
	counted := onHand + delta
	if quantID != 0 {
		if err := c.Write(ctx, "stock.quant", []int{quantID}, map[string]any{"inventory_quantity": counted}, invCtx); err != nil {
			return onHand, false, fmt.Errorf("odoo: adjust inventory: set counted quantity: %w", err)
		}
	} else {
		quantID, err = c.Create(ctx, "stock.quant", map[string]any{"product_id": productID, "location_id": locationID,
			"inventory_quantity": counted}, invCtx)
		if err != nil {
			return onHand, false, fmt.Errorf("odoo: adjust inventory: create quant: %w", err)
		}
	}
	if err := c.Action(ctx, "stock.quant", "action_apply_inventory", []int{quantID}, invCtx); err != nil {
		return onHand, false, fmt.Errorf("odoo: adjust inventory: %w", err)
	}
	return onHand, true, nil
}

// InventoryAdjusted reports whether an inventory adjustment of the product
// was booked under ref.
func (c *Client) InventoryAdjusted(ctx context.Context, productID int, ref string) (bool, error) {
	ids, err := c.searchIDs(ctx, "stock.move", []any{[]any{"name", "=", ref}, []any{"is_inventory", "=", true},
		[]any{"product_id", "=", productID}}, 1, "id")
	if err != nil {
		return false, fmt.Errorf("look up reference %q: %w", ref, err)
	}
	return len(ids) > 0, nil
}
