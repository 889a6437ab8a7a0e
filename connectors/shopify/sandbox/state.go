package sandbox

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Product is a seeded product.
type Product struct {
	ID     int64
	Title  string
	Handle string
	Status string
	Vendor string
	// BodyHTML, ProductType and Tags (comma-separated) are empty for seeded
	// products; AddProduct and EditProduct set them.
	BodyHTML    string
	ProductType string
	Tags        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	VariantIDs  []int64
	// ImageURL is the product's featured image ("" for none).
	ImageURL string
	// CollectionIDs are the (manual) collections the product is in.
	CollectionIDs []int64
}

// GID is the product's Shopify global id.
func (p Product) GID() string { return gid("Product", p.ID) }

// Collection is a manual collection of products.
type Collection struct {
	ID        int64
	Title     string
	Handle    string
	UpdatedAt time.Time
}

// GID is the collection's Shopify global id.
func (c Collection) GID() string { return gid("Collection", c.ID) }

// Variant is a product variant and its inventory item (one to one in Shopify).
type Variant struct {
	ID              int64
	ProductID       int64
	InventoryItemID int64
	Title           string
	SKU             string
	// Barcode, CompareAtPrice: "" means null.
	Barcode        string
	Price          string
	CompareAtPrice string
	// Cost is the inventory item's unit cost; "" means null.
	Cost      string
	Tracked   bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// ImageURL is the variant's own image ("" for none: the storefront
	// shows the product's).
	ImageURL string
}

// GID is the variant's global id.
func (v Variant) GID() string { return gid("ProductVariant", v.ID) }

// ProductGID is the global id of the variant's product.
func (v Variant) ProductGID() string { return gid("Product", v.ProductID) }

// InventoryItemGID is the global id of the variant's inventory item.
func (v Variant) InventoryItemGID() string { return gid("InventoryItem", v.InventoryItemID) }

// Location is a stock location.
type Location struct {
	ID       int64
	Name     string
	IsActive bool
}

// GID is the location's global id.
func (l Location) GID() string { return gid("Location", l.ID) }

type level struct {
	available, onHand int
	createdAt         time.Time
	updatedAt         time.Time
}

type levelKey struct{ item, loc int64 }

// Customer is a seeded customer.
type Customer struct {
	ID        int64
	FirstName string
	LastName  string
	Email     string
	// Phone and the default address ("" means null); set by AddCustomer
	// and EditCustomer, empty for seeded customers.
	Phone     string
	Address1  string
	City      string
	Zip       string
	Country   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GID is the customer's global id.
func (c Customer) GID() string { return gid("Customer", c.ID) }

// LineItem is one line of an order.
type LineItem struct {
	ID        int64
	VariantID int64
	SKU       string
	Title     string
	Quantity  int
	Price     string
	// Discount is the line's share of the order's discounts, for its whole
	// quantity ("" for none).
	Discount string
}

// Refund is a refund of some order lines.
type Refund struct {
	ID        int64
	CreatedAt time.Time
	Note      string
	// Amount is the money refunded: the sum of its transactions; a refund
	// made without transactions keeps its lines' price, as before money was
	// modelled.
	Amount string
	Lines  []RefundLine
	// TransactionIDs are the order's REFUND transactions this refund made.
	TransactionIDs []int64
}

// Transaction is a payment transaction of an order (OrderTransaction): the
// checkout's SALE (or CAPTURE) of the order's total, and the REFUNDs made
// against it. Amounts are in the shop's currency.
type Transaction struct {
	ID        int64
	Kind      string // SALE, CAPTURE, REFUND
	Status    string // SUCCESS
	Gateway   string // shopify_payments, paypal, manual, ...
	Amount    string
	ParentID  int64 // the SALE or CAPTURE a REFUND is taken from (0: none)
	CreatedAt time.Time
}

// GID is the transaction's global id.
func (t Transaction) GID() string { return gid("OrderTransaction", t.ID) }

// RefundLine refunds a quantity of one line item.
type RefundLine struct {
	ID         int64
	LineItemID int64
	Quantity   int
	// RestockType is RETURN, CANCEL, NO_RESTOCK or LEGACY_RESTOCK ("" for
	// seeded refunds, which returned their items); LocationID where the
	// quantity went back to stock (0: none).
	RestockType string
	LocationID  int64
}

// Fulfillment is a shipment of an order.
type Fulfillment struct {
	ID        int64
	Status    string
	CreatedAt time.Time
	Company   string
	Number    string
	URL       string
	// Lines are what it shipped; nil (seeded) means every line in full.
	Lines []FulfilledLine
}

// Order is an order with its lines, refunds and fulfillments.
type Order struct {
	ID              int64
	Name            string
	Email           string
	CustomerID      int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	CancelledAt     *time.Time
	FinancialStatus string
	Currency        string
	LineItems       []LineItem
	Refunds         []Refund
	Fulfillments    []Fulfillment
	// Tax is charged on every line when set; Gateway names how it was paid.
	Tax     *Tax
	Gateway string
	// Transactions are the order's payments and refunds of them, oldest first.
	Transactions []Transaction
}

// GID is the order's global id.
func (o Order) GID() string { return gid("Order", o.ID) }

// Total is the sum of line prices × quantities, less the lines' discounts.
func (o Order) Total() string {
	var cents int64
	for _, l := range o.LineItems {
		cents += parseCents(l.Price)*int64(l.Quantity) - parseCents(l.Discount)
	}
	return formatCents(cents)
}

// lineTax is the tax charged on a line, in cents: its discounted price
// times the order's rate, rounded per line as Shopify does.
func (o Order) lineTax(li LineItem) int64 {
	if o.Tax == nil || o.Tax.Rate <= 0 {
		return 0
	}
	return int64(math.Round(float64(parseCents(li.Price)*int64(li.Quantity)-parseCents(li.Discount)) * o.Tax.Rate))
}

// paidCents is what the customer paid: the discounted lines and their tax.
func (o Order) paidCents() int64 {
	c := parseCents(o.Total())
	for _, li := range o.LineItems {
		c += o.lineTax(li)
	}
	return c
}

// isPayment reports whether a transaction took money from the customer.
func (t Transaction) isPayment() bool {
	return (t.Kind == "SALE" || t.Kind == "CAPTURE") && t.Status == "SUCCESS"
}

// refundedFrom is what REFUND transactions took back from a payment (id),
// or from every payment (id 0), in cents.
func (o Order) refundedFrom(id int64) int64 {
	var c int64
	for _, t := range o.Transactions {
		if t.Kind == "REFUND" && t.Status == "SUCCESS" && (id == 0 || t.ParentID == id) {
			c += parseCents(t.Amount)
		}
	}
	return c
}

// refundableCents is the money still refundable on the order: its payments
// less what was refunded of them.
func (o Order) refundableCents() int64 {
	var c int64
	for _, t := range o.Transactions {
		if t.isPayment() {
			c += parseCents(t.Amount)
		}
	}
	return max(c-o.refundedFrom(0), 0)
}

// TotalRefunded is the money refunded to the customer (the sum of the
// order's REFUND transactions), as totalRefundedSet shows it.
func (o Order) TotalRefunded() string { return formatCents(o.refundedFrom(0)) }

func (o Order) fulfillmentStatus() string {
	shipped, all, some := o.shippedByLine(), true, false
	for _, li := range o.LineItems {
		all = all && shipped[li.ID] >= li.Quantity
		some = some || shipped[li.ID] > 0
	}
	switch {
	case some && all:
		return "FULFILLED"
	case some:
		return "PARTIALLY_FULFILLED"
	}
	return "UNFULFILLED"
}

type webhookSub struct {
	ID        int64
	Topic     string
	URI       string
	Format    string
	Include   []string
	Filter    string
	Version   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func gid(kind string, id int64) string {
	return "gid://shopify/" + kind + "/" + strconv.FormatInt(id, 10)
}

// parseGID returns the kind and numeric id of a gid://shopify/Kind/123 (query string ignored).
func parseGID(s string) (string, int64, bool) {
	rest, ok := strings.CutPrefix(s, "gid://shopify/")
	if !ok {
		return "", 0, false
	}
	rest, _, _ = strings.Cut(rest, "?")
	kind, num, ok := strings.Cut(rest, "/")
	if !ok {
		return "", 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	return kind, id, err == nil
}

func parseCents(s string) int64 {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	neg := strings.HasPrefix(whole, "-")
	w, _ := strconv.ParseInt(strings.TrimPrefix(whole, "-"), 10, 64)
	frac = (frac + "00")[:2]
	f, _ := strconv.ParseInt(frac, 10, 64)
	c := w*100 + f
	if neg {
		c = -c
	}
	return c
}

func formatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// seedBase makes seeded timestamps independent of the clock.
var seedBase = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

var (
	colors     = []string{"BLK", "WHT", "RED"} // the Odoo sandbox seeds the same three, so SKUs meet
	colorNames = map[string]string{"BLK": "Black", "WHT": "White", "RED": "Red", "BLU": "Blue", "GRN": "Green", "GRY": "Grey"}
	nouns      = []string{"Tee", "Hoodie", "Cap", "Mug", "Tote", "Sock", "Scarf", "Poster", "Notebook", "Bottle"}
	adjectives = []string{"Classic", "Harbor", "Dockside", "Cargo", "Pallet", "Forklift", "Anchor", "Crane"}
	firstNames = []string{"Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farah", "Gus", "Hana", "Ivo", "Jun"}
	lastNames  = []string{"Lovelace", "Okafor", "Moreau", "Ivanov", "Lindqvist", "Haddad", "Berg", "Sato", "Novak", "Kim"}
	locNames   = []string{"Main warehouse", "Shop floor", "Overflow 3PL"}
)

// ean13 returns a valid EAN-13 for n.
func ean13(n int64) string {
	s := fmt.Sprintf("400%09d", n%1_000_000_000)
	sum := 0
	for i, r := range s {
		d := int(r - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return s + strconv.Itoa((10-sum%10)%10)
}

// seed fills the shop deterministically from opts.Seed.
func (s *Shop) seed(n int) {
	r := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	nloc := 2 + r.IntN(2)
	for i := range nloc {
		l := &Location{ID: 72000000000 + int64(i+1), Name: locNames[i], IsActive: true}
		s.locations = append(s.locations, l)
	}
	var vseq int64
	for i := range n {
		pid := 8000000000000 + int64(i+1)
		title := adjectives[r.IntN(len(adjectives))] + " " + nouns[r.IntN(len(nouns))]
		created := seedBase.Add(time.Duration(i) * time.Minute)
		p := &Product{ID: pid, Title: title, Handle: strings.ToLower(strings.ReplaceAll(title, " ", "-")) + "-" + strconv.Itoa(i+1),
			Status: "ACTIVE", Vendor: "Crossdock Demo", CreatedAt: created, UpdatedAt: created}
		nv := 1 + r.IntN(3)
		price := int64(500 + r.IntN(14500))
		start := r.IntN(len(colors))
		for j := range nv {
			vseq++
			color := colors[(start+j)%len(colors)]
			v := &Variant{
				ID: 44000000000000 + vseq, ProductID: pid, InventoryItemID: 46000000000000 + vseq,
				Title: colorNames[color], SKU: fmt.Sprintf("SKU-%06d-%s", i+1, color),
				Price: formatCents(price), Cost: formatCents(price * int64(40+r.IntN(30)) / 100),
				Tracked: true, CreatedAt: created, UpdatedAt: created,
			}
			if vseq%7 != 0 {
				v.Barcode = ean13(vseq)
			}
			if r.IntN(4) == 0 {
				v.CompareAtPrice = formatCents(price * 5 / 4)
			}
			p.VariantIDs = append(p.VariantIDs, v.ID)
			s.variants = append(s.variants, v)
			s.variantByID[v.ID] = v
			s.variantByItem[v.InventoryItemID] = v
			for li, l := range s.locations {
				if li == 2 && r.IntN(2) == 0 {
					continue // the 3PL does not stock everything
				}
				avail := r.IntN(60)
				s.levels[levelKey{v.InventoryItemID, l.ID}] = &level{available: avail, onHand: avail + r.IntN(3), createdAt: created, updatedAt: created}
			}
		}
		seedImages(i, p, s.variants[len(s.variants)-nv:])
		s.products = append(s.products, p)
		s.productByID[pid] = p
	}
	// Collections without drawing from r, so the rest of the seed stays as it was:
	// every other product is "Home & living", every fifth is also on "Sale".
	for ci, title := range []string{"Home & living", "Sale"} {
		c := &Collection{ID: 450000000000 + int64(ci+1), Title: title, Handle: strings.ToLower(strings.NewReplacer(" & ", "-", " ", "-").Replace(title)),
			UpdatedAt: seedBase}
		s.collections = append(s.collections, c)
		for i, p := range s.products {
			if (ci == 0 && i%2 == 0) || (ci == 1 && i%5 == 0) {
				p.CollectionIDs = append(p.CollectionIDs, c.ID)
			}
		}
	}
	ncust := min(max(3, n/2), 50)
	for i := range ncust {
		fn, ln := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		created := seedBase.Add(time.Duration(i) * time.Hour)
		c := &Customer{ID: 7000000000000 + int64(i+1), FirstName: fn, LastName: ln,
			Email: strings.ToLower(fmt.Sprintf("%s.%s.%d@example.com", fn, ln, i+1)), CreatedAt: created, UpdatedAt: created}
		s.customers = append(s.customers, c)
		s.customerByID[c.ID] = c
	}
	if len(s.variants) == 0 {
		return
	}
	norders := min(max(2, n/2), 50)
	for i := range norders {
		created := seedBase.Add(24*time.Hour + time.Duration(i)*37*time.Minute)
		o := &Order{ID: 5000000000000 + int64(i+1), Name: "#" + strconv.Itoa(1001+i), CreatedAt: created, UpdatedAt: created,
			FinancialStatus: "PAID", Currency: "USD"}
		c := s.customers[r.IntN(len(s.customers))]
		o.CustomerID, o.Email = c.ID, c.Email
		for range 1 + r.IntN(3) {
			v := s.variants[r.IntN(len(s.variants))]
			s.lineSeq++
			o.LineItems = append(o.LineItems, LineItem{ID: 13000000000000 + s.lineSeq, VariantID: v.ID, SKU: v.SKU,
				Title: s.productByID[v.ProductID].Title, Quantity: 1 + r.IntN(3), Price: v.Price})
		}
		if r.IntN(3) == 0 {
			s.seq++
			o.Fulfillments = append(o.Fulfillments, Fulfillment{ID: 4000000000000 + s.seq, Status: "SUCCESS",
				CreatedAt: created.Add(6 * time.Hour), Company: "DHL Express", Number: fmt.Sprintf("JD0146%08d", s.seq),
				URL: "https://www.dhl.com/en/express/tracking.html?AWB=" + strconv.FormatInt(s.seq, 10)})
		}
		sale := s.addSale(o, created)
		if r.IntN(5) == 0 {
			li := o.LineItems[0]
			s.seq++
			s.txSeq++
			back := Transaction{ID: 6000000000000 + s.txSeq, Kind: "REFUND", Status: "SUCCESS", Gateway: sale.Gateway, Amount: li.Price,
				ParentID: sale.ID, CreatedAt: created.Add(48 * time.Hour)}
			o.Transactions = append(o.Transactions, back)
			o.Refunds = append(o.Refunds, Refund{ID: 9000000000000 + s.seq, CreatedAt: created.Add(48 * time.Hour),
				Note: "Damaged in transit", Amount: li.Price, Lines: []RefundLine{{ID: 11000000000000 + s.seq, LineItemID: li.ID, Quantity: 1}},
				TransactionIDs: []int64{back.ID}})
			o.FinancialStatus = "PARTIALLY_REFUNDED"
		}
		s.orders = append(s.orders, o)
		s.orderByID[o.ID] = o
	}
}

// swatchHex colours the seeded images.
var swatchHex = map[string]string{"BLK": "#222222", "WHT": "#e8e8e8", "RED": "#c0392b", "BLU": "#2e6bc6", "GRN": "#2e8b57", "GRY": "#8a8a8a"}

// seedImages gives the i-th seeded product its images without drawing from
// the seed's random source (the rest of the seed stays as it was): every
// product but each fifth a featured image (a tile with its initial), every
// third product's variants their own colour swatch; so some variants show
// their product's image and some products have none. Images are small SVG
// data: URIs, so the console shows them with no network and no other host.
func seedImages(i int, p *Product, vs []*Variant) {
	if i%5 != 4 {
		fill, ink := "#5b6b7a", "#fff"
		if len(vs) > 0 {
			code := vs[0].SKU[len(vs[0].SKU)-3:]
			fill = swatchHex[code]
			if code == "WHT" {
				ink = "#202223"
			}
		}
		p.ImageURL = svgDataURI(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 80 80"><rect width="80" height="80" rx="10" fill="#f3f1ec"/>` +
			`<rect x="14" y="14" width="52" height="52" rx="8" fill="` + fill + `"/><text x="40" y="51" font-family="sans-serif" font-size="30" ` +
			`text-anchor="middle" fill="` + ink + `">` + p.Title[:1] + `</text></svg>`)
	}
	if i%3 != 0 {
		return
	}
	for _, v := range vs {
		v.ImageURL = svgDataURI(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 80 80"><rect width="80" height="80" rx="10" fill="` +
			swatchHex[v.SKU[len(v.SKU)-3:]] + `"/><circle cx="40" cy="40" r="18" fill="#fff" fill-opacity=".35"/></svg>`)
	}
}

func svgDataURI(svg string) string {
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg))
}
