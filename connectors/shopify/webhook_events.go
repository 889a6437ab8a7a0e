package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Webhook bodies are REST records (numeric ids, amounts as strings or
// numbers, nulls for what is not set). The decoders here read the fields
// Crossdock acts on into typed values with GraphQL ids, so that nothing
// downstream knows Shopify's REST shapes. They only read: whether a record
// is usable, and the words saying why not, belong to the flow reading it.
// Strings are as Shopify sent them (a null is ""); dates that are missing or
// not RFC 3339 are the zero time.

// gidPrefix starts every Shopify GraphQL id.
const gidPrefix = "gid://shopify/"

// GID is the GraphQL id of a Shopify record: GID("Order", 820982911946154508)
// is "gid://shopify/Order/820982911946154508".
func GID(kind string, id int64) string {
	return gidPrefix + kind + "/" + strconv.FormatInt(id, 10)
}

// GIDPrefix is what the GraphQL ids of one kind start with: GIDPrefix("Order")
// is "gid://shopify/Order/".
func GIDPrefix(kind string) string { return gidPrefix + kind + "/" }

// gidOr is a record's admin_graphql_api_id, else its GID built from the REST
// id; "" when it has neither.
func gidOr(gid string, kind string, id int64) string {
	if gid == "" && id != 0 {
		return GID(kind, id)
	}
	return gid
}

func timeOf(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// Amount is a money amount Shopify writes as a string ("10.00") or a number
// (10.0); null or "" is 0.
type Amount float64

// UnmarshalJSON reads either form.
func (m *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*m = 0
		return nil
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		*m = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("amount %s: %w", b, err)
	}
	*m = Amount(f)
	return nil
}

// Address is a postal address of an order or a customer.
type Address struct {
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Address1  string `json:"address1"`
	Address2  string `json:"address2"`
	City      string `json:"city"`
	Zip       string `json:"zip"`
	Phone     string `json:"phone"`
	// Where the address is, for a warehouse that ships to it.
	Company      string `json:"company"`
	Province     string `json:"province"`
	ProvinceCode string `json:"province_code"`
	Country      string `json:"country"`
	CountryCode  string `json:"country_code"`
}

// CustomerEvent is the body of a customers/create or customers/update webhook.
type CustomerEvent struct {
	ID             string // GID
	Email          string
	FirstName      string
	LastName       string
	Phone          string
	UpdatedAt      time.Time
	DefaultAddress *Address
}

// DecodeCustomer reads a customers/* webhook body.
func DecodeCustomer(body []byte) (CustomerEvent, error) {
	var r struct {
		ID             int64    `json:"id"`
		GID            string   `json:"admin_graphql_api_id"`
		Email          string   `json:"email"`
		FirstName      string   `json:"first_name"`
		LastName       string   `json:"last_name"`
		Phone          string   `json:"phone"`
		UpdatedAt      string   `json:"updated_at"`
		DefaultAddress *Address `json:"default_address"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return CustomerEvent{}, err
	}
	return CustomerEvent{ID: gidOr(r.GID, "Customer", r.ID), Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		Phone: r.Phone, UpdatedAt: timeOf(r.UpdatedAt), DefaultAddress: r.DefaultAddress}, nil
}

// OrderEvent is the body of an orders/create, orders/updated or orders/cancelled
// webhook.
type OrderEvent struct {
	ID           string // GID
	Name         string // "#1001"
	Number       int    // order_number
	Email        string
	ContactEmail string
	Currency     string
	TotalPrice   string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Cancelled: the order has a cancelled_at.
	Cancelled bool
	// Test: a test order (Shopify's test payment gateway), not a sale.
	Test     bool
	Shipping *Address
	Customer *OrderEventCustomer
	Lines    []OrderEventLine
	// FinancialStatus is "paid", "pending", "authorized", "partially_paid"…
	FinancialStatus string
	// TotalDiscounts and TotalTax are the order's amounts ("" when absent);
	// TaxesIncluded says the prices include tax.
	TotalDiscounts, TotalTax string
	TaxesIncluded            bool
	ShippingLines            []OrderEventShipping
	// TaxLines are the order's taxes (each line has its own too).
	TaxLines []OrderEventTax
	// Gateways are the payment gateways the order was paid through
	// (payment_gateway_names: "shopify_payments", "paypal", "manual"…).
	Gateways []string
}

// OrderEventTax is one tax Shopify charged: its title ("CA State Tax"),
// its rate (0.0725) and its amount ("" when absent).
type OrderEventTax struct {
	Title string
	Rate  float64
	Price string
}

// OrderEventShipping is a shipping line of an order.
type OrderEventShipping struct {
	Title string
	Price string
}

// OrderEventCustomer is the customer an order names.
type OrderEventCustomer struct {
	ID        string // GID
	Email     string
	FirstName string
	LastName  string
}

// OrderEventLine is a line of an order.
type OrderEventLine struct {
	ID string // GID
	// VariantID is the variant's GID; "" for a custom item or a product
	// deleted since.
	VariantID string
	SKU       string
	Title     string
	Name      string
	Quantity  int
	// CurrentQuantity is the quantity after the order's edits (removed
	// units taken off); nil in payloads older than 2023-01.
	CurrentQuantity *int
	Price           string
	// Taxable: the line is charged tax.
	Taxable bool
	// TaxLines are the taxes charged on the line.
	TaxLines []OrderEventTax
}

// restTaxLine is a tax line as orders' REST bodies carry it.
type restTaxLine struct {
	Title string  `json:"title"`
	Rate  float64 `json:"rate"`
	Price string  `json:"price"`
}

func taxesOf(ts []restTaxLine) []OrderEventTax {
	var out []OrderEventTax
	for _, t := range ts {
		out = append(out, OrderEventTax(t))
	}
	return out
}

// DecodeOrder reads an orders/* webhook body.
func DecodeOrder(body []byte) (OrderEvent, error) {
	var r struct {
		ID           int64    `json:"id"`
		GID          string   `json:"admin_graphql_api_id"`
		Name         string   `json:"name"`
		OrderNumber  int      `json:"order_number"`
		Email        string   `json:"email"`
		ContactEmail string   `json:"contact_email"`
		CreatedAt    string   `json:"created_at"`
		UpdatedAt    string   `json:"updated_at"`
		Currency     string   `json:"currency"`
		TotalPrice   string   `json:"total_price"`
		CancelledAt  *string  `json:"cancelled_at"`
		Test         bool     `json:"test"`
		Shipping     *Address `json:"shipping_address"`
		Customer     *struct {
			ID        int64  `json:"id"`
			GID       string `json:"admin_graphql_api_id"`
			Email     string `json:"email"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		} `json:"customer"`
		LineItems []struct {
			ID              int64         `json:"id"`
			GID             string        `json:"admin_graphql_api_id"`
			VariantID       *int64        `json:"variant_id"`
			SKU             string        `json:"sku"`
			Title           string        `json:"title"`
			Name            string        `json:"name"`
			Quantity        int           `json:"quantity"`
			CurrentQuantity *int          `json:"current_quantity"`
			Price           string        `json:"price"`
			Taxable         bool          `json:"taxable"`
			TaxLines        []restTaxLine `json:"tax_lines"`
		} `json:"line_items"`
		TaxLines        []restTaxLine `json:"tax_lines"`
		Gateways        []string      `json:"payment_gateway_names"`
		FinancialStatus string        `json:"financial_status"`
		TotalDiscounts  string        `json:"total_discounts"`
		TotalTax        string        `json:"total_tax"`
		TaxesIncluded   bool          `json:"taxes_included"`
		ShippingLines   []struct {
			Title string `json:"title"`
			Price string `json:"price"`
		} `json:"shipping_lines"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return OrderEvent{}, err
	}
	o := OrderEvent{ID: gidOr(r.GID, "Order", r.ID), Name: r.Name, Number: r.OrderNumber, Email: r.Email, ContactEmail: r.ContactEmail,
		Currency: r.Currency, TotalPrice: r.TotalPrice, CreatedAt: timeOf(r.CreatedAt), UpdatedAt: timeOf(r.UpdatedAt), Test: r.Test,
		Cancelled: r.CancelledAt != nil && *r.CancelledAt != "", Shipping: r.Shipping,
		FinancialStatus: r.FinancialStatus, TotalDiscounts: r.TotalDiscounts, TotalTax: r.TotalTax, TaxesIncluded: r.TaxesIncluded,
		TaxLines: taxesOf(r.TaxLines), Gateways: r.Gateways}
	for _, sl := range r.ShippingLines {
		o.ShippingLines = append(o.ShippingLines, OrderEventShipping{Title: sl.Title, Price: sl.Price})
	}
	if c := r.Customer; c != nil {
		o.Customer = &OrderEventCustomer{ID: gidOr(c.GID, "Customer", c.ID), Email: c.Email, FirstName: c.FirstName, LastName: c.LastName}
	}
	for _, l := range r.LineItems {
		ol := OrderEventLine{ID: gidOr(l.GID, "LineItem", l.ID), SKU: l.SKU, Title: l.Title, Name: l.Name, Quantity: l.Quantity,
			CurrentQuantity: l.CurrentQuantity, Price: l.Price, Taxable: l.Taxable, TaxLines: taxesOf(l.TaxLines)}
		if l.VariantID != nil && *l.VariantID != 0 {
			ol.VariantID = GID("ProductVariant", *l.VariantID)
		}
		o.Lines = append(o.Lines, ol)
	}
	return o, nil
}

// RefundEvent is the body of a refunds/create webhook.
type RefundEvent struct {
	ID      string // GID
	OrderID string // the order's GID; "" when the body names none
	Note    string
	// CreatedAt is created_at, else processed_at.
	CreatedAt    time.Time
	Lines        []RefundEventLine
	Transactions []RefundEventTransaction
}

// RefundEventLine is a refunded line of the order.
type RefundEventLine struct {
	Quantity int
	// Subtotal is what is refunded for the line before tax; nil when the
	// body does not say.
	Subtotal *float64
	// VariantID is the variant's GID; "" for a custom item or a product
	// deleted since.
	VariantID string
	SKU       string
	Title     string
	Name      string
	Price     float64 // the line's unit price
	// Restocked is true when the refunded quantity went back into stock
	// (restock_type return, cancel or legacy_restock; no_restock leaves it
	// out).
	Restocked bool
}

// RefundEventTransaction is a payment movement of the refund.
type RefundEventTransaction struct {
	Kind   string // "refund"
	Status string // "success"
	Amount float64
}

// DecodeRefund reads a refunds/create webhook body.
func DecodeRefund(body []byte) (RefundEvent, error) {
	var r struct {
		ID              int64  `json:"id"`
		GID             string `json:"admin_graphql_api_id"`
		OrderID         int64  `json:"order_id"`
		Note            string `json:"note"`
		CreatedAt       string `json:"created_at"`
		ProcessedAt     string `json:"processed_at"`
		Restock         bool   `json:"restock"`
		RefundLineItems []struct {
			Quantity    int     `json:"quantity"`
			RestockType string  `json:"restock_type"`
			Subtotal    *Amount `json:"subtotal"`
			LineItem    struct {
				VariantID *int64 `json:"variant_id"`
				SKU       string `json:"sku"`
				Title     string `json:"title"`
				Name      string `json:"name"`
				Price     Amount `json:"price"`
			} `json:"line_item"`
		} `json:"refund_line_items"`
		Transactions []struct {
			Kind   string `json:"kind"`
			Status string `json:"status"`
			Amount Amount `json:"amount"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return RefundEvent{}, err
	}
	out := RefundEvent{ID: gidOr(r.GID, "Refund", r.ID), Note: r.Note, CreatedAt: timeOf(r.CreatedAt)}
	if r.OrderID != 0 {
		out.OrderID = GID("Order", r.OrderID)
	}
	if out.CreatedAt.IsZero() {
		out.CreatedAt = timeOf(r.ProcessedAt)
	}
	for _, l := range r.RefundLineItems {
		rl := RefundEventLine{Quantity: l.Quantity, SKU: l.LineItem.SKU, Title: l.LineItem.Title, Name: l.LineItem.Name,
			Price: float64(l.LineItem.Price), Restocked: l.RestockType != "" && l.RestockType != "no_restock" || l.RestockType == "" && r.Restock}
		if l.Subtotal != nil {
			sub := float64(*l.Subtotal)
			rl.Subtotal = &sub
		}
		if v := l.LineItem.VariantID; v != nil && *v != 0 {
			rl.VariantID = GID("ProductVariant", *v)
		}
		out.Lines = append(out.Lines, rl)
	}
	for _, t := range r.Transactions {
		out.Transactions = append(out.Transactions, RefundEventTransaction{Kind: t.Kind, Status: t.Status, Amount: float64(t.Amount)})
	}
	return out, nil
}

// ProductEvent is the body of a products/create or products/update webhook.
type ProductEvent struct {
	ID        string // GID
	Title     string
	BodyHTML  string
	UpdatedAt time.Time
	Variants  []ProductEventVariant
}

// ProductEventVariant is a variant of a product.
type ProductEventVariant struct {
	ID      string // GID; "" when the body gives none
	Title   string
	SKU     string
	Barcode string
}

// DecodeProduct reads a products/* webhook body.
func DecodeProduct(body []byte) (ProductEvent, error) {
	var r struct {
		ID        int64  `json:"id"`
		GID       string `json:"admin_graphql_api_id"`
		Title     string `json:"title"`
		BodyHTML  string `json:"body_html"`
		UpdatedAt string `json:"updated_at"`
		Variants  []struct {
			ID      int64  `json:"id"`
			GID     string `json:"admin_graphql_api_id"`
			Title   string `json:"title"`
			SKU     string `json:"sku"`
			Barcode string `json:"barcode"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return ProductEvent{}, err
	}
	p := ProductEvent{ID: gidOr(r.GID, "Product", r.ID), Title: r.Title, BodyHTML: r.BodyHTML, UpdatedAt: timeOf(r.UpdatedAt)}
	for _, v := range r.Variants {
		p.Variants = append(p.Variants, ProductEventVariant{ID: gidOr(v.GID, "ProductVariant", v.ID), Title: v.Title, SKU: v.SKU, Barcode: v.Barcode})
	}
	return p, nil
}

// InventoryLevelEvent is the body of an inventory_levels/update webhook: the
// stock of one item at one location.
type InventoryLevelEvent struct {
	InventoryItemID int64 // 0 when the body names none
	LocationID      int64 // 0 when the body names none
	// Available is nil when the item is not tracked at the location.
	Available *int
	UpdatedAt time.Time
}

// ItemGID is the inventory item's GID.
func (l InventoryLevelEvent) ItemGID() string { return GID("InventoryItem", l.InventoryItemID) }

// LocationGID is the location's GID.
func (l InventoryLevelEvent) LocationGID() string { return GID("Location", l.LocationID) }

// DecodeInventoryLevel reads an inventory_levels/update webhook body.
func DecodeInventoryLevel(body []byte) (InventoryLevelEvent, error) {
	var r struct {
		ItemID     int64  `json:"inventory_item_id"`
		LocationID int64  `json:"location_id"`
		Available  *int   `json:"available"`
		UpdatedAt  string `json:"updated_at"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return InventoryLevelEvent{}, err
	}
	return InventoryLevelEvent{InventoryItemID: r.ItemID, LocationID: r.LocationID, Available: r.Available, UpdatedAt: timeOf(r.UpdatedAt)}, nil
}
