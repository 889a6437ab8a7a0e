package shopify

import (
	"context"
	"fmt"
)

// Product content written from the ERP: title and description on the
// product (productUpdate), SKU and barcode on the variants
// (productVariantsBulkUpdate), and products created with their one default
// variant (productCreate).

// VariantContent is a variant's keys and its product's content.
type VariantContent struct {
	ProductID       string
	Title           string // the product's
	DescriptionHTML string // the product's
	SKU             string
	Barcode         string
}

// VariantContents returns the content of each variant (GIDs). A variant
// Shopify does not know is left out.
func (c *Client) VariantContents(ctx context.Context, variantIDs []string) (map[string]VariantContent, error) {
	type variant struct {
		SKU     *string `json:"sku"`
		Barcode *string `json:"barcode"`
		Product struct {
			ID              string  `json:"id"`
			Title           string  `json:"title"`
			DescriptionHTML *string `json:"descriptionHtml"`
		} `json:"product"`
	}
	out := make(map[string]VariantContent, len(variantIDs))
	err := variantsByID(ctx, c, "CrossdockVariantContents", "id sku barcode product { id title descriptionHtml }", variantIDs,
		func(id string, v *variant) {
			if v == nil || v.Product.ID == "" {
				return
			}
			out[id] = VariantContent{ProductID: v.Product.ID, Title: v.Product.Title, DescriptionHTML: str(v.Product.DescriptionHTML),
				SKU: str(v.SKU), Barcode: str(v.Barcode)}
		})
	return out, err
}

// ProductUpdateMutation changes a product's content.
const ProductUpdateMutation = `mutation CrossdockProductUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id }
    userErrors { field message }
  }
}`

// UpdateProductContent writes a product's title and/or description; a nil
// value is left alone.
func (c *Client) UpdateProductContent(ctx context.Context, productID string, title, descriptionHTML *string) error {
	in := map[string]any{"id": productID}
	if title != nil {
		in["title"] = *title
	}
	if descriptionHTML != nil {
		in["descriptionHtml"] = *descriptionHTML
	}
	if len(in) == 1 {
		return nil
	}
	var out struct {
		ProductUpdate struct {
			UserErrors []UserError `json:"userErrors"`
		} `json:"productUpdate"`
	}
	if err := c.Do(ctx, ProductUpdateMutation, map[string]any{"product": in}, &out); err != nil {
		return err
	}
	return userErrorsToError(out.ProductUpdate.UserErrors)
}

// VariantKeysUpdate sets a variant's SKU and/or barcode; nil is left alone.
type VariantKeysUpdate struct {
	ID      string
	SKU     *string
	Barcode *string
}

// UpdateVariantKeys writes SKUs and barcodes of variants of one product, 250 per call.
func (c *Client) UpdateVariantKeys(ctx context.Context, productID string, variants []VariantKeysUpdate) error {
	for start := 0; start < len(variants); start += maxInputItems {
		part := variants[start:min(start+maxInputItems, len(variants))]
		in := make([]map[string]any, 0, len(part))
		for _, v := range part {
			m := map[string]any{"id": v.ID}
			if v.Barcode != nil {
				m["barcode"] = *v.Barcode
			}
			if v.SKU != nil {
				m["inventoryItem"] = map[string]any{"sku": *v.SKU}
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

// ProductCreateMutation creates a product, once per key.
const ProductCreateMutation = `mutation CrossdockProductCreate($product: ProductCreateInput!, $key: String!) {
  productCreate(product: $product) @idempotent(key: $key) {
    product { id variants(first: 1) { nodes { id } } }
    userErrors { field message }
  }
}`

// CreateProduct creates a product with its default variant, once per
// idempotency key: a retry with the same key and input answers the first
// product instead of making another. It returns the product and variant GIDs.
func (c *Client) CreateProduct(ctx context.Context, title, descriptionHTML, idempotencyKey string) (productID, variantID string, err error) {
	if idempotencyKey == "" {
		return "", "", fmt.Errorf("shopify: create product: an idempotency key is required")
	}
	in := map[string]any{"title": title}
	if descriptionHTML != "" {
		in["descriptionHtml"] = descriptionHTML
	}
	var out struct {
		ProductCreate struct {
			Product *struct {
				ID       string `json:"id"`
				Variants struct {
					Nodes []struct {
						ID string `json:"id"`
					} `json:"nodes"`
				} `json:"variants"`
			} `json:"product"`
			UserErrors []UserError `json:"userErrors"`
		} `json:"productCreate"`
	}
	if err := c.Do(ctx, ProductCreateMutation, map[string]any{"product": in, "key": idempotencyKey}, &out); err != nil {
		return "", "", err
	}
	if err := userErrorsToError(out.ProductCreate.UserErrors); err != nil {
		return "", "", err
	}
	p := out.ProductCreate.Product
	if p == nil || len(p.Variants.Nodes) == 0 {
		return "", "", fmt.Errorf("shopify: create product: the answer has no product")
	}
	return p.ID, p.Variants.Nodes[0].ID, nil
}
