package sandbox

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Customers and products edited "by hand", as a merchant does in the Shopify
// admin, and the customers/* and products/* webhook bodies Shopify sends for
// them. The bodies follow the documented samples of API 2026-04
// (customers/create, products/update in /work/shared/fixtures/shopify/webhooks):
// REST shape, snake_case, numeric ids next to admin_graphql_api_id.

// NewCustomer describes a customer to add with AddCustomer.
type NewCustomer struct {
	FirstName, LastName, Email, Phone string
	Address1, City, Zip, Country      string
}

// AddCustomer creates a customer as the admin or a checkout would.
func (s *Shop) AddCustomer(in NewCustomer) Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	s.seq++
	c := &Customer{ID: 7100000000000 + s.seq, FirstName: in.FirstName, LastName: in.LastName, Email: in.Email,
		Phone: in.Phone, Address1: in.Address1, City: in.City, Zip: in.Zip, Country: in.Country, CreatedAt: now, UpdatedAt: now}
	s.customers = append(s.customers, c)
	s.customerByID[c.ID] = c
	return *c
}

// EditCustomer changes a customer (GID) as an edit in the admin does, which
// moves its updated_at.
func (s *Shop) EditCustomer(id string, edit func(*Customer)) (Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, num, _ := parseGID(id)
	c := s.customerByID[num]
	if c == nil {
		return Customer{}, fmt.Errorf("sandbox: customer %s does not exist", id)
	}
	edit(c)
	c.ID = num
	c.UpdatedAt = nextEdit(c.UpdatedAt, s.now())
	return *c, nil
}

// ShopCustomers returns copies of all customers in creation order.
func (s *Shop) ShopCustomers() []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Customer, 0, len(s.customers))
	for _, c := range s.customers {
		out = append(out, *c)
	}
	return out
}

// nextEdit is the updated_at of an edit: now, but at least a second after
// the last one. REST payloads carry seconds only, and Shopify collapses edits
// within a second into one event; the sandbox keeps each of its edits
// distinguishable instead, so tests can tell versions apart.
func nextEdit(last, now time.Time) time.Time {
	now = now.UTC().Truncate(time.Second)
	if floor := last.UTC().Truncate(time.Second).Add(time.Second); now.Before(floor) {
		return floor
	}
	return now
}

type restAddress struct {
	ID           int64   `json:"id"`
	CustomerID   int64   `json:"customer_id"`
	FirstName    string  `json:"first_name"`
	LastName     string  `json:"last_name"`
	Company      *string `json:"company"`
	Address1     *string `json:"address1"`
	Address2     *string `json:"address2"`
	City         *string `json:"city"`
	Province     *string `json:"province"`
	Country      *string `json:"country"`
	Zip          *string `json:"zip"`
	Phone        *string `json:"phone"`
	Name         string  `json:"name"`
	ProvinceCode *string `json:"province_code"`
	CountryCode  *string `json:"country_code"`
	CountryName  *string `json:"country_name"`
	Default      bool    `json:"default"`
}

type restFullCustomer struct {
	ID                  int64         `json:"id"`
	CreatedAt           string        `json:"created_at"`
	UpdatedAt           string        `json:"updated_at"`
	FirstName           string        `json:"first_name"`
	LastName            string        `json:"last_name"`
	State               string        `json:"state"`
	Note                *string       `json:"note"`
	VerifiedEmail       bool          `json:"verified_email"`
	MultipassIdentifier *string       `json:"multipass_identifier"`
	TaxExempt           bool          `json:"tax_exempt"`
	Email               *string       `json:"email"`
	Phone               *string       `json:"phone"`
	Currency            string        `json:"currency"`
	Addresses           []restAddress `json:"addresses"`
	TaxExemptions       []string      `json:"tax_exemptions"`
	AdminGraphqlAPIID   string        `json:"admin_graphql_api_id"`
	DefaultAddress      *restAddress  `json:"default_address,omitempty"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CustomerPayload renders a customers/create or customers/update body for a
// customer GID. Shopify sends the same shape for both topics.
func (s *Shop) CustomerPayload(id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, num, _ := parseGID(id)
	c := s.customerByID[num]
	if c == nil {
		return nil, fmt.Errorf("sandbox: customer %s does not exist", id)
	}
	rc := restFullCustomer{ID: c.ID, CreatedAt: restTime(c.CreatedAt), UpdatedAt: restTime(c.UpdatedAt),
		FirstName: c.FirstName, LastName: c.LastName, State: "enabled", VerifiedEmail: c.Email != "",
		Email: strPtr(c.Email), Phone: strPtr(c.Phone), Currency: "USD", Addresses: []restAddress{},
		TaxExemptions: []string{}, AdminGraphqlAPIID: c.GID()}
	if c.Address1 != "" || c.City != "" || c.Zip != "" {
		a := restAddress{ID: c.ID + 1, CustomerID: c.ID, FirstName: c.FirstName, LastName: c.LastName,
			Address1: strPtr(c.Address1), City: strPtr(c.City), Country: strPtr(c.Country), Zip: strPtr(c.Zip),
			Phone: strPtr(c.Phone), Name: strings.TrimSpace(c.FirstName + " " + c.LastName),
			CountryCode: strPtr(c.Country), CountryName: strPtr(c.Country), Default: true}
		rc.Addresses = []restAddress{a}
		rc.DefaultAddress = &a
	}
	return json.Marshal(rc)
}

// NewProduct describes a product to add with AddProduct; each SKU becomes a variant.
type NewProduct struct {
	Title, BodyHTML, Vendor, ProductType, Tags string
	Variants                                   []NewVariant
}

// NewVariant is one variant of a NewProduct.
type NewVariant struct {
	Title, SKU, Barcode, Price string
}

// AddProduct creates a product with its variants, as the admin would (no
// stock anywhere yet). It is not a recorded write: writes are what API
// clients do.
func (s *Shop) AddProduct(in NewProduct) (Product, []Variant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.TrimSpace(in.Title) == "" || len(in.Variants) == 0 {
		return Product{}, nil, fmt.Errorf("sandbox: a product needs a title and a variant")
	}
	now := s.now().UTC()
	s.seq++
	p := &Product{ID: 8100000000000 + s.seq, Title: in.Title, Handle: strings.ToLower(strings.ReplaceAll(in.Title, " ", "-")),
		Status: "ACTIVE", Vendor: in.Vendor, BodyHTML: in.BodyHTML, ProductType: in.ProductType, Tags: in.Tags,
		CreatedAt: now, UpdatedAt: now}
	var vs []Variant
	for _, nv := range in.Variants {
		s.seq++
		v := &Variant{ID: 44100000000000 + s.seq, ProductID: p.ID, InventoryItemID: 46100000000000 + s.seq,
			Title: cmpOr(nv.Title, "Default Title"), SKU: nv.SKU, Barcode: nv.Barcode, Price: formatCents(parseCents(cmpOr(nv.Price, "0.00"))),
			Tracked: true, CreatedAt: now, UpdatedAt: now}
		p.VariantIDs = append(p.VariantIDs, v.ID)
		s.variants = append(s.variants, v)
		s.variantByID[v.ID] = v
		s.variantByItem[v.InventoryItemID] = v
		vs = append(vs, *v)
	}
	s.products = append(s.products, p)
	s.productByID[p.ID] = p
	return *p, vs, nil
}

// EditProduct changes a product (GID) and, through edit's second argument,
// its variants, as an edit in the admin does; updated_at moves.
func (s *Shop) EditProduct(id string, edit func(p *Product, variants []*Variant)) (Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, num, _ := parseGID(id)
	p := s.productByID[num]
	if p == nil {
		return Product{}, fmt.Errorf("sandbox: product %s does not exist", id)
	}
	vs := make([]*Variant, 0, len(p.VariantIDs))
	for _, vid := range p.VariantIDs {
		vs = append(vs, s.variantByID[vid])
	}
	edit(p, vs)
	p.ID = num
	now := nextEdit(p.UpdatedAt, s.now())
	p.UpdatedAt = now
	for _, v := range vs {
		v.UpdatedAt = now
	}
	return *p, nil
}

// ShopProduct returns a copy of a product (GID) and its variants.
func (s *Shop) ShopProduct(id string) (Product, []Variant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, num, _ := parseGID(id)
	p := s.productByID[num]
	if p == nil {
		return Product{}, nil, false
	}
	var vs []Variant
	for _, vid := range p.VariantIDs {
		vs = append(vs, *s.variantByID[vid])
	}
	return *p, vs, true
}

type restVariant struct {
	AdminGraphqlAPIID    string  `json:"admin_graphql_api_id"`
	Barcode              *string `json:"barcode"`
	CompareAtPrice       *string `json:"compare_at_price"`
	CreatedAt            string  `json:"created_at"`
	ID                   int64   `json:"id"`
	InventoryPolicy      string  `json:"inventory_policy"`
	Position             int     `json:"position"`
	Price                string  `json:"price"`
	ProductID            int64   `json:"product_id"`
	SKU                  *string `json:"sku"`
	Taxable              bool    `json:"taxable"`
	Title                string  `json:"title"`
	UpdatedAt            string  `json:"updated_at"`
	Option1              *string `json:"option1"`
	Option2              *string `json:"option2"`
	Option3              *string `json:"option3"`
	ImageID              *int64  `json:"image_id"`
	InventoryItemID      int64   `json:"inventory_item_id"`
	InventoryQuantity    int     `json:"inventory_quantity"`
	OldInventoryQuantity int     `json:"old_inventory_quantity"`
}

type restVariantGID struct {
	AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
	UpdatedAt         string `json:"updated_at"`
}

type restProduct struct {
	AdminGraphqlAPIID string           `json:"admin_graphql_api_id"`
	BodyHTML          *string          `json:"body_html"`
	CreatedAt         string           `json:"created_at"`
	Handle            string           `json:"handle"`
	ID                int64            `json:"id"`
	ProductType       string           `json:"product_type"`
	PublishedAt       *string          `json:"published_at"`
	TemplateSuffix    *string          `json:"template_suffix"`
	Title             string           `json:"title"`
	UpdatedAt         string           `json:"updated_at"`
	Vendor            string           `json:"vendor"`
	Status            string           `json:"status"`
	PublishedScope    string           `json:"published_scope"`
	Tags              string           `json:"tags"`
	Variants          []restVariant    `json:"variants"`
	Options           []any            `json:"options"`
	Images            []any            `json:"images"`
	Image             any              `json:"image"`
	Media             []any            `json:"media"`
	VariantGIDs       []restVariantGID `json:"variant_gids"`
	HasComponents     bool             `json:"has_variants_that_requires_components"`
	Category          any              `json:"category"`
}

// ProductPayload renders a products/create or products/update body for a
// product GID, shaped like the documented 2026-04 sample.
func (s *Shop) ProductPayload(id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, num, _ := parseGID(id)
	p := s.productByID[num]
	if p == nil {
		return nil, fmt.Errorf("sandbox: product %s does not exist", id)
	}
	published := restTime(p.CreatedAt)
	rp := restProduct{AdminGraphqlAPIID: p.GID(), BodyHTML: strPtr(p.BodyHTML), CreatedAt: restTime(p.CreatedAt),
		Handle: p.Handle, ID: p.ID, ProductType: p.ProductType, PublishedAt: &published, Title: p.Title,
		UpdatedAt: restTime(p.UpdatedAt), Vendor: p.Vendor, Status: strings.ToLower(p.Status), PublishedScope: "web",
		Tags: p.Tags, Options: []any{}, Images: []any{}, Media: []any{}}
	for i, vid := range p.VariantIDs {
		v := s.variantByID[vid]
		qty := 0
		for _, l := range s.locations {
			if lv := s.levels[levelKey{v.InventoryItemID, l.ID}]; lv != nil {
				qty += lv.available
			}
		}
		title := v.Title
		rp.Variants = append(rp.Variants, restVariant{AdminGraphqlAPIID: v.GID(), Barcode: strPtr(v.Barcode),
			CompareAtPrice: strPtr(v.CompareAtPrice), CreatedAt: restTime(v.CreatedAt), ID: v.ID, InventoryPolicy: "deny",
			Position: i + 1, Price: v.Price, ProductID: p.ID, SKU: strPtr(v.SKU), Taxable: true, Title: v.Title,
			UpdatedAt: restTime(v.UpdatedAt), Option1: &title, InventoryItemID: v.InventoryItemID,
			InventoryQuantity: qty, OldInventoryQuantity: qty})
		rp.VariantGIDs = append(rp.VariantGIDs, restVariantGID{AdminGraphqlAPIID: v.GID(),
			UpdatedAt: v.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z")})
	}
	return json.Marshal(rp)
}
