package sandbox

import (
	"fmt"
	"math"
	"strings"
)

// The stock side of deliveries: carriers (delivery.carrier), transfers
// (stock.picking), their moves (stock.move) and move lines (stock.move.line),
// with the field names of Odoo 17+ (stock.move.line.quantity, no qty_done).
// A delivery order is an outgoing picking; validating it ("done") takes its
// quantities out of stock. sale_id links it to the sales order it ships (the
// sale_stock module), carrier_tracking_ref and carrier_id come from the
// stock_delivery module.

// trackingPlaceholder is what a carrier's tracking link replaces with the
// tracking reference (delivery.carrier.tracking_url).
const trackingPlaceholder = "<shipmenttrackingnumber>"

// Fixed ids of the seeded carriers.
const (
	CarrierDHL = 1 // DHL Express, with a tracking link
	CarrierUPS = 2 // UPS, with a tracking link
	CarrierOwn = 3 // "Own delivery": no tracking link
)

func (s *Server) buildStockModels() {
	add := func(m *model) { s.models[m.name] = m }
	carrier := newModel("delivery.carrier", "Shipping Methods", "Inventory / Administrator", map[string]*field{
		"name":         req(char("Delivery Method")),
		"tracking_url": char("Tracking Link"),
		"active":       flag("Active"),
	})
	carrier.defaults = func(_ *Server, r record) { setDefault(r, "active", true) }
	add(carrier)

	picking := newModel("stock.picking", "Transfer", "Inventory / Administrator", map[string]*field{
		"name":                 char("Reference"),
		"origin":               char("Source Document"),
		"partner_id":           m2o("Contact", "res.partner"),
		"picking_type_code":    sel("Type of Operation", "incoming", "outgoing", "internal"),
		"state":                sel("Status", "draft", "waiting", "confirmed", "assigned", "done", "cancel"),
		"location_id":          m2o("Source Location", "stock.location"),
		"location_dest_id":     m2o("Destination Location", "stock.location"),
		"sale_id":              m2o("Sales Order", "sale.order"),
		"carrier_id":           m2o("Carrier", "delivery.carrier"),
		"carrier_tracking_ref": char("Tracking Reference"),
		"date_done":            when("Date of Transfer"),
		"move_ids":             o2m("Stock moves", "stock.move", "picking_id"),
		"move_line_ids":        o2m("Operations", "stock.move.line", "picking_id"),
		"carrier_tracking_url": {typ: tChar, label: "Tracking URL", compute: func(s *Server, r record) any {
			ref, _ := r["carrier_tracking_ref"].(string)
			c := s.models["delivery.carrier"].recs[id(r, "carrier_id")]
			if ref == "" || c == nil {
				return ""
			}
			link, _ := c["tracking_url"].(string)
			if link == "" {
				return ""
			}
			return strings.ReplaceAll(link, trackingPlaceholder, ref)
		}},
	})
	picking.defaults = func(s *Server, r record) {
		setDefault(r, "state", "draft")
		setDefault(r, "picking_type_code", "outgoing")
		if r["name"] == nil || r["name"] == "" {
			s.counter["stock.picking"]++
			r["name"] = fmt.Sprintf("WH/OUT/%05d", s.counter["stock.picking"])
		}
	}
	add(picking)

	move := newModel("stock.move", "Stock Move", "Inventory / Administrator", map[string]*field{
		"name":             req(char("Description")),
		"reference":        char("Reference"),
		"origin":           char("Source Document"),
		"picking_id":       m2o("Transfer", "stock.picking"),
		"product_id":       req(m2o("Product", "product.product")),
		"product_uom_qty":  num("Demand"),
		"quantity":         num("Quantity"),
		"location_id":      m2o("Source Location", "stock.location"),
		"location_dest_id": m2o("Destination Location", "stock.location"),
		"sale_line_id":     m2o("Sale Line", "sale.order.line"),
		"is_inventory":     flag("Inventory"),
		"state":            sel("Status", "draft", "waiting", "confirmed", "partially_available", "assigned", "done", "cancel"),
		"move_line_ids":    o2m("Move Lines", "stock.move.line", "move_id"),
	})
	move.defaults = func(_ *Server, r record) { setDefault(r, "state", "draft") }
	add(move)

	add(newModel("stock.move.line", "Product Moves (Stock Move Line)", "Inventory / Administrator", map[string]*field{
		"move_id":          m2o("Stock Operation", "stock.move"),
		"picking_id":       m2o("Transfer", "stock.picking"),
		"product_id":       m2o("Product", "product.product"),
		"quantity":         num("Quantity"),
		"location_id":      m2o("From", "stock.location"),
		"location_dest_id": m2o("To", "stock.location"),
		"reference":        char("Reference"),
		"state":            sel("Status", "draft", "waiting", "confirmed", "partially_available", "assigned", "done", "cancel"),
	}))

	for _, c := range []record{
		{"name": "DHL Express", "tracking_url": "https://www.dhl.com/en/express/tracking.html?AWB=" + trackingPlaceholder},
		{"name": "UPS", "tracking_url": "https://www.ups.com/track?tracknum=" + trackingPlaceholder},
		{"name": "Own delivery"},
	} {
		s.insertLocked(carrier, c)
	}
}

// insertLocked stores a record with its defaults and empty values, behind
// the API (no write is logged).
func (s *Server) insertLocked(m *model, vals record) int {
	rid := m.nextID
	m.nextID++
	vals["id"] = rid
	if m.defaults != nil {
		m.defaults(s, vals)
	}
	for name, f := range m.fields {
		if _, ok := vals[name]; !ok && f.compute == nil && f.typ != tOne2many {
			vals[name] = zero(f.typ)
		}
	}
	now := s.stamp()
	vals["create_date"], vals["write_date"] = now, now
	m.put(rid, vals)
	return rid
}

// NewDelivery describes a delivery order for AddDelivery.
type NewDelivery struct {
	// SaleOrderID is the sales order shipped (sale_id); 0 for none.
	SaleOrderID int
	// Lines are products and quantities shipped; empty ships every line of
	// the sales order in full.
	Lines []DeliveryLine
	// CarrierID is a delivery.carrier (0: none); TrackingRef its tracking number.
	CarrierID   int
	TrackingRef string
	// Done validates the delivery at once (state done, stock taken out of WH/Stock).
	Done bool
}

// DeliveryLine is one product of a delivery.
type DeliveryLine struct {
	ProductID int
	Quantity  float64
}

// Picking is a stock.picking as the sandbox holds it.
type Picking struct {
	ID          int
	Name        string
	State       string
	SaleOrderID int
	TrackingRef string
	CarrierID   int
}

// AddDelivery creates a delivery order (outgoing picking from WH/Stock to
// the customer) with one move and one move line per product, as a warehouse
// worker would in Odoo: no write is logged.
func (s *Server) AddDelivery(in NewDelivery) (Picking, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	so := s.models["sale.order"].recs[in.SaleOrderID]
	if in.SaleOrderID != 0 && so == nil {
		return Picking{}, fmt.Errorf("sandbox: sale order %d does not exist", in.SaleOrderID)
	}
	lines := in.Lines
	if len(lines) == 0 && so != nil {
		for _, lid := range s.inverseIDs(s.models["sale.order"].fields["order_line"], in.SaleOrderID) {
			l := s.models["sale.order.line"].recs[lid]
			if pid := id(l, "product_id"); pid != 0 {
				lines = append(lines, DeliveryLine{ProductID: pid, Quantity: num64(l, "product_uom_qty")})
			}
		}
	}
	if len(lines) == 0 {
		return Picking{}, fmt.Errorf("sandbox: a delivery needs at least one line")
	}
	vals := record{"picking_type_code": "outgoing", "state": "assigned", "location_id": LocationStock,
		"location_dest_id": LocationCustomers, "sale_id": in.SaleOrderID, "carrier_id": in.CarrierID,
		"carrier_tracking_ref": in.TrackingRef}
	if so != nil {
		vals["origin"], vals["partner_id"] = so["name"], so["partner_id"]
	}
	pid := s.insertLocked(s.models["stock.picking"], vals)
	pname := str(s.models["stock.picking"].recs[pid], "name")
	for _, l := range lines {
		if s.models["product.product"].recs[l.ProductID] == nil {
			return Picking{}, fmt.Errorf("sandbox: product %d does not exist", l.ProductID)
		}
		mid := s.insertLocked(s.models["stock.move"], record{"name": pname, "reference": pname, "picking_id": pid,
			"product_id": l.ProductID, "product_uom_qty": l.Quantity, "quantity": l.Quantity, "state": "assigned",
			"location_id": LocationStock, "location_dest_id": LocationCustomers, "origin": vals["origin"]})
		s.insertLocked(s.models["stock.move.line"], record{"move_id": mid, "picking_id": pid, "product_id": l.ProductID,
			"quantity": l.Quantity, "reference": pname, "state": "assigned", "location_id": LocationStock,
			"location_dest_id": LocationCustomers})
	}
	if in.Done {
		s.validateLocked(pid)
	}
	return s.pickingLocked(pid), nil
}

// ValidateDelivery marks a delivery done (button_validate), as a warehouse
// worker would: stock leaves WH/Stock; no write is logged.
func (s *Server) ValidateDelivery(pickingID int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models["stock.picking"].recs[pickingID] == nil {
		return fmt.Errorf("sandbox: picking %d does not exist", pickingID)
	}
	s.validateLocked(pickingID)
	return nil
}

// SetTrackingDirect sets a delivery's carrier and tracking reference, as
// someone typing them in Odoo would; no write is logged.
func (s *Server) SetTrackingDirect(pickingID, carrierID int, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.models["stock.picking"].recs[pickingID]
	if p == nil {
		return fmt.Errorf("sandbox: picking %d does not exist", pickingID)
	}
	p["carrier_id"], p["carrier_tracking_ref"], p["write_date"] = carrierID, ref, s.stamp()
	return nil
}

func (s *Server) validateLocked(pickingID int) {
	p := s.models["stock.picking"].recs[pickingID]
	if p["state"] == "done" {
		return
	}
	now := s.stamp()
	moves := s.models["stock.move"]
	for _, mid := range s.inverseIDs(s.models["stock.picking"].fields["move_ids"], pickingID) {
		mv := moves.recs[mid]
		mv["state"], mv["write_date"] = "done", now
		for _, lid := range s.inverseIDs(moves.fields["move_line_ids"], mid) {
			s.models["stock.move.line"].recs[lid]["state"] = "done"
		}
		s.takeStockLocked(id(mv, "product_id"), id(p, "location_id"), num64(mv, "quantity"))
	}
	p["state"], p["date_done"], p["write_date"] = "done", now, now
}

// takeStockLocked removes shipped quantity from the plain quant of a product
// at a location (creating it, negative, when there is none: Odoo allows it).
func (s *Server) takeStockLocked(productID, locationID int, qty float64) {
	m := s.models["stock.quant"]
	for _, qid := range m.sortedIDs() {
		q := m.recs[qid]
		if id(q, "product_id") == productID && id(q, "location_id") == locationID && id(q, "lot_id") == 0 &&
			id(q, "package_id") == 0 && id(q, "owner_id") == 0 {
			q["quantity"] = round2(num64(q, "quantity") - qty)
			q["write_date"] = s.stamp()
			return
		}
	}
	s.insertLocked(m, record{"product_id": productID, "location_id": locationID, "quantity": -qty})
}

func (s *Server) pickingLocked(pid int) Picking {
	p := s.models["stock.picking"].recs[pid]
	return Picking{ID: pid, Name: str(p, "name"), State: str(p, "state"), SaleOrderID: id(p, "sale_id"),
		TrackingRef: str(p, "carrier_tracking_ref"), CarrierID: id(p, "carrier_id")}
}

// InventoryMoves returns the stock moves booked by inventory adjustments
// (is_inventory), with the name each was applied under (the inventory_name
// context), oldest first.
func (s *Server) InventoryMoves() []InventoryMove {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["stock.move"]
	var out []InventoryMove
	for _, mid := range m.sortedIDs() {
		r := m.recs[mid]
		if r["is_inventory"] != true {
			continue
		}
		q := num64(r, "quantity")
		if id(r, "location_dest_id") == LocationInventory {
			q = -q
		}
		loc := id(r, "location_dest_id")
		if q < 0 {
			loc = id(r, "location_id")
		}
		out = append(out, InventoryMove{ID: mid, Name: str(r, "name"), ProductID: id(r, "product_id"), LocationID: loc, Quantity: q})
	}
	return out
}

// InventoryMove is a stock.move booked by an inventory adjustment; Quantity
// is signed (positive: stock came in).
type InventoryMove struct {
	ID         int
	Name       string
	ProductID  int
	LocationID int
	Quantity   float64
}

// bookInventoryMoveLocked records the stock.move an applied count books, as
// stock.quant._apply_inventory does: named after the inventory_name context
// ("Product Quantity Updated" without it), from the inventory-loss location
// into the quant's location when stock grows, the other way when it shrinks.
func (s *Server) bookInventoryMoveLocked(q record, diff float64, ctx map[string]any) {
	name, _ := ctx["inventory_name"].(string)
	if name == "" {
		name = "Product Quantity Updated"
	}
	from, to := LocationInventory, id(q, "location_id")
	if diff < 0 {
		from, to = to, from
	}
	s.insertLocked(s.models["stock.move"], record{"name": name, "reference": name, "product_id": id(q, "product_id"),
		"product_uom_qty": math.Abs(diff), "quantity": math.Abs(diff), "location_id": from, "location_dest_id": to,
		"is_inventory": true, "state": "done"})
}
