// Package sandbox is an in-process twin of the Shopify GraphQL Admin API: same
// URL, same headers, same answer and error shapes, same cost and throttling
// rules. It parses each document, validates it against a slice of the 2026-04
// schema and answers only the fields selected. Every write is recorded with
// its idempotency key. It powers tests, the demo and benchmarks; the client
// in package shopify talks to it exactly as it talks to Shopify.
package sandbox

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// Options configure a sandbox shop.
type Options struct {
	// Plan is standard (default), advanced, plus or enterprise; it sets the rate limit.
	Plan string
	// AccessToken is the token clients must send; default "sandbox-token".
	AccessToken string
	// Seed is the number of products to create (each with 1–3 variants); the
	// same seed always gives the same data.
	Seed int
	// ShopDomain defaults to "crossdock-sandbox.myshopify.com".
	ShopDomain string
	// Now is the clock used for timestamps; default time.Now.
	Now func() time.Time
	// Latency is added to every GraphQL answer.
	Latency time.Duration
	// BucketSize and RestoreRate override the plan's rate limit (fast tests).
	BucketSize, RestoreRate float64
	// BulkDelay is how long a bulk operation runs; default 100 ms.
	BulkDelay time.Duration
	// TimeoutSleep is how long a FailTimeout answer stalls; default 60 s
	// (or until the client gives up).
	TimeoutSleep time.Duration
	// Scopes are the granted access scopes; default all that Crossdock needs.
	Scopes []string
	// PublicURL is the address clients reach the sandbox at, when it is mounted
	// under a path prefix (bulk result URLs are built from it); default: the
	// request's own host.
	PublicURL string
	// ShippingAddresses gives orders/create payloads the shipping_address a
	// real order that ships carries (the customer's name at a made-up
	// street); off, they carry none, as before.
	ShippingAddresses bool
}

// Plan rate limits from shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits.
var plans = map[string]struct {
	name       string
	size, rate float64
}{
	"standard":   {"Basic", 2000, 100},
	"advanced":   {"Advanced", 4000, 200},
	"plus":       {"Shopify Plus", 20000, 1000},
	"enterprise": {"Commerce Components", 40000, 2000},
}

// maxQueryCost is Shopify's single-query limit.
const maxQueryCost = 1000

// Write is one recorded mutation.
type Write struct {
	Op             string
	IdempotencyKey string
	Input          json.RawMessage
	At             time.Time
	// Result is "ok" or "user_errors: CODE, ...".
	Result string
}

// FailMode is a failure FailNext injects.
type FailMode int

// Failure modes.
const (
	// FailTimeout stalls the answer longer than a client timeout.
	FailTimeout FailMode = iota + 1
	// FailStatus500 answers 500 Internal Server Error.
	FailStatus500
	// FailStatus503 answers 503 Service Unavailable.
	FailStatus503
	// FailThrottle answers THROTTLED whatever the bucket holds.
	FailThrottle
	// FailUserError makes the next mutation answer a userError without effect
	// (queries are not affected and do not consume it).
	FailUserError
)

type idem struct {
	op, input string
	payload   any
}

// Shop is a sandbox shop. It implements http.Handler.
type Shop struct {
	opts Options
	now  func() time.Time
	plan string

	mu            sync.Mutex
	bucketMax     float64
	bucketRate    float64
	bucketAvail   float64
	bucketAt      time.Time
	products      []*Product
	productByID   map[int64]*Product
	collections   []*Collection
	variants      []*Variant
	variantByID   map[int64]*Variant
	variantByItem map[int64]*Variant
	locations     []*Location
	levels        map[levelKey]*level
	customers     []*Customer
	customerByID  map[int64]*Customer
	orders        []*Order
	orderByID     map[int64]*Order
	webhooks      []*webhookSub
	bulkOps       []*bulkOp
	writes        []Write
	idem          map[string]idem
	replays       int
	fails         []FailMode
	seq, lineSeq  int64
	txSeq         int64                         // order transactions
	lose          map[string]int                // mutations whose next answers are lost (LoseAnswerOf)
	fos           map[int64][]*FulfillmentOrder // by order id; see fulfillments.go
	foByID        map[int64]*FulfillmentOrder   // the same, by their own id
	pay           payments                      // Shopify Payments; see payments.go
}

// New creates a seeded sandbox shop.
func New(opts Options) *Shop {
	plan := strings.ToLower(cmp.Or(opts.Plan, "standard"))
	p, ok := plans[plan]
	if !ok {
		plan, p = "standard", plans["standard"]
	}
	opts.AccessToken = cmp.Or(opts.AccessToken, "sandbox-token")
	opts.ShopDomain = cmp.Or(opts.ShopDomain, "crossdock-sandbox.myshopify.com")
	opts.BulkDelay = cmp.Or(opts.BulkDelay, 100*time.Millisecond)
	opts.TimeoutSleep = cmp.Or(opts.TimeoutSleep, 60*time.Second)
	if opts.Scopes == nil {
		opts.Scopes = []string{"read_products", "write_products", "read_inventory", "write_inventory",
			"read_locations", "read_orders", "read_customers"}
	}
	s := &Shop{
		opts: opts, now: opts.Now, plan: plan,
		bucketMax: cmp.Or(opts.BucketSize, p.size), bucketRate: cmp.Or(opts.RestoreRate, p.rate),
		productByID: map[int64]*Product{}, variantByID: map[int64]*Variant{}, variantByItem: map[int64]*Variant{},
		levels: map[levelKey]*level{}, customerByID: map[int64]*Customer{}, orderByID: map[int64]*Order{},
		idem: map[string]idem{},
	}
	if opts.Now == nil {
		s.now = time.Now
	}
	s.bucketAvail, s.bucketAt = s.bucketMax, time.Now()
	s.seed(opts.Seed)
	s.seedPayments()
	return s
}

// Domain is the shop's myshopify domain.
func (s *Shop) Domain() string { return s.opts.ShopDomain }

// AccessToken is the token the sandbox accepts.
func (s *Shop) AccessToken() string { return s.opts.AccessToken }

// Limits returns the bucket size and restore rate in points per second.
func (s *Shop) Limits() (size, rate float64) { return s.bucketMax, s.bucketRate }

// FailNext makes the next n requests fail with mode.
func (s *Shop) FailNext(n int, mode FailMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, mode)
	}
}

// LoseAnswerOf makes the next n mutations named op (refundCreate, ...)
// take effect, then answer 502 Bad Gateway, as when the answer is lost on
// its way back: the caller cannot tell the mutation was made.
func (s *Shop) LoseAnswerOf(op string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lose == nil {
		s.lose = map[string]int{}
	}
	s.lose[op] += n
}

// takeFail consumes the next injected failure if it applies.
func (s *Shop) takeFail(isMutation, parsed bool) FailMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) == 0 {
		return 0
	}
	m := s.fails[0]
	switch {
	case !parsed && (m == FailTimeout || m == FailStatus500 || m == FailStatus503),
		parsed && m == FailThrottle,
		parsed && m == FailUserError && isMutation:
		s.fails = s.fails[1:]
		return m
	}
	return 0
}

// Writes returns every mutation applied (idempotent replays are not effects and are not listed).
func (s *Shop) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Write(nil), s.writes...)
}

// IdempotentReplays counts mutations answered from an earlier result of the same key.
func (s *Shop) IdempotentReplays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replays
}

// Variants returns copies of all variants in id order.
func (s *Shop) Variants() []Variant {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Variant, 0, len(s.variants))
	for _, v := range s.variants {
		out = append(out, *v)
	}
	return out
}

// Locations returns copies of all locations.
func (s *Shop) Locations() []Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Location, 0, len(s.locations))
	for _, l := range s.locations {
		out = append(out, *l)
	}
	return out
}

// Orders returns copies of all orders.
func (s *Shop) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, *o)
	}
	return out
}

// InventoryLevel returns the available and on-hand quantities of an
// inventory item (GID) at a location (GID); ok is false if it is not stocked there.
func (s *Shop) InventoryLevel(itemID, locationID string) (available, onHand int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, item, _ := parseGID(itemID)
	_, loc, _ := parseGID(locationID)
	lv := s.levels[levelKey{item, loc}]
	if lv == nil {
		return 0, 0, false
	}
	return lv.available, lv.onHand, true
}

// SetInventoryDirect sets the available quantity as if someone edited it in
// the Shopify admin (on hand moves by the same delta). It is not a recorded write.
func (s *Shop) SetInventoryDirect(itemID, locationID string, available int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, item, _ := parseGID(itemID)
	_, loc, _ := parseGID(locationID)
	lv := s.levels[levelKey{item, loc}]
	if lv == nil {
		return fmt.Errorf("sandbox: item %s is not stocked at %s", itemID, locationID)
	}
	lv.onHand += available - lv.available
	lv.available = available
	lv.updatedAt = s.now()
	return nil
}

// SetPriceDirect sets a variant's price as if edited by hand in the admin.
func (s *Shop) SetPriceDirect(variantID, price string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, id, _ := parseGID(variantID)
	v := s.variantByID[id]
	if v == nil {
		return fmt.Errorf("sandbox: variant %s does not exist", variantID)
	}
	v.Price = formatCents(parseCents(price))
	v.UpdatedAt = s.now()
	return nil
}

// AddToCollectionDirect puts a product in the collection titled title (made
// when it does not exist yet), as a merchant would in the admin, and
// returns the collection's GID.
func (s *Shop) AddToCollectionDirect(productID, title string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, id, _ := parseGID(productID)
	p := s.productByID[id]
	if p == nil {
		return "", fmt.Errorf("sandbox: product %s does not exist", productID)
	}
	var c *Collection
	for _, x := range s.collections {
		if x.Title == title {
			c = x
		}
	}
	if c == nil {
		c = &Collection{ID: 450000000000 + int64(len(s.collections)+1), Title: title,
			Handle: strings.ToLower(strings.ReplaceAll(title, " ", "-")), UpdatedAt: s.now()}
		s.collections = append(s.collections, c)
	}
	if !slices.Contains(p.CollectionIDs, c.ID) {
		p.CollectionIDs = append(p.CollectionIDs, c.ID)
		slices.Sort(p.CollectionIDs)
	}
	return c.GID(), nil
}

// NewOrder describes an order to add with AddOrder.
type NewOrder struct {
	// CustomerID is a customer GID; empty picks the first customer.
	CustomerID string
	Lines      []NewLine
	// Tax, when set, is charged on every line (its tax_lines in the
	// webhook bodies); Gateway is the payment gateway it was paid through
	// ("shopify_payments", "paypal"), "" for none named.
	Tax     *Tax
	Gateway string
	// Discount is an order discount ("10.00"), shared by the lines in
	// proportion to their price × quantity; "" for none.
	Discount string
}

// Tax is a tax Shopify charges: its title and rate (0.0725 for 7.25 %).
type Tax struct {
	Title string
	Rate  float64
}

// NewLine is one line of a NewOrder.
type NewLine struct {
	VariantID string
	Quantity  int
}

// AddOrder creates a paid order (as a checkout would) and takes its stock
// from the first location.
func (s *Shop) AddOrder(in NewOrder) (Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	s.seq++
	id := 5000000000000 + int64(len(s.orders)+1) + s.seq*1000
	o := &Order{ID: id, Name: "#" + fmt.Sprint(1001+len(s.orders)), CreatedAt: now, UpdatedAt: now,
		FinancialStatus: "PAID", Currency: "USD", Tax: in.Tax, Gateway: in.Gateway}
	if in.CustomerID != "" {
		_, cid, _ := parseGID(in.CustomerID)
		c := s.customerByID[cid]
		if c == nil {
			return Order{}, fmt.Errorf("sandbox: customer %s does not exist", in.CustomerID)
		}
		o.CustomerID, o.Email = c.ID, c.Email
	} else if len(s.customers) > 0 {
		o.CustomerID, o.Email = s.customers[0].ID, s.customers[0].Email
	}
	for _, l := range in.Lines {
		_, vid, _ := parseGID(l.VariantID)
		v := s.variantByID[vid]
		if v == nil || l.Quantity <= 0 {
			return Order{}, fmt.Errorf("sandbox: bad line %s × %d", l.VariantID, l.Quantity)
		}
		s.lineSeq++
		o.LineItems = append(o.LineItems, LineItem{ID: 13000000000000 + s.lineSeq, VariantID: v.ID, SKU: v.SKU,
			Title: s.productByID[v.ProductID].Title, Quantity: l.Quantity, Price: v.Price})
		if len(s.locations) > 0 {
			if lv := s.levels[levelKey{v.InventoryItemID, s.locations[0].ID}]; lv != nil {
				// A sale commits stock: available drops, on hand stays until shipped.
				lv.available -= l.Quantity
				lv.updatedAt = now
			}
		}
	}
	if err := shareDiscount(o.LineItems, parseCents(in.Discount)); err != nil {
		return Order{}, err
	}
	// The checkout took the money: one SALE of what the customer paid.
	s.addSale(o, now)
	s.orders = append(s.orders, o)
	s.orderByID[o.ID] = o
	return *o, nil
}

// ---- HTTP ----

var graphqlPath = regexp.MustCompile(`^/admin/api/(\d{4}-\d{2}|unstable)/graphql\.json$`)

const bulkPrefix = "/sandbox-bulk/"

type request struct {
	version string
	base    string
}

// ServeHTTP answers like Shopify's GraphQL Admin endpoint, and serves bulk
// results under /sandbox-bulk/.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, bulkPrefix) {
		s.serveBulk(w, r)
		return
	}
	m := graphqlPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	if s.opts.Latency > 0 {
		if !sleep(r, s.opts.Latency) {
			return
		}
	}
	switch s.takeFail(false, false) {
	case FailTimeout:
		// Read the body first: only then does net/http notice the client
		// hanging up and cancel r.Context(), ending the stall with it.
		_, _ = io.Copy(io.Discard, r.Body)
		sleep(r, s.opts.TimeoutSleep)
		writeJSON(w, http.StatusGatewayTimeout, map[string]any{"errors": "Gateway Timeout"})
		return
	case FailStatus500:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"errors": "Internal Server Error"})
		return
	case FailStatus503:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"errors": "Service Unavailable"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.AccessToken {
		w.Header().Set("WWW-Authenticate", `Basic Realm="Shopify API Authentication"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"errors": "Method Not Allowed"})
		return
	}
	var body struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil || json.Unmarshal(raw, &body) != nil || strings.TrimSpace(body.Query) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}})
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := cmp.Or(strings.TrimRight(s.opts.PublicURL, "/"), scheme+"://"+r.Host)
	status, ans := s.graphql(&request{version: m[1], base: base}, body.Query, body.Variables, body.OperationName)
	writeJSON(w, status, ans)
}

func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Request-Id", newUUID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newUUID formats 16 random bytes as a version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// float1 marshals like Shopify's bucket numbers: 2000.0.
type float1 float64

func (f float1) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%.1f", float64(f))), nil }

type throttleStatus struct {
	MaximumAvailable   float1 `json:"maximumAvailable"`
	CurrentlyAvailable int    `json:"currentlyAvailable"`
	RestoreRate        float1 `json:"restoreRate"`
}

type costExt struct {
	RequestedQueryCost int            `json:"requestedQueryCost"`
	ActualQueryCost    *int           `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type answer struct {
	Data       any        `json:"data,omitempty"`
	Errors     []gqlError `json:"errors,omitempty"`
	Extensions *struct {
		Cost costExt `json:"cost"`
	} `json:"extensions,omitempty"`
}

func (s *Shop) refillLocked() {
	now := time.Now()
	s.bucketAvail = math.Min(s.bucketMax, s.bucketAvail+now.Sub(s.bucketAt).Seconds()*s.bucketRate)
	s.bucketAt = now
}

func (s *Shop) costLocked(requested float64, actual *int) *struct {
	Cost costExt `json:"cost"`
} {
	return &struct {
		Cost costExt `json:"cost"`
	}{costExt{
		RequestedQueryCost: int(math.Ceil(requested)), ActualQueryCost: actual,
		ThrottleStatus: throttleStatus{MaximumAvailable: float1(s.bucketMax),
			CurrentlyAvailable: int(math.Floor(s.bucketAvail)), RestoreRate: float1(s.bucketRate)},
	}}
}

// graphql runs one document and returns the HTTP status and the answer.
func (s *Shop) graphql(req *request, query string, vars map[string]any, opName string) (int, answer) {
	doc, perr := parser.ParseQuery(&ast.Source{Input: query})
	if perr != nil {
		ge := gqlError{Message: perr.Error()}
		if gerr, ok := perr.(interface{ Unwrap() error }); ok && gerr.Unwrap() != nil {
			ge.Message = gerr.Unwrap().Error()
		}
		return http.StatusOK, answer{Errors: []gqlError{ge}}
	}
	op := pickOperation(doc, opName)
	if op == nil {
		return http.StatusOK, answer{Errors: []gqlError{{Message: "An operation name is required when sending multiple operations"}}}
	}
	if vars == nil {
		vars = map[string]any{}
	}
	for _, vd := range op.VariableDefinitions {
		if _, ok := vars[vd.Variable]; !ok && vd.DefaultValue != nil {
			if v, err := vd.DefaultValue.Value(nil); err == nil {
				vars[vd.Variable] = v
			}
		}
		if v, ok := vars[vd.Variable]; (!ok || v == nil) && vd.Type.NonNull {
			return http.StatusOK, answer{Errors: []gqlError{{
				Message:    fmt.Sprintf("Variable $%s of type %s was provided invalid value", vd.Variable, vd.Type.String()),
				Locations:  locOf(vd.Position),
				Extensions: map[string]any{"value": nil, "problems": []any{map[string]any{"path": []any{}, "explanation": "Expected value to not be null"}}},
			}}}
		}
	}
	an := &analyzer{doc: doc, vars: vars}
	requested := an.operation(op)
	if len(an.errs) > 0 {
		return http.StatusOK, answer{Errors: an.errs}
	}
	if requested > maxQueryCost {
		return http.StatusOK, answer{Errors: []gqlError{{
			Message: fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).\n\n"+
				"See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"+
				"cost of a query is calculated.\n\n"+
				"To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"+
				"See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
				int(requested), maxQueryCost),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": int(requested), "maxCost": maxQueryCost,
				"documentation": "https://shopify.dev/api/usage/rate-limits"},
		}}}
	}
	isMutation := op.Operation == ast.Mutation
	fail := s.takeFail(isMutation, true)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.refillLocked()
	if fail == FailThrottle || requested > s.bucketAvail {
		return http.StatusOK, answer{
			Errors: []gqlError{{Message: "Throttled", Extensions: map[string]any{
				"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			Extensions: s.costLocked(requested, nil),
		}
	}
	s.bucketAvail -= requested
	if len(an.execErrs) > 0 {
		ac := int(math.Ceil(requested))
		return http.StatusOK, answer{Data: json.RawMessage("null"), Errors: an.execErrs, Extensions: s.costLocked(requested, &ac)}
	}
	ex := &executor{s: s, doc: doc, vars: vars, req: req}
	if fail == FailUserError {
		ex.injectUserError = true
	}
	data, actual := ex.run(op)
	if ex.lost {
		return http.StatusBadGateway, answer{Errors: []gqlError{{Message: "Bad Gateway"}}}
	}
	if actual > requested {
		actual = requested
	}
	s.bucketAvail += requested - actual
	ac := int(math.Ceil(actual))
	return http.StatusOK, answer{Data: data, Errors: ex.errs, Extensions: s.costLocked(requested, &ac)}
}

func pickOperation(doc *ast.QueryDocument, name string) *ast.OperationDefinition {
	if name != "" {
		return doc.Operations.ForName(name)
	}
	if len(doc.Operations) == 1 {
		return doc.Operations[0]
	}
	return nil
}
