package odoo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// searchRead runs search_read with named options; limit <= 0 means no limit.
func (c *Client) searchRead(ctx context.Context, model string, domain []any, fields []string,
	offset, limit int, order string, context map[string]any, out any) error {
	if domain == nil {
		domain = []any{}
	}
	kw := map[string]any{"fields": fields}
	if offset > 0 {
		kw["offset"] = offset
	}
	if limit > 0 {
		kw["limit"] = limit
	}
	if order != "" {
		kw["order"] = order
	}
	if context != nil {
		kw["context"] = context
	}
	return c.Call(ctx, model, "search_read", []any{domain}, kw, out)
}

// searchIDs runs search and returns the ids; limit <= 0 means no limit.
func (c *Client) searchIDs(ctx context.Context, model string, domain []any, limit int, order string) ([]int, error) {
	kw := map[string]any{}
	if limit > 0 {
		kw["limit"] = limit
	}
	if order != "" {
		kw["order"] = order
	}
	var ids []int
	err := c.Call(ctx, model, "search", []any{domain}, kw, &ids)
	return ids, err
}

// Create creates one record and returns its id.
func (c *Client) Create(ctx context.Context, model string, vals map[string]any, context map[string]any) (int, error) {
	var kw map[string]any
	if context != nil {
		kw = map[string]any{"context": context}
	}
	var id int
	if err := c.Call(ctx, model, "create", []any{vals}, kw, &id); err != nil {
		return 0, err
	}
	return id, nil
}

// Write writes vals on the records ids.
func (c *Client) Write(ctx context.Context, model string, ids []int, vals map[string]any, context map[string]any) error {
	var kw map[string]any
	if context != nil {
		kw = map[string]any{"context": context}
	}
	return c.Call(ctx, model, "write", []any{ids, vals}, kw, nil)
}

// Unlink deletes the records ids.
func (c *Client) Unlink(ctx context.Context, model string, ids []int) error {
	return c.Call(ctx, model, "unlink", []any{ids}, nil, nil)
}

// Action calls a button method such as action_confirm or action_post on ids.
// Its return value is not a stable contract in Odoo, so it is discarded.
func (c *Client) Action(ctx context.Context, model, method string, ids []int, context map[string]any) error {
	if !strings.HasPrefix(method, "action_") && !strings.HasPrefix(method, "button_") {
		return fmt.Errorf("odoo: %q is not an action method", method)
	}
	var kw map[string]any
	if context != nil {
		kw = map[string]any{"context": context}
	}
	return c.Call(ctx, model, method, []any{ids}, kw, nil)
}

// Product is a product variant (product.product).
type Product struct {
	ID            int
	DefaultCode   string // internal reference, used as the SKU
	Barcode       string
	Name          string
	DisplayName   string // "[SKU] Name (variant values)"
	ListPrice     float64
	StandardPrice float64 // cost
	// Currency and CostCurrency are the ISO codes ("EUR") list_price and
	// standard_price are in: the company's currency, read through the
	// template's currency_id / cost_currency_id ("" when not given).
	Currency     string
	CostCurrency string
	WriteDate    time.Time
	Active       bool
}

type productRow struct {
	ID            int      `json:"id"`
	DefaultCode   text     `json:"default_code"`
	Barcode       text     `json:"barcode"`
	Name          text     `json:"name"`
	DisplayName   text     `json:"display_name"`
	ListPrice     number   `json:"list_price"`
	StandardPrice number   `json:"standard_price"`
	Currency      Many2One `json:"currency_id"`
	CostCurrency  Many2One `json:"cost_currency_id"`
	WriteDate     datetime `json:"write_date"`
	Active        bool     `json:"active"`
}

var productFields = []string{"id", "default_code", "barcode", "name", "display_name",
	"list_price", "standard_price", "currency_id", "cost_currency_id", "write_date", "active"}

func (r productRow) product() Product {
	return Product{ID: r.ID, DefaultCode: string(r.DefaultCode), Barcode: string(r.Barcode),
		Name: string(r.Name), DisplayName: string(r.DisplayName), ListPrice: float64(r.ListPrice),
		StandardPrice: float64(r.StandardPrice), Currency: r.Currency.Name, CostCurrency: r.CostCurrency.Name,
		WriteDate: time.Time(r.WriteDate), Active: r.Active}
}

// Products reads product variants matching domain, ordered by id. Archived
// products are left out unless the domain mentions "active". limit <= 0
// reads all.
func (c *Client) Products(ctx context.Context, domain []any, offset, limit int) ([]Product, error) {
	return c.products(ctx, domain, offset, limit, "id", nil)
}

// ProductsChangedSince reads up to limit variants written after the keyset
// (t, afterID), oldest first (order write_date, id), archived ones included so
// that an archive reaches the other systems. Feed the last product's
// WriteDate and ID back in for the next page.
func (c *Client) ProductsChangedSince(ctx context.Context, t time.Time, afterID, limit int) ([]Product, error) {
	ts := formatDateTime(t)
	domain := []any{"|", []any{"write_date", ">", ts}, "&", []any{"write_date", "=", ts}, []any{"id", ">", afterID}}
	return c.products(ctx, domain, 0, limit, "write_date asc, id asc", map[string]any{"active_test": false})
}

func (c *Client) products(ctx context.Context, domain []any, offset, limit int, order string, context map[string]any) ([]Product, error) {
	var rows []productRow
	if err := c.searchRead(ctx, "product.product", domain, productFields, offset, limit, order, context, &rows); err != nil {
		return nil, err
	}
	out := make([]Product, len(rows))
	for i, r := range rows {
		out[i] = r.product()
	}
	return out, nil
}

// SetProductPrices writes the sales price and/or the cost of a variant; a nil
// pointer leaves that price alone. Note that list_price lives on the product
// template in Odoo, so it changes for all variants of the template.
func (c *Client) SetProductPrices(ctx context.Context, productID int, listPrice, cost *float64) error {
	vals := map[string]any{}
	if listPrice != nil {
		vals["list_price"] = *listPrice
	}
	if cost != nil {
		vals["standard_price"] = *cost
	}
	if len(vals) == 0 {
		return nil
	}
	return c.Write(ctx, "product.product", []int{productID}, vals, nil)
}

// Location is an internal stock location (stock.location).
type Location struct {
	ID           int
	Name         string
	CompleteName string // e.g. "WH/Stock"
	Warehouse    Many2One
}

// Locations reads the internal stock locations (usage "internal"), the ones
// that hold sellable stock.
func (c *Client) Locations(ctx context.Context) ([]Location, error) {
	var rows []struct {
		ID           int      `json:"id"`
		Name         text     `json:"name"`
		CompleteName text     `json:"complete_name"`
		Warehouse    Many2One `json:"warehouse_id"`
	}
	err := c.searchRead(ctx, "stock.location", []any{[]any{"usage", "=", "internal"}},
		[]string{"id", "name", "complete_name", "warehouse_id"}, 0, 0, "id", nil, &rows)
	if err != nil {
		return nil, err
	}
	out := make([]Location, len(rows))
	for i, r := range rows {
		out[i] = Location{ID: r.ID, Name: string(r.Name), CompleteName: string(r.CompleteName), Warehouse: r.Warehouse}
	}
	return out, nil
}

// Warehouse is a stock.warehouse with its main stock location.
type Warehouse struct {
	ID            int
	Name          string
	Code          string
	StockLocation Many2One // lot_stock_id, e.g. WH/Stock
}

// Warehouses reads all active warehouses.
func (c *Client) Warehouses(ctx context.Context) ([]Warehouse, error) {
	var rows []struct {
		ID       int      `json:"id"`
		Name     text     `json:"name"`
		Code     text     `json:"code"`
		LotStock Many2One `json:"lot_stock_id"`
	}
	err := c.searchRead(ctx, "stock.warehouse", nil, []string{"id", "name", "code", "lot_stock_id"}, 0, 0, "id", nil, &rows)
	if err != nil {
		return nil, err
	}
	out := make([]Warehouse, len(rows))
	for i, r := range rows {
		out[i] = Warehouse{ID: r.ID, Name: string(r.Name), Code: string(r.Code), StockLocation: r.LotStock}
	}
	return out, nil
}

// Quant is the stock of one product in one location (stock.quant).
type Quant struct {
	ID               int
	Product          Many2One
	Location         Many2One
	Quantity         float64 // on hand
	ReservedQuantity float64
}

// Available is what can still be sold: on hand minus reserved.
func (q Quant) Available() float64 { return q.Quantity - q.ReservedQuantity }

// Quants reads stock levels. Empty locationIDs means every internal location;
// empty productIDs means every product.
func (c *Client) Quants(ctx context.Context, locationIDs, productIDs []int) ([]Quant, error) {
	domain := []any{}
	if len(locationIDs) > 0 {
		domain = append(domain, []any{"location_id", "in", locationIDs})
	} else {
		domain = append(domain, []any{"location_id.usage", "=", "internal"})
	}
	if len(productIDs) > 0 {
		domain = append(domain, []any{"product_id", "in", productIDs})
	}
	var rows []struct {
		ID       int      `json:"id"`
		Product  Many2One `json:"product_id"`
		Location Many2One `json:"location_id"`
		Quantity number   `json:"quantity"`
		Reserved number   `json:"reserved_quantity"`
	}
	err := c.searchRead(ctx, "stock.quant", domain,
		[]string{"id", "product_id", "location_id", "quantity", "reserved_quantity"}, 0, 0, "id", nil, &rows)
	if err != nil {
		return nil, err
	}
	out := make([]Quant, len(rows))
	for i, r := range rows {
		out[i] = Quant{ID: r.ID, Product: r.Product, Location: r.Location,
			Quantity: float64(r.Quantity), ReservedQuantity: float64(r.Reserved)}
	}
	return out, nil
}

// ApplyInventory sets the on-hand quantity of a product in a location, the
// way a stock count does in Odoo: find the quant (or create it, in inventory
// mode), write the counted inventory_quantity and apply it. Odoo books the
// difference as a stock move, so applying the same count twice moves nothing
// the second time.
func (c *Client) ApplyInventory(ctx context.Context, productID, locationID int, quantity float64) error {
	if math.IsNaN(quantity) || math.IsInf(quantity, 0) {
		return fmt.Errorf("odoo: apply inventory: quantity %v is not a number", quantity)
	}
	invCtx := map[string]any{"inventory_mode": true}
	// Lots, packages and owners split quants; Crossdock counts the plain one.
	ids, err := c.searchIDs(ctx, "stock.quant", []any{
		[]any{"product_id", "=", productID}, []any{"location_id", "=", locationID},
		[]any{"lot_id", "=", false}, []any{"package_id", "=", false}, []any{"owner_id", "=", false},
	}, 1, "id")
	if err != nil {
		return fmt.Errorf("odoo: apply inventory: find quant: %w", err)
	}
	var quantID int
	if len(ids) > 0 {
		quantID = ids[0]
		if err := c.Write(ctx, "stock.quant", []int{quantID}, map[string]any{"inventory_quantity": quantity}, invCtx); err != nil {
			return fmt.Errorf("odoo: apply inventory: set counted quantity: %w", err)
		}
	} else {
		quantID, err = c.Create(ctx, "stock.quant", map[string]any{
			"product_id": productID, "location_id": locationID, "inventory_quantity": quantity,
		}, invCtx)
		if err != nil {
			return fmt.Errorf("odoo: apply inventory: create quant: %w", err)
		}
	}
	if err := c.Action(ctx, "stock.quant", "action_apply_inventory", []int{quantID}, invCtx); err != nil {
		return fmt.Errorf("odoo: apply inventory: %w", err)
	}
	return nil
}

// Partner is a customer or contact (res.partner).
type Partner struct {
	ID        int
	Name      string
	Email     string
	Phone     string
	Street    string
	Street2   string
	City      string
	Zip       string
	Ref       string // internal reference, e.g. a Shopify customer id
	IsCompany bool
}

var partnerFields = []string{"id", "name", "email", "phone", "street", "street2", "city", "zip", "ref", "is_company"}

type partnerRow struct {
	ID        int  `json:"id"`
	Name      text `json:"name"`
	Email     text `json:"email"`
	Phone     text `json:"phone"`
	Street    text `json:"street"`
	Street2   text `json:"street2"`
	City      text `json:"city"`
	Zip       text `json:"zip"`
	Ref       text `json:"ref"`
	IsCompany bool `json:"is_company"`
}

// Partners reads partners matching domain, ordered by id; limit <= 0 reads all.
func (c *Client) Partners(ctx context.Context, domain []any, offset, limit int) ([]Partner, error) {
	var rows []partnerRow
	if err := c.searchRead(ctx, "res.partner", domain, partnerFields, offset, limit, "id", nil, &rows); err != nil {
		return nil, err
	}
	out := make([]Partner, len(rows))
	for i, r := range rows {
		out[i] = Partner{ID: r.ID, Name: string(r.Name), Email: string(r.Email), Phone: string(r.Phone),
			Street: string(r.Street), Street2: string(r.Street2), City: string(r.City), Zip: string(r.Zip),
			Ref: string(r.Ref), IsCompany: r.IsCompany}
	}
	return out, nil
}

// escapeLike escapes the wildcards of a (=)ilike pattern: an e-mail such as
// first_last@example.com must not match firstXlast@example.com.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FindPartnerByEmail returns the oldest active partner whose e-mail equals
// email, ignoring case. found is false when there is none.
func (c *Client) FindPartnerByEmail(ctx context.Context, email string) (p Partner, found bool, err error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return Partner{}, false, errors.New("odoo: find partner: the e-mail address is empty")
	}
	ps, err := c.Partners(ctx, []any{[]any{"email", "=ilike", escapeLike(email)}}, 0, 1)
	if err != nil {
		return Partner{}, false, err
	}
	if len(ps) == 0 {
		return Partner{}, false, nil
	}
	return ps[0], true, nil
}

// CreatePartner creates a partner from the non-empty fields of p.
func (c *Client) CreatePartner(ctx context.Context, p Partner) (int, error) {
	if strings.TrimSpace(p.Name) == "" {
		return 0, errors.New("odoo: create partner: the name is empty")
	}
	vals := map[string]any{"name": p.Name, "is_company": p.IsCompany}
	for k, v := range map[string]string{"email": p.Email, "phone": p.Phone, "street": p.Street,
		"street2": p.Street2, "city": p.City, "zip": p.Zip, "ref": p.Ref} {
		if v != "" {
			vals[k] = v
		}
	}
	return c.Create(ctx, "res.partner", vals, nil)
}

// EnsurePartner returns the partner with p's e-mail, creating it when there
// is none. created tells which happened.
func (c *Client) EnsurePartner(ctx context.Context, p Partner) (id int, created bool, err error) {
	existing, found, err := c.FindPartnerByEmail(ctx, p.Email)
	if err != nil {
		return 0, false, err
	}
	if found {
		return existing.ID, false, nil
	}
	id, err = c.CreatePartner(ctx, p)
	return id, err == nil, err
}
