package shopify

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// maxInputItems is Shopify's limit on input arrays.
const maxInputItems = 250

// SetQuantitiesMutation sets absolute quantities. The idempotency key is a
// variable so the document (and its learned cost) is the same for every call.
const SetQuantitiesMutation = `mutation CrossdockInventorySet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id createdAt reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}`

// SetQuantitiesInput is the input of SetInventoryQuantities.
type SetQuantitiesInput struct {
	// Name is "available" or "on_hand".
	Name string
	// Reason is one of Shopify's reasons, e.g. "correction", "cycle_count_available".
	Reason string
	// ReferenceDocumentURI shows up in the merchant's inventory history, e.g. gid://crossdock/SyncJob/42.
	ReferenceDocumentURI string
	Quantities           []QuantityInput
}

// QuantityInput is one absolute quantity to set.
type QuantityInput struct {
	InventoryItemID string
	LocationID      string
	Quantity        int
	// ChangeFromQuantity is the quantity Crossdock believes Shopify has now
	// (compare-and-set); nil opts out of the check.
	ChangeFromQuantity *int
}

// InventoryChange is one change applied by an adjustment.
type InventoryChange struct {
	Name                string `json:"name"`
	Delta               int    `json:"delta"`
	QuantityAfterChange int    `json:"quantityAfterChange"`
	Item                struct {
		ID string `json:"id"`
	} `json:"item"`
	Location struct {
		ID string `json:"id"`
	} `json:"location"`
}

// AdjustmentGroup is the inventoryAdjustmentGroup Shopify returns.
type AdjustmentGroup struct {
	ID                   string            `json:"id"`
	CreatedAt            time.Time         `json:"createdAt"`
	Reason               string            `json:"reason"`
	ReferenceDocumentURI *string           `json:"referenceDocumentUri"`
	Changes              []InventoryChange `json:"changes"`
}

// SetInventoryQuantities sets quantities with inventorySetQuantities. Inputs
// over 250 quantities are split; chunk i is sent with key+"-"+i (a single
// chunk uses key unchanged), so a retry of the whole call repeats the same keys.
// It returns the adjustment groups applied so far; a stale changeFromQuantity
// answers *Error with KindConflict and nothing of that chunk is applied.
func (c *Client) SetInventoryQuantities(ctx context.Context, in SetQuantitiesInput, idempotencyKey string) ([]AdjustmentGroup, error) {
	if idempotencyKey == "" {
		return nil, &Error{Kind: KindValidation, Message: errNoKey.Error(), Err: errNoKey}
	}
	if in.Name != "available" && in.Name != "on_hand" {
		return nil, &Error{Kind: KindValidation, Message: fmt.Sprintf("quantity name %q must be available or on_hand", in.Name)}
	}
	var groups []AdjustmentGroup
	chunks := (len(in.Quantities) + maxInputItems - 1) / maxInputItems
	for i := range chunks {
		part := in.Quantities[i*maxInputItems : min((i+1)*maxInputItems, len(in.Quantities))]
		key := idempotencyKey
		if chunks > 1 {
			key += "-" + strconv.Itoa(i)
		}
		qs := make([]map[string]any, 0, len(part))
		for _, q := range part {
			m := map[string]any{
				"inventoryItemId":    q.InventoryItemID,
				"locationId":         q.LocationID,
				"quantity":           q.Quantity,
				"changeFromQuantity": nil,
			}
			if q.ChangeFromQuantity != nil {
				m["changeFromQuantity"] = *q.ChangeFromQuantity
			}
			qs = append(qs, m)
		}
		input := map[string]any{"name": in.Name, "reason": in.Reason, "quantities": qs}
		if in.ReferenceDocumentURI != "" {
			input["referenceDocumentUri"] = in.ReferenceDocumentURI
		}
		var out struct {
			InventorySetQuantities struct {
				InventoryAdjustmentGroup *AdjustmentGroup `json:"inventoryAdjustmentGroup"`
				UserErrors               []UserError      `json:"userErrors"`
			} `json:"inventorySetQuantities"`
		}
		if err := c.Do(ctx, SetQuantitiesMutation, map[string]any{"input": input, "key": key}, &out); err != nil {
			return groups, chunkErr(err, i, chunks)
		}
		if err := userErrorsToError(out.InventorySetQuantities.UserErrors); err != nil {
			return groups, chunkErr(err, i, chunks)
		}
		if g := out.InventorySetQuantities.InventoryAdjustmentGroup; g != nil {
			groups = append(groups, *g)
		}
	}
	return groups, nil
}

func chunkErr(err error, i, n int) error {
	if e, ok := err.(*Error); ok && n > 1 {
		e.Message = fmt.Sprintf("part %d of %d: %s", i+1, n, e.Message)
	}
	return err
}

// VariantsBulkUpdateMutation updates variants of one product.
const VariantsBulkUpdateMutation = `mutation CrossdockVariantsBulkUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    product { id }
    productVariants { id price compareAtPrice inventoryItem { unitCost { amount currencyCode } } }
    userErrors { code field message }
  }
}`

// VariantPriceUpdate is a price change for one variant. Nil fields are left
// unchanged; ClearCompareAtPrice removes the compare-at price.
type VariantPriceUpdate struct {
	ID                  string
	Price               *string
	CompareAtPrice      *string
	ClearCompareAtPrice bool
	// Cost is the inventory item's unit cost.
	Cost *string
}

// UpdateVariantPrices updates price, compare-at price and cost of variants of
// one product, 250 per call.
func (c *Client) UpdateVariantPrices(ctx context.Context, productID string, variants []VariantPriceUpdate) error {
	for start := 0; start < len(variants); start += maxInputItems {
		part := variants[start:min(start+maxInputItems, len(variants))]
		in := make([]map[string]any, 0, len(part))
		for _, v := range part {
			m := map[string]any{"id": v.ID}
			if v.Price != nil {
				m["price"] = *v.Price
			}
			if v.CompareAtPrice != nil {
				m["compareAtPrice"] = *v.CompareAtPrice
			} else if v.ClearCompareAtPrice {
				m["compareAtPrice"] = nil
			}
			if v.Cost != nil {
				m["inventoryItem"] = map[string]any{"cost": *v.Cost}
			}
			in = append(in, m)
		}
		var out struct {
			ProductVariantsBulkUpdate struct {
				UserErrors []UserError `json:"userErrors"`
			} `json:"productVariantsBulkUpdate"`
		}
		if err := c.Do(ctx, VariantsBulkUpdateMutation, map[string]any{"productId": productID, "variants": in}, &out); err != nil {
			return err
		}
		if err := userErrorsToError(out.ProductVariantsBulkUpdate.UserErrors); err != nil {
			return err
		}
	}
	return nil
}
