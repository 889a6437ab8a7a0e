package shopify

import (
	"context"
	"time"
)

// Changed-since reads for the sweeps that catch what webhooks missed: the
// customers and products updated after a moment, a page at a time, through
// the search syntax's updated_at filter.

// sinceQuery is the search filter "updated after t" (inclusive of nothing
// before t; Shopify compares at second resolution).
func sinceQuery(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return "updated_at:>'" + t.UTC().Format(time.RFC3339) + "'"
}

// CustomersSinceQuery reads customers with their default address.
const CustomersSinceQuery = `query CrossdockCustomersSince($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName updatedAt phone
      defaultEmailAddress { emailAddress }
      defaultAddress { address1 address2 city zip phone }
    }
  }
}`

// CustomerRecord is a customer as the customers sweep reads it.
type CustomerRecord struct {
	ID, FirstName, LastName, Email, Phone string
	Address1, Address2, City, Zip         string
	UpdatedAt                             time.Time
}

// CustomerRecordPage is one page of CustomersUpdatedSince.
type CustomerRecordPage struct {
	Customers []CustomerRecord
	PageInfo  PageInfo
}

// CustomersUpdatedSince reads one page of the customers updated after since
// (all of them for a zero since).
func (c *Client) CustomersUpdatedSince(ctx context.Context, since time.Time, after string, first int) (CustomerRecordPage, error) {
	var out struct {
		Customers struct {
			PageInfo PageInfo `json:"pageInfo"`
			Nodes    []struct {
				ID                  string    `json:"id"`
				FirstName           *string   `json:"firstName"`
				LastName            *string   `json:"lastName"`
				Phone               *string   `json:"phone"`
				UpdatedAt           time.Time `json:"updatedAt"`
				DefaultEmailAddress *struct {
					EmailAddress *string `json:"emailAddress"`
				} `json:"defaultEmailAddress"`
				DefaultAddress *struct {
					Address1 *string `json:"address1"`
					Address2 *string `json:"address2"`
					City     *string `json:"city"`
					Zip      *string `json:"zip"`
					Phone    *string `json:"phone"`
				} `json:"defaultAddress"`
			} `json:"nodes"`
		} `json:"customers"`
	}
	vars := map[string]any{"first": clampFirst(first, 100, 250), "after": cursor(after), "query": nilIfEmpty(sinceQuery(since))}
	if err := c.Do(ctx, CustomersSinceQuery, vars, &out); err != nil {
		return CustomerRecordPage{}, err
	}
	page := CustomerRecordPage{PageInfo: out.Customers.PageInfo}
	for _, n := range out.Customers.Nodes {
		r := CustomerRecord{ID: n.ID, FirstName: str(n.FirstName), LastName: str(n.LastName), Phone: str(n.Phone), UpdatedAt: n.UpdatedAt}
		if n.DefaultEmailAddress != nil {
			r.Email = str(n.DefaultEmailAddress.EmailAddress)
		}
		if a := n.DefaultAddress; a != nil {
			r.Address1, r.Address2, r.City, r.Zip = str(a.Address1), str(a.Address2), str(a.City), str(a.Zip)
			if r.Phone == "" {
				r.Phone = str(a.Phone)
			}
		}
		page.Customers = append(page.Customers, r)
	}
	return page, nil
}

// ProductsSinceQuery reads products with their content and variants' keys.
// 10 products × up to 80 variants stays under the 1,000-point cost of one
// query (the sandbox computes it as Shopify does: about 820). The variants of
// a product beyond its 80th are not read by a sweep; its webhook has them all.
const ProductsSinceQuery = `query CrossdockProductsSince($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id title descriptionHtml updatedAt
      variants(first: 80) { nodes { id title sku barcode } }
    }
  }
}`

// ProductRecord is a product as the products sweep reads it.
type ProductRecord struct {
	ID, Title, DescriptionHTML string
	UpdatedAt                  time.Time
	Variants                   []VariantRecord
}

// VariantRecord is a variant's identity and keys.
type VariantRecord struct{ ID, Title, SKU, Barcode string }

// ProductRecordPage is one page of ProductsUpdatedSince.
type ProductRecordPage struct {
	Products []ProductRecord
	PageInfo PageInfo
}

// ProductsUpdatedSince reads one page of the products updated after since
// (all of them for a zero since).
func (c *Client) ProductsUpdatedSince(ctx context.Context, since time.Time, after string, first int) (ProductRecordPage, error) {
	var out struct {
		Products struct {
			PageInfo PageInfo `json:"pageInfo"`
			Nodes    []struct {
				ID              string    `json:"id"`
				Title           string    `json:"title"`
				DescriptionHTML *string   `json:"descriptionHtml"`
				UpdatedAt       time.Time `json:"updatedAt"`
				Variants        struct {
					Nodes []struct {
						ID      string  `json:"id"`
						Title   *string `json:"title"`
						SKU     *string `json:"sku"`
						Barcode *string `json:"barcode"`
					} `json:"nodes"`
				} `json:"variants"`
			} `json:"nodes"`
		} `json:"products"`
	}
	vars := map[string]any{"first": clampFirst(first, 10, 10), "after": cursor(after), "query": nilIfEmpty(sinceQuery(since))}
	if err := c.Do(ctx, ProductsSinceQuery, vars, &out); err != nil {
		return ProductRecordPage{}, err
	}
	page := ProductRecordPage{PageInfo: out.Products.PageInfo}
	for _, n := range out.Products.Nodes {
		p := ProductRecord{ID: n.ID, Title: n.Title, DescriptionHTML: str(n.DescriptionHTML), UpdatedAt: n.UpdatedAt}
		for _, v := range n.Variants.Nodes {
			p.Variants = append(p.Variants, VariantRecord{ID: v.ID, Title: str(v.Title), SKU: str(v.SKU), Barcode: str(v.Barcode)})
		}
		page.Products = append(page.Products, p)
	}
	return page, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
