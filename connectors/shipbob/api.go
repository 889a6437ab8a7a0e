package shipbob

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors"
)

// Channel is one of the account's channels (GET /channel). Writes are made
// for a channel whose scopes include a *_write.
type Channel struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	ApplicationName string   `json:"application_name"`
	Scopes          []string `json:"scopes"`
}

// CanWrite reports whether the channel may create orders.
func (ch Channel) CanWrite() bool {
	for _, s := range ch.Scopes {
		if strings.HasSuffix(strings.ToLower(s), "_write") {
			return true
		}
	}
	return false
}

// Channels lists the account's channels.
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var out struct {
		Items []Channel `json:"items"`
	}
	_, err := c.call(ctx, http.MethodGet, "/channel", url.Values{"RecordsPerPage": {"250"}}, nil, &out, false)
	return out.Items, err
}

// FulfillmentCenter is one of ShipBob's warehouses.
type FulfillmentCenter struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Country string `json:"country,omitempty"`
}

// FulfillmentCenters lists the warehouses the account can ship from.
func (c *Client) FulfillmentCenters(ctx context.Context) ([]FulfillmentCenter, error) {
	var out []FulfillmentCenter
	_, err := c.call(ctx, http.MethodGet, "/fulfillment-center", nil, nil, &out, false)
	return out, err
}

// Address is a recipient's address.
type Address struct {
	Address1    string `json:"address1"`
	Address2    string `json:"address2,omitempty"`
	CompanyName string `json:"company_name,omitempty"`
	City        string `json:"city"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country"`
	ZipCode     string `json:"zip_code,omitempty"`
}

// Recipient is who an order ships to.
type Recipient struct {
	Name        string  `json:"name"`
	Email       string  `json:"email,omitempty"`
	PhoneNumber string  `json:"phone_number,omitempty"`
	Address     Address `json:"address"`
}

// OrderProduct is one line of a new order, by the product's reference_id
// (Crossdock sends the SKU).
type OrderProduct struct {
	ReferenceID    string  `json:"reference_id"`
	Name           string  `json:"name,omitempty"`
	SKU            string  `json:"sku,omitempty"`
	Quantity       int     `json:"quantity"`
	UnitPrice      float64 `json:"unit_price,omitempty"`
	ExternalLineID int64   `json:"external_line_id,omitempty"`
}

// NewOrder is POST /order's body.
type NewOrder struct {
	// ReferenceID is unique and immutable in the account: Crossdock sends
	// the Shopify order's id, so a second send finds the first order.
	ReferenceID    string         `json:"reference_id"`
	OrderNumber    string         `json:"order_number,omitempty"`
	Type           string         `json:"type"` // DTC
	ShippingMethod string         `json:"shipping_method"`
	Recipient      Recipient      `json:"recipient"`
	Products       []OrderProduct `json:"products"`
	PurchaseDate   *time.Time     `json:"purchase_date,omitempty"`
}

// Tracking is a shipment's carrier and tracking.
type Tracking struct {
	Carrier        string `json:"carrier,omitempty"`
	CarrierService string `json:"carrier_service,omitempty"`
	TrackingNumber string `json:"tracking_number,omitempty"`
	TrackingURL    string `json:"tracking_url,omitempty"`
	ShippingDate   string `json:"shipping_date,omitempty"`
}

// InventoryItem is what a shipment's product took from stock.
type InventoryItem struct {
	ID       int64  `json:"id"`
	Name     string `json:"name,omitempty"`
	Quantity int    `json:"quantity"`
}

// ShipmentProduct is one product of a shipment.
type ShipmentProduct struct {
	ID             int64           `json:"id"`
	ReferenceID    string          `json:"reference_id,omitempty"`
	Name           string          `json:"name,omitempty"`
	SKU            string          `json:"sku,omitempty"`
	InventoryItems []InventoryItem `json:"inventory_items,omitempty"`
}

// Quantity is how many of the product the shipment holds.
func (p ShipmentProduct) Quantity() int {
	n := 0
	for _, i := range p.InventoryItems {
		n += i.Quantity
	}
	return n
}

// Shipment is one parcel of an order: an order may ship in several.
type Shipment struct {
	ID                    int64             `json:"id"`
	OrderID               int64             `json:"order_id"`
	ReferenceID           string            `json:"reference_id,omitempty"`
	Status                string            `json:"status"`
	CreatedDate           time.Time         `json:"created_date"`
	LastUpdateAt          *time.Time        `json:"last_update_at,omitempty"`
	ActualFulfillmentDate *time.Time        `json:"actual_fulfillment_date,omitempty"`
	Location              FulfillmentCenter `json:"location"`
	// Recipient is who and where the shipment goes (an address edit
	// changes it per shipment).
	Recipient          *Recipient        `json:"recipient,omitempty"`
	Tracking           *Tracking         `json:"tracking,omitempty"`
	IsTrackingUploaded bool              `json:"is_tracking_uploaded"`
	Products           []ShipmentProduct `json:"products"`
}

// TrackingNumber is the shipment's tracking number, "" while it has none.
func (s Shipment) TrackingNumber() string {
	if s.Tracking == nil {
		return ""
	}
	return strings.TrimSpace(s.Tracking.TrackingNumber)
}

// Order is a ShipBob order.
type Order struct {
	ID          int64  `json:"id"`
	ReferenceID string `json:"reference_id"`
	OrderNumber string `json:"order_number,omitempty"`
	Status      string `json:"status"`
	Type        string `json:"type,omitempty"`
	CreatedDate string `json:"created_date,omitempty"`
	Channel     struct {
		ID   int64  `json:"id"`
		Name string `json:"name,omitempty"`
	} `json:"channel"`
	Products  []OrderLine `json:"products"`
	Shipments []Shipment  `json:"shipments"`
}

// OrderLine is one product of an order.
type OrderLine struct {
	ID          int64  `json:"id"`
	ReferenceID string `json:"reference_id"`
	SKU         string `json:"sku,omitempty"`
	Quantity    int    `json:"quantity"`
}

// CreateOrder creates an order once. ShipBob refuses a second order with
// the same reference_id (422); that refusal is answered by looking the
// first one up, so a retry, a replay or a duplicate webhook never makes a
// second order: created is false then.
func (c *Client) CreateOrder(ctx context.Context, o NewOrder) (order Order, created bool, err error) {
	_, err = c.call(ctx, http.MethodPost, "/order", nil, o, &order, true)
	if err == nil {
		return order, true, nil
	}
	var se *Error
	if !errors.As(err, &se) || se.Kind != KindDuplicate {
		return Order{}, false, err
	}
	existing, found, lerr := c.OrderByReference(ctx, o.ReferenceID)
	if lerr != nil {
		return Order{}, false, lerr
	}
	if !found {
		// ShipBob says it exists but cannot show it (another channel's).
		return Order{}, false, err
	}
	return existing, false, nil
}

// OrderByReference finds the order with a reference_id.
func (c *Client) OrderByReference(ctx context.Context, ref string) (Order, bool, error) {
	var out []Order
	if _, err := c.call(ctx, http.MethodGet, "/order", url.Values{"ReferenceIds": {ref}}, nil, &out, false); err != nil {
		return Order{}, false, err
	}
	for _, o := range out {
		if o.ReferenceID == ref {
			return o, true, nil
		}
	}
	return Order{}, false, nil
}

// Order reads one order.
func (c *Client) Order(ctx context.Context, id int64) (Order, error) {
	var out Order
	_, err := c.call(ctx, http.MethodGet, "/order/"+strconv.FormatInt(id, 10), nil, nil, &out, false)
	return out, err
}

// CancelOrder cancels an order that has not shipped.
func (c *Client) CancelOrder(ctx context.Context, id int64) error {
	_, err := c.call(ctx, http.MethodPost, "/order/"+strconv.FormatInt(id, 10)+":cancel", nil, nil, nil, true)
	return err
}

// Shipments lists an order's shipments.
func (c *Client) Shipments(ctx context.Context, orderID int64) ([]Shipment, error) {
	var out []Shipment
	_, err := c.call(ctx, http.MethodGet, "/order/"+strconv.FormatInt(orderID, 10)+"/shipment", nil, nil, &out, false)
	return out, err
}

// OrderPageSize is how many orders a page of GET /order holds (ShipBob's
// maximum is 250).
const OrderPageSize = 250

// OrdersAwaitingTracking reads one page (from 1) of the orders whose
// shipments have tracking that Crossdock has not yet marked as uploaded
// (HasTracking=true&IsTrackingUploaded=false): the safety net under the
// shipment webhooks, which can come before the tracking or not at all.
func (c *Client) OrdersAwaitingTracking(ctx context.Context, page int) ([]Order, error) {
	var out []Order
	_, err := c.call(ctx, http.MethodGet, "/order", url.Values{"HasTracking": {"true"}, "IsTrackingUploaded": {"false"},
		"Page": {strconv.Itoa(max(page, 1))}, "Limit": {strconv.Itoa(OrderPageSize)}, "SortOrder": {"Oldest"}}, nil, &out, false)
	return out, err
}

// TrackingUploadBatch is how many shipments Crossdock marks as uploaded in
// one request: ShipBob documents no maximum for shipment_ids, so Crossdock
// keeps to its page size.
const TrackingUploadBatch = OrderPageSize

// MarkTrackingUploaded tells ShipBob the shipments' tracking reached the
// store, so polling stops returning them.
func (c *Client) MarkTrackingUploaded(ctx context.Context, shipmentIDs []int64) error {
	if len(shipmentIDs) == 0 {
		return nil
	}
	_, err := c.call(ctx, http.MethodPost, "/shipment:batchUpdateTrackingUpload", nil,
		map[string]any{"is_tracking_uploaded": true, "shipment_ids": shipmentIDs}, nil, true)
	return err
}

// InventoryLevel is one inventory item's stock across fulfilment centres.
type InventoryLevel struct {
	InventoryID       int64  `json:"inventory_id"`
	SKU               string `json:"sku"`
	Name              string `json:"name"`
	OnHand            int    `json:"total_on_hand_quantity"`
	Fulfillable       int    `json:"total_fulfillable_quantity"`
	Committed         int    `json:"total_committed_quantity"`
	Sellable          int    `json:"total_sellable_quantity"`
	Awaiting          int    `json:"total_awaiting_quantity"`
	Backordered       int    `json:"total_backordered_quantity"`
	Exception         int    `json:"total_exception_quantity"`
	InternalTransfers int    `json:"total_internal_transfer_quantity"`
}

// InventoryLevels reads every inventory item's levels, following the
// pages' next links.
func (c *Client) InventoryLevels(ctx context.Context) ([]InventoryLevel, error) {
	return pages[InventoryLevel](ctx, c, "/inventory-level", url.Values{"PageSize": {"250"}})
}

// nextQuery reads the query of a next-page link (absolute or relative).
func nextQuery(link string) (url.Values, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, err
	}
	return u.Query(), nil
}

// Webhook topics Crossdock subscribes to.
const (
	TopicShipped         = "order.shipped"
	TopicTrackingUpdated = "order.shipment.tracking.updated"
	TopicDelivered       = "order.shipment.delivered"
	TopicCancelled       = "order.shipment.cancelled"
)

// WebhookTopics are the topics Crossdock needs: shipments (with or without
// tracking yet), their cancellations, completed returns, and what the
// warehouse bills (charges, refunds, credits). The topics of the 2026-01
// spec.
func (c *Client) WebhookTopics() []string {
	return append([]string{TopicShipped, TopicDelivered, TopicCancelled, TopicReturnCompleted}, BillingTopics...)
}

// Subscription is one of the account's webhook subscriptions.
type Subscription struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Topics    []string `json:"topics"`
	Secret    string   `json:"secret,omitempty"`
	CreatedAt string   `json:"created_at,omitempty"`
}

// Hooks lists the subscriptions, one Hook per topic.
func (c *Client) Hooks(ctx context.Context) ([]connectors.Hook, error) {
	var out struct {
		Items []Subscription `json:"items"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/webhook", url.Values{"RecordsPerPage": {"250"}}, nil, &out, false); err != nil {
		return nil, err
	}
	var hooks []connectors.Hook
	for _, s := range out.Items {
		for _, t := range s.Topics {
			hooks = append(hooks, connectors.Hook{ID: s.ID, Topic: t, URI: s.URL})
		}
	}
	return hooks, nil
}

// Subscribe registers topic at callback. ShipBob generates the signing
// secret when none is given; Crossdock gives the connection's, so the
// deliveries verify at once.
func (c *Client) Subscribe(ctx context.Context, topic, callback string) error {
	body := map[string]any{"url": callback, "topics": []string{topic}, "description": "Crossdock"}
	if c.webhookSecret != "" {
		body["secret"] = c.webhookSecret
	}
	_, err := c.call(ctx, http.MethodPost, "/webhook", nil, body, nil, false)
	return err
}

// SimulateShipment asks the sandbox to ship (and then deliver) a shipment:
// only sandbox-api.shipbob.com (and the twin) answer it.
func (c *Client) SimulateShipment(ctx context.Context, shipmentID int64, deliverAfterMinutes int) (string, error) {
	sim := map[string]any{"action": "ShipOrder"}
	if deliverAfterMinutes > 0 {
		sim["next"] = map[string]any{"action": "DeliverOrder", "delay": deliverAfterMinutes}
	}
	var out struct {
		SimulationID string `json:"simulation_id"`
	}
	_, err := c.call(ctx, http.MethodPost, "/simulate/shipment", nil,
		map[string]any{"shipment_id": strconv.FormatInt(shipmentID, 10), "simulation": sim}, &out, false)
	return out.SimulationID, err
}

// CentreLevel is one inventory item's stock at one fulfilment centre.
type CentreLevel struct {
	LocationID       int64  `json:"location_id"`
	Name             string `json:"name"`
	OnHand           int    `json:"on_hand_quantity"`
	Fulfillable      int    `json:"fulfillable_quantity"`
	Committed        int    `json:"committed_quantity"`
	Awaiting         int    `json:"awaiting_quantity"`
	InternalTransfer int    `json:"internal_transfer_quantity"`
}

// CentreLevels is one inventory item's stock per fulfilment centre (GET
// /inventory-level/locations: Inventory.InventoryQuantityFcResponse).
type CentreLevels struct {
	InventoryID int64         `json:"inventory_id"`
	SKU         string        `json:"sku"`
	Name        string        `json:"name"`
	Locations   []CentreLevel `json:"locations"`
}

// InventoryByCentre reads every inventory item's levels per fulfilment
// centre, following the pages' next links.
func (c *Client) InventoryByCentre(ctx context.Context) ([]CentreLevels, error) {
	return pages[CentreLevels](ctx, c, "/inventory-level/locations", url.Values{"PageSize": {"250"}})
}

// pages reads a GET list whose answer is {items, next} and follows next.
func pages[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	var all []T
	for range 10000 {
		var out struct {
			Items []T    `json:"items"`
			Next  string `json:"next"`
		}
		if _, err := c.call(ctx, http.MethodGet, path, q, nil, &out, false); err != nil {
			return nil, err
		}
		all = append(all, out.Items...)
		if out.Next == "" || len(out.Items) == 0 {
			return all, nil
		}
		next, err := nextQuery(out.Next)
		if err != nil {
			return nil, &Error{Kind: KindProtocol, Method: http.MethodGet, Path: path, Message: "a next-page link Crossdock cannot follow", Err: err}
		}
		q = next
	}
	return all, nil
}

// Charge is one billing transaction (POST /transactions:query:
// Billing.TransactionDtoV3; the billing webhooks' too, see
// DecodeBillingEvent). Amount is in CurrencyCode, as ShipBob signs it
// (Signed is the cost); ReferenceID is the shipment's id when ReferenceType
// is "Shipment".
type Charge struct {
	TransactionID   string  `json:"transaction_id"`
	Amount          float64 `json:"amount"`
	CurrencyCode    string  `json:"currency_code"`
	ChargeDate      string  `json:"charge_date"`
	InvoiceID       *int64  `json:"invoice_id"`
	InvoiceType     string  `json:"invoice_type"`
	InvoicedStatus  bool    `json:"invoiced_status"`
	ReferenceID     string  `json:"reference_id"`
	ReferenceType   string  `json:"reference_type"`
	TransactionFee  string  `json:"transaction_fee"`
	TransactionType string  `json:"transaction_type"`
	Centre          string  `json:"fulfillment_center"`
}

// ShipmentCharges reads the charges, refunds and credits of shipments dated from
// from to to, billed or not yet invoiced, every page (the billing_read
// scope). The first page is asked with the filter, the next ones with the
// cursor of the answer's next link alone, as ShipBob wants.
func (c *Client) ShipmentCharges(ctx context.Context, from, to time.Time) ([]Charge, error) {
	filter := map[string]any{"from_date": from.UTC().Format(time.RFC3339), "to_date": to.UTC().Format(time.RFC3339),
		"reference_types": []string{"Shipment"}, "transaction_types": []string{TransactionCharge, TransactionRefund, TransactionCredit}, "page_size": 1000}
	var all []Charge
	var q url.Values
	for range 10000 {
		var out struct {
			Items []Charge `json:"items"`
			Next  string   `json:"next"`
		}
		var body any = filter
		if q != nil {
			body = nil
		}
		if _, err := c.call(ctx, http.MethodPost, "/transactions:query", q, body, &out, false); err != nil {
			return nil, err
		}
		all = append(all, out.Items...)
		if out.Next == "" || len(out.Items) == 0 {
			return all, nil
		}
		next, err := nextQuery(out.Next)
		if err != nil || next.Get("Cursor") == "" {
			return nil, &Error{Kind: KindProtocol, Method: http.MethodPost, Path: "/transactions:query", Message: "a next-page link Crossdock cannot follow", Err: err}
		}
		q = url.Values{"Cursor": {next.Get("Cursor")}}
	}
	return all, nil
}

// Shipment reads one shipment (its reference_id is the order's).
func (c *Client) Shipment(ctx context.Context, id int64) (Shipment, error) {
	var out Shipment
	_, err := c.call(ctx, http.MethodGet, "/shipment/"+strconv.FormatInt(id, 10), nil, nil, &out, false)
	return out, err
}

// ReadCatalogue lists the account's fulfilment centres as stock locations,
// so each can be mapped to the Shopify location its stock is shown at
// (connectors.CatalogueReader). ShipBob's products are known by SKU and are
// not listed.
func (c *Client) ReadCatalogue(ctx context.Context, put func(entity string, batch []connectors.Record) error) error {
	centres, err := c.FulfillmentCenters(ctx)
	if err != nil {
		return err
	}
	recs := make([]connectors.Record, 0, len(centres))
	for _, fc := range centres {
		recs = append(recs, connectors.Record{ExternalID: strconv.FormatInt(fc.ID, 10), Name: fc.Name})
	}
	if len(recs) == 0 {
		return nil
	}
	return put(connectors.EntityLocation, recs)
}
