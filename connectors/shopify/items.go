package shopify

import "context"

// InventoryItemVariantQuery reads the variant of an inventory item.
const InventoryItemVariantQuery = `query CrossdockItemVariant($id: ID!) {
  inventoryItem(id: $id) { id sku variant { id sku } }
}`

// InventoryItemVariant returns the variant (GID) and SKU of an inventory
// item; found is false when Shopify has no such item.
func (c *Client) InventoryItemVariant(ctx context.Context, itemID string) (variantID, sku string, found bool, err error) {
	var out struct {
		InventoryItem *struct {
			SKU     *string `json:"sku"`
			Variant *struct {
				ID string `json:"id"`
			} `json:"variant"`
		} `json:"inventoryItem"`
	}
	if err := c.Do(ctx, InventoryItemVariantQuery, map[string]any{"id": itemID}, &out); err != nil {
		return "", "", false, err
	}
	it := out.InventoryItem
	if it == nil || it.Variant == nil {
		return "", "", false, nil
	}
	if it.SKU != nil {
		sku = *it.SKU
	}
	return it.Variant.ID, sku, true, nil
}
