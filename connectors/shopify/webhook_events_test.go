package shopify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The fixtures are Shopify's own sample webhook bodies (testdata/README.md).

var sampleTime = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)

func TestGID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "gid://shopify/Order/820982911946154508", GID("Order", 820982911946154508))
	require.Equal(t, "gid://shopify/Order/", GIDPrefix("Order"))
}

func TestDecodeCustomer(t *testing.T) {
	t.Parallel()
	c, err := DecodeCustomer(fixture(t, "customers-create.2026-04.json"))
	require.NoError(t, err)
	require.Equal(t, "gid://shopify/Customer/706405506930370084", c.ID)
	require.Equal(t, "bob@biller.com", c.Email)
	require.Equal(t, "Bob", c.FirstName)
	require.Equal(t, "Biller", c.LastName)
	require.Empty(t, c.Phone, "null is empty")
	require.True(t, c.UpdatedAt.Equal(sampleTime), c.UpdatedAt)
	require.NotNil(t, c.DefaultAddress)
	require.Equal(t, Address{Name: "Bob Biller", FirstName: "Bob", LastName: "Biller", Address1: "151 O'Connor Street",
		City: "Ottawa", Zip: "K2P 2L8", Phone: "555-555-5555", Province: "ON", ProvinceCode: "ON", Country: "CA", CountryCode: "CA"}, *c.DefaultAddress)
}

func TestDecodeOrder(t *testing.T) {
	t.Parallel()
	o, err := DecodeOrder(fixture(t, "orders-create.2026-04.json"))
	require.NoError(t, err)
	require.Equal(t, "gid://shopify/Order/820982911946154508", o.ID)
	require.Equal(t, "#9999", o.Name)
	require.Equal(t, 1234, o.Number)
	require.Equal(t, "jon@example.com", o.Email)
	require.Equal(t, "USD", o.Currency)
	require.Equal(t, "404.95", o.TotalPrice)
	require.True(t, o.Cancelled)
	require.True(t, o.CreatedAt.Equal(sampleTime))
	require.True(t, o.UpdatedAt.Equal(sampleTime))
	require.Equal(t, &OrderEventCustomer{ID: "gid://shopify/Customer/115310627314723954", Email: "john@example.com", FirstName: "John", LastName: "Smith"}, o.Customer)
	require.NotNil(t, o.Shipping)
	require.Equal(t, "123 Shipping Street", o.Shipping.Address1)
	require.Equal(t, "Steve Shipper", o.Shipping.Name)
	require.Len(t, o.Lines, 5)
	l := o.Lines[0]
	require.Equal(t, "gid://shopify/LineItem/487817672276298554", l.ID)
	require.Empty(t, l.VariantID, "the sample's lines are not catalogue products")
	require.Equal(t, "SKU2006-001", l.SKU)
	require.Equal(t, "Aviator sunglasses", l.Title)
	require.Equal(t, 1, l.Quantity)
	require.Equal(t, 1, *l.CurrentQuantity)
	require.Equal(t, "89.99", l.Price)
	require.Equal(t, []string{"visa", "bogus"}, o.Gateways, "payment_gateway_names")
	require.Empty(t, o.TaxLines, "the sample charged no tax")
}

// Tax lines as Shopify's REST order resource documents them, on the order
// and on each line.
func TestDecodeOrderTaxLines(t *testing.T) {
	t.Parallel()
	o, err := DecodeOrder([]byte(`{"id":5,"payment_gateway_names":["shopify_payments"],
"tax_lines":[{"price":"13.50","rate":0.06,"title":"State tax","price_set":{"shop_money":{"amount":"13.50","currency_code":"USD"}},"channel_liable":false}],
"line_items":[{"id":6,"variant_id":7,"taxable":true,"tax_lines":[{"price":"13.50","rate":0.06,"title":"State tax","channel_liable":false}]}]}`))
	require.NoError(t, err)
	want := []OrderEventTax{{Title: "State tax", Rate: 0.06, Price: "13.50"}}
	require.Equal(t, want, o.TaxLines)
	require.Equal(t, want, o.Lines[0].TaxLines)
	require.Equal(t, []string{"shopify_payments"}, o.Gateways)
}

func TestDecodeOrderBuildsGIDs(t *testing.T) {
	t.Parallel()
	o, err := DecodeOrder([]byte(`{"id":5,"cancelled_at":null,"line_items":[{"id":6,"variant_id":7},{"variant_id":0}]}`))
	require.NoError(t, err)
	require.Equal(t, "gid://shopify/Order/5", o.ID)
	require.False(t, o.Cancelled)
	require.Equal(t, "gid://shopify/LineItem/6", o.Lines[0].ID)
	require.Equal(t, "gid://shopify/ProductVariant/7", o.Lines[0].VariantID)
	require.Nil(t, o.Lines[0].CurrentQuantity)
	require.Empty(t, o.Lines[1].ID)
	require.Empty(t, o.Lines[1].VariantID)
}

func TestDecodeRefund(t *testing.T) {
	t.Parallel()
	r, err := DecodeRefund(fixture(t, "refunds-create.2026-04.json"))
	require.NoError(t, err)
	require.Equal(t, "gid://shopify/Refund/890088186047892319", r.ID)
	require.Equal(t, "gid://shopify/Order/820982911946154508", r.OrderID)
	require.Equal(t, "Things were damaged", r.Note)
	require.True(t, r.CreatedAt.Equal(sampleTime))
	require.Len(t, r.Lines, 5)
	require.Equal(t, "SKU2006-001", r.Lines[0].SKU)
	require.Equal(t, 1, r.Lines[0].Quantity)
	require.InDelta(t, 89.99, *r.Lines[0].Subtotal, 1e-9)
	require.InDelta(t, 89.99, r.Lines[0].Price, 1e-9)
	require.Empty(t, r.Lines[0].VariantID)
	require.Equal(t, []RefundEventTransaction{{Kind: "refund", Status: "success", Amount: 75}, {Kind: "refund", Status: "success", Amount: 10}}, r.Transactions)
}

func TestDecodeRefundAmounts(t *testing.T) {
	t.Parallel()
	r, err := DecodeRefund([]byte(`{"id":1,"order_id":2,"processed_at":"2026-04-01T10:00:00Z",
		"refund_line_items":[{"quantity":2,"line_item":{"variant_id":3,"price":12.5}},{"quantity":1,"subtotal":"4.00","line_item":{"price":null}}],
		"transactions":[{"kind":"refund","status":"success","amount":7}]}`))
	require.NoError(t, err)
	require.True(t, r.CreatedAt.Equal(time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)), "processed_at when created_at is missing")
	require.Nil(t, r.Lines[0].Subtotal)
	require.InDelta(t, 12.5, r.Lines[0].Price, 1e-9)
	require.Equal(t, "gid://shopify/ProductVariant/3", r.Lines[0].VariantID)
	require.InDelta(t, 4.0, *r.Lines[1].Subtotal, 1e-9)
	require.InDelta(t, 7.0, r.Transactions[0].Amount, 1e-9)

	_, err = DecodeRefund([]byte(`{"transactions":[{"amount":"ten"}]}`))
	require.ErrorContains(t, err, "amount")
}

func TestDecodeProduct(t *testing.T) {
	t.Parallel()
	p, err := DecodeProduct(fixture(t, "products-update.2026-04.json"))
	require.NoError(t, err)
	require.Equal(t, "gid://shopify/Product/788032119674292922", p.ID)
	require.Equal(t, "Example T-Shirt", p.Title)
	require.Equal(t, "An example T-Shirt", p.BodyHTML)
	require.True(t, p.UpdatedAt.Equal(sampleTime))
	require.Equal(t, []ProductEventVariant{
		{ID: "gid://shopify/ProductVariant/642667041472713922", Title: "Small"},
		{ID: "gid://shopify/ProductVariant/757650484644203962", Title: "Medium"},
	}, p.Variants)
}

func TestDecodeInventoryLevel(t *testing.T) {
	t.Parallel()
	l, err := DecodeInventoryLevel(fixture(t, "inventory_levels-update.2024-04.json"))
	require.NoError(t, err)
	require.Equal(t, int64(271878346596884015), l.InventoryItemID)
	require.Equal(t, "gid://shopify/InventoryItem/271878346596884015", l.ItemGID())
	require.Equal(t, "gid://shopify/Location/24826418", l.LocationGID())
	require.Nil(t, l.Available, "the sample's item is not tracked")
	require.True(t, l.UpdatedAt.Equal(sampleTime))

	_, err = DecodeInventoryLevel([]byte(`{"inventory_item_id":1e400}`))
	require.Error(t, err)
}

func TestDecodeRefusesWhatIsNotAnObject(t *testing.T) {
	t.Parallel()
	for name, decode := range map[string]func([]byte) error{
		"customer": func(b []byte) error { _, err := DecodeCustomer(b); return err },
		"order":    func(b []byte) error { _, err := DecodeOrder(b); return err },
		"refund":   func(b []byte) error { _, err := DecodeRefund(b); return err },
		"product":  func(b []byte) error { _, err := DecodeProduct(b); return err },
		"level":    func(b []byte) error { _, err := DecodeInventoryLevel(b); return err },
	} {
		require.Error(t, decode([]byte(`[1,2]`)), name)
		require.Error(t, decode([]byte(`{"id":`)), name)
	}
}
