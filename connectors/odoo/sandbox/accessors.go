package sandbox

import (
	"slices"
	"time"
)

// Product is a seeded or created product variant, as the sandbox holds it.
type Product struct {
	ID            int
	DefaultCode   string
	Barcode       string
	Name          string
	Description   string // description_sale
	Weight        float64
	ListPrice     float64
	StandardPrice float64
	Active        bool
	WriteDate     time.Time
}

// Partner is a res.partner record.
type Partner struct {
	ID        int
	Name      string
	Email     string
	Phone     string
	Street    string
	Street2   string
	City      string
	Zip       string
	Ref       string
	IsCompany bool
	Active    bool
	ParentID  int // the customer of a delivery address (0: none)
}

// SaleOrder is a sale.order record with its lines.
type SaleOrder struct {
	ID             int
	Name           string // S00001, …
	PartnerID      int
	ClientOrderRef string
	Origin         string
	State          string // draft, sale, …
	// ShippingPartnerID is the delivery address (0: the customer's own).
	ShippingPartnerID int
	AmountTotal       float64
	Lines             []SaleOrderLine
}

// SaleOrderLine is a sale.order.line record.
type SaleOrderLine struct {
	ID          int
	ProductID   int
	Name        string
	Quantity    float64
	PriceUnit   float64
	Discount    float64
	TaxIDs      []int
	DisplayType string
}

// CreditNote is an account.move of type out_refund with its lines.
type CreditNote struct {
	ID              int
	Name            string // "/" until posted, then RINV/<year>/<n>
	State           string // draft or posted
	PartnerID       int
	Ref             string
	InvoiceOrigin   string
	InvoiceDate     string
	ReversedEntryID int
	AmountTotal     float64
	Lines           []CreditNoteLine
}

// CreditNoteLine is an account.move.line of a credit note.
type CreditNoteLine struct {
	ID        int
	ProductID int
	Name      string
	Quantity  float64
	PriceUnit float64
	TaxIDs    []int
}

// StockMove is an inventory adjustment booked by action_apply_inventory:
// Quantity is the signed difference it applied.
type StockMove struct {
	ProductID  int
	LocationID int
	Quantity   float64
	At         time.Time
}

func str(r record, k string) string    { v, _ := r[k].(string); return v }
func num64(r record, k string) float64 { v, _ := r[k].(float64); return v }
func id(r record, k string) int        { v, _ := r[k].(int); return v }
func ids(r record, k string) []int     { v, _ := r[k].([]int); return slices.Clone(v) }

func parseTime(s string) time.Time {
	t, _ := time.ParseInLocation("2006-01-02 15:04:05", s, time.UTC)
	return t
}

// Products returns every product variant, archived ones included, by id.
func (s *Server) Products() []Product {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["product.product"]
	var out []Product
	for _, pid := range m.sortedIDs() {
		r := m.recs[pid]
		out = append(out, Product{ID: pid, DefaultCode: str(r, "default_code"), Barcode: str(r, "barcode"),
			Name: str(r, "name"), Description: str(r, "description_sale"), Weight: num64(r, "weight"),
			ListPrice: num64(r, "list_price"), StandardPrice: num64(r, "standard_price"),
			Active: r["active"] == true, WriteDate: parseTime(str(r, "write_date"))})
	}
	return out
}

// Partners returns every partner by id.
func (s *Server) Partners() []Partner {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["res.partner"]
	var out []Partner
	for _, pid := range m.sortedIDs() {
		r := m.recs[pid]
		out = append(out, Partner{ID: pid, Name: str(r, "name"), Email: str(r, "email"), Phone: str(r, "phone"),
			Street: str(r, "street"), Street2: str(r, "street2"), City: str(r, "city"), Zip: str(r, "zip"), Ref: str(r, "ref"),
			IsCompany: r["is_company"] == true, Active: r["active"] == true, ParentID: id(r, "parent_id")})
	}
	return out
}

// Quant returns the on-hand quantity of a product in a location (0 when
// there is no quant), summed over lots and packages.
func (s *Server) Quant(productID, locationID int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0.0
	for _, q := range s.models["stock.quant"].recs {
		if q["product_id"] == productID && q["location_id"] == locationID {
			total += q["quantity"].(float64)
		}
	}
	return total
}

// SetQuantDirect sets the on-hand quantity behind Odoo's back, as if stock
// had moved inside Odoo: no write is logged. It creates the quant if needed.
func (s *Server) SetQuantDirect(productID, locationID int, quantity float64) {
	s.SetQuantsDirect([]QuantSet{{ProductID: productID, LocationID: locationID, Quantity: quantity}})
}

// QuantSet is one on-hand quantity for SetQuantsDirect.
type QuantSet struct {
	ProductID, LocationID int
	Quantity              float64
	// Reserved, when set, is the quantity reserved for deliveries (nil
	// keeps the quant's own): what is available is Quantity - Reserved.
	Reserved *float64
}

// SetQuantsDirect is SetQuantDirect for many quantities in one pass over the
// quants (seeding thousands of products one by one would be quadratic).
func (s *Server) SetQuantsDirect(sets []QuantSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["stock.quant"]
	type key struct{ product, location int }
	// The plain quant (no lot, package or owner) of each product and location;
	// the lowest id wins, as a search ordered by id would find it.
	plain := map[key]int{}
	for qid, q := range m.recs {
		if id(q, "lot_id") != 0 || id(q, "package_id") != 0 || id(q, "owner_id") != 0 {
			continue
		}
		k := key{id(q, "product_id"), id(q, "location_id")}
		if cur, ok := plain[k]; !ok || qid < cur {
			plain[k] = qid
		}
	}
	now := s.stamp()
	for _, set := range sets {
		k := key{set.ProductID, set.LocationID}
		if qid, ok := plain[k]; ok {
			m.recs[qid]["quantity"] = set.Quantity
			if set.Reserved != nil {
				m.recs[qid]["reserved_quantity"] = *set.Reserved
			}
			m.recs[qid]["write_date"] = now
			continue
		}
		reserved := 0.0
		if set.Reserved != nil {
			reserved = *set.Reserved
		}
		qid := m.nextID
		m.nextID++
		m.put(qid, record{"id": qid, "product_id": set.ProductID, "location_id": set.LocationID, "lot_id": 0, "package_id": 0,
			"owner_id": 0, "quantity": set.Quantity, "reserved_quantity": reserved, "inventory_quantity": 0.0,
			"inventory_quantity_set": false, "create_date": now, "write_date": now})
		plain[k] = qid
	}
}

// KeepQuantsDirect removes, behind Odoo's back, the quants at locationID of
// every product keep does not name: a location that stocks only some
// products (no write is logged).
func (s *Server) KeepQuantsDirect(locationID int, keep map[int]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["stock.quant"]
	var gone []int
	for qid, q := range m.recs {
		if id(q, "location_id") == locationID && !keep[id(q, "product_id")] {
			gone = append(gone, qid)
		}
	}
	for _, qid := range gone {
		m.remove(qid)
	}
}

// SetPricesDirect sets a product's sales price and cost behind Odoo's back, as
// if someone edited them in Odoo: no write is logged. It reports whether the
// product exists.
func (s *Server) SetPricesDirect(productID int, listPrice, standardPrice float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.models["product.product"].recs[productID]
	if !ok {
		return false
	}
	p["list_price"] = listPrice
	p["standard_price"] = standardPrice
	p["write_date"] = s.stamp()
	return true
}

// SetCurrencyDirect sets the company's currency (an ISO code), as if an
// administrator changed it in Odoo; it reports whether Odoo knows it.
func (s *Server) SetCurrencyDirect(code string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for cid, c := range s.models["res.currency"].recs {
		if c["name"] == code {
			s.models["res.company"].recs[1]["currency_id"] = cid
			return true
		}
	}
	return false
}

// SaleOrders returns every sales order with its lines, by id.
func (s *Server) SaleOrders() []SaleOrder {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, lines := s.models["sale.order"], s.models["sale.order.line"]
	taxField := "tax_id"
	if s.atLeast(18, 1) {
		taxField = "tax_ids"
	}
	var out []SaleOrder
	for _, oid := range m.sortedIDs() {
		r := m.recs[oid]
		o := SaleOrder{ID: oid, Name: str(r, "name"), PartnerID: id(r, "partner_id"),
			ClientOrderRef: str(r, "client_order_ref"), Origin: str(r, "origin"), State: str(r, "state"), ShippingPartnerID: id(r, "partner_shipping_id"),
			AmountTotal: s.orderTotal(oid)}
		for _, lid := range s.inverseIDs(m.fields["order_line"], oid) {
			l := lines.recs[lid]
			o.Lines = append(o.Lines, SaleOrderLine{ID: lid, ProductID: id(l, "product_id"), Name: str(l, "name"),
				Quantity: num64(l, "product_uom_qty"), PriceUnit: num64(l, "price_unit"), Discount: num64(l, "discount"),
				TaxIDs: ids(l, taxField), DisplayType: str(l, "display_type")})
		}
		out = append(out, o)
	}
	return out
}

// CreditNotes returns every customer credit note (out_refund) with its lines, by id.
func (s *Server) CreditNotes() []CreditNote {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, lines := s.models["account.move"], s.models["account.move.line"]
	var out []CreditNote
	for _, mid := range m.sortedIDs() {
		r := m.recs[mid]
		if r["move_type"] != "out_refund" {
			continue
		}
		cn := CreditNote{ID: mid, Name: str(r, "name"), State: str(r, "state"), PartnerID: id(r, "partner_id"),
			Ref: str(r, "ref"), InvoiceOrigin: str(r, "invoice_origin"), InvoiceDate: str(r, "invoice_date"),
			ReversedEntryID: id(r, "reversed_entry_id"), AmountTotal: s.moveTotal(mid)}
		for _, lid := range s.inverseIDs(m.fields["invoice_line_ids"], mid) {
			l := lines.recs[lid]
			cn.Lines = append(cn.Lines, CreditNoteLine{ID: lid, ProductID: id(l, "product_id"), Name: str(l, "name"),
				Quantity: num64(l, "quantity"), PriceUnit: num64(l, "price_unit"), TaxIDs: ids(l, "tax_ids")})
		}
		out = append(out, cn)
	}
	return out
}

// Writes returns the write log, oldest first.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// StockMoves returns the inventory adjustments applied, oldest first.
func (s *Server) StockMoves() []StockMove {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.moves)
}

// Credentials returns the database, login, password and API key in use, for
// wiring a client to the sandbox.
func (s *Server) Credentials() (database, login, password, apiKey string) {
	return s.opts.Database, s.opts.Login, s.opts.Password, s.opts.APIKey
}

// AddCompanyDirect creates another company, as an administrator of a
// multi-company Odoo would, and returns its id.
func (s *Server) AddCompanyDirect(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["res.company"]
	id := m.nextID
	m.nextID++
	now := s.stamp()
	m.put(id, record{"id": id, "name": name, "currency_id": s.companyCurrency(), "create_date": now, "write_date": now})
	return id
}

// SetProductCompanyDirect restricts a product to one company (0: shared by
// all), as if someone edited it in Odoo; it reports whether the product
// exists. A sales order of another company cannot sell it.
func (s *Server) SetProductCompanyDirect(productID, companyID int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.models["product.product"].recs[productID]
	if !ok {
		return false
	}
	p["company_id"] = companyID
	return true
}

// SetPaymentStateDirect sets an account.move's payment_state (not_paid,
// partial, in_payment, paid…) as reconciling payments with it does in Odoo,
// without the write log. It reports whether the move exists.
func (s *Server) SetPaymentStateDirect(moveID int, state string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["account.move"]
	r := m.recs[moveID]
	if r == nil {
		return false
	}
	next := maps(r)
	next["payment_state"] = state
	m.put(moveID, next)
	return true
}

// SetSaleOrderStateDirect sets a sale order's state and locked flag, as
// confirming, locking or cancelling it in Odoo's interface does, without the
// write log. It reports whether the order exists.
func (s *Server) SetSaleOrderStateDirect(orderID int, state string, locked bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models["sale.order"]
	r := m.recs[orderID]
	if r == nil {
		return false
	}
	next := maps(r)
	next["state"], next["locked"] = state, locked
	m.put(orderID, next)
	return true
}
