package shipbob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Returns, as the 2026-01 Returns API has them (OpenAPI: POST/GET /return,
// GET /return/{id}; Returns.CreateReturnRequest, Returns.PublicReturnDto):
// a return names its own reference (the merchant's RMA, not the order's),
// the original shipment it came back from, and per inventory item the
// quantity, the action requested and the actions the warehouse took
// (quantity processed with each of Restock, Quarantine or Dispose).

// Return actions (Returns.ReturnAction).
const (
	ActionDefault    = "Default"
	ActionRestock    = "Restock"
	ActionQuarantine = "Quarantine"
	ActionDispose    = "Dispose"
)

// Return statuses.
const (
	ReturnAwaitingArrival = "AwaitingArrival"
	ReturnArrived         = "Arrived"
	ReturnProcessing      = "Processing"
	ReturnCompleted       = "Completed"
	ReturnCancelled       = "Cancelled"
)

// Return webhook topics.
const (
	TopicReturnCreated   = "return.created"
	TopicReturnUpdated   = "return.updated"
	TopicReturnCompleted = "return.completed"
)

// ReturnInventory is one item of a new return (Returns.ReturnInventory).
type ReturnInventory struct {
	ID              int64  `json:"id"`
	Quantity        int    `json:"quantity"`
	RequestedAction string `json:"requested_action"`
}

// Facility is the fulfilment centre a return goes back to.
type Facility struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

// NewReturn is POST /return's body (Returns.CreateReturnRequest).
type NewReturn struct {
	// ReferenceID is the merchant's own unique reference (an RMA).
	ReferenceID        string            `json:"reference_id"`
	FulfillmentCenter  Facility          `json:"fulfillment_center"`
	Inventory          []ReturnInventory `json:"inventory"`
	OriginalShipmentID int64             `json:"original_shipment_id,omitempty"`
	TrackingNumber     string            `json:"tracking_number,omitempty"`
}

// ActionRequested is what the merchant asked for an item.
type ActionRequested struct {
	Action       string `json:"action,omitempty"`
	ActionType   string `json:"action_type,omitempty"`
	Instructions string `json:"instructions,omitempty"`
}

// ActionTaken is what the warehouse did with some of an item.
type ActionTaken struct {
	Action            string `json:"action"`
	ActionReason      string `json:"action_reason,omitempty"`
	QuantityProcessed int    `json:"quantity_processed"`
}

// ReturnItem is one inventory item of a return (Returns.InventoryItemDto).
type ReturnItem struct {
	ID              int64            `json:"id"`
	Name            string           `json:"name,omitempty"`
	SKU             string           `json:"sku,omitempty"`
	Quantity        int              `json:"quantity"`
	ActionRequested *ActionRequested `json:"action_requested,omitempty"`
	ActionTaken     []ActionTaken    `json:"action_taken,omitempty"`
}

// Received is how many of the item the warehouse processed: the sum of its
// actions, or the returned quantity while none is recorded.
func (i ReturnItem) Received() int {
	if len(i.ActionTaken) == 0 {
		return i.Quantity
	}
	n := 0
	for _, a := range i.ActionTaken {
		n += a.QuantityProcessed
	}
	return n
}

// Taken is how many of the item the warehouse processed with an action.
func (i ReturnItem) Taken(action string) int {
	n := 0
	for _, a := range i.ActionTaken {
		if strings.EqualFold(a.Action, action) {
			n += a.QuantityProcessed
		}
	}
	return n
}

// Return is a return order (Returns.PublicReturnDto).
type Return struct {
	ID                 int64        `json:"id"`
	ReferenceID        string       `json:"reference_id"`
	Status             string       `json:"status"`
	ReturnType         string       `json:"return_type,omitempty"`
	StoreOrderID       string       `json:"store_order_id,omitempty"`
	OriginalShipmentID int64        `json:"original_shipment_id,omitempty"`
	TrackingNumber     string       `json:"tracking_number,omitempty"`
	FulfillmentCenter  Facility     `json:"fulfillment_center"`
	InsertDate         time.Time    `json:"insert_date"`
	CompletedDate      *time.Time   `json:"completed_date,omitempty"`
	Inventory          []ReturnItem `json:"inventory"`
}

// CreateReturn creates a return order (for the write channel).
func (c *Client) CreateReturn(ctx context.Context, r NewReturn) (Return, error) {
	var out Return
	_, err := c.call(ctx, http.MethodPost, "/return", nil, r, &out, true)
	return out, err
}

// Return reads one return.
func (c *Client) Return(ctx context.Context, id int64) (Return, error) {
	var out Return
	_, err := c.call(ctx, http.MethodGet, "/return/"+strconv.FormatInt(id, 10), nil, nil, &out, false)
	return out, err
}

// ReturnPageSize is how many returns Crossdock reads a page.
const ReturnPageSize = 100

// ReturnFilter narrows GET /return.
type ReturnFilter struct {
	Statuses []string
	// CompletedSince keeps returns completed at or after it (CompletedStartDate).
	CompletedSince time.Time
	// Cursor is the page to read ("" for the first), from the last answer.
	Cursor string
}

// Returns reads one page of returns, oldest first, and the cursor of the
// next page ("" on the last).
func (c *Client) Returns(ctx context.Context, f ReturnFilter) ([]Return, string, error) {
	q := url.Values{"Limit": {strconv.Itoa(ReturnPageSize)}, "SortOrder": {"Asc"}}
	if len(f.Statuses) > 0 {
		q.Set("Status", strings.Join(f.Statuses, ","))
	}
	if !f.CompletedSince.IsZero() {
		q.Set("CompletedStartDate", f.CompletedSince.UTC().Format(time.RFC3339))
	}
	if f.Cursor != "" {
		q.Set("Cursor", f.Cursor)
	}
	var out struct {
		Items []Return `json:"items"`
		Next  *string  `json:"next"`
	}
	if _, err := c.call(ctx, http.MethodGet, "/return", q, nil, &out, false); err != nil {
		return nil, "", err
	}
	next := ""
	if out.Next != nil && *out.Next != "" && len(out.Items) > 0 {
		v, err := nextQuery(*out.Next)
		if err != nil {
			return nil, "", &Error{Kind: KindProtocol, Method: http.MethodGet, Path: "/return", Message: "a next-page link Crossdock cannot follow", Err: err}
		}
		next = v.Get("Cursor")
	}
	return out.Items, next, nil
}

// ReturnEvent is what a return webhook says. ShipBob publishes no sample of
// the return.* bodies (FACTS-next: not verbatim-sourced); the twin sends
// the return as GET /return/{id} shows it with the event's time, and only
// its id is relied on: the return is read again before anything is written.
type ReturnEvent struct {
	ReturnID  int64
	Status    string
	EventTime time.Time
	Completed *time.Time
}

// DecodeReturnEvent reads a return webhook's body.
func DecodeReturnEvent(body []byte) (ReturnEvent, error) {
	var r struct {
		ID            json.Number `json:"id"`
		ReturnID      json.Number `json:"return_id"`
		Status        string      `json:"status"`
		EventTime     time.Time   `json:"event_time"`
		CompletedDate *time.Time  `json:"completed_date"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return ReturnEvent{}, err
	}
	ev := ReturnEvent{Status: strings.TrimSpace(r.Status), EventTime: r.EventTime, Completed: r.CompletedDate}
	id := r.ReturnID
	if id == "" {
		id = r.ID
	}
	if id == "" {
		return ev, errors.New("it names no return (no id)")
	}
	n, err := id.Int64()
	if err != nil || n <= 0 {
		return ev, fmt.Errorf("return id %q is not a number", id)
	}
	ev.ReturnID = n
	return ev, nil
}
