package shopify

import (
	"context"
	"errors"
	"strings"
	"time"
)

// FulfillmentOrdersQuery reads what an order still has to ship and what it
// shipped already: its fulfillment orders with their lines' remaining
// quantities, and its fulfillments with their tracking. About 560 points at
// most (5 fulfillment orders of 50 lines).
const FulfillmentOrdersQuery = `query CrossdockFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id name displayFulfillmentStatus cancelledAt
    fulfillments(first: 50) { id status createdAt trackingInfo { company number url } }
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: 50) { nodes { id totalQuantity remainingQuantity sku variant { id } } }
      }
    }
  }
}`

// FulfillmentOrderLine is one line of a fulfillment order.
type FulfillmentOrderLine struct {
	ID                string  `json:"id"`
	TotalQuantity     int     `json:"totalQuantity"`
	RemainingQuantity int     `json:"remainingQuantity"`
	SKU               *string `json:"sku"`
	Variant           *struct {
		ID string `json:"id"`
	} `json:"variant"`
}

// VariantID is the line's variant GID, "" for a custom item.
func (l FulfillmentOrderLine) VariantID() string {
	if l.Variant == nil {
		return ""
	}
	return l.Variant.ID
}

// FulfillmentOrder is the part of an order one location ships.
type FulfillmentOrder struct {
	ID string `json:"id"`
	// Status is OPEN, IN_PROGRESS, CLOSED, CANCELLED, INCOMPLETE, ON_HOLD or SCHEDULED.
	Status           string `json:"status"`
	AssignedLocation struct {
		Location *struct {
			ID string `json:"id"`
		} `json:"location"`
	} `json:"assignedLocation"`
	LineItems struct {
		Nodes []FulfillmentOrderLine `json:"nodes"`
	} `json:"lineItems"`
}

// Fulfillable reports whether the fulfillment order accepts a fulfillment.
func (f FulfillmentOrder) Fulfillable() bool { return f.Status == "OPEN" || f.Status == "IN_PROGRESS" }

// OrderShipping is an order's fulfillment orders and fulfillments.
type OrderShipping struct {
	ID                       string        `json:"id"`
	Name                     string        `json:"name"`
	DisplayFulfillmentStatus string        `json:"displayFulfillmentStatus"`
	CancelledAt              *time.Time    `json:"cancelledAt"`
	Fulfillments             []Fulfillment `json:"fulfillments"`
	FulfillmentOrders        struct {
		Nodes []FulfillmentOrder `json:"nodes"`
	} `json:"fulfillmentOrders"`
}

// FulfillmentWithTracking returns the fulfillment (not cancelled) that
// carries a tracking number, if there is one.
func (o OrderShipping) FulfillmentWithTracking(number string) (Fulfillment, bool) {
	number = strings.TrimSpace(number)
	if number == "" {
		return Fulfillment{}, false
	}
	for _, f := range o.Fulfillments {
		if f.Status == "CANCELLED" || f.Status == "ERROR" || f.Status == "FAILURE" {
			continue
		}
		for _, t := range f.TrackingInfo {
			if t.Number != nil && strings.EqualFold(strings.TrimSpace(*t.Number), number) {
				return f, true
			}
		}
	}
	return Fulfillment{}, false
}

// OrderShipping reads an order's fulfillment orders and fulfillments; found
// is false when Shopify has no such order.
func (c *Client) OrderShipping(ctx context.Context, orderID string) (o OrderShipping, found bool, err error) {
	var out struct {
		Order *OrderShipping `json:"order"`
	}
	if err := c.Do(ctx, FulfillmentOrdersQuery, map[string]any{"id": orderID}, &out); err != nil {
		return OrderShipping{}, false, err
	}
	if out.Order == nil {
		return OrderShipping{}, false, nil
	}
	return *out.Order, true, nil
}

// FulfillmentCreateMutation creates one fulfillment from fulfillment orders of one order.
const FulfillmentCreateMutation = `mutation CrossdockFulfillmentCreate($fulfillment: FulfillmentInput!, $message: String) {
  fulfillmentCreate(fulfillment: $fulfillment, message: $message) {
    fulfillment { id status createdAt trackingInfo { company number url } }
    userErrors { field message }
  }
}`

// FulfillmentInput is what CreateFulfillment ships.
type FulfillmentInput struct {
	// Orders pairs each fulfillment order with the quantities of its lines to
	// ship (every remaining line when Lines is empty).
	Orders         []FulfillmentOrderLines `json:"line_items_by_fulfillment_order"`
	Tracking       *Tracking               `json:"tracking,omitempty"`
	NotifyCustomer bool                    `json:"notify_customer"`
	Message        string                  `json:"message,omitempty"`
}

// FulfillmentOrderLines is the part of one fulfillment order to ship.
type FulfillmentOrderLines struct {
	FulfillmentOrderID string             `json:"fulfillment_order_id"`
	Lines              []FulfillmentLineQ `json:"lines,omitempty"`
}

// FulfillmentLineQ is a quantity of one fulfillment order line.
type FulfillmentLineQ struct {
	ID       string `json:"id"`
	Quantity int    `json:"quantity"`
}

// Tracking is a shipment's tracking information.
type Tracking struct {
	Company string `json:"company,omitempty"`
	Number  string `json:"number,omitempty"`
	URL     string `json:"url,omitempty"`
}

var errNoFulfillmentOrders = errors.New("a fulfillment needs at least one fulfillment order")

// CreateFulfillment ships in with fulfillmentCreate. Shopify has no
// idempotency key for it: callers check the order's fulfillments (by
// tracking number) and remaining quantities before calling, and serialise
// per order.
func (c *Client) CreateFulfillment(ctx context.Context, in FulfillmentInput) (Fulfillment, error) {
	if len(in.Orders) == 0 {
		return Fulfillment{}, &Error{Kind: KindValidation, Message: errNoFulfillmentOrders.Error(), Err: errNoFulfillmentOrders}
	}
	pairs := make([]map[string]any, 0, len(in.Orders))
	for _, fo := range in.Orders {
		p := map[string]any{"fulfillmentOrderId": fo.FulfillmentOrderID}
		if len(fo.Lines) > 0 {
			ls := make([]map[string]any, 0, len(fo.Lines))
			for _, l := range fo.Lines {
				ls = append(ls, map[string]any{"id": l.ID, "quantity": l.Quantity})
			}
			p["fulfillmentOrderLineItems"] = ls
		}
		pairs = append(pairs, p)
	}
	input := map[string]any{"lineItemsByFulfillmentOrder": pairs, "notifyCustomer": in.NotifyCustomer}
	if t := in.Tracking; t != nil {
		ti := map[string]any{}
		if t.Company != "" {
			ti["company"] = t.Company
		}
		if t.Number != "" {
			ti["number"] = t.Number
		}
		if t.URL != "" {
			ti["url"] = t.URL
		}
		input["trackingInfo"] = ti
	}
	vars := map[string]any{"fulfillment": input}
	if in.Message != "" {
		vars["message"] = in.Message
	}
	var out struct {
		FulfillmentCreate struct {
			Fulfillment *Fulfillment `json:"fulfillment"`
			UserErrors  []UserError  `json:"userErrors"`
		} `json:"fulfillmentCreate"`
	}
	if err := c.Do(ctx, FulfillmentCreateMutation, vars, &out); err != nil {
		return Fulfillment{}, err
	}
	if err := userErrorsToError(out.FulfillmentCreate.UserErrors); err != nil {
		return Fulfillment{}, err
	}
	if out.FulfillmentCreate.Fulfillment == nil {
		return Fulfillment{}, &Error{Kind: KindProtocol, Message: "fulfillmentCreate answered no fulfillment and no error"}
	}
	return *out.FulfillmentCreate.Fulfillment, nil
}
