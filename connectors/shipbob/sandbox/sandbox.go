// Package sandbox is a twin of ShipBob's REST API (2026-01) for tests, the
// demo and benchmarks: the same paths, bodies, error envelopes and rate
// limit (150 requests a minute over a sliding window, answered 429 with
// x-retry-after and the documented body), orders with their shipments,
// tracking that may come after the shipment, inventory levels with pages,
// returns, channels, fulfilment centres, and webhooks signed the Standard
// Webhooks way, delivered late, twice or out of order when asked.
package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"crossdock/connectors/shipbob"
)

// Version is the API version the twin serves.
const Version = shipbob.DefaultAPIVersion

// Options configure a twin.
type Options struct {
	// AccessToken is the personal access token it accepts.
	AccessToken string
	// ClientID and ClientSecret are the app that may sign in
	// (/connect/authorize and /connect/token); none when empty.
	ClientID, ClientSecret string
	// DenySignIn answers the sign-in page as a person who refused.
	DenySignIn bool
	// RateLimit requests per RateWindow (150 a minute when zero); a
	// negative RateLimit turns the limit off.
	RateLimit  int
	RateWindow time.Duration
	// Channels and FulfillmentCenters of the account (one of each when empty).
	Channels           []shipbob.Channel
	FulfillmentCenters []shipbob.FulfillmentCenter
	// SplitOver: an order of more than this many units ships in two
	// shipments (0: never split).
	SplitOver int
	// Webhooks: each delivery waits Delay (plus up to Jitter, so deliveries
	// overtake each other), and with Duplicate is sent twice.
	Delay, Jitter time.Duration
	Duplicate     bool
	// HTTPClient sends webhooks (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Now is the twin's clock (time.Now when nil).
	Now func() time.Time
}

// Server is the twin. Its methods with Direct in the name (and Ship,
// AddTracking…) change it the way ShipBob's warehouse would.
type Server struct {
	opt Options
	now func() time.Time

	mu        sync.Mutex
	orders    []*shipbob.Order
	byRef     map[string]*shipbob.Order
	shipments map[int64]*shipbob.Shipment
	nextID    int64
	stock     map[string]*shipbob.InventoryLevel // by SKU: the totals of centres
	centres   map[string]map[int64][2]int        // by SKU, by centre: on hand, committed
	charges   []shipbob.Charge
	returns   []*shipbob.Return
	subs      []shipbob.Subscription
	calls     []time.Time // the sliding window
	writes    []Write
	sent      []Delivery
	inflight  sync.WaitGroup
	throttled int
	// POST /order calls answered by kind, and requests let through the
	// window, for benchmarks.
	created, duplicates, admitted int
	// requests counts the requests let through by kind ("GET /order/{id}/shipment").
	requests map[string]int
	// The sign-in's codes, tokens and refresh tokens (oauth.go).
	oauth oauthState
}

// Write is one write the twin accepted, with its idempotency reference.
type Write struct {
	Method, Path, Reference string
	At                      time.Time
}

// Delivery is one webhook the twin sent.
type Delivery struct {
	ID, Topic, URL string
	Status         int
	Body           []byte
}

// New returns a twin.
func New(opt Options) *Server {
	if len(opt.Channels) == 0 {
		opt.Channels = []shipbob.Channel{{ID: 100101, Name: "Crossdock", ApplicationName: "Crossdock",
			Scopes: []string{"orders_read", "orders_write", "inventory_read", "returns_read", "returns_write", "webhooks_read", "webhooks_write"}}}
	}
	if len(opt.FulfillmentCenters) == 0 {
		opt.FulfillmentCenters = []shipbob.FulfillmentCenter{{ID: 11, Name: "Cicero (IL)", City: "Cicero", State: "IL", Country: "US"}}
	}
	s := &Server{opt: opt, now: opt.Now, byRef: map[string]*shipbob.Order{}, shipments: map[int64]*shipbob.Shipment{},
		nextID: 100000000, stock: map[string]*shipbob.InventoryLevel{}, requests: map[string]int{}, oauth: newOAuthState(),
		centres: map[string]map[int64][2]int{}}
	if opt.Now == nil {
		s.now = time.Now
	}
	return s
}

// ServeHTTP answers /<version>/… like ShipBob.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/connect/authorize":
		s.authorize(w, r)
		return
	case "/connect/token":
		s.token(w, r)
		return
	}
	if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || !s.acceptsToken(got) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Authorization has been denied for this request."})
		return
	}
	if wait, left, ok := s.admit(); !ok {
		w.Header().Set("X-Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
		w.Header().Set("X-Remaining-Calls", "0")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"statusCode": 429,
			"message": fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds.", int(wait.Round(time.Second)/time.Second))})
		return
	} else if left >= 0 {
		w.Header().Set("X-Remaining-Calls", strconv.Itoa(left))
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/"+Version)
	s.mu.Lock()
	s.requests[r.Method+" "+requestKind(path)]++
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "No API version " + strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0] + " here; this twin serves " + Version + "."})
		return
	}
	var body []byte
	if r.Body != nil {
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 4<<20)); err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"message": "The request body is too large."})
			return
		}
		body = buf.Bytes()
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && path == "/channel":
		s.mu.Lock()
		writeJSON(w, 200, map[string]any{"items": s.opt.Channels, "next": nil, "prev": nil})
		s.mu.Unlock()
	case r.Method == http.MethodGet && path == "/fulfillment-center":
		writeJSON(w, 200, s.opt.FulfillmentCenters)
	case r.Method == http.MethodPost && path == "/order":
		s.createOrder(w, r, body)
	case r.Method == http.MethodGet && path == "/order":
		s.listOrders(w, q)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/order/") && strings.HasSuffix(path, ":cancel"):
		s.cancelOrder(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/order/"), ":cancel"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/order/") && strings.HasSuffix(path, "/shipment"):
		s.orderShipments(w, strings.TrimSuffix(strings.TrimPrefix(path, "/order/"), "/shipment"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/order/"):
		s.getOrder(w, strings.TrimPrefix(path, "/order/"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/shipment/"):
		s.getShipment(w, strings.TrimPrefix(path, "/shipment/"))
	case r.Method == http.MethodPost && path == "/shipment:batchUpdateTrackingUpload":
		s.trackingUploaded(w, r, body)
	case r.Method == http.MethodPost && path == "/simulate/shipment":
		s.simulate(w, body)
	case r.Method == http.MethodGet && path == "/inventory-level":
		s.inventory(w, q, false)
	case r.Method == http.MethodGet && path == "/inventory-level/locations":
		s.inventory(w, q, true)
	case r.Method == http.MethodPost && path == "/transactions:query":
		s.transactions(w, q, body)
	case r.Method == http.MethodPost && path == "/return":
		s.createReturn(w, r, body)
	case r.Method == http.MethodGet && path == "/return":
		s.listReturns(w, q)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/return/"):
		s.getReturn(w, strings.TrimPrefix(path, "/return/"))
	case r.Method == http.MethodPut && strings.HasPrefix(path, "/shipment/") && strings.HasSuffix(path, ":updateAddress"):
		s.updateAddress(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/shipment/"), ":updateAddress"), body)
	case r.Method == http.MethodPost && path == "/webhook":
		s.subscribe(w, body)
	case r.Method == http.MethodGet && path == "/webhook":
		s.mu.Lock()
		items := slices.Clone(s.subs)
		s.mu.Unlock()
		for i := range items {
			items[i].Secret = "" // never shown again
		}
		writeJSON(w, 200, map[string]any{"items": items, "next": nil, "prev": nil})
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/webhook/"):
		s.unsubscribe(w, strings.TrimPrefix(path, "/webhook/"))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "No HTTP resource was found that matches the request URI."})
	}
}

// requestKind is a path with its ids written {id}: /order/{id}/shipment,
// /order/{id}:cancel.
func requestKind(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		id, action, colon := strings.Cut(p, ":")
		if id == "" || strings.Trim(id, "0123456789") != "" {
			continue
		}
		parts[i] = "{id}"
		if colon {
			parts[i] += ":" + action
		}
	}
	return strings.Join(parts, "/")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// admit counts a request in the sliding window; ok is false (with the wait
// until a place frees) when the window is full.
func (s *Server) admit() (wait time.Duration, left int, ok bool) {
	limit := cmp.Or(s.opt.RateLimit, shipbob.RateLimit)
	if limit < 0 {
		return 0, -1, true
	}
	per := cmp.Or(s.opt.RateWindow, time.Minute)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	cut := 0
	for cut < len(s.calls) && !s.calls[cut].After(now.Add(-per)) {
		cut++
	}
	s.calls = s.calls[cut:]
	if len(s.calls) >= limit {
		s.throttled++
		// Rounded up to a whole second, as ShipBob's header is.
		d := s.calls[0].Add(per).Sub(now)
		return max(time.Duration((d+time.Second-1)/time.Second)*time.Second, time.Second), 0, false
	}
	s.calls = append(s.calls, now)
	s.admitted++
	return 0, limit - len(s.calls), true
}

// fieldErrors answers 422 in the orders API's envelope: a map of field to
// messages.
func fieldErrors(w http.ResponseWriter, status int, errs map[string][]string) {
	writeJSON(w, status, errs)
}

func (s *Server) channelOf(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.Header.Get(shipbob.HeaderChannel), 10, 64)
	if err != nil {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.opt.Channels {
		if ch.ID == id && ch.CanWrite() {
			return id, true
		}
	}
	return 0, false
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request, body []byte) {
	channel, ok := s.channelOf(r)
	if !ok {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "The shipbob_channel_id header is missing or names a channel without write access."})
		return
	}
	var in shipbob.NewOrder
	if err := json.Unmarshal(body, &in); err != nil {
		fieldErrors(w, http.StatusBadRequest, map[string][]string{"": {"The request body is not valid JSON: " + err.Error()}})
		return
	}
	errs := map[string][]string{}
	if n := len(in.ReferenceID); n == 0 || n > 300 {
		errs["ReferenceId"] = append(errs["ReferenceId"], "The field ReferenceId must be a string with a minimum length of 1 and a maximum length of 300.")
	}
	if strings.TrimSpace(in.Recipient.Name) == "" {
		errs["Recipient.Name"] = append(errs["Recipient.Name"], "The Name field is required.")
	}
	if strings.TrimSpace(in.Recipient.Address.Address1) == "" || strings.TrimSpace(in.Recipient.Address.City) == "" || strings.TrimSpace(in.Recipient.Address.Country) == "" {
		errs["Recipient.Address"] = append(errs["Recipient.Address"], "Address1, City and Country are required.")
	}
	if len(in.Products) == 0 {
		errs["Products"] = append(errs["Products"], "The Products field is required.")
	}
	for i, p := range in.Products {
		if strings.TrimSpace(p.ReferenceID) == "" || p.Quantity <= 0 {
			errs[fmt.Sprintf("Products[%d]", i)] = append(errs[fmt.Sprintf("Products[%d]", i)], "Each product needs a reference_id and a quantity of at least 1.")
		}
	}
	if strings.TrimSpace(in.ShippingMethod) == "" {
		errs["ShippingMethod"] = append(errs["ShippingMethod"], "The ShippingMethod field is required.")
	}
	if in.Type != "DTC" && in.Type != "" {
		errs["Type"] = append(errs["Type"], "B2B and DropShip orders need retailer_program_data and shipping_terms.")
	}
	if len(errs) > 0 {
		fieldErrors(w, http.StatusUnprocessableEntity, errs)
		return
	}
	s.mu.Lock()
	if _, dup := s.byRef[in.ReferenceID]; dup {
		s.duplicates++
		s.mu.Unlock()
		// Verbatim from the fixture (shipbob-error-duplicate-reference-id.json).
		fieldErrors(w, http.StatusUnprocessableEntity, map[string][]string{"": {"Cannot insert order with existing ReferenceId"}})
		return
	}
	s.created++
	s.nextID++
	o := &shipbob.Order{ID: s.nextID, ReferenceID: in.ReferenceID, OrderNumber: in.OrderNumber, Status: "Processing", Type: "DTC",
		CreatedDate: s.now().UTC().Format(time.RFC3339)}
	o.Channel.ID = channel
	units := 0
	for _, p := range in.Products {
		o.Products = append(o.Products, shipbob.OrderLine{ID: s.productID(p.ReferenceID), ReferenceID: p.ReferenceID, SKU: cmp.Or(p.SKU, p.ReferenceID), Quantity: p.Quantity})
		units += p.Quantity
	}
	// One shipment, or two when the order is large and the twin splits.
	parts := [][]shipbob.OrderProduct{in.Products}
	if s.opt.SplitOver > 0 && units > s.opt.SplitOver && len(in.Products) > 1 {
		h := len(in.Products) / 2
		parts = [][]shipbob.OrderProduct{in.Products[:h], in.Products[h:]}
	}
	fc := s.opt.FulfillmentCenters[0]
	for _, part := range parts {
		s.nextID++
		recipient := in.Recipient
		sh := &shipbob.Shipment{ID: s.nextID, OrderID: o.ID, ReferenceID: in.ReferenceID, Status: "Processing", CreatedDate: s.now().UTC(),
			Location: shipbob.FulfillmentCenter{ID: fc.ID, Name: fc.Name}, Recipient: &recipient}
		for _, p := range part {
			sh.Products = append(sh.Products, shipbob.ShipmentProduct{ID: s.productID(p.ReferenceID), ReferenceID: p.ReferenceID,
				Name: p.Name, SKU: cmp.Or(p.SKU, p.ReferenceID),
				InventoryItems: []shipbob.InventoryItem{{ID: s.productID(p.ReferenceID), Name: p.Name, Quantity: p.Quantity}}})
		}
		s.shipments[sh.ID] = sh
		o.Shipments = append(o.Shipments, *sh)
	}
	s.orders = append(s.orders, o)
	s.byRef[in.ReferenceID] = o
	s.writes = append(s.writes, Write{Method: r.Method, Path: "/order", Reference: in.ReferenceID, At: s.now()})
	out := s.orderView(o)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// productID is a stable id for a reference (the inventory item of a SKU).
func (s *Server) productID(ref string) int64 {
	if lv, ok := s.stock[ref]; ok {
		return lv.InventoryID
	}
	var h int64 = 7
	for _, c := range ref {
		h = (h*31 + int64(c)) % 900000
	}
	return 1000000 + h
}

// orderView is an order with its shipments as they are now. The caller holds mu.
func (s *Server) orderView(o *shipbob.Order) shipbob.Order {
	out := *o
	out.Shipments = nil
	for _, sh := range o.Shipments {
		if cur, ok := s.shipments[sh.ID]; ok {
			out.Shipments = append(out.Shipments, *cur)
		}
	}
	return out
}

func (s *Server) listOrders(w http.ResponseWriter, q url.Values) {
	page, _ := strconv.Atoi(cmp.Or(q.Get("Page"), "1"))
	limit, _ := strconv.Atoi(cmp.Or(q.Get("Limit"), "50"))
	if page < 1 || limit < 1 || limit > 250 {
		fieldErrors(w, http.StatusBadRequest, map[string][]string{"Limit": {"Page must be at least 1 and Limit between 1 and 250."}})
		return
	}
	var refs []string
	if v := q.Get("ReferenceIds"); v != "" {
		refs = strings.Split(v, ",")
	}
	hasTracking, uploaded := q.Get("HasTracking"), q.Get("IsTrackingUploaded")
	s.mu.Lock()
	var match []shipbob.Order
	for _, o := range s.orders {
		if refs != nil && !slices.Contains(refs, o.ReferenceID) {
			continue
		}
		v := s.orderView(o)
		if hasTracking != "" || uploaded != "" {
			// An order matches when one of its shipments does.
			ok := false
			for _, sh := range v.Shipments {
				if (hasTracking == "" || (sh.TrackingNumber() != "") == (hasTracking == "true")) &&
					(uploaded == "" || sh.IsTrackingUploaded == (uploaded == "true")) {
					ok = true
				}
			}
			if !ok {
				continue
			}
		}
		match = append(match, v)
	}
	s.mu.Unlock()
	if q.Get("SortOrder") == "Newest" {
		slices.Reverse(match)
	}
	from := min((page-1)*limit, len(match))
	writeJSON(w, 200, nonNil(match[from:min(from+limit, len(match))]))
}

func (s *Server) orderByPath(w http.ResponseWriter, raw string) *shipbob.Order {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		fieldErrors(w, http.StatusBadRequest, map[string][]string{"orderId": {"The value '" + raw + "' is not valid."}})
		return nil
	}
	for _, o := range s.orders {
		if o.ID == id {
			return o
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Order not found."})
	return nil
}

func (s *Server) getOrder(w http.ResponseWriter, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orderByPath(w, raw); o != nil {
		writeJSON(w, 200, s.orderView(o))
	}
}

func (s *Server) orderShipments(w http.ResponseWriter, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orderByPath(w, raw); o != nil {
		writeJSON(w, 200, s.orderView(o).Shipments)
	}
}

func (s *Server) getShipment(w http.ResponseWriter, raw string) {
	id, _ := strconv.ParseInt(raw, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.shipments[id]; ok {
		writeJSON(w, 200, sh)
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Shipment not found."})
}

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request, raw string) {
	if _, ok := s.channelOf(r); !ok {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "The shipbob_channel_id header is missing or names a channel without write access."})
		return
	}
	s.mu.Lock()
	o := s.orderByPath(w, raw)
	if o == nil {
		s.mu.Unlock()
		return
	}
	for _, sh := range o.Shipments {
		if cur := s.shipments[sh.ID]; cur.Status == "Completed" || cur.Status == "LabeledCreated" {
			s.mu.Unlock()
			fieldErrors(w, http.StatusUnprocessableEntity, map[string][]string{"": {"The order has shipped and can no longer be cancelled."}})
			return
		}
	}
	o.Status = "Cancelled"
	for _, sh := range o.Shipments {
		s.shipments[sh.ID].Status = "Cancelled"
	}
	s.writes = append(s.writes, Write{Method: r.Method, Path: r.URL.Path, Reference: o.ReferenceID, At: s.now()})
	out := map[string]any{"order_id": o.ID, "status": "Success", "order": s.orderView(o)}
	s.mu.Unlock()
	writeJSON(w, 200, out)
}

func (s *Server) trackingUploaded(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, ok := s.channelOf(r); !ok {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "The shipbob_channel_id header is missing or names a channel without write access."})
		return
	}
	var in struct {
		IsTrackingUploaded bool    `json:"is_tracking_uploaded"`
		ShipmentIDs        []int64 `json:"shipment_ids"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.ShipmentIDs) == 0 {
		fieldErrors(w, http.StatusBadRequest, map[string][]string{"shipment_ids": {"At least one shipment id is required."}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range in.ShipmentIDs {
		if _, ok := s.shipments[id]; !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": fmt.Sprintf("Shipment %d not found.", id)})
			return
		}
	}
	for _, id := range in.ShipmentIDs {
		s.shipments[id].IsTrackingUploaded = in.IsTrackingUploaded
	}
	s.writes = append(s.writes, Write{Method: r.Method, Path: "/shipment:batchUpdateTrackingUpload", At: s.now()})
	writeJSON(w, 200, map[string]any{})
}

func (s *Server) simulate(w http.ResponseWriter, body []byte) {
	var in struct {
		ShipmentID string `json:"shipment_id"`
		Simulation struct {
			Action string `json:"action"`
		} `json:"simulation"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Simulation.Action == "" {
		fieldErrors(w, http.StatusBadRequest, map[string][]string{"simulation": {"The simulation action is required."}})
		return
	}
	id, _ := strconv.ParseInt(in.ShipmentID, 10, 64)
	if err := s.Ship(id, true); err != nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": err.Error()})
		return
	}
	writeJSON(w, 200, map[string]any{"simulation_id": fmt.Sprintf("sim-%d", id), "message": "Simulation submitted."})
}

// Ship ships a shipment as the warehouse would: its status becomes
// Completed and the order.shipped webhook goes out. withTracking false is
// the field-reported case of a shipment shipped before its tracking exists:
// AddTracking adds it later.
func (s *Server) Ship(shipmentID int64, withTracking bool) error {
	s.mu.Lock()
	sh, ok := s.shipments[shipmentID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("Shipment %d not found.", shipmentID)
	}
	if sh.Status == "Cancelled" {
		s.mu.Unlock()
		return fmt.Errorf("Shipment %d was cancelled.", shipmentID)
	}
	now := s.now().UTC()
	sh.Status, sh.ActualFulfillmentDate, sh.LastUpdateAt = "Completed", &now, &now
	if withTracking && sh.Tracking == nil {
		sh.Tracking = trackingFor(sh.ID, now)
	}
	s.updateOrderStatusLocked(sh.OrderID)
	ev := shipmentEvent(sh, now)
	s.mu.Unlock()
	s.emit(shipbob.TopicShipped, ev)
	return nil
}

// AddTracking gives a shipped shipment its tracking, as ShipBob does when
// the carrier's label comes after the shipment: no 2026-01 webhook says so
// (only the 2026-07 order.shipment.tracking.updated, sent when subscribed),
// so polling finds it.
func (s *Server) AddTracking(shipmentID int64) (shipbob.Tracking, error) {
	s.mu.Lock()
	sh, ok := s.shipments[shipmentID]
	if !ok {
		s.mu.Unlock()
		return shipbob.Tracking{}, fmt.Errorf("Shipment %d not found.", shipmentID)
	}
	now := s.now().UTC()
	if sh.Tracking == nil {
		sh.Tracking = trackingFor(sh.ID, now)
	}
	sh.LastUpdateAt = &now
	t := *sh.Tracking
	ev := shipmentEvent(sh, now)
	s.mu.Unlock()
	s.emit(shipbob.TopicTrackingUpdated, ev)
	return t, nil
}

func trackingFor(id int64, at time.Time) *shipbob.Tracking {
	n := fmt.Sprintf("92612903%014d", id)
	return &shipbob.Tracking{Carrier: "USPS", CarrierService: "Ground Advantage", TrackingNumber: n,
		TrackingURL: "https://tools.usps.com/go/TrackConfirmAction?tLabels=" + n, ShippingDate: at.Format(time.RFC3339)}
}

// shipmentEvent is a shipment webhook's body: the shipment, with the
// event's time and the documented sample's tracking_id beside the model's
// tracking_number.
func shipmentEvent(sh *shipbob.Shipment, at time.Time) map[string]any {
	ev := map[string]any{"event_time": at.Format(time.RFC3339Nano), "id": sh.ID, "order_id": sh.OrderID, "reference_id": sh.ReferenceID,
		"status": sh.Status, "location": sh.Location, "products": sh.Products}
	if t := sh.Tracking; t != nil {
		ev["tracking"] = map[string]any{"carrier": t.Carrier, "carrier_service": t.CarrierService, "tracking_id": t.TrackingNumber,
			"tracking_number": t.TrackingNumber, "tracking_url": t.TrackingURL}
	}
	return ev
}

func (s *Server) updateOrderStatusLocked(orderID int64) {
	for _, o := range s.orders {
		if o.ID != orderID {
			continue
		}
		done := 0
		for _, sh := range o.Shipments {
			if s.shipments[sh.ID].Status == "Completed" {
				done++
			}
		}
		switch {
		case done == len(o.Shipments):
			o.Status = "Fulfilled"
		case done > 0:
			o.Status = "PartiallyFulfilled"
		}
	}
}

// SetStockDirect sets an inventory item's levels by SKU, at the account's
// first fulfilment centre.
func (s *Server) SetStockDirect(sku, name string, onHand, committed int) shipbob.InventoryLevel {
	return s.SetCentreStockDirect(sku, name, s.opt.FulfillmentCenters[0].ID, onHand, committed)
}

// SetCentreStockDirect sets an inventory item's levels at one fulfilment
// centre; the item's totals are the sums over its centres.
func (s *Server) SetCentreStockDirect(sku, name string, centre int64, onHand, committed int) shipbob.InventoryLevel {
	s.mu.Lock()
	defer s.mu.Unlock()
	lv, ok := s.stock[sku]
	if !ok {
		s.nextID++
		lv = &shipbob.InventoryLevel{InventoryID: s.nextID, SKU: sku}
		s.stock[sku] = lv
		s.centres[sku] = map[int64][2]int{}
	}
	lv.Name = cmp.Or(name, lv.Name, sku)
	s.centres[sku][centre] = [2]int{onHand, committed}
	lv.OnHand, lv.Committed, lv.Fulfillable = 0, 0, 0
	for _, q := range s.centres[sku] {
		lv.OnHand += q[0]
		lv.Committed += q[1]
		lv.Fulfillable += max(q[0]-q[1], 0)
	}
	lv.Sellable = lv.Fulfillable
	return *lv
}

// centreLevels is an item's stock per centre, in the account's centre
// order. The caller holds mu.
func (s *Server) centreLevels(lv *shipbob.InventoryLevel) shipbob.CentreLevels {
	out := shipbob.CentreLevels{InventoryID: lv.InventoryID, SKU: lv.SKU, Name: lv.Name, Locations: []shipbob.CentreLevel{}}
	for _, fc := range s.opt.FulfillmentCenters {
		if q, ok := s.centres[lv.SKU][fc.ID]; ok {
			out.Locations = append(out.Locations, shipbob.CentreLevel{LocationID: fc.ID, Name: fc.Name, OnHand: q[0], Committed: q[1],
				Fulfillable: max(q[0]-q[1], 0)})
		}
	}
	return out
}

// inventory answers GET /inventory-level (totals) and, byCentre, GET
// /inventory-level/locations (per fulfilment centre), a page at a time in
// inventory id order.
func (s *Server) inventory(w http.ResponseWriter, q url.Values, byCentre bool) {
	size, _ := strconv.Atoi(cmp.Or(q.Get("PageSize"), "100"))
	if size < 1 || size > 250 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
			"title": "One or more validation errors occurred.", "status": 400, "errors": map[string][]string{"PageSize": {"PageSize must be between 1 and 250."}}})
		return
	}
	after, _ := strconv.ParseInt(q.Get("Cursor"), 10, 64)
	path := "/" + Version + "/inventory-level"
	if byCentre {
		path += "/locations"
	}
	s.mu.Lock()
	all := make([]*shipbob.InventoryLevel, 0, len(s.stock))
	for _, lv := range s.stock {
		all = append(all, lv)
	}
	slices.SortFunc(all, func(a, b *shipbob.InventoryLevel) int { return cmp.Compare(a.InventoryID, b.InventoryID) })
	i, _ := slices.BinarySearchFunc(all, after+1, func(a *shipbob.InventoryLevel, id int64) int { return cmp.Compare(a.InventoryID, id) })
	page := all[i:min(i+size, len(all))]
	items := make([]any, 0, len(page))
	for _, lv := range page {
		if byCentre {
			items = append(items, s.centreLevels(lv))
		} else {
			items = append(items, *lv)
		}
	}
	s.mu.Unlock()
	out := map[string]any{"items": items, "first": path + "?PageSize=" + strconv.Itoa(size), "next": nil, "prev": nil, "last": nil}
	if i+size < len(all) {
		out["next"] = fmt.Sprintf("%s?PageSize=%d&Cursor=%d", path, size, page[len(page)-1].InventoryID)
	}
	writeJSON(w, 200, out)
}

// ChargeDirect bills a shipment as ShipBob's billing does once it ships:
// fee is the transaction fee ("Shipping", "Per Pick Fee"…), amount in USD.
// The transaction is listed by POST /transactions:query and sent to the
// billing.charge.created subscriptions.
func (s *Server) ChargeDirect(shipmentID int64, fee string, amount float64, at time.Time) shipbob.Charge {
	return s.bill(shipbob.TopicBillingCharge, shipbob.TransactionCharge, shipmentID, fee, amount, at)
}

// RefundDirect refunds part of what a shipment was billed (a positive
// amount, in USD): a Refund transaction, listed and sent
// (billing.refund.created) with a negative amount.
func (s *Server) RefundDirect(shipmentID int64, fee string, amount float64, at time.Time) shipbob.Charge {
	return s.bill(shipbob.TopicBillingRefund, shipbob.TransactionRefund, shipmentID, fee, -math.Abs(amount), at)
}

// CreditDirect credits the account for a shipment (a positive amount, in
// USD): a Credit transaction, listed and sent (billing.credit.created) with
// a negative amount.
func (s *Server) CreditDirect(shipmentID int64, fee string, amount float64, at time.Time) shipbob.Charge {
	return s.bill(shipbob.TopicBillingCredit, shipbob.TransactionCredit, shipmentID, fee, -math.Abs(amount), at)
}

// bill records one billing transaction of a shipment and emits its webhook:
// the transaction in the transactions API's model (the webhook's own is not
// published) with the event's time, as the other webhooks carry it.
func (s *Server) bill(topic, typ string, shipmentID int64, fee string, amount float64, at time.Time) shipbob.Charge {
	s.mu.Lock()
	s.nextID++
	centre := ""
	if sh, ok := s.shipments[shipmentID]; ok {
		centre = sh.Location.Name
	}
	invoice := "Shipping"
	if typ == shipbob.TransactionCredit {
		invoice = "Credits"
	}
	c := shipbob.Charge{TransactionID: "txn_" + strconv.FormatInt(s.nextID, 10), Amount: amount, CurrencyCode: "USD",
		ChargeDate: at.UTC().Format("2006-01-02"), InvoiceType: invoice, ReferenceID: strconv.FormatInt(shipmentID, 10),
		ReferenceType: shipbob.ReferenceShipment, TransactionFee: fee, TransactionType: typ, Centre: centre}
	s.charges = append(s.charges, c)
	now := s.now().UTC()
	s.mu.Unlock()
	s.emit(topic, billingEvent(c, now))
	return c
}

// billingEvent is a billing webhook's body: the transaction's fields, and
// the event's time.
func billingEvent(c shipbob.Charge, at time.Time) map[string]any {
	b, _ := json.Marshal(c)
	var ev map[string]any
	_ = json.Unmarshal(b, &ev)
	ev["event_time"] = at.Format(time.RFC3339Nano)
	return ev
}

// transactions answers POST /transactions:query: the filter in the body on
// the first page, the cursor alone (an offset here) on the next ones.
func (s *Server) transactions(w http.ResponseWriter, q url.Values, body []byte) {
	var f struct {
		From       *time.Time `json:"from_date"`
		To         *time.Time `json:"to_date"`
		RefTypes   []string   `json:"reference_types"`
		TxTypes    []string   `json:"transaction_types"`
		PageSize   int        `json:"page_size"`
		References []string   `json:"reference_ids"`
	}
	from := 0
	if c := q.Get("Cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			err = json.Unmarshal(raw, &struct {
				F    any  `json:"f"`
				From *int `json:"from"`
			}{F: &f, From: &from})
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"title": "Bad Request", "status": 400, "detail": "The cursor is not valid."})
			return
		}
	} else if err := json.Unmarshal(body, &f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"title": "Bad Request", "status": 400, "detail": "The filter is not valid JSON: " + err.Error()})
		return
	}
	size := cmp.Or(f.PageSize, 100)
	if size < 1 || size > 1000 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"title": "Bad Request", "status": 400, "detail": "page_size must be between 1 and 1000."})
		return
	}
	s.mu.Lock()
	var match []shipbob.Charge
	for _, c := range s.charges {
		day, _ := time.Parse("2006-01-02", c.ChargeDate)
		if (f.From != nil && day.Before(f.From.Truncate(24*time.Hour))) || (f.To != nil && day.After(*f.To)) ||
			(len(f.RefTypes) > 0 && !slices.Contains(f.RefTypes, c.ReferenceType)) ||
			(len(f.TxTypes) > 0 && !slices.Contains(f.TxTypes, c.TransactionType)) ||
			(len(f.References) > 0 && !slices.Contains(f.References, c.ReferenceID)) {
			continue
		}
		match = append(match, c)
	}
	s.mu.Unlock()
	from = min(max(from, 0), len(match))
	page := match[from:min(from+size, len(match))]
	out := map[string]any{"items": nonNil(page), "first": nil, "next": nil, "prev": nil, "last": nil}
	if from+size < len(match) {
		b, _ := json.Marshal(map[string]any{"f": f, "from": from + size})
		out["next"] = "/" + Version + "/transactions:query?Cursor=" + base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, 200, out)
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// ShippedOrderDirect records an order the warehouse received and shipped
// before Crossdock was connected (one shipment, with tracking), and
// returns its shipment's id: the demo's past orders.
func (s *Server) ShippedOrderDirect(ref, number string, products []shipbob.OrderProduct, at time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.byRef[ref]; ok && len(o.Shipments) > 0 {
		return o.Shipments[0].ID
	}
	s.nextID++
	o := &shipbob.Order{ID: s.nextID, ReferenceID: ref, OrderNumber: number, Status: "Fulfilled", Type: "DTC", CreatedDate: at.UTC().Format(time.RFC3339)}
	o.Channel.ID = s.opt.Channels[0].ID
	fc := s.opt.FulfillmentCenters[0]
	s.nextID++
	done := at.UTC().Add(20 * time.Hour)
	sh := &shipbob.Shipment{ID: s.nextID, OrderID: o.ID, ReferenceID: ref, Status: "Completed", CreatedDate: at.UTC(), ActualFulfillmentDate: &done,
		LastUpdateAt: &done, Location: shipbob.FulfillmentCenter{ID: fc.ID, Name: fc.Name}, IsTrackingUploaded: true}
	sh.Tracking = trackingFor(sh.ID, done)
	for _, p := range products {
		o.Products = append(o.Products, shipbob.OrderLine{ID: s.productID(p.ReferenceID), ReferenceID: p.ReferenceID, SKU: cmp.Or(p.SKU, p.ReferenceID), Quantity: p.Quantity})
		sh.Products = append(sh.Products, shipbob.ShipmentProduct{ID: s.productID(p.ReferenceID), ReferenceID: p.ReferenceID, Name: p.Name,
			SKU: cmp.Or(p.SKU, p.ReferenceID), InventoryItems: []shipbob.InventoryItem{{ID: s.productID(p.ReferenceID), Name: p.Name, Quantity: p.Quantity}}})
	}
	s.shipments[sh.ID] = sh
	o.Shipments = []shipbob.Shipment{*sh}
	s.orders = append(s.orders, o)
	s.byRef[ref] = o
	return sh.ID
}

func (s *Server) subscribe(w http.ResponseWriter, body []byte) {
	var in shipbob.Subscription
	if err := json.Unmarshal(body, &in); err != nil || in.URL == "" || len(in.Topics) == 0 {
		fieldErrors(w, http.StatusBadRequest, map[string][]string{"": {"url and topics are required."}})
		return
	}
	s.mu.Lock()
	s.nextID++
	in.ID = strconv.FormatInt(s.nextID, 10)
	if in.Secret == "" {
		in.Secret = "whsec_" + randomB64()
	}
	in.CreatedAt = s.now().UTC().Format(time.RFC3339)
	s.subs = append(s.subs, in)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, in)
}

func randomB64() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 32)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}

func (s *Server) unsubscribe(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.subs, func(x shipbob.Subscription) bool { return x.ID == id })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Subscription not found."})
		return
	}
	s.subs = slices.Delete(s.subs, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

// emit delivers an event to every subscription of its topic, signed, after
// the twin's delay (plus jitter, so deliveries overtake each other), twice
// when Duplicate is set: as ShipBob's retries do, with the same webhook-id.
func (s *Server) emit(topic string, payload any) {
	body, _ := json.Marshal(payload)
	s.mu.Lock()
	var subs []shipbob.Subscription
	for _, sub := range s.subs {
		if slices.Contains(sub.Topics, topic) {
			subs = append(subs, sub)
		}
	}
	s.nextID++
	id := fmt.Sprintf("msg_%d", s.nextID)
	s.mu.Unlock()
	for _, sub := range subs {
		times := 1
		if s.opt.Duplicate {
			times = 2
		}
		for range times {
			d := s.opt.Delay
			if s.opt.Jitter > 0 {
				d += time.Duration(rand.Int64N(int64(s.opt.Jitter)))
			}
			s.inflight.Add(1)
			time.AfterFunc(d, func() {
				defer s.inflight.Done()
				s.deliver(sub, id, topic, body)
			})
		}
	}
}

func (s *Server) deliver(sub shipbob.Subscription, id, topic string, body []byte) {
	status, _ := SendWebhook(context.Background(), cmp.Or(s.opt.HTTPClient, http.DefaultClient), sub.URL, sub.Secret, id, topic, body, time.Now())
	s.mu.Lock()
	s.sent = append(s.sent, Delivery{ID: id, Topic: topic, URL: sub.URL, Status: status, Body: body})
	s.mu.Unlock()
}

// SendWebhook posts one signed delivery (Standard Webhooks headers and
// x-webhook-topic) and returns the answer's status.
func SendWebhook(ctx context.Context, hc *http.Client, url, secret, id, topic string, body []byte, at time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(shipbob.HeaderWebhookID, id)
	req.Header.Set(shipbob.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(shipbob.HeaderWebhookSignature, shipbob.Sign(secret, id, at, body))
	req.Header.Set(shipbob.HeaderTopic, topic)
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// WaitDeliveries waits until every webhook the twin scheduled was sent.
func (s *Server) WaitDeliveries() { s.inflight.Wait() }

// Deliveries lists the webhooks sent.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Orders lists the orders, oldest first, as they are now.
func (s *Server) Orders() []shipbob.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]shipbob.Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, s.orderView(o))
	}
	return out
}

// OrderByReference finds an order by its reference_id.
func (s *Server) OrderByReference(ref string) (shipbob.Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.byRef[ref]
	if !ok {
		return shipbob.Order{}, false
	}
	return s.orderView(o), true
}

// Writes lists the writes the twin accepted, with their references.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Stats counts POST /order answers, 429s and the requests let through by
// kind ("POST /order", "GET /order/{id}/shipment"), for benchmarks.
type Stats struct {
	Created, Duplicates, Throttled int
	Requests                       map[string]int
}

// Stats reports the twin's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Created: s.created, Duplicates: s.duplicates, Throttled: s.throttled, Requests: maps.Clone(s.requests)}
}

// Admitted counts the requests the rate window let through (none are
// counted with the limit off).
func (s *Server) Admitted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admitted
}

// FulfillmentCenters lists the account's fulfilment centres.
func (s *Server) FulfillmentCenters() []shipbob.FulfillmentCenter {
	return slices.Clone(s.opt.FulfillmentCenters)
}

// Subscriptions lists the webhook subscriptions with their secrets.
func (s *Server) Subscriptions() []shipbob.Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs)
}

// SubscribeDirect adds a subscription as if made through the API.
func (s *Server) SubscribeDirect(url, secret string, topics ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.subs = append(s.subs, shipbob.Subscription{ID: strconv.FormatInt(s.nextID, 10), URL: url, Secret: secret, Topics: topics,
		CreatedAt: s.now().UTC().Format(time.RFC3339)})
}
