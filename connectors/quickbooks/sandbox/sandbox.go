// Package sandbox is an in-process twin of QuickBooks Online for tests, the
// demo and benchmarks. It serves the accounting API under
// /v3/company/{realm}/… (create, read, sparse and full update of customer,
// item, salesreceipt, invoice, refundreceipt, creditmemo, deposit, account,
// taxcode and paymentmethod; delete of sales documents and deposits;
// companyinfo and preferences; the query subset the connector and
// node-quickbooks use; change data capture), with the fault envelope and its
// codes (5010 stale SyncToken, 6240 duplicate name, 6210 duplicate document
// number, 610 object not found, 120 authentication), requestid replay, the
// rate limits (500 requests a minute and 10 at once per company → 429), the
// OAuth 2.0 token endpoint with refresh-token rotation (invalid_grant as
// Intuit answers it), an authorize page that sends the browser back with a
// code and realmId, and signed webhooks in both formats.
//
// The connector code that calls the twin is the same that calls QuickBooks,
// and the npm client node-quickbooks works against it unchanged apart from
// its base URLs (node_client_test.go).
package sandbox

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a twin. Zero values get working defaults.
type Options struct {
	RealmID      string // default "9130356021845671"
	CompanyName  string // default "Sandbox Company_US_1"
	ClientID     string // default "sandbox-client-id"
	ClientSecret string // default "sandbox-client-secret"
	// Items seeds the product catalogue (SKU → name and price).
	Items []SeedItem
	// RatePerMinute and Concurrency are the limits per company [500, 10].
	RatePerMinute int
	Concurrency   int
	// RateWindow is the window RatePerMinute counts over [a minute];
	// benchmarks shrink it to shorten the clock, not the limit's shape.
	RateWindow time.Duration
	// Now is the twin's clock (token lifetimes, MetaData, CDC) [time.Now].
	Now func() time.Time
	// NoShipping and NoDiscount turn the sales-form preferences off.
	NoShipping, NoDiscount bool
	// NoInventoryTracking turns the company's quantity-on-hand tracking off
	// (Preferences.ProductAndServicesPrefs.QuantityOnHand): sales and
	// refunds then leave every item's quantity as it is.
	NoInventoryTracking bool
	// CDCNewest: a change data capture answer with more than 1000 changes
	// keeps the newest 1000 rather than the oldest. QuickBooks documents
	// the cap, not which end it keeps; the connector must work with either.
	CDCNewest bool
}

// SeedItem is an item of the seeded catalogue. An inventory item tracks
// its quantity on hand (Type Inventory, TrackQtyOnHand); the others are
// non-inventory items.
type SeedItem struct {
	SKU, Name string
	Price     float64
	Cost      float64 // PurchaseCost; 0 leaves it out
	Inventory bool
	Qty       float64 // QtyOnHand of an inventory item
}

// Write is one recorded create, update or delete.
type Write struct {
	Entity    string
	ID        string
	RequestID string
	Update    bool
	Delete    bool
}

// Server is the twin. It is safe for concurrent use.
type Server struct {
	opts Options
	now  func() time.Time

	mu      sync.Mutex
	records map[string]map[string]map[string]any // entity (lower case) → id → record
	deleted map[string]map[string]map[string]any // entity → id → what CDC says of a deleted record
	byValue map[indexKey]map[string]struct{}     // the ids of the records with a value (query)
	nextID  int
	// requestid replay: the first answer of each requestid.
	replies map[string]reply
	writes  []Write
	// OAuth: refresh tokens and when each was superseded by a newer one.
	refresh     map[string]*refreshToken
	access      map[string]time.Time // access token → expiry
	codes       map[string]string    // authorization code → redirect uri
	hardExpires time.Time
	// injected trouble
	conflicts   int // next updates answered 5010
	throttleFor int // next calls answered 429
	// rate limit
	tat      time.Time
	inFlight int
	calls    int
	limited  int
	replayed int // writes answered from the requestid store
}

type reply struct {
	status int
	body   []byte
}

type refreshToken struct {
	issued, supersededAt time.Time
	revoked              bool
}

// New returns a twin with its seeded company.
func New(o Options) *Server {
	o.RealmID = cmp.Or(o.RealmID, "9130356021845671")
	o.CompanyName = cmp.Or(o.CompanyName, "Sandbox Company_US_1")
	o.ClientID = cmp.Or(o.ClientID, "sandbox-client-id")
	o.ClientSecret = cmp.Or(o.ClientSecret, "sandbox-client-secret")
	o.RatePerMinute = cmp.Or(o.RatePerMinute, 500)
	o.Concurrency = cmp.Or(o.Concurrency, 10)
	o.RateWindow = cmp.Or(o.RateWindow, time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, now: o.Now, records: map[string]map[string]map[string]any{}, deleted: map[string]map[string]map[string]any{},
		byValue: map[indexKey]map[string]struct{}{},
		replies: map[string]reply{}, refresh: map[string]*refreshToken{}, access: map[string]time.Time{}, codes: map[string]string{}}
	s.hardExpires = s.now().AddDate(5, 0, 0)
	s.seed()
	return s
}

// RealmID is the twin's company.
func (s *Server) RealmID() string { return s.opts.RealmID }

// ClientCredentials are the app's client id and secret the twin accepts.
func (s *Server) ClientCredentials() (id, secret string) { return s.opts.ClientID, s.opts.ClientSecret }

func (s *Server) seed() {
	t := true
	add := func(entity string, rec map[string]any) {
		s.insert(strings.ToLower(entity), rec)
	}
	add("Account", map[string]any{"Name": "Undeposited Funds", "AccountType": "Other Current Asset", "Active": t})
	add("Account", map[string]any{"Name": "Sales of Product Income", "AccountType": "Income", "Active": t})
	add("Account", map[string]any{"Name": "Checking", "AccountType": "Bank", "Active": t})
	add("TaxCode", map[string]any{"Name": "TAX", "Active": t, "Taxable": true})
	add("TaxCode", map[string]any{"Name": "NON", "Active": t, "Taxable": false})
	add("PaymentMethod", map[string]any{"Name": "Credit Card", "Type": "CREDIT_CARD", "Active": t})
	for _, it := range s.opts.Items {
		rec := map[string]any{"Name": cmp.Or(it.Name, it.SKU), "Sku": it.SKU, "Type": "NonInventory", "UnitPrice": it.Price,
			"Active": t, "IncomeAccountRef": map[string]any{"value": "2", "name": "Sales of Product Income"}}
		if it.Cost != 0 {
			rec["PurchaseCost"] = it.Cost
		}
		if it.Inventory {
			rec["Type"], rec["TrackQtyOnHand"], rec["QtyOnHand"] = "Inventory", true, it.Qty
			rec["InvStartDate"] = s.now().AddDate(0, -1, 0).Format("2006-01-02")
		}
		add("Item", rec)
	}
	// Last, so that the ids above stay as they were.
	add("Account", map[string]any{"Name": "Bank Charges & Fees", "AccountType": "Expense", "Active": t})
	add("PaymentMethod", map[string]any{"Name": "PayPal", "Type": "NON_CREDIT_CARD", "Active": t})
	add("Account", map[string]any{"Name": "PayPal Bank", "AccountType": "Bank", "Active": t})
	add("TaxCode", map[string]any{"Name": "CA Sales Tax", "Active": t, "Taxable": true})
}

// insert stores a new record with its Id, SyncToken 0 and MetaData; the
// caller holds mu (or is New).
func (s *Server) insert(entity string, rec map[string]any) map[string]any {
	s.nextID++
	id := strconv.Itoa(s.nextID)
	ts := s.now().UTC().Format(time.RFC3339Nano)
	rec["Id"], rec["SyncToken"] = id, "0"
	rec["MetaData"] = map[string]any{"CreateTime": ts, "LastUpdatedTime": ts}
	rec["domain"], rec["sparse"] = "QBO", false
	if s.records[entity] == nil {
		s.records[entity] = map[string]map[string]any{}
	}
	s.records[entity][id] = rec
	s.index(entity, id, rec)
	return rec
}

// ServeHTTP routes the twin's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Strings of the request may share memory with a server that reuses its
	// buffers (the console serves the demo's twins through Fiber): the
	// twin keeps some of them (requestids, map keys), so it copies them.
	u := *r.URL
	u.Path, u.RawQuery = strings.Clone(u.Path), strings.Clone(u.RawQuery)
	r.URL = &u
	switch {
	case r.URL.Path == "/oauth2/v1/tokens/bearer":
		s.token(w, r)
	case r.URL.Path == "/connect/oauth2":
		s.authorize(w, r)
	case strings.HasPrefix(r.URL.Path, "/v3/company/"):
		s.api(w, r)
	default:
		http.NotFound(w, r)
	}
}

// TokenURL, AuthorizeURL and APIBase are the twin's addresses under base
// (the address it is served at).
func TokenURL(base string) string     { return strings.TrimRight(base, "/") + "/oauth2/v1/tokens/bearer" }
func AuthorizeURL(base string) string { return strings.TrimRight(base, "/") + "/connect/oauth2" }

func newToken(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// IssueRefreshToken makes a refresh token the twin accepts, as the
// authorization step would (tests and the demo seed connections with it).
func (s *Server) IssueRefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := newToken("RT1-")
	s.refresh[t] = &refreshToken{issued: s.now()}
	return t
}

// AcceptRefreshToken makes the twin accept a refresh token it issued before
// a restart (the demo's twin keeps its tokens in memory; the connection
// kept the newest one).
func (s *Server) AcceptRefreshToken(t string) {
	if t == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refresh[t] == nil {
		s.refresh[t] = &refreshToken{issued: s.now()}
	}
}

// RevokeRefreshTokens makes every refresh token invalid (a person
// disconnected the app).
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.refresh {
		t.revoked = true
	}
}

// ExpireAccessTokens makes every access token expire now: the next call is
// answered 401 and the client refreshes.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
}

// ValidRefreshToken reports whether t would be accepted now.
func (s *Server) ValidRefreshToken(t string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshValid(t)
}

// previousValidFor is how long a refresh token stays valid once a newer one
// was issued from it.
const previousValidFor = 24 * time.Hour

func (s *Server) refreshValid(t string) bool {
	rt := s.refresh[t]
	if rt == nil || rt.revoked || !s.now().Before(s.hardExpires) {
		return false
	}
	return rt.supersededAt.IsZero() || s.now().Before(rt.supersededAt.Add(previousValidFor))
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("intuit_tid", newToken("tid-"))
	id, secret, ok := r.BasicAuth()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	if !ok || id != s.opts.ClientID || secret != s.opts.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		old := r.PostForm.Get("refresh_token")
		if !s.refreshValid(old) {
			// Verbatim: intuit/oauth-jsclient test/mocks/errorResponse.json.
			writeJSON(w, http.StatusBadRequest, map[string]string{"error_description": "Token invalid", "error": "invalid_grant"})
			return
		}
		if rt := s.refresh[old]; rt.supersededAt.IsZero() {
			rt.supersededAt = s.now()
		}
	case "authorization_code":
		code := r.PostForm.Get("code")
		if _, ok := s.codes[code]; !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error_description": "Token invalid", "error": "invalid_grant"})
			return
		}
		delete(s.codes, code)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	next := newToken("RT1-")
	s.refresh[next] = &refreshToken{issued: s.now()}
	access := newToken("eyJ-")
	s.access[access] = s.now().Add(time.Hour)
	// Keys as in intuit/oauth-jsclient test/mocks/tokenResponse.json.
	out := map[string]any{"access_token": access, "refresh_token": next, "token_type": "bearer", "expires_in": 3600,
		"x_refresh_token_expires_in": 8726400, "id_token": newToken("idt-")}
	if strings.EqualFold(r.Header.Get("x-include-refresh-token-hard-expires-in"), "true") {
		out["x_refresh_token_hard_expires_in"] = int64(s.hardExpires.Sub(s.now()) / time.Second)
	}
	writeJSON(w, http.StatusOK, out)
}

// authorize stands in for Intuit's sign-in and consent page: it sends the
// browser straight back to redirect_uri with a code, the state and realmId.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != s.opts.ClientID || redirect == "" || q.Get("response_type") != "code" {
		http.Error(w, "invalid_request: unknown client_id, or no redirect_uri", http.StatusBadRequest)
		return
	}
	code := newToken("AB11-")
	s.mu.Lock()
	s.codes[code] = redirect
	s.mu.Unlock()
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	http.Redirect(w, r, redirect+sep+"code="+code+"&state="+urlEscape(q.Get("state"))+"&realmId="+s.opts.RealmID, http.StatusFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Calls and Throttled count the API calls answered and those refused 429.
func (s *Server) Calls() (calls, throttled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.limited
}

// Replayed counts the writes answered with the first answer of their
// requestid (nothing written again).
func (s *Server) Replayed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replayed
}

// Writes lists the recorded creates and updates.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Records returns copies of every record of an entity ("SalesReceipt"…),
// by id.
func (s *Server) Records(entity string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	ids := slices.Collect(maps.Keys(s.records[strings.ToLower(entity)]))
	slices.SortFunc(ids, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	for _, id := range ids {
		out = append(out, deepCopy(s.records[strings.ToLower(entity)][id]))
	}
	return out
}

// ItemBySKU returns the id of the item with a SKU.
func (s *Server) ItemBySKU(sku string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, it := range s.records["item"] {
		if it["Sku"] == sku {
			return id, true
		}
	}
	return "", false
}

// EditItem changes an item's fields as a person would in QuickBooks
// (UnitPrice, PurchaseCost, QtyOnHand…): its SyncToken moves on and its
// LastUpdatedTime is now. It returns the change a webhook would announce.
func (s *Server) EditItem(id string, fields map[string]any) (Change, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.records["item"][id]
	if it == nil {
		return Change{}, false
	}
	for k, v := range fields {
		it[k] = v
	}
	s.bump(it)
	at, _ := time.Parse(time.RFC3339Nano, str(it["MetaData"].(map[string]any)["LastUpdatedTime"]))
	return Change{Entity: "Item", ID: id, Operation: "Update", At: at}, true
}

// AddCustomer adds a customer as a person would in QuickBooks.
func (s *Server) AddCustomer(displayName, email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := map[string]any{"DisplayName": displayName, "Active": true}
	if email != "" {
		rec["PrimaryEmailAddr"] = map[string]any{"Address": email}
	}
	return s.insert("customer", rec)["Id"].(string)
}

// MakeInactive makes a record inactive as a person would in QuickBooks
// (customers and items are never deleted; merging one into another leaves
// it inactive too). It reports whether the record exists.
func (s *Server) MakeInactive(entity, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.records[strings.ToLower(entity)][id]
	if rec == nil {
		return false
	}
	rec["Active"] = false
	s.bump(rec)
	return true
}

// AccountID returns the id of the account of a name.
func (s *Server) AccountID(name string) (string, bool) { return s.NamedID(EntityAccount, name) }

// NamedID returns the id of the record of entity ("TaxCode",
// "PaymentMethod", "Account") with a name.
func (s *Server) NamedID(entity, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, a := range s.records[strings.ToLower(entity)] {
		if str(a["Name"]) == name {
			return id, true
		}
	}
	return "", false
}

// Entities the twin's helpers name.
const (
	EntityAccount       = "Account"
	EntityTaxCode       = "TaxCode"
	EntityPaymentMethod = "PaymentMethod"
)

// ConflictNextUpdates makes the next n updates fail with a stale SyncToken
// (5010), as if someone edited the record meanwhile: its SyncToken moves on.
func (s *Server) ConflictNextUpdates(n int) {
	s.mu.Lock()
	s.conflicts = n
	s.mu.Unlock()
}

// ThrottleNext answers the next n API calls 429.
func (s *Server) ThrottleNext(n int) {
	s.mu.Lock()
	s.throttleFor = n
	s.mu.Unlock()
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
