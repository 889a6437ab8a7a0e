package sandbox

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

type fieldType int

const (
	tChar fieldType = iota
	tInteger
	tFloat
	tBoolean
	tMany2one
	tOne2many
	tMany2many
	tDatetime
	tDate
	tSelection
)

var fieldTypeNames = map[fieldType]string{
	tChar: "char", tInteger: "integer", tFloat: "float", tBoolean: "boolean", tMany2one: "many2one",
	tOne2many: "one2many", tMany2many: "many2many", tDatetime: "datetime", tDate: "date", tSelection: "selection",
}

// field is one column of a model. Stored values are Go values: string for
// char/date/datetime/selection ("" is empty), int for integer and many2one
// (0 is empty), float64, bool, []int for many2many. one2many values are
// derived from the inverse many2one on read.
type field struct {
	typ       fieldType
	label     string
	relation  string
	inverse   string // one2many: the many2one on the relation pointing back
	required  bool
	selection []string
	// compute makes the field read-only and derived on read.
	compute func(s *Server, rec record) any
}

type record map[string]any

// model is an in-memory table.
type model struct {
	name        string
	description string // the _description, used in error messages
	group       string // the group named by AccessError messages
	fields      map[string]*field
	// recs is written only through put and remove, which keep order and
	// index in step with it.
	recs        map[int]record
	nextID      int
	displayName func(s *Server, rec record) string
	defaults    func(s *Server, rec record)
	// order is the ids in ascending order, nil when it must be rebuilt.
	// Slices handed out are only ever appended to, never changed in place.
	order []int
	// index maps, for the fields in it, a non-empty stored value to the ids
	// holding it, ascending: the many2one fields one2many fields are the
	// inverse of, and the references searched for with "=". indexed is the
	// reverse (field name → id → value indexed), so a record replaced, or
	// changed in place then put back, leaves the list of its old value.
	index   map[string]map[any][]int
	indexed map[string]map[int]any
}

func (m *model) has(name string) bool { _, ok := m.fields[name]; return ok }

// sortedIDs returns the ids in ascending order. The slice is shared: callers
// must not modify it.
func (m *model) sortedIDs() []int {
	if m.order == nil || len(m.order) != len(m.recs) {
		ids := make([]int, 0, len(m.recs))
		for id := range m.recs {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		m.order = ids
	}
	return m.order
}

// put stores rec under id, new or replacing (or re-indexing, when rec was
// changed in place) the record already there. Every store goes through put
// and every delete through remove.
func (m *model) put(id int, rec record) {
	if _, ok := m.recs[id]; !ok && m.order != nil {
		if n := len(m.order); n > 0 && m.order[n-1] > id {
			m.order = nil // ids are handed out ascending; anything else rebuilds
		} else {
			m.order = append(m.order, id)
		}
	}
	m.recs[id] = rec
	for name, byValue := range m.index {
		old, had := m.indexed[name][id]
		v := indexValue(name, rec)
		ok := false
		switch v.(type) {
		case int, string:
			ok = !isEmpty(v)
		}
		if had && (!ok || old != v) {
			m.unindex(name, id, old)
		}
		if ok && (!had || old != v) {
			ids := byValue[v]
			if n := len(ids); n == 0 || ids[n-1] < id {
				byValue[v] = append(ids, id)
			} else {
				i, _ := slices.BinarySearch(ids, id)
				byValue[v] = slices.Insert(slices.Clone(ids), i, id)
			}
			m.indexed[name][id] = v
		}
	}
}

// remove deletes the record id, if there is one.
func (m *model) remove(id int) {
	if _, ok := m.recs[id]; !ok {
		return
	}
	delete(m.recs, id)
	m.order = nil
	for name := range m.index {
		if old, had := m.indexed[name][id]; had {
			m.unindex(name, id, old)
		}
	}
}

// unindex takes id out of the list of value, on a copy: a list handed out
// may be being ranged over.
func (m *model) unindex(name string, id int, value any) {
	ids := slices.DeleteFunc(slices.Clone(m.index[name][value]), func(x int) bool { return x == id })
	if len(ids) == 0 {
		delete(m.index[name], value)
	} else {
		m.index[name][value] = ids
	}
	delete(m.indexed[name], id)
}

// withValue returns the ids whose field name holds value, ascending, and
// whether name is indexed. The slice is shared: callers must not modify it.
func (m *model) withValue(name string, value any) ([]int, bool) {
	byValue, ok := m.index[name]
	return byValue[value], ok
}

// childIDs returns the ids of the records whose many2one name points to
// parentID (not 0), ascending, in a new slice (never nil).
func (m *model) childIDs(name string, parentID int) []int {
	ids, _ := m.withValue(name, parentID)
	return append([]int{}, ids...)
}

// searchedRefs are the references the connector looks records up by with
// "=", once per order, refund or stock level: without an index each lookup
// reads every record. A name "ilike:<field>" indexes the field's value
// case-folded (foldKey), for "=ilike" with a pattern without wildcards: a
// customer looked up by e-mail.
var searchedRefs = map[string][]string{"sale.order": {"client_order_ref"}, "account.move": {"ref"},
	"stock.quant": {"product_id"}, "res.partner": {"ilike:email"}}

// indexValue is what the index name holds of rec: the field's value, or for
// "ilike:<field>" its case-folded text.
func indexValue(name string, rec record) any {
	field, ok := strings.CutPrefix(name, "ilike:")
	if !ok {
		return rec[name]
	}
	if v, _ := rec[field].(string); v != "" {
		return foldKey(v)
	}
	return nil
}

// foldKey maps each character of s to the smallest of those it equals
// case-insensitively (its Unicode simple folding orbit), so that two texts
// ILIKE-equal without wildcards have the same key.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// indexFields sets up the indexes of every model (see model.index). It runs
// before the first record is stored.
func (s *Server) indexFields() {
	add := func(m *model, name string) {
		if m.index == nil {
			m.index, m.indexed = map[string]map[any][]int{}, map[string]map[int]any{}
		}
		m.index[name], m.indexed[name] = map[any][]int{}, map[int]any{}
	}
	for _, m := range s.models {
		for _, f := range m.fields {
			if f.typ == tOne2many {
				add(s.models[f.relation], f.inverse)
			}
		}
		for _, name := range searchedRefs[m.name] {
			add(m, name)
		}
	}
}

func newModel(name, description, group string, fields map[string]*field) *model {
	m := &model{name: name, description: description, group: group, fields: fields, recs: map[int]record{}, nextID: 1}
	m.fields["id"] = &field{typ: tInteger, label: "ID"}
	m.fields["create_date"] = &field{typ: tDatetime, label: "Created on"}
	m.fields["write_date"] = &field{typ: tDatetime, label: "Last Updated on"}
	m.fields["display_name"] = &field{typ: tChar, label: "Display Name", compute: func(s *Server, rec record) any {
		return s.displayName(m, rec)
	}}
	return m
}

func char(label string) *field { return &field{typ: tChar, label: label} }
func num(label string) *field  { return &field{typ: tFloat, label: label} }
func flag(label string) *field { return &field{typ: tBoolean, label: label} }
func date(label string) *field { return &field{typ: tDate, label: label} }
func when(label string) *field { return &field{typ: tDatetime, label: label} }
func req(f *field) *field      { f.required = true; return f }
func m2o(label, rel string) *field {
	return &field{typ: tMany2one, label: label, relation: rel}
}
func o2m(label, rel, inverse string) *field {
	return &field{typ: tOne2many, label: label, relation: rel, inverse: inverse}
}
func m2m(label, rel string) *field { return &field{typ: tMany2many, label: label, relation: rel} }
func sel(label string, values ...string) *field {
	return &field{typ: tSelection, label: label, selection: values}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// buildModels declares the models the sandbox knows, with the field names of
// the Odoo version it pretends to be.
func (s *Server) buildModels() {
	add := func(m *model) { s.models[m.name] = m }

	add(newModel("uom.uom", "Product Unit of Measure", "Inventory / Administrator", map[string]*field{
		"name": req(char("Unit")),
	}))

	// A currency's display name is its ISO code ("EUR"), as in Odoo.
	add(newModel("res.currency", "Currency", "Administration / Settings", map[string]*field{
		"name":   req(char("Currency")),
		"symbol": char("Symbol"),
		"active": flag("Active"),
	}))
	add(newModel("res.company", "Companies", "Administration / Settings", map[string]*field{
		"name":        req(char("Company Name")),
		"currency_id": req(m2o("Currency", "res.currency")),
	}))

	add(newModel("account.tax", "Tax", "Invoicing / Billing", map[string]*field{
		"name":   req(char("Tax Name")),
		"amount": num("Amount"),
	}))

	product := newModel("product.product", "Product Variant", "Inventory / Administrator", map[string]*field{
		"name":             req(char("Name")),
		"default_code":     char("Internal Reference"),
		"barcode":          char("Barcode"),
		"description_sale": char("Sales Description"),
		"weight":           num("Weight"),
		"list_price":       num("Sales Price"),
		"standard_price":   num("Cost"),
		"active":           flag("Active"),
		"uom_id":           m2o("Unit", "uom.uom"),
		"type":             sel("Product Type", "consu", "service", "combo"),
		"is_storable":      flag("Track Inventory"),
		// Empty (0): shared by every company, as Odoo's products are by default.
		"company_id": m2o("Company", "res.company"),
		"lst_price": {typ: tFloat, label: "Sales Price", compute: func(_ *Server, r record) any {
			return r["list_price"]
		}},
		"qty_available": {typ: tFloat, label: "Quantity On Hand", compute: func(s *Server, r record) any {
			return s.onHand(r["id"].(int))
		}},
		// Related on product.template: the company's currency, in which
		// list_price and standard_price are expressed.
		"currency_id": {typ: tMany2one, label: "Currency", relation: "res.currency", compute: func(s *Server, _ record) any {
			return s.companyCurrency()
		}},
		"cost_currency_id": {typ: tMany2one, label: "Cost Currency", relation: "res.currency", compute: func(s *Server, _ record) any {
			return s.companyCurrency()
		}},
	})
	product.displayName = func(_ *Server, r record) string {
		if code, _ := r["default_code"].(string); code != "" {
			return fmt.Sprintf("[%s] %s", code, r["name"])
		}
		return r["name"].(string)
	}
	product.defaults = func(_ *Server, r record) {
		setDefault(r, "active", true)
		setDefault(r, "uom_id", 1)
		setDefault(r, "type", "consu")
		setDefault(r, "is_storable", true)
		setDefault(r, "list_price", 1.0)
	}
	add(product)

	warehouse := newModel("stock.warehouse", "Warehouse", "Inventory / Administrator", map[string]*field{
		"name":         req(char("Warehouse")),
		"code":         req(char("Short Name")),
		"lot_stock_id": m2o("Location Stock", "stock.location"),
		"active":       flag("Active"),
	})
	warehouse.defaults = func(_ *Server, r record) { setDefault(r, "active", true) }
	add(warehouse)

	location := newModel("stock.location", "Inventory Locations", "Inventory / Administrator", map[string]*field{
		"name":          req(char("Location Name")),
		"complete_name": char("Full Location Name"),
		"location_id":   m2o("Parent Location", "stock.location"),
		"usage": sel("Location Type", "supplier", "view", "internal", "customer", "inventory",
			"production", "transit"),
		"warehouse_id": m2o("Warehouse", "stock.warehouse"),
		"active":       flag("Active"),
	})
	location.displayName = func(_ *Server, r record) string { return r["complete_name"].(string) }
	location.defaults = func(_ *Server, r record) {
		setDefault(r, "active", true)
		setDefault(r, "usage", "internal")
		setDefault(r, "complete_name", r["name"])
	}
	add(location)

	quant := newModel("stock.quant", "Quants", "Inventory / Administrator", map[string]*field{
		"product_id":             req(m2o("Product", "product.product")),
		"location_id":            req(m2o("Location", "stock.location")),
		"lot_id":                 m2o("Lot/Serial Number", "stock.lot"),
		"package_id":             m2o("Package", "stock.quant.package"),
		"owner_id":               m2o("Owner", "res.partner"),
		"quantity":               num("Quantity"),
		"reserved_quantity":      num("Reserved Quantity"),
		"inventory_quantity":     num("Counted Quantity"),
		"inventory_quantity_set": flag("Inventory Quantity Set"),
		"available_quantity": {typ: tFloat, label: "Available Quantity", compute: func(_ *Server, r record) any {
			return round2(r["quantity"].(float64) - r["reserved_quantity"].(float64))
		}},
		"inventory_diff_quantity": {typ: tFloat, label: "Difference", compute: func(_ *Server, r record) any {
			if !r["inventory_quantity_set"].(bool) {
				return 0.0
			}
			return round2(r["inventory_quantity"].(float64) - r["quantity"].(float64))
		}},
	})
	quant.displayName = func(s *Server, r record) string {
		return s.displayName(s.models["stock.location"], s.models["stock.location"].recs[r["location_id"].(int)])
	}
	quant.defaults = func(_ *Server, r record) {
		setDefault(r, "quantity", 0.0)
		setDefault(r, "reserved_quantity", 0.0)
		setDefault(r, "inventory_quantity", 0.0)
		setDefault(r, "inventory_quantity_set", false)
	}
	add(quant)

	partner := newModel("res.partner", "Contact", "Extra Rights / Contact Creation", map[string]*field{
		"name":       req(char("Name")),
		"email":      char("Email"),
		"phone":      char("Phone"),
		"street":     char("Street"),
		"street2":    char("Street2"),
		"city":       char("City"),
		"zip":        char("Zip"),
		"ref":        char("Reference"),
		"is_company": flag("Is a Company"),
		"active":     flag("Active"),
		// A delivery address is a child contact of type delivery.
		"parent_id": m2o("Related Company", "res.partner"),
		"type":      sel("Address Type", "contact", "invoice", "delivery", "other"),
	})
	partner.defaults = func(_ *Server, r record) {
		setDefault(r, "type", "contact")
		setDefault(r, "active", true)
		setDefault(r, "is_company", false)
	}
	add(partner)

	// 18.1 renamed the sale line's tax_id to tax_ids (odoo/odoo#186869).
	lineTax := "tax_id"
	if s.atLeast(18, 1) {
		lineTax = "tax_ids"
	}
	order := newModel("sale.order", "Sales Order", "Sales / Administrator", map[string]*field{
		"name":       char("Order Reference"),
		"partner_id": req(m2o("Customer", "res.partner")),
		// Empty here means the customer's own address (Odoo fills it in).
		"partner_shipping_id": m2o("Delivery Address", "res.partner"),
		"client_order_ref":    char("Customer Reference"),
		"origin":              char("Source Document"),
		"date_order":          req(when("Order Date")),
		"state":               sel("Status", "draft", "sent", "sale", "cancel"),
		// locked (Odoo 17+; "done" before): a locked order's lines cannot be
		// changed and the order cannot be cancelled until someone unlocks it.
		"locked":     flag("Locked"),
		"order_line": o2m("Order Lines", "sale.order.line", "order_id"),
		"amount_untaxed": {typ: tFloat, label: "Untaxed Amount", compute: func(s *Server, r record) any {
			return s.orderTotal(r["id"].(int))
		}},
		"amount_total": {typ: tFloat, label: "Total", compute: func(s *Server, r record) any {
			return s.orderTotal(r["id"].(int))
		}},
	})
	order.defaults = func(s *Server, r record) {
		setDefault(r, "state", "draft")
		setDefault(r, "locked", false)
		setDefault(r, "date_order", s.stamp())
		s.counter["sale.order"]++
		setDefault(r, "name", fmt.Sprintf("S%05d", s.counter["sale.order"]))
	}
	add(order)

	line := newModel("sale.order.line", "Sales Order Line", "Sales / Administrator", map[string]*field{
		"order_id":        req(m2o("Order Reference", "sale.order")),
		"product_id":      m2o("Product", "product.product"),
		"name":            char("Description"),
		"product_uom_qty": num("Quantity"),
		"price_unit":      num("Unit Price"),
		"discount":        num("Discount (%)"),
		"display_type":    sel("Display Type", "line_section", "line_note"),
		lineTax:           m2m("Taxes", "account.tax"),
		"price_subtotal": {typ: tFloat, label: "Subtotal", compute: func(_ *Server, r record) any {
			return lineSubtotal(r)
		}},
	})
	line.defaults = func(s *Server, r record) {
		setDefault(r, "product_uom_qty", 1.0)
		setDefault(r, "discount", 0.0)
		if r["name"] == nil || r["name"] == "" {
			if pid, _ := r["product_id"].(int); pid != 0 {
				p := s.models["product.product"]
				r["name"] = s.displayName(p, p.recs[pid])
			}
		}
		if r["price_unit"] == nil {
			if pid, _ := r["product_id"].(int); pid != 0 {
				r["price_unit"] = s.models["product.product"].recs[pid]["list_price"]
			}
		}
	}
	add(line)

	move := newModel("account.move", "Journal Entry", "Invoicing / Billing", map[string]*field{
		"name":              char("Number"),
		"move_type":         sel("Type", "entry", "out_invoice", "out_refund", "in_invoice", "in_refund", "out_receipt", "in_receipt"),
		"state":             sel("Status", "draft", "posted", "cancel"),
		"partner_id":        m2o("Partner", "res.partner"),
		"ref":               char("Reference"),
		"invoice_origin":    char("Origin"),
		"invoice_date":      date("Invoice/Bill Date"),
		"reversed_entry_id": m2o("Reversal of", "account.move"),
		"invoice_line_ids":  o2m("Invoice lines", "account.move.line", "move_id"),
		// Stored and computed from the payments reconciled with the move in
		// Odoo; the sandbox records no payments, so a move stays not_paid
		// until a test marks it (SetPaymentStateDirect).
		"payment_state": sel("Payment Status", "not_paid", "in_payment", "paid", "partial", "reversed", "invoicing_legacy"),
		"amount_total": {typ: tFloat, label: "Total", compute: func(s *Server, r record) any {
			return s.moveTotal(r["id"].(int))
		}},
	})
	move.defaults = func(_ *Server, r record) {
		setDefault(r, "move_type", "entry")
		setDefault(r, "payment_state", "not_paid")
		setDefault(r, "state", "draft")
		setDefault(r, "name", "/")
	}
	add(move)

	add(newModel("account.move.line", "Journal Item", "Invoicing / Billing", map[string]*field{
		"move_id":    req(m2o("Journal Entry", "account.move")),
		"product_id": m2o("Product", "product.product"),
		"name":       char("Label"),
		"quantity":   num("Quantity"),
		"price_unit": num("Unit Price"),
		"tax_ids":    m2m("Taxes", "account.tax"),
	}))
}

func setDefault(r record, name string, v any) {
	if _, ok := r[name]; !ok {
		r[name] = v
	}
}

func lineSubtotal(r record) float64 {
	q, _ := r["product_uom_qty"].(float64)
	p, _ := r["price_unit"].(float64)
	d, _ := r["discount"].(float64)
	return round2(q * p * (1 - d/100))
}

func (s *Server) orderTotal(orderID int) float64 {
	total := 0.0
	lines := s.models["sale.order.line"]
	for _, lid := range lines.childIDs("order_id", orderID) {
		total += lineSubtotal(lines.recs[lid])
	}
	return round2(total)
}

func (s *Server) moveTotal(moveID int) float64 {
	total := 0.0
	lines := s.models["account.move.line"]
	for _, lid := range lines.childIDs("move_id", moveID) {
		l := lines.recs[lid]
		q, _ := l["quantity"].(float64)
		p, _ := l["price_unit"].(float64)
		total += q * p
	}
	return round2(total)
}

func (s *Server) onHand(productID int) float64 {
	total := 0.0
	locs := s.models["stock.location"].recs
	for _, q := range s.models["stock.quant"].recs {
		if q["product_id"] == productID && locs[q["location_id"].(int)]["usage"] == "internal" {
			total += q["quantity"].(float64)
		}
	}
	return round2(total)
}

// companyCurrency is the id of the (only) company's currency.
func (s *Server) companyCurrency() int {
	v, _ := s.models["res.company"].recs[1]["currency_id"].(int)
	return v
}

func (s *Server) displayName(m *model, rec record) string {
	if rec == nil {
		return ""
	}
	if m.displayName != nil {
		return m.displayName(s, rec)
	}
	if n, ok := rec["name"].(string); ok && n != "" {
		return n
	}
	return fmt.Sprintf("%s,%d", m.name, rec["id"])
}

// Colours are the variant colours of every seeded product, in order.
func Colours() []string { return []string{"BLK", "WHT", "RED"} }

// SKU is the seeded SKU of product i's variant in colour, "SKU-%06d-<COLOUR>",
// the scheme the Shopify sandbox uses too, so the two catalogues match.
func SKU(i int, colour string) string { return fmt.Sprintf("SKU-%06d-%s", i, colour) }

// Fixed ids of the seeded stock locations and warehouses.
const (
	LocationCustomers  = 2 // Partners/Customers
	LocationInventory  = 3 // Virtual Locations/Inventory adjustment
	LocationStock      = 5 // WH/Stock
	LocationStock2     = 7 // WH2/Stock
	WarehouseMain      = 1 // WH
	WarehouseSecondary = 2 // WH2
)

// seed fills the database deterministically; see Options.Seed.
func (s *Server) seed() {
	put := func(model string, vals record) int {
		m := s.models[model]
		id := m.nextID
		m.nextID++
		vals["id"] = id
		if m.defaults != nil {
			m.defaults(s, vals)
		}
		for name, f := range m.fields {
			if _, ok := vals[name]; !ok && f.compute == nil && f.typ != tOne2many {
				vals[name] = zero(f.typ)
			}
		}
		vals["create_date"] = formatTime(s.base)
		if vals["write_date"] == "" {
			vals["write_date"] = formatTime(s.base)
		}
		m.put(id, vals)
		return id
	}
	put("res.currency", record{"name": "USD", "symbol": "$", "active": true})
	put("res.currency", record{"name": "EUR", "symbol": "€", "active": true})
	put("res.company", record{"name": "My Company", "currency_id": 1})
	put("uom.uom", record{"name": "Units"})
	put("account.tax", record{"name": "15%", "amount": 15.0})

	put("stock.location", record{"name": "Physical Locations", "usage": "view"})
	put("stock.location", record{"name": "Customers", "complete_name": "Partners/Customers", "usage": "customer"})
	put("stock.location", record{"name": "Inventory adjustment", "complete_name": "Virtual Locations/Inventory adjustment",
		"usage": "inventory"})
	put("stock.location", record{"name": "WH", "usage": "view", "location_id": 1, "warehouse_id": WarehouseMain})
	put("stock.location", record{"name": "Stock", "complete_name": "WH/Stock", "location_id": 4, "warehouse_id": WarehouseMain})
	put("stock.location", record{"name": "WH2", "usage": "view", "location_id": 1, "warehouse_id": WarehouseSecondary})
	put("stock.location", record{"name": "Stock", "complete_name": "WH2/Stock", "location_id": 6, "warehouse_id": WarehouseSecondary})
	put("stock.warehouse", record{"name": "Main Warehouse", "code": "WH", "lot_stock_id": LocationStock})
	put("stock.warehouse", record{"name": "Second Warehouse", "code": "WH2", "lot_stock_id": LocationStock2})

	for _, p := range []record{
		{"name": "Deco Addict", "email": "deco.addict82@example.com", "is_company": true, "city": "Pleasant Hill"},
		{"name": "Azure Interior", "email": "azure.Interior24@example.com", "is_company": true, "city": "Fremont"},
		{"name": "Ready Mat", "email": "ready.mat28@example.com", "is_company": true, "city": "Tracy"},
		{"name": "Brandon Freeman", "email": "brandon.freeman55@example.com", "city": "Fremont"},
	} {
		put("res.partner", p)
	}

	for i := 1; i <= s.opts.Seed; i++ {
		list := round2(9.99 + float64((i*37)%190))
		for ci, colour := range Colours() {
			n := (i-1)*len(Colours()) + ci + 1
			id := put("product.product", record{
				"name":           fmt.Sprintf("Sample Product %d (%s)", i, colour),
				"default_code":   SKU(i, colour),
				"barcode":        ean13(fmt.Sprintf("20%06d%02d00", i, ci)),
				"list_price":     list,
				"standard_price": round2(list * 0.45),
				"write_date":     formatTime(s.base.Add(time.Duration(n) * time.Minute)),
			})
			put("stock.quant", record{"product_id": id, "location_id": LocationStock,
				"quantity": float64((id * 7) % 40), "reserved_quantity": min(float64(id%3), float64((id*7)%40))})
			if id%2 == 0 {
				put("stock.quant", record{"product_id": id, "location_id": LocationStock2, "quantity": float64((id * 3) % 15)})
			}
		}
	}
}

func zero(t fieldType) any {
	switch t {
	case tInteger, tMany2one:
		return 0
	case tFloat:
		return 0.0
	case tBoolean:
		return false
	case tMany2many:
		return []int{}
	}
	return ""
}

// ean13 appends the check digit to 12 digits.
func ean13(digits12 string) string {
	sum := 0
	for i, r := range digits12 {
		d := int(r - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return digits12 + fmt.Sprint((10-sum%10)%10)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
