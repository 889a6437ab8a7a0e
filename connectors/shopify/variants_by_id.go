package shopify

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// variantsByIDChunk is how many variants one aliased query asks for: even the
// richer selection below stays far under the 1,000-point single-query limit.
const variantsByIDChunk = 50

// variantsByID asks for variants by GID, 50 per query, with one aliased
// productVariant(id:) field each, and hands every answer (nil for a variant
// Shopify does not know) to fn. selection is the GraphQL selection of a
// variant; T is the JSON shape of that selection.
func variantsByID[T any](ctx context.Context, c *Client, name, selection string, ids []string, fn func(id string, v *T)) error {
	ask := slices.Clone(ids)
	slices.Sort(ask)
	ask = slices.Compact(ask)
	for part := range slices.Chunk(ask, variantsByIDChunk) {
		var q strings.Builder
		fmt.Fprintf(&q, "query %s(", name)
		vars := make(map[string]any, len(part))
		for i, v := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "$v%d: ID!", i)
			vars[fmt.Sprintf("v%d", i)] = v
		}
		q.WriteString(") {")
		for i := range part {
			fmt.Fprintf(&q, " v%d: productVariant(id: $v%d) { %s }", i, i, selection)
		}
		q.WriteString(" }")
		var ans map[string]*T
		if err := c.Do(ctx, q.String(), vars, &ans); err != nil {
			return err
		}
		for i, v := range part {
			fn(v, ans[fmt.Sprintf("v%d", i)])
		}
	}
	return nil
}

// InventoryItemIDs returns the inventory item of each variant (GIDs). A
// variant Shopify does not know is left out.
func (c *Client) InventoryItemIDs(ctx context.Context, variantIDs []string) (map[string]string, error) {
	type variant struct {
		InventoryItem struct {
			ID string `json:"id"`
		} `json:"inventoryItem"`
	}
	out := make(map[string]string, len(variantIDs))
	err := variantsByID(ctx, c, "CrossdockVariantItems", "id inventoryItem { id }", variantIDs, func(id string, v *variant) {
		if v != nil && v.InventoryItem.ID != "" {
			out[id] = v.InventoryItem.ID
		}
	})
	return out, err
}

// VariantPrice is what a variant sells for and costs, and its product.
type VariantPrice struct {
	ProductID string
	Price     string
	Cost      string // "" when the inventory item has no unit cost
}

// VariantPrices returns the product, price and unit cost of each variant
// (GIDs). A variant Shopify does not know is left out.
func (c *Client) VariantPrices(ctx context.Context, variantIDs []string) (map[string]VariantPrice, error) {
	type variant struct {
		Price   string `json:"price"`
		Product struct {
			ID string `json:"id"`
		} `json:"product"`
		InventoryItem *struct {
			UnitCost *Money `json:"unitCost"`
		} `json:"inventoryItem"`
	}
	out := make(map[string]VariantPrice, len(variantIDs))
	err := variantsByID(ctx, c, "CrossdockVariantPrices", "id price product { id } inventoryItem { unitCost { amount } }", variantIDs,
		func(id string, v *variant) {
			if v == nil || v.Product.ID == "" {
				return
			}
			vp := VariantPrice{ProductID: v.Product.ID, Price: v.Price}
			if v.InventoryItem != nil && v.InventoryItem.UnitCost != nil {
				vp.Cost = v.InventoryItem.UnitCost.Amount
			}
			out[id] = vp
		})
	return out, err
}
