package sandbox

import (
	"fmt"
	"strings"
	"time"
)

// Fulfillment orders and fulfillmentCreate, as the 2026-04 Admin API has
// them: every order gets a fulfillment order at the location that ships it
// (here the first location), with one line per order line and a remaining
// quantity; fulfillmentCreate fulfils some or all of the remaining quantities
// of open fulfillment orders and records a fulfillment with its tracking. A
// fully fulfilled fulfillment order is CLOSED; a partly fulfilled one
// IN_PROGRESS; closed and cancelled ones accept no fulfillment.

// FulfillmentOrder is a group of order lines to ship from one location.
type FulfillmentOrder struct {
	ID         int64
	OrderID    int64
	LocationID int64
	Status     string // OPEN, IN_PROGRESS, CLOSED, CANCELLED
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Lines      []FulfillmentOrderLine
}

// GID is the fulfillment order's global id.
func (f FulfillmentOrder) GID() string { return gid("FulfillmentOrder", f.ID) }

// FulfillmentOrderLine is one order line in a fulfillment order.
type FulfillmentOrderLine struct {
	ID         int64
	LineItemID int64
	Total      int
	Remaining  int
}

// GID is the line's global id.
func (l FulfillmentOrderLine) GID() string { return gid("FulfillmentOrderLineItem", l.ID) }

// FulfilledLine is a quantity of one order line shipped by a fulfillment.
type FulfilledLine struct {
	ID         int64
	LineItemID int64
	Quantity   int
}

type (
	foRef     struct{ fo *FulfillmentOrder }
	foLineRef struct {
		fo *FulfillmentOrder
		l  *FulfillmentOrderLine
	}
	foLocRef       struct{ fo *FulfillmentOrder }
	fulfilledLine  struct{ l FulfilledLine }
	fulfillCreateP struct {
		f    *Fulfillment
		errs []userErr
	}
)

func init() {
	schema["QueryRoot"]["fulfillmentOrder"] = "FulfillmentOrder"
	schema["Mutation"]["fulfillmentCreate"] = "FulfillmentCreatePayload"
	schema["Order"]["fulfillmentOrders"] = "*FulfillmentOrder"
	schema["Fulfillment"]["fulfillmentLineItems"] = "*FulfillmentLineItem"
	schema["Fulfillment"]["totalQuantity"] = "Int"
	schema["Fulfillment"]["order"] = "Order"
	schema["FulfillmentOrder"] = map[string]string{"id": "ID", "status": "FulfillmentOrderStatus",
		"requestStatus": "FulfillmentOrderRequestStatus", "createdAt": "DateTime", "updatedAt": "DateTime", "orderId": "ID",
		"orderName": "String", "order": "Order", "assignedLocation": "FulfillmentOrderAssignedLocation",
		"lineItems": "*FulfillmentOrderLineItem"}
	schema["FulfillmentOrderAssignedLocation"] = map[string]string{"name": "String", "location": "Location"}
	schema["FulfillmentOrderLineItem"] = map[string]string{"id": "ID", "totalQuantity": "Int", "remainingQuantity": "Int",
		"sku": "String", "productTitle": "String", "lineItem": "LineItem", "variant": "ProductVariant"}
	schema["FulfillmentLineItem"] = map[string]string{"id": "ID", "quantity": "Int", "lineItem": "LineItem"}
	schema["FulfillmentCreatePayload"] = map[string]string{"fulfillment": "Fulfillment", "userErrors": "[UserError]"}
}

// fulfillmentOrdersLocked returns an order's fulfillment orders, creating
// them the first time they are asked for (an order made before, e.g. seeded
// with a fulfillment, gets them closed as far as it was fulfilled).
func (s *Shop) fulfillmentOrdersLocked(o *Order) []*FulfillmentOrder {
	if s.fos == nil {
		s.fos = map[int64][]*FulfillmentOrder{}
	}
	if fos, ok := s.fos[o.ID]; ok {
		return fos
	}
	s.seq++
	fo := &FulfillmentOrder{ID: 6000000000000 + s.seq, OrderID: o.ID, CreatedAt: o.CreatedAt, UpdatedAt: o.CreatedAt, Status: "OPEN"}
	if len(s.locations) > 0 {
		fo.LocationID = s.locations[0].ID
	}
	shipped := o.shippedByLine()
	open := false
	for _, li := range o.LineItems {
		s.seq++
		rem := max(li.Quantity-shipped[li.ID], 0)
		open = open || rem > 0
		fo.Lines = append(fo.Lines, FulfillmentOrderLine{ID: 6100000000000 + s.seq, LineItemID: li.ID, Total: li.Quantity, Remaining: rem})
	}
	if !open || o.CancelledAt != nil {
		fo.Status = "CLOSED"
	}
	s.fos[o.ID] = []*FulfillmentOrder{fo}
	if s.foByID == nil {
		s.foByID = map[int64]*FulfillmentOrder{}
	}
	s.foByID[fo.ID] = fo
	return s.fos[o.ID]
}

// shippedByLine sums what the fulfillments shipped per line item; a
// fulfillment without lines (seeded) shipped everything.
func (o Order) shippedByLine() map[int64]int {
	out := map[int64]int{}
	for _, f := range o.Fulfillments {
		if f.Status != "SUCCESS" {
			continue
		}
		if f.Lines == nil {
			for _, li := range o.LineItems {
				out[li.ID] = li.Quantity
			}
			continue
		}
		for _, l := range f.Lines {
			out[l.LineItemID] += l.Quantity
		}
	}
	return out
}

// FulfillmentOrders returns copies of an order's fulfillment orders.
func (s *Shop) FulfillmentOrders(orderID string) ([]FulfillmentOrder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, num, _ := parseGID(orderID)
	o := s.orderByID[num]
	if o == nil {
		return nil, fmt.Errorf("sandbox: order %s does not exist", orderID)
	}
	var out []FulfillmentOrder
	for _, fo := range s.fulfillmentOrdersLocked(o) {
		c := *fo
		c.Lines = append([]FulfillmentOrderLine(nil), fo.Lines...)
		out = append(out, c)
	}
	return out, nil
}

// FulfillDirect fulfils everything left of an order, as someone clicking
// "Mark as fulfilled" in the Shopify admin would (not a recorded write).
func (s *Shop) FulfillDirect(orderID, company, number string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, num, _ := parseGID(orderID)
	o := s.orderByID[num]
	if o == nil {
		return fmt.Errorf("sandbox: order %s does not exist", orderID)
	}
	in := map[string]any{"trackingInfo": map[string]any{"company": company, "number": number}}
	var pairs []any
	for _, fo := range s.fulfillmentOrdersLocked(o) {
		if fo.Status == "OPEN" || fo.Status == "IN_PROGRESS" {
			pairs = append(pairs, map[string]any{"fulfillmentOrderId": fo.GID()})
		}
	}
	in["lineItemsByFulfillmentOrder"] = pairs
	if p := s.fulfillmentCreate(map[string]any{"fulfillment": in}); len(p.errs) > 0 {
		return fmt.Errorf("sandbox: %s", p.errs[0].message)
	}
	return nil
}

// fulfillmentCreate applies a FulfillmentInput: all or nothing.
func (s *Shop) fulfillmentCreate(args map[string]any) fulfillCreateP {
	in, _ := args["fulfillment"].(map[string]any)
	bad := func(field []string, msg string) fulfillCreateP {
		return fulfillCreateP{errs: []userErr{{field: field, message: msg}}}
	}
	pairs, _ := in["lineItemsByFulfillmentOrder"].([]any)
	if len(pairs) == 0 {
		return bad([]string{"fulfillment", "lineItemsByFulfillmentOrder"}, "Line items by fulfillment order can't be blank.")
	}
	type take struct {
		l   *FulfillmentOrderLine
		qty int
	}
	var order *Order
	var takes []take
	touched := map[*FulfillmentOrder]bool{}
	for _, p := range pairs {
		pm, _ := p.(map[string]any)
		foID, _ := pm["fulfillmentOrderId"].(string)
		kind, num, ok := parseGID(foID)
		var fo *FulfillmentOrder
		if ok && kind == "FulfillmentOrder" {
			fo = s.foByID[num]
		}
		if fo == nil {
			return bad([]string{"fulfillment"}, "Fulfillment order does not exist.")
		}
		if order != nil && order.ID != fo.OrderID {
			return bad([]string{"fulfillment"}, "All fulfillment orders must belong to the same order.")
		}
		order = s.orderByID[fo.OrderID]
		if fo.Status != "OPEN" && fo.Status != "IN_PROGRESS" {
			return bad([]string{"fulfillment"}, fmt.Sprintf("Fulfillment order %d has an unfulfillable status= %s.", fo.ID, strings.ToLower(fo.Status)))
		}
		touched[fo] = true
		items, _ := pm["fulfillmentOrderLineItems"].([]any)
		if len(items) == 0 {
			for i := range fo.Lines {
				if fo.Lines[i].Remaining > 0 {
					takes = append(takes, take{&fo.Lines[i], fo.Lines[i].Remaining})
				}
			}
			continue
		}
		for _, it := range items {
			im, _ := it.(map[string]any)
			lid, _ := im["id"].(string)
			qty := toInt(im["quantity"])
			_, lnum, _ := parseGID(lid)
			var line *FulfillmentOrderLine
			for i := range fo.Lines {
				if fo.Lines[i].ID == lnum {
					line = &fo.Lines[i]
				}
			}
			if line == nil {
				return bad([]string{"fulfillment"}, "Fulfillment order line item does not exist.")
			}
			if qty <= 0 || qty > line.Remaining {
				return bad([]string{"fulfillment"}, "Invalid fulfillment order line item quantity requested.")
			}
			takes = append(takes, take{line, qty})
		}
	}
	if len(takes) == 0 {
		return bad([]string{"fulfillment"}, "Invalid fulfillment order line item quantity requested.")
	}
	now := s.now().UTC()
	s.seq++
	f := Fulfillment{ID: 4000000000000 + s.seq, Status: "SUCCESS", CreatedAt: now, Lines: []FulfilledLine{}}
	if t, ok := in["trackingInfo"].(map[string]any); ok {
		f.Company, _ = t["company"].(string)
		f.Number, _ = t["number"].(string)
		f.URL, _ = t["url"].(string)
	}
	for _, t := range takes {
		t.l.Remaining -= t.qty
		s.seq++
		f.Lines = append(f.Lines, FulfilledLine{ID: 6200000000000 + s.seq, LineItemID: t.l.LineItemID, Quantity: t.qty})
	}
	for fo := range touched {
		fo.Status, fo.UpdatedAt = "CLOSED", now
		for _, l := range fo.Lines {
			if l.Remaining > 0 {
				fo.Status = "IN_PROGRESS"
			}
		}
	}
	order.Fulfillments = append(order.Fulfillments, f)
	order.UpdatedAt = now
	return fulfillCreateP{f: &order.Fulfillments[len(order.Fulfillments)-1]}
}

// fulfillmentField resolves the fulfillment types; ok is false for others.
func (s *Shop) fulfillmentField(e *executor, src any, name string, args map[string]any) (any, bool, error) {
	switch v := src.(type) {
	case fulfillCreateP:
		if name == "userErrors" {
			return errList(v.errs), true, nil
		}
		if v.f == nil {
			return nil, true, nil
		}
		return fulfillRef{v.f}, true, nil
	case foRef:
		fo := v.fo
		switch name {
		case "id":
			return fo.GID(), true, nil
		case "status":
			return fo.Status, true, nil
		case "requestStatus":
			return "UNSUBMITTED", true, nil
		case "createdAt":
			return dt(fo.CreatedAt), true, nil
		case "updatedAt":
			return dt(fo.UpdatedAt), true, nil
		case "orderId":
			return gid("Order", fo.OrderID), true, nil
		case "orderName":
			return s.orderByID[fo.OrderID].Name, true, nil
		case "order":
			return nilIfMissing(s.orderByID[fo.OrderID]), true, nil
		case "assignedLocation":
			return foLocRef{fo}, true, nil
		case "lineItems":
			refs := make([]foLineRef, 0, len(fo.Lines))
			for i := range fo.Lines {
				refs = append(refs, foLineRef{fo, &fo.Lines[i]})
			}
			c, err := paginate(e, refs, func(r foLineRef) int64 { return r.l.ID }, args)
			return c, true, err
		}
		return nil, true, nil
	case foLocRef:
		var loc *Location
		for _, l := range s.locations {
			if l.ID == v.fo.LocationID {
				loc = l
			}
		}
		switch name {
		case "name":
			if loc == nil {
				return nil, true, nil
			}
			return loc.Name, true, nil
		case "location":
			return nilIfMissing(loc), true, nil
		}
		return nil, true, nil
	case foLineRef:
		li := s.lineItem(v.fo.OrderID, v.l.LineItemID)
		switch name {
		case "id":
			return v.l.GID(), true, nil
		case "totalQuantity":
			return v.l.Total, true, nil
		case "remainingQuantity":
			return v.l.Remaining, true, nil
		case "sku":
			if li == nil {
				return nil, true, nil
			}
			return nullable(li.SKU), true, nil
		case "productTitle":
			if li == nil {
				return nil, true, nil
			}
			return li.Title, true, nil
		case "lineItem":
			if li == nil {
				return nil, true, nil
			}
			return lineRef{li}, true, nil
		case "variant":
			if li == nil {
				return nil, true, nil
			}
			return nilIfMissing(s.variantByID[li.VariantID]), true, nil
		}
		return nil, true, nil
	case fulfilledLine:
		switch name {
		case "id":
			return gid("FulfillmentLineItem", v.l.ID), true, nil
		case "quantity":
			return v.l.Quantity, true, nil
		case "lineItem":
			for _, o := range s.orders {
				for i := range o.LineItems {
					if o.LineItems[i].ID == v.l.LineItemID {
						return lineRef{&o.LineItems[i]}, true, nil
					}
				}
			}
			return nil, true, nil
		}
		return nil, true, nil
	}
	return nil, false, nil
}

func (s *Shop) lineItem(orderID, lineID int64) *LineItem {
	o := s.orderByID[orderID]
	if o == nil {
		return nil
	}
	for i := range o.LineItems {
		if o.LineItems[i].ID == lineID {
			return &o.LineItems[i]
		}
	}
	return nil
}

// fulfillmentExtra resolves the fields this file adds to existing types.
func (s *Shop) orderFulfillmentOrders(e *executor, o *Order, args map[string]any) (any, error) {
	fos := s.fulfillmentOrdersLocked(o)
	refs := make([]foRef, 0, len(fos))
	for _, fo := range fos {
		refs = append(refs, foRef{fo})
	}
	return paginate(e, refs, func(r foRef) int64 { return r.fo.ID }, args)
}

func (s *Shop) fulfillmentLines(e *executor, f *Fulfillment, args map[string]any) (any, error) {
	refs := make([]fulfilledLine, 0, len(f.Lines))
	for _, l := range f.Lines {
		refs = append(refs, fulfilledLine{l})
	}
	return paginate(e, refs, func(r fulfilledLine) int64 { return r.l.ID }, args)
}

func (s *Shop) fulfillmentOrderByID(num int64) any {
	if fo := s.foByID[num]; fo != nil {
		return foRef{fo}
	}
	return nil
}
