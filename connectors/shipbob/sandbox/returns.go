package sandbox

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/shipbob"
)

// Returns as the 2026-01 Returns API has them: POST /return
// (Returns.CreateReturnRequest; 201 with the return), GET /return (Status,
// CompletedStartDate, Cursor as a page number, Limit, SortOrder; a paged
// answer with first/next/prev/last links), GET /return/{id}. Errors are
// ProblemDetails (400, 404) and ApiError (422). The warehouse's side —
// arrival, inspection, completion with an action per quantity — is the
// Direct methods, each sending its webhook (return.created, return.updated,
// return.completed). ShipBob publishes no sample of those bodies: the twin
// sends the return as GET /return/{id} shows it, with event_time added.

var returnActions = []string{shipbob.ActionDefault, shipbob.ActionRestock, shipbob.ActionQuarantine, shipbob.ActionDispose}

func problem(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, map[string]any{"type": "https://tools.ietf.org/html/rfc9110#section-15.5", "title": title, "status": status, "detail": detail})
}

func apiError(w http.ResponseWriter, message string, errs ...string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": message, "errors": errs, "details": nil})
}

func (s *Server) createReturn(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, ok := s.channelOf(r); !ok {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "The shipbob_channel_id header is missing or names a channel without write access."})
		return
	}
	var in shipbob.NewReturn
	if err := json.Unmarshal(body, &in); err != nil {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "The request body is not valid JSON: "+err.Error())
		return
	}
	var errs []string
	if strings.TrimSpace(in.ReferenceID) == "" {
		errs = append(errs, "reference_id is required.")
	}
	if in.FulfillmentCenter.ID == 0 {
		errs = append(errs, "fulfillment_center.id is required.")
	}
	if len(in.Inventory) == 0 {
		errs = append(errs, "At least one inventory item is required.")
	}
	for i, it := range in.Inventory {
		if it.ID == 0 || it.Quantity <= 0 {
			errs = append(errs, fmt.Sprintf("inventory[%d] needs an id and a quantity of at least 1.", i))
		}
		if !slices.Contains(returnActions, it.RequestedAction) {
			errs = append(errs, fmt.Sprintf("inventory[%d].requested_action must be one of Default, Restock, Quarantine, Dispose.", i))
		}
	}
	s.mu.Lock()
	if in.OriginalShipmentID != 0 {
		if _, ok := s.shipments[in.OriginalShipmentID]; !ok {
			errs = append(errs, fmt.Sprintf("Shipment %d does not exist.", in.OriginalShipmentID))
		}
	}
	for _, rt := range s.returns {
		if rt.ReferenceID == in.ReferenceID && rt.Status != shipbob.ReturnCancelled {
			errs = append(errs, "A return with reference_id "+in.ReferenceID+" already exists.")
		}
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		apiError(w, "The return could not be created.", errs...)
		return
	}
	fc := in.FulfillmentCenter
	for _, c := range s.opt.FulfillmentCenters {
		if c.ID == fc.ID {
			fc.Name = c.Name
		}
	}
	s.nextID++
	now := s.now().UTC()
	rt := &shipbob.Return{ID: s.nextID, ReferenceID: in.ReferenceID, Status: shipbob.ReturnAwaitingArrival, ReturnType: "Regular",
		OriginalShipmentID: in.OriginalShipmentID, TrackingNumber: in.TrackingNumber, FulfillmentCenter: fc, InsertDate: now}
	for _, it := range in.Inventory {
		name, sku := s.inventoryLocked(it.ID)
		rt.Inventory = append(rt.Inventory, shipbob.ReturnItem{ID: it.ID, Name: name, SKU: sku, Quantity: it.Quantity,
			ActionRequested: &shipbob.ActionRequested{Action: it.RequestedAction, ActionType: "OverriddenByMerchant"}})
	}
	s.returns = append(s.returns, rt)
	s.writes = append(s.writes, Write{Method: r.Method, Path: "/return", Reference: in.ReferenceID, At: now})
	out := cloneReturn(rt)
	s.mu.Unlock()
	s.emit(shipbob.TopicReturnCreated, returnEvent(out, now))
	writeJSON(w, http.StatusCreated, out)
}

// inventoryLocked names an inventory item: from the stock levels, else from
// an order's shipment that holds it. The caller holds mu.
func (s *Server) inventoryLocked(id int64) (name, sku string) {
	for _, lv := range s.stock {
		if lv.InventoryID == id {
			return lv.Name, lv.SKU
		}
	}
	for _, sh := range s.shipments {
		for _, p := range sh.Products {
			for _, ii := range p.InventoryItems {
				if ii.ID == id {
					return cmp.Or(ii.Name, p.Name), p.SKU
				}
			}
		}
	}
	return "", ""
}

func cloneReturn(rt *shipbob.Return) shipbob.Return {
	out := *rt
	out.Inventory = make([]shipbob.ReturnItem, len(rt.Inventory))
	for i, it := range rt.Inventory {
		it.ActionTaken = slices.Clone(it.ActionTaken)
		out.Inventory[i] = it
	}
	return out
}

// returnEvent is a return webhook's body: the return, with the event's time.
func returnEvent(rt shipbob.Return, at time.Time) json.RawMessage {
	b, _ := json.Marshal(rt)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["event_time"] = at.Format(time.RFC3339Nano)
	out, _ := json.Marshal(m)
	return out
}

func (s *Server) getReturn(w http.ResponseWriter, raw string) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "The value '"+raw+"' is not valid.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.returns {
		if rt.ID == id {
			writeJSON(w, 200, cloneReturn(rt))
			return
		}
	}
	problem(w, http.StatusNotFound, "Not Found", fmt.Sprintf("Return %d was not found.", id))
}

func (s *Server) listReturns(w http.ResponseWriter, q url.Values) {
	page, err1 := strconv.Atoi(cmp.Or(q.Get("Cursor"), "1"))
	limit, err2 := strconv.Atoi(cmp.Or(q.Get("Limit"), "50"))
	if err1 != nil || err2 != nil || page < 1 || limit < 1 || limit > 250 {
		problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "Cursor must be a page number from 1 and Limit between 1 and 250.")
		return
	}
	var statuses []string
	if v := q.Get("Status"); v != "" {
		statuses = strings.Split(v, ",")
	}
	var since time.Time
	if v := q.Get("CompletedStartDate"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "CompletedStartDate is not an ISO 8601 date.")
			return
		}
		since = t
	}
	s.mu.Lock()
	var match []shipbob.Return
	for _, rt := range s.returns {
		if statuses != nil && !slices.Contains(statuses, rt.Status) {
			continue
		}
		if !since.IsZero() && (rt.CompletedDate == nil || rt.CompletedDate.Before(since)) {
			continue
		}
		match = append(match, cloneReturn(rt))
	}
	s.mu.Unlock()
	// Desc (newest first) is ShipBob's default.
	if q.Get("SortOrder") != "Asc" {
		slices.Reverse(match)
	}
	from := min((page-1)*limit, len(match))
	items := match[from:min(from+limit, len(match))]
	if items == nil {
		items = []shipbob.Return{}
	}
	link := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("Cursor", strconv.Itoa(p))
		return "/" + Version + "/return?" + v.Encode()
	}
	last := max((len(match)+limit-1)/limit, 1)
	out := map[string]any{"items": items, "first": link(1), "last": link(last), "next": nil, "prev": nil}
	if page < last {
		out["next"] = link(page + 1)
	}
	if page > 1 {
		out["prev"] = link(page - 1)
	}
	writeJSON(w, 200, out)
}

// ReturnDirect moves a return on as the warehouse does (Arrived,
// Processing) and sends return.updated.
func (s *Server) ReturnDirect(id int64, status string) error {
	s.mu.Lock()
	rt := s.returnLocked(id)
	if rt == nil {
		s.mu.Unlock()
		return fmt.Errorf("Return %d not found.", id)
	}
	rt.Status = status
	now := s.now().UTC()
	out := cloneReturn(rt)
	s.mu.Unlock()
	s.emit(shipbob.TopicReturnUpdated, returnEvent(out, now))
	return nil
}

// CompleteReturnDirect completes a return as the warehouse does once it has
// inspected it: taken gives, per inventory id, what was done with how many
// (Restock, Quarantine, Dispose); an item it does not name is processed in
// full with the action requested (Default restocks). It sends
// return.completed and returns the return.
func (s *Server) CompleteReturnDirect(id int64, taken map[int64][]shipbob.ActionTaken) (shipbob.Return, error) {
	s.mu.Lock()
	rt := s.returnLocked(id)
	if rt == nil {
		s.mu.Unlock()
		return shipbob.Return{}, fmt.Errorf("Return %d not found.", id)
	}
	for i := range rt.Inventory {
		it := &rt.Inventory[i]
		if ts, ok := taken[it.ID]; ok {
			it.ActionTaken = slices.Clone(ts)
			continue
		}
		action := shipbob.ActionRestock
		if it.ActionRequested != nil && it.ActionRequested.Action != "" && it.ActionRequested.Action != shipbob.ActionDefault {
			action = it.ActionRequested.Action
		}
		it.ActionTaken = []shipbob.ActionTaken{{Action: action, ActionReason: "Inspected", QuantityProcessed: it.Quantity}}
	}
	now := s.now().UTC()
	rt.Status, rt.CompletedDate = shipbob.ReturnCompleted, &now
	out := cloneReturn(rt)
	s.mu.Unlock()
	s.emit(shipbob.TopicReturnCompleted, returnEvent(out, now))
	return out, nil
}

// Returns lists the returns, oldest first.
func (s *Server) Returns() []shipbob.Return {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]shipbob.Return, 0, len(s.returns))
	for _, rt := range s.returns {
		out = append(out, cloneReturn(rt))
	}
	return out
}

func (s *Server) returnLocked(id int64) *shipbob.Return {
	for _, rt := range s.returns {
		if rt.ID == id {
			return rt
		}
	}
	return nil
}

// updateAddress is PUT /shipment/{id}:updateAddress (Orders.UpdateAddressRequest):
// 200 with {id, is_success}, or 400 with {code, message} (Orders.ErrorResponse)
// for a bad request or a shipment that has left the warehouse.
func (s *Server) updateAddress(w http.ResponseWriter, r *http.Request, raw string, body []byte) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "INVALID_PARAMETER", "message": "The shipment id '" + raw + "' is not valid."})
		return
	}
	var in shipbob.AddressUpdate
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "INVALID_PARAMETER", "message": "The request body is not valid JSON."})
		return
	}
	if strings.TrimSpace(in.Street1) == "" || strings.TrimSpace(in.City) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "VALIDATION_ERROR", "message": "street_address1 and city are required."})
		return
	}
	s.mu.Lock()
	sh, ok := s.shipments[id]
	if !ok {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "NOT_FOUND", "message": fmt.Sprintf("Shipment %d was not found.", id)})
		return
	}
	if sh.Status == "Completed" || sh.Status == "LabeledCreated" || sh.Status == "Cancelled" {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "CONFLICT", "message": fmt.Sprintf("Shipment %d is %s; its address can no longer be changed.", id, sh.Status)})
		return
	}
	// A new value, never an edit in place: views handed out share the old one.
	rc := shipbob.Recipient{Name: in.RecipientName, Email: in.Email, PhoneNumber: in.PhoneNumber,
		Address: shipbob.Address{Address1: in.Street1, Address2: in.Street2, CompanyName: in.CompanyName, City: in.City,
			State: in.State, Country: in.CountryCode, ZipCode: in.ZipCode}}
	if old := sh.Recipient; old != nil {
		rc.Name, rc.Email, rc.PhoneNumber = cmp.Or(rc.Name, old.Name), cmp.Or(rc.Email, old.Email), cmp.Or(rc.PhoneNumber, old.PhoneNumber)
	}
	now := s.now().UTC()
	sh.Recipient, sh.LastUpdateAt = &rc, &now
	s.writes = append(s.writes, Write{Method: r.Method, Path: r.URL.Path, Reference: sh.ReferenceID, At: now})
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"id": id, "is_success": true, "error": nil})
}

// Shipment reads a shipment as it is now.
func (s *Server) Shipment(id int64) (shipbob.Shipment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shipments[id]
	if !ok {
		return shipbob.Shipment{}, false
	}
	return *sh, true
}
