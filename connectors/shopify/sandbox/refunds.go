package sandbox

import (
	"fmt"
	"strconv"
)

// refundCreate as the 2026-04 Admin API has it (RefundInput: orderId, note,
// notify, refundLineItems [{lineItemId, quantity, restockType, locationId}];
// RefundCreatePayload: refund, order, userErrors), with @idempotent(key:)
// required from 2026-04. A line restocked (RETURN, CANCEL) goes back to the
// available and on-hand quantities of its item at the location given; a
// NO_RESTOCK line does not. A line cannot refund more than was bought less
// what earlier refunds took. Transactions (money) are not modelled: the
// refund's total is its lines' price.

func init() {
	schema["Mutation"]["refundCreate"] = "RefundCreatePayload"
	schema["RefundCreatePayload"] = map[string]string{"refund": "Refund", "order": "Order", "userErrors": "[UserError]"}
	schema["RefundLineItem"]["location"] = "Location"
}

// RefundLineItemRestockType values.
var restockTypes = map[string]bool{"RETURN": true, "CANCEL": true, "NO_RESTOCK": true, "LEGACY_RESTOCK": true}

type refundCreateP struct {
	o    *Order
	r    *Refund
	errs []userErr
}

func (p refundCreateP) field(name string) any {
	switch name {
	case "userErrors":
		return errList(p.errs)
	case "refund":
		if p.r == nil {
			return nil
		}
		return refundRef{p.o, p.r}
	case "order":
		return nilIfMissing(p.o)
	}
	return nil
}

func (s *Shop) locationByID(id int64) *Location {
	for _, l := range s.locations {
		if l.ID == id {
			return l
		}
	}
	return nil
}

func (s *Shop) refundCreate(args map[string]any) refundCreateP {
	in, _ := args["input"].(map[string]any)
	bad := func(field []string, msg string) refundCreateP {
		return refundCreateP{errs: []userErr{{field: field, message: msg}}}
	}
	orderID, _ := in["orderId"].(string)
	kind, num, ok := parseGID(orderID)
	o := s.orderByID[num]
	if !ok || kind != "Order" || o == nil {
		return bad([]string{"orderId"}, "Order does not exist")
	}
	refunded := map[int64]int{}
	for _, r := range o.Refunds {
		for _, l := range r.Lines {
			refunded[l.LineItemID] += l.Quantity
		}
	}
	items, _ := in["refundLineItems"].([]any)
	if len(items) > maxInput {
		return bad([]string{"refundLineItems"}, fmt.Sprintf("The input array size of %d is greater than the maximum allowed of %d.", len(items), maxInput))
	}
	type take struct {
		li    *LineItem
		qty   int
		typ   string
		loc   *Location
		level *level
	}
	var takes []take
	for i, it := range items {
		m, _ := it.(map[string]any)
		field := func(f string) []string { return []string{"refundLineItems", strconv.Itoa(i), f} }
		lineID, _ := m["lineItemId"].(string)
		_, lid, _ := parseGID(lineID)
		var li *LineItem
		for j := range o.LineItems {
			if o.LineItems[j].ID == lid {
				li = &o.LineItems[j]
			}
		}
		if li == nil {
			return bad(field("lineItemId"), "Line item does not exist on this order")
		}
		q := toInt(m["quantity"])
		if q < 1 {
			return bad(field("quantity"), "Quantity must be greater than 0")
		}
		if refunded[li.ID]+q > li.Quantity {
			return bad(field("quantity"), fmt.Sprintf("Quantity cannot refund more items than were purchased (%d of %d already refunded)", refunded[li.ID], li.Quantity))
		}
		refunded[li.ID] += q
		typ, _ := m["restockType"].(string)
		if typ == "" {
			typ = "NO_RESTOCK"
		}
		if !restockTypes[typ] {
			return bad(field("restockType"), "Restock type is not valid")
		}
		t := take{li: li, qty: q, typ: typ}
		if typ != "NO_RESTOCK" {
			locID, _ := m["locationId"].(string)
			_, ln, _ := parseGID(locID)
			if t.loc = s.locationByID(ln); t.loc == nil {
				return bad(field("locationId"), "Location is required to restock")
			}
			v := s.variantByID[li.VariantID]
			if v != nil {
				t.level = s.levels[levelKey{v.InventoryItemID, t.loc.ID}]
			}
			if t.level == nil {
				return bad(field("locationId"), "The item is not stocked at this location")
			}
		}
		takes = append(takes, t)
	}
	if len(takes) == 0 {
		return bad([]string{"refundLineItems"}, "A refund needs line items to refund")
	}
	now := s.now()
	s.seq++
	r := Refund{ID: 9000000000000 + s.seq, CreatedAt: now}
	r.Note, _ = in["note"].(string)
	var cents int64
	for _, t := range takes {
		s.seq++
		rl := RefundLine{ID: 11000000000000 + s.seq, LineItemID: t.li.ID, Quantity: t.qty, RestockType: t.typ}
		if t.loc != nil {
			rl.LocationID = t.loc.ID
			t.level.available += t.qty
			t.level.onHand += t.qty
			t.level.updatedAt = now
		}
		cents += parseCents(t.li.Price) * int64(t.qty)
		r.Lines = append(r.Lines, rl)
	}
	r.Amount = formatCents(cents)
	o.Refunds = append(o.Refunds, r)
	o.UpdatedAt = now
	return refundCreateP{o: o, r: &o.Refunds[len(o.Refunds)-1]}
}
