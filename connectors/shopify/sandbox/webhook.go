package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Sender delivers webhooks the way Shopify does: a POST of the exact payload
// bytes with Shopify's headers and an HMAC over those bytes.
type Sender struct {
	URL        string
	Secret     string
	ShopDomain string
	APIVersion string
	// Client defaults to one with Shopify's 5 s answer timeout.
	Client *http.Client
}

// SendOptions tune one delivery.
type SendOptions struct {
	// Duplicate delivers the event twice (same event id, different webhook ids), as Shopify may.
	Duplicate bool
	// Delay waits before delivering (late deliveries).
	Delay time.Duration
	// WebhookID fixes the delivery id (to test dedupe); random by default.
	WebhookID string
	// EventID fixes the event id; random by default.
	EventID string
}

// Send delivers payload for topic (e.g. "orders/create") and returns the HTTP
// status of the (last) delivery.
func (s *Sender) Send(ctx context.Context, topic string, payload []byte, opts SendOptions) (int, error) {
	if opts.Delay > 0 {
		t := time.NewTimer(opts.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
	eventID := opts.EventID
	if eventID == "" {
		eventID = newUUID()
	}
	n := 1
	if opts.Duplicate {
		n = 2
	}
	var status int
	for i := range n {
		id := opts.WebhookID
		if id == "" || i > 0 {
			id = newUUID()
		}
		st, err := s.deliver(ctx, topic, payload, id, eventID)
		if err != nil {
			return st, err
		}
		status = st
	}
	return status, nil
}

func (s *Sender) deliver(ctx context.Context, topic string, payload []byte, webhookID, eventID string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Hmac-Sha256", Sign(payload, s.Secret))
	h.Set("X-Shopify-Shop-Domain", s.ShopDomain)
	h.Set("X-Shopify-API-Version", cmpOr(s.APIVersion, "2026-04"))
	h.Set("X-Shopify-Webhook-Id", webhookID)
	h.Set("X-Shopify-Event-Id", eventID)
	h.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	hc := s.Client
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// Sign returns the X-Shopify-Hmac-Sha256 value for body under secret.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type moneySet struct {
	ShopMoney        restMoney `json:"shop_money"`
	PresentmentMoney restMoney `json:"presentment_money"`
}

type restMoney struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

func mset(amount, cur string) moneySet {
	return moneySet{restMoney{amount, cur}, restMoney{amount, cur}}
}

type restLineItem struct {
	ID                 int64     `json:"id"`
	AdminGraphqlAPIID  string    `json:"admin_graphql_api_id"`
	Name               string    `json:"name"`
	Price              string    `json:"price"`
	PriceSet           moneySet  `json:"price_set"`
	ProductID          int64     `json:"product_id"`
	Quantity           int       `json:"quantity"`
	RequiresShipping   bool      `json:"requires_shipping"`
	SKU                string    `json:"sku"`
	Title              string    `json:"title"`
	VariantID          int64     `json:"variant_id"`
	VariantTitle       string    `json:"variant_title"`
	Vendor             string    `json:"vendor"`
	FulfillmentStatus  *string   `json:"fulfillment_status"`
	TotalDiscount      string    `json:"total_discount"`
	TotalDiscountSet   moneySet  `json:"total_discount_set"`
	CurrentQuantity    int       `json:"current_quantity"`
	FulfillableQty     int       `json:"fulfillable_quantity"`
	GiftCard           bool      `json:"gift_card"`
	Taxable            bool      `json:"taxable"`
	ProductExists      bool      `json:"product_exists"`
	VariantInventoryMg string    `json:"variant_inventory_management"`
	TaxLines           []restTax `json:"tax_lines"`
}

// restTax is a tax line as the REST order resource documents it.
type restTax struct {
	Price         string   `json:"price"`
	Rate          float64  `json:"rate"`
	Title         string   `json:"title"`
	PriceSet      moneySet `json:"price_set"`
	ChannelLiable bool     `json:"channel_liable"`
}

type restCustomer struct {
	ID                int64  `json:"id"`
	Email             string `json:"email"`
	CreatedAt         string `json:"created_at"`
	UpdatedAt         string `json:"updated_at"`
	FirstName         string `json:"first_name"`
	LastName          string `json:"last_name"`
	State             string `json:"state"`
	Currency          string `json:"currency"`
	AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
}

type restOrder struct {
	ID                int64          `json:"id"`
	AdminGraphqlAPIID string         `json:"admin_graphql_api_id"`
	CancelReason      *string        `json:"cancel_reason"`
	CancelledAt       *string        `json:"cancelled_at"`
	ContactEmail      string         `json:"contact_email"`
	CreatedAt         string         `json:"created_at"`
	Currency          string         `json:"currency"`
	CurrentTotalPrice string         `json:"current_total_price"`
	Email             string         `json:"email"`
	FinancialStatus   string         `json:"financial_status"`
	FulfillmentStatus *string        `json:"fulfillment_status"`
	Name              string         `json:"name"`
	OrderNumber       int            `json:"order_number"`
	ProcessedAt       string         `json:"processed_at"`
	SubtotalPrice     string         `json:"subtotal_price"`
	SubtotalPriceSet  moneySet       `json:"subtotal_price_set"`
	Test              bool           `json:"test"`
	TotalPrice        string         `json:"total_price"`
	TotalPriceSet     moneySet       `json:"total_price_set"`
	UpdatedAt         string         `json:"updated_at"`
	Customer          *restCustomer  `json:"customer"`
	ShippingAddress   *restAddress   `json:"shipping_address,omitempty"`
	LineItems         []restLineItem `json:"line_items"`
	Refunds           []any          `json:"refunds"`
	Fulfillments      []any          `json:"fulfillments"`
	TaxLines          []restTax      `json:"tax_lines"`
	TotalTax          string         `json:"total_tax"`
	TaxesIncluded     bool           `json:"taxes_included"`
	Gateways          []string       `json:"payment_gateway_names"`
}

func restTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-07:00") }

// OrderCreatePayload renders an orders/create body (REST shape, snake_case,
// a subset of the documented sample's fields) for an order GID.
func (s *Shop) OrderCreatePayload(orderID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, id, _ := parseGID(orderID)
	o := s.orderByID[id]
	if o == nil {
		return nil, fmt.Errorf("sandbox: order %s does not exist", orderID)
	}
	total := o.Total()
	var num int
	fmt.Sscanf(o.Name, "#%d", &num)
	ro := restOrder{
		ID: o.ID, AdminGraphqlAPIID: o.GID(), ContactEmail: o.Email, CreatedAt: restTime(o.CreatedAt),
		Currency: o.Currency, CurrentTotalPrice: total, Email: o.Email, FinancialStatus: lower(o.FinancialStatus),
		Name: o.Name, OrderNumber: num, ProcessedAt: restTime(o.CreatedAt), SubtotalPrice: total,
		SubtotalPriceSet: mset(total, o.Currency), TotalPrice: total, TotalPriceSet: mset(total, o.Currency),
		UpdatedAt: restTime(o.UpdatedAt), Refunds: []any{}, Fulfillments: []any{},
	}
	if c := s.customerByID[o.CustomerID]; c != nil {
		ro.Customer = &restCustomer{ID: c.ID, Email: c.Email, CreatedAt: restTime(c.CreatedAt), UpdatedAt: restTime(c.UpdatedAt),
			FirstName: c.FirstName, LastName: c.LastName, State: "enabled", Currency: o.Currency, AdminGraphqlAPIID: c.GID()}
		if s.opts.ShippingAddresses {
			ro.ShippingAddress = &restAddress{FirstName: c.FirstName, LastName: c.LastName, Name: strings.TrimSpace(c.FirstName + " " + c.LastName),
				Address1: strPtr(fmt.Sprintf("%d Market Street", 100+o.ID%800)), City: strPtr("San Francisco"), Province: strPtr("California"),
				ProvinceCode: strPtr("CA"), Zip: strPtr("94103"), Country: strPtr("United States"), CountryCode: strPtr("US"),
				CountryName: strPtr("United States")}
		}
	}
	for _, li := range o.LineItems {
		v := s.variantByID[li.VariantID]
		var pid int64
		vt := ""
		if v != nil {
			pid, vt = v.ProductID, v.Title
		}
		ro.LineItems = append(ro.LineItems, restLineItem{
			ID: li.ID, AdminGraphqlAPIID: gid("LineItem", li.ID), Name: li.Title + " - " + vt, Price: li.Price,
			PriceSet: mset(li.Price, o.Currency), ProductID: pid, Quantity: li.Quantity, RequiresShipping: true,
			SKU: li.SKU, Title: li.Title, VariantID: li.VariantID, VariantTitle: vt, Vendor: "Crossdock Demo",
			TotalDiscount: formatCents(parseCents(li.Discount)), TotalDiscountSet: mset(formatCents(parseCents(li.Discount)), o.Currency), CurrentQuantity: li.Quantity,
			FulfillableQty: li.Quantity, Taxable: true, ProductExists: true, VariantInventoryMg: "shopify", TaxLines: []restTax{},
		})
	}
	// Tax on each line, rounded per line as Shopify does, and summed on
	// the order; the total includes it.
	var taxCents int64
	if o.Tax != nil && o.Tax.Rate > 0 {
		for i, li := range o.LineItems {
			c := o.lineTax(li)
			taxCents += c
			ro.LineItems[i].TaxLines = []restTax{{Price: formatCents(c), Rate: o.Tax.Rate, Title: o.Tax.Title, PriceSet: mset(formatCents(c), o.Currency)}}
		}
		ro.TaxLines = []restTax{{Price: formatCents(taxCents), Rate: o.Tax.Rate, Title: o.Tax.Title, PriceSet: mset(formatCents(taxCents), o.Currency)}}
		withTax := formatCents(parseCents(total) + taxCents)
		ro.TotalPrice, ro.CurrentTotalPrice, ro.TotalPriceSet = withTax, withTax, mset(withTax, o.Currency)
	}
	ro.TotalTax = formatCents(taxCents)
	if ro.TaxLines == nil {
		ro.TaxLines = []restTax{}
	}
	ro.Gateways = []string{}
	if o.Gateway != "" {
		ro.Gateways = []string{o.Gateway}
	}
	return json.Marshal(ro)
}

// InventoryLevelUpdatePayload renders an inventory_levels/update body for an
// inventory item and location (GIDs), shaped like the documented sample.
func (s *Shop) InventoryLevelUpdatePayload(itemID, locationID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, item, _ := parseGID(itemID)
	_, loc, _ := parseGID(locationID)
	lv := s.levels[levelKey{item, loc}]
	if lv == nil {
		return nil, fmt.Errorf("sandbox: item %s is not stocked at %s", itemID, locationID)
	}
	return json.Marshal(struct {
		InventoryItemID   int64  `json:"inventory_item_id"`
		LocationID        int64  `json:"location_id"`
		Available         int    `json:"available"`
		UpdatedAt         string `json:"updated_at"`
		AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
	}{item, loc, lv.available, restTime(lv.updatedAt),
		fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", loc, item)})
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

// RefundCreatePayload renders a refunds/create body (REST shape: id,
// order_id, created_at, refund_line_items[].line_item, subtotal as a
// number, transactions) for one of an order's refunds.
func (s *Shop) RefundCreatePayload(orderID string, refundID int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, id, _ := parseGID(orderID)
	o := s.orderByID[id]
	if o == nil {
		return nil, fmt.Errorf("sandbox: order %s does not exist", orderID)
	}
	var r *Refund
	for i := range o.Refunds {
		if o.Refunds[i].ID == refundID {
			r = &o.Refunds[i]
		}
	}
	if r == nil {
		return nil, fmt.Errorf("sandbox: order %s has no refund %d", orderID, refundID)
	}
	items := map[int64]LineItem{}
	for _, li := range o.LineItems {
		items[li.ID] = li
	}
	var lines []map[string]any
	total := 0.0
	for _, rl := range r.Lines {
		li := items[rl.LineItemID]
		var price float64
		fmt.Sscanf(li.Price, "%g", &price)
		sub := price * float64(rl.Quantity)
		total += sub
		lines = append(lines, map[string]any{
			"id": rl.ID, "quantity": rl.Quantity, "line_item_id": li.ID, "location_id": nil, "restock_type": "no_restock",
			"subtotal": sub, "total_tax": 0.0, "subtotal_set": mset(fmt.Sprintf("%.2f", sub), o.Currency),
			"line_item": map[string]any{"id": li.ID, "admin_graphql_api_id": gid("LineItem", li.ID), "variant_id": li.VariantID,
				"sku": li.SKU, "title": li.Title, "name": li.Title, "quantity": li.Quantity, "price": li.Price, "product_exists": true},
		})
	}
	return json.Marshal(map[string]any{
		"id": r.ID, "admin_graphql_api_id": gid("Refund", r.ID), "order_id": o.ID, "created_at": restTime(r.CreatedAt),
		"processed_at": restTime(r.CreatedAt), "note": r.Note, "restock": false, "user_id": nil, "duties": []any{},
		"order_adjustments": []any{}, "refund_line_items": lines,
		"transactions": []any{map[string]any{"id": r.ID + 1, "order_id": o.ID, "kind": "refund", "gateway": "bogus",
			"status": "success", "amount": fmt.Sprintf("%.2f", total), "currency": o.Currency}},
	})
}
