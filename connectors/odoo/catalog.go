package odoo

import (
	"context"
	"errors"
	"strings"
	"time"
)

// FindPartnerByRef returns the oldest active partner whose internal
// reference (ref) is exactly ref. found is false when there is none.
func (c *Client) FindPartnerByRef(ctx context.Context, ref string) (p Partner, found bool, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Partner{}, false, errors.New("odoo: find partner: the reference is empty")
	}
	ps, err := c.Partners(ctx, []any{[]any{"ref", "=", ref}}, 0, 1)
	if err != nil || len(ps) == 0 {
		return Partner{}, false, err
	}
	return ps[0], true, nil
}

// PartnerValues are the res.partner values of p that differ from current,
// leaving out those p does not know (empty): a customer record that lacks
// a phone number never erases the one Odoo has.
func PartnerValues(p, current Partner) map[string]any {
	vals := map[string]any{}
	for k, pair := range map[string][2]string{
		"name": {p.Name, current.Name}, "email": {p.Email, current.Email}, "phone": {p.Phone, current.Phone},
		"street": {p.Street, current.Street}, "street2": {p.Street2, current.Street2}, "city": {p.City, current.City},
		"zip": {p.Zip, current.Zip}, "ref": {p.Ref, current.Ref},
	} {
		if v := strings.TrimSpace(pair[0]); v != "" && v != pair[1] {
			vals[k] = v
		}
	}
	return vals
}

// UpdatePartner writes vals on partner id; empty vals writes nothing.
func (c *Client) UpdatePartner(ctx context.Context, id int, vals map[string]any) error {
	if len(vals) == 0 {
		return nil
	}
	return c.Write(ctx, "res.partner", []int{id}, vals, nil)
}

// ProductContent is the content of a product variant that the products flow
// carries: name, internal reference (SKU), barcode, sales description, weight.
type ProductContent struct {
	ID          int
	Name        string
	DefaultCode string
	Barcode     string
	Description string // description_sale
	Weight      float64
	Active      bool
	WriteDate   time.Time
}

var contentFields = []string{"id", "name", "default_code", "barcode", "description_sale", "weight", "active", "write_date"}

type contentRow struct {
	ID          int      `json:"id"`
	Name        text     `json:"name"`
	DefaultCode text     `json:"default_code"`
	Barcode     text     `json:"barcode"`
	Description text     `json:"description_sale"`
	Weight      number   `json:"weight"`
	Active      bool     `json:"active"`
	WriteDate   datetime `json:"write_date"`
}

// ProductContents reads the content of product variants matching domain,
// archived ones included, ordered by id; limit <= 0 reads all.
func (c *Client) ProductContents(ctx context.Context, domain []any, limit int) ([]ProductContent, error) {
	var rows []contentRow
	if err := c.searchRead(ctx, "product.product", domain, contentFields, 0, limit, "id", map[string]any{"active_test": false}, &rows); err != nil {
		return nil, err
	}
	out := make([]ProductContent, len(rows))
	for i, r := range rows {
		out[i] = ProductContent{ID: r.ID, Name: string(r.Name), DefaultCode: string(r.DefaultCode), Barcode: string(r.Barcode),
			Description: string(r.Description), Weight: float64(r.Weight), Active: r.Active, WriteDate: time.Time(r.WriteDate)}
	}
	return out, nil
}

// ProductByCode returns the variant whose internal reference is exactly
// code, archived or not: the reference a created product is found by before
// it would be created again.
func (c *Client) ProductByCode(ctx context.Context, code string) (ProductContent, bool, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return ProductContent{}, false, errors.New("odoo: find product: the internal reference is empty")
	}
	ps, err := c.ProductContents(ctx, []any{[]any{"default_code", "=", code}}, 1)
	if err != nil || len(ps) == 0 {
		return ProductContent{}, false, err
	}
	return ps[0], true, nil
}

// CreateProduct creates a product variant (Odoo creates its template) from vals.
func (c *Client) CreateProduct(ctx context.Context, vals map[string]any) (int, error) {
	return c.Create(ctx, "product.product", vals, nil)
}

// WriteProduct writes vals on a product variant; empty vals writes nothing.
func (c *Client) WriteProduct(ctx context.Context, id int, vals map[string]any) error {
	if len(vals) == 0 {
		return nil
	}
	return c.Write(ctx, "product.product", []int{id}, vals, nil)
}

// ProductContentsChangedSince reads up to limit variants written after the
// keyset (t, afterID), oldest first, archived ones included (as
// ProductsChangedSince, with the content fields).
func (c *Client) ProductContentsChangedSince(ctx context.Context, t time.Time, afterID, limit int) ([]ProductContent, error) {
	ts := formatDateTime(t)
	domain := []any{"|", []any{"write_date", ">", ts}, "&", []any{"write_date", "=", ts}, []any{"id", ">", afterID}}
	var rows []contentRow
	if err := c.searchRead(ctx, "product.product", domain, contentFields, 0, limit, "write_date asc, id asc", map[string]any{"active_test": false}, &rows); err != nil {
		return nil, err
	}
	out := make([]ProductContent, len(rows))
	for i, r := range rows {
		out[i] = ProductContent{ID: r.ID, Name: string(r.Name), DefaultCode: string(r.DefaultCode), Barcode: string(r.Barcode),
			Description: string(r.Description), Weight: float64(r.Weight), Active: r.Active, WriteDate: time.Time(r.WriteDate)}
	}
	return out, nil
}
