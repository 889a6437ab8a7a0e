package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// entities the twin serves, by path name.
var entities = map[string]string{
	"customer": "Customer", "item": "Item", "salesreceipt": "SalesReceipt", "invoice": "Invoice",
	"refundreceipt": "RefundReceipt", "creditmemo": "CreditMemo", "deposit": "Deposit", "account": "Account",
	"taxcode": "TaxCode", "paymentmethod": "PaymentMethod",
}

// txnEntities are the sales documents: lines, totals, document numbers.
var txnEntities = map[string]bool{"salesreceipt": true, "invoice": true, "refundreceipt": true, "creditmemo": true}

// maxBody bounds a request body (QuickBooks takes about 1 MB... the twin a bit more).
const maxBody = 4 << 20

// faultError is an answer in the fault envelope.
type faultError struct {
	status              int
	typ, code, msg, det string
	element             string
}

func (s *Server) writeFault(w http.ResponseWriter, f faultError) {
	writeJSON(w, f.status, map[string]any{
		"Fault": map[string]any{"Error": []map[string]string{{"Message": f.msg, "Detail": f.det, "code": f.code, "element": f.element}},
			"type": f.typ},
		"time": s.now().Format("2006-01-02T15:04:05.000-07:00"),
	})
}

func validation(code, msg, detail, element string) *faultError {
	return &faultError{status: http.StatusBadRequest, typ: "ValidationFault", code: code, msg: msg, det: detail, element: element}
}

func notFound(what string) *faultError {
	return validation("610", "Object Not Found",
		"Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees. ("+what+")", "")
}

// stale is the 5010 answer, worded as QuickBooks words it
// (fixtures/next/quickbooks-error-stale-object-errors-array.json).
var stale = validation("5010", "Stale Object Error",
	"Stale Object Error : You and API API were working on this at the same time. API API finished before you did, so your work was not saved.", "")

var pathRE = regexp.MustCompile(`^/v3/company/([^/]+)/([a-z]+)(?:/([^/]+))?$`)

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("intuit_tid", newToken("tid-"))
	if f := s.admit(); f != nil {
		s.writeFault(w, *f)
		return
	}
	defer s.leave()
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		s.writeFault(w, faultError{status: http.StatusNotFound, typ: "SystemFault", code: "10000", msg: "An application error has occurred while processing your request", det: "Unknown path " + r.URL.Path})
		return
	}
	realm, entity, id := m[1], m[2], m[3]
	if f := s.authenticate(r, realm); f != nil {
		s.writeFault(w, *f)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		s.writeFault(w, *validation("2020", "Request has invalid or unsupported property", "The request is too large or could not be read.", ""))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out any
	var f *faultError
	switch {
	case entity == "query" && r.Method == http.MethodGet:
		out, f = s.query(r.URL.Query().Get("query"))
	case entity == "cdc" && r.Method == http.MethodGet:
		out, f = s.cdc(r.URL.Query().Get("entities"), r.URL.Query().Get("changedSince"))
	case entity == "companyinfo" && r.Method == http.MethodGet:
		out = map[string]any{"CompanyInfo": map[string]any{"Id": "1", "SyncToken": "0", "CompanyName": s.opts.CompanyName,
			"Country": "US", "CompanyAddr": map[string]any{"Country": "US", "City": "Mountain View"}, "SupportedLanguages": "en"}}
	case entity == "preferences" && r.Method == http.MethodGet:
		out = map[string]any{"Preferences": map[string]any{
			"ProductAndServicesPrefs": map[string]any{"ForSales": true, "QuantityOnHand": !s.opts.NoInventoryTracking},
			"SalesFormsPrefs":         map[string]any{"AllowShipping": !s.opts.NoShipping, "AllowDiscount": !s.opts.NoDiscount, "CustomTxnNumbers": true},
			"CurrencyPrefs":           map[string]any{"MultiCurrencyEnabled": false, "HomeCurrency": map[string]any{"value": "USD"}},
			"TaxPrefs":                map[string]any{"UsingSalesTax": true},
		}}
	case entities[entity] != "" && r.Method == http.MethodGet && id != "":
		rec := s.records[entity][id]
		if rec == nil {
			f = notFound(entities[entity] + " " + id)
		} else {
			out = map[string]any{entities[entity]: rec}
		}
	case entities[entity] != "" && r.Method == http.MethodPost && id == "":
		s.write(w, r, entity, body)
		return
	default:
		f = &faultError{status: http.StatusMethodNotAllowed, typ: "ValidationFault", code: "2010", msg: "Unsupported Operation",
			det: fmt.Sprintf("Operation %s %s is not supported.", r.Method, entity)}
	}
	if f != nil {
		s.writeFault(w, *f)
		return
	}
	s.answer(w, http.StatusOK, out)
}

// answer writes a success with the envelope's "time".
func (s *Server) answer(w http.ResponseWriter, status int, out any) []byte {
	m, _ := out.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m["time"] = s.now().Format("2006-01-02T15:04:05.000-07:00")
	b, _ := json.Marshal(m)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return b
}

// admit applies the company's limits: 10 requests at once, 500 a minute
// (a bucket of 500 refilled evenly over the window). A refused call gets
// 429. The real 429 body was not found published (FACTS-next §8): this one
// uses the envelope.
func (s *Server) admit() *faultError {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	throttle := func(det string) *faultError {
		s.limited++
		return &faultError{status: http.StatusTooManyRequests, typ: "ThrottlingFault", code: "3001",
			msg: "message=ThrottleExceeded; errorCode=003001; statusCode=429", det: det}
	}
	if s.throttleFor > 0 {
		s.throttleFor--
		return throttle("The request limit was reached; wait a minute and try again.")
	}
	if s.inFlight >= s.opts.Concurrency {
		return throttle(fmt.Sprintf("More than %d requests at once for this company.", s.opts.Concurrency))
	}
	now := s.now()
	interval := s.opts.RateWindow / time.Duration(s.opts.RatePerMinute)
	if s.tat.Before(now) {
		s.tat = now
	}
	if s.tat.Sub(now) > s.opts.RateWindow-interval {
		return throttle(fmt.Sprintf("More than %d requests a minute for this company.", s.opts.RatePerMinute))
	}
	s.tat = s.tat.Add(interval)
	s.inFlight++
	return nil
}

func (s *Server) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

func (s *Server) authenticate(r *http.Request, realm string) *faultError {
	s.mu.Lock()
	defer s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	exp, known := s.access[tok]
	if !ok || !known || !s.now().Before(exp) {
		return &faultError{status: http.StatusUnauthorized, typ: "AUTHENTICATION", code: "120",
			msg: "message=AuthenticationFailed; errorCode=003200; statusCode=401", det: "Authorization Failure: the access token is missing, invalid or expired."}
	}
	if realm != s.opts.RealmID {
		return &faultError{status: http.StatusForbidden, typ: "AUTHORIZATION", code: "120",
			msg: "Authorization Failure", det: "The app is not connected to company " + realm + "."}
	}
	return nil
}

// write creates or updates a record: POST /{entity}, with "Id" for an update.
func (s *Server) write(w http.ResponseWriter, r *http.Request, entity string, body []byte) {
	reqID := r.URL.Query().Get("requestid")
	if len(reqID) > 50 {
		s.writeFault(w, *validation("2050", "Invalid Request ID", "The requestid is longer than 50 characters.", "requestid"))
		return
	}
	if reqID != "" {
		if rep, ok := s.replies[reqID]; ok {
			s.replayed++
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rep.status)
			_, _ = w.Write(rep.body)
			return
		}
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		s.writeFault(w, *validation("2020", "Request has invalid or unsupported property", "The body is not a JSON object.", ""))
		return
	}
	var rec map[string]any
	var f *faultError
	op := r.URL.Query().Get("operation")
	isUpdate := in["Id"] != nil && op != "delete"
	switch id, _ := in["Id"].(string); {
	case op == "delete":
		rec, f = s.delete(entity, id, in)
	case op != "" && op != "update":
		// QuickBooks also voids sales documents (operation=void); the twin
		// refuses what it does not do rather than treat it as an update.
		f = &faultError{status: http.StatusBadRequest, typ: "ValidationFault", code: "2010", msg: "Unsupported Operation",
			det: fmt.Sprintf("Operation %s is not supported by the twin for %s.", op, entities[entity])}
	case id != "":
		rec, f = s.update(entity, id, in)
	default:
		rec, f = s.create(entity, in, r.URL.Query().Get("include") == "allowduplicatedocnum")
	}
	if f != nil {
		s.writeFault(w, *f)
		return
	}
	b := s.answer(w, http.StatusOK, map[string]any{entities[entity]: rec})
	s.writes = append(s.writes, Write{Entity: entities[entity], ID: rec["Id"].(string), RequestID: reqID, Update: isUpdate, Delete: op == "delete"})
	if reqID != "" {
		// Successes are replayed; whether QuickBooks replays a failure is not
		// documented, so the twin lets a corrected request through.
		s.replies[reqID] = reply{status: http.StatusOK, body: b}
	}
}

func (s *Server) create(entity string, in map[string]any, allowDupDoc bool) (map[string]any, *faultError) {
	delete(in, "Id")
	delete(in, "SyncToken")
	delete(in, "sparse")
	if f := s.check(entity, in, "", allowDupDoc); f != nil {
		return nil, f
	}
	if _, ok := in["Active"]; !ok && !txnEntities[entity] {
		in["Active"] = true
	}
	if txnEntities[entity] && str(in["DocNumber"]) == "" {
		in["DocNumber"] = strconv.Itoa(1000 + len(s.records[entity]) + 1)
	}
	if (txnEntities[entity] || entity == "deposit") && str(in["TxnDate"]) == "" {
		in["TxnDate"] = s.now().Format("2006-01-02")
	}
	rec := s.insert(entity, in)
	s.moveStock(entity, rec)
	return rec, nil
}

// stockSign is how a sales document moves the quantity on hand of the
// inventory items on its lines: a sale takes them off, a refund puts them
// back.
var stockSign = map[string]float64{"salesreceipt": -1, "invoice": -1, "refundreceipt": 1, "creditmemo": 1}

// moveStock applies a new sales document to the quantity on hand of its
// inventory items, as QuickBooks does when the company tracks quantities:
// only items whose TrackQtyOnHand is on, by the line's Qty (a line without
// one moves nothing). The item's change is stamped, so change data capture
// reports it. Updates of a document are not re-applied.
func (s *Server) moveStock(entity string, rec map[string]any) {
	sign := stockSign[entity]
	if sign == 0 || s.opts.NoInventoryTracking {
		return
	}
	lines, _ := rec["Line"].([]any)
	for _, l := range lines {
		lm, _ := l.(map[string]any)
		d, _ := lm["SalesItemLineDetail"].(map[string]any)
		qty, _ := d["Qty"].(float64)
		item := s.records["item"][refValue(d["ItemRef"])]
		if item == nil || qty == 0 || item["TrackQtyOnHand"] != true {
			continue
		}
		on, _ := item["QtyOnHand"].(float64)
		item["QtyOnHand"] = on + sign*qty
		s.bump(item)
	}
}

func (s *Server) update(entity, id string, in map[string]any) (map[string]any, *faultError) {
	cur := s.records[entity][id]
	if cur == nil {
		return nil, notFound(entities[entity] + " " + id)
	}
	if s.conflicts > 0 {
		s.conflicts--
		s.bump(cur)
		return nil, stale
	}
	if str(in["SyncToken"]) != str(cur["SyncToken"]) {
		return nil, stale
	}
	next := map[string]any{}
	if sparse, _ := in["sparse"].(bool); sparse {
		next = deepCopy(cur)
	} else {
		// A full update clears every field left out (a Line array replaces
		// every line).
		next["Id"], next["MetaData"], next["domain"] = cur["Id"], cur["MetaData"], cur["domain"]
	}
	for k, v := range in {
		if k != "MetaData" && k != "Id" {
			next[k] = v
		}
	}
	next["sparse"] = false
	if f := s.check(entity, next, id, true); f != nil {
		return nil, f
	}
	next["SyncToken"] = cur["SyncToken"]
	s.unindex(entity, id, cur)
	s.records[entity][id] = next
	s.index(entity, id, next)
	s.bump(next)
	return next, nil
}

// delete removes a sales document or deposit (POST
// /{entity}?operation=delete with its Id and current SyncToken). Names —
// customers, items, accounts — are never deleted in QuickBooks, only made
// inactive. The answer is {"status":"Deleted","domain":"QBO","Id":…}; change
// data capture lists it so until it is older than its window.
func (s *Server) delete(entity, id string, in map[string]any) (map[string]any, *faultError) {
	if !txnEntities[entity] && entity != "deposit" {
		return nil, validation("6000", "A business validation error has occurred while processing your request",
			"Business Validation Error: "+entities[entity]+" records cannot be deleted; make them inactive instead.", "")
	}
	cur := s.records[entity][id]
	if id == "" || cur == nil {
		return nil, notFound(entities[entity] + " " + id)
	}
	if str(in["SyncToken"]) != str(cur["SyncToken"]) {
		return nil, stale
	}
	delete(s.records[entity], id)
	s.unindex(entity, id, cur)
	tomb := map[string]any{"Id": id, "status": "Deleted", "domain": "QBO",
		"MetaData": map[string]any{"LastUpdatedTime": s.now().UTC().Format(time.RFC3339Nano)}}
	if s.deleted[entity] == nil {
		s.deleted[entity] = map[string]map[string]any{}
	}
	s.deleted[entity][id] = tomb
	return map[string]any{"Id": id, "status": "Deleted", "domain": "QBO"}, nil
}

// bump moves a record's SyncToken on and stamps its change.
func (s *Server) bump(rec map[string]any) {
	n, _ := strconv.Atoi(str(rec["SyncToken"]))
	rec["SyncToken"] = strconv.Itoa(n + 1)
	md, _ := rec["MetaData"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		rec["MetaData"] = md
	}
	md["LastUpdatedTime"] = s.now().UTC().Format(time.RFC3339Nano)
}

// check validates a record about to be stored (self: its own id on an update).
func (s *Server) check(entity string, rec map[string]any, self string, allowDupDoc bool) *faultError {
	switch {
	case entity == "customer":
		name := strings.TrimSpace(str(rec["DisplayName"]))
		if name == "" {
			name = strings.TrimSpace(strings.Join(nonEmpty(str(rec["GivenName"]), str(rec["FamilyName"])), " "))
			rec["DisplayName"] = name
		}
		if name == "" {
			return validation("6000", "A business validation error has occurred while processing your request",
				"Business Validation Error: You must enter a name for this customer.", "DisplayName")
		}
		for id := range s.byValue[indexKey{"customer", "DisplayName", strings.ToLower(name)}] {
			if c := s.records["customer"][id]; id != self && c != nil && strings.EqualFold(str(c["DisplayName"]), name) {
				return validation("6240", "Duplicate Name Exists Error",
					"The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name. Id="+id, "")
			}
		}
	case entity == "item":
		if strings.TrimSpace(str(rec["Name"])) == "" {
			return validation("2020", "Required param missing, need to supply the required value for the API", "Required parameter Name is missing in the request", "Name")
		}
	case txnEntities[entity]:
		return s.checkTxn(entity, rec, self, allowDupDoc)
	case entity == "deposit":
		return s.checkDeposit(rec)
	}
	return nil
}

// checkDeposit validates a deposit: an active account to deposit to, lines
// from active accounts (negative ones allowed: cash back, fees), a total
// (the sum of the lines, set by the twin as QuickBooks does) not negative.
func (s *Server) checkDeposit(rec map[string]any) *faultError {
	account := func(v string) bool {
		a := s.records["account"][v]
		return a != nil && a["Active"] != false
	}
	to := refValue(rec["DepositToAccountRef"])
	if to == "" {
		return validation("2020", "Required param missing, need to supply the required value for the API", "Required parameter DepositToAccountRef is missing in the request", "DepositToAccountRef")
	}
	if !account(to) {
		return notFound("Account " + to)
	}
	// QuickBooks answers references with the name of what they point at.
	named := func(id string) map[string]any {
		return map[string]any{"value": id, "name": str(s.records["account"][id]["Name"])}
	}
	rec["DepositToAccountRef"] = named(to)
	lines, _ := rec["Line"].([]any)
	if len(lines) == 0 {
		return validation("2020", "Required param missing, need to supply the required value for the API", "Required parameter Line is missing in the request", "Line")
	}
	total := 0.0
	for i, l := range lines {
		lm, _ := l.(map[string]any)
		amt, ok := lm["Amount"].(float64)
		if lm == nil || !ok {
			return validation("2020", "Required param missing, need to supply the required value for the API", fmt.Sprintf("Required parameter Line.Amount is missing in line %d", i+1), "Line.Amount")
		}
		if str(lm["DetailType"]) != "DepositLineDetail" {
			return validation("2020", "Request has invalid or unsupported property", fmt.Sprintf("Line %d has an unsupported DetailType %q", i+1, str(lm["DetailType"])), "Line.DetailType")
		}
		d, _ := lm["DepositLineDetail"].(map[string]any)
		a := refValue(d["AccountRef"])
		if a == "" || !account(a) {
			return notFound("Account " + a)
		}
		d["AccountRef"] = named(a)
		total += amt
	}
	total = math.Round(total*100) / 100
	if total < 0 {
		return validation("6000", "A business validation error has occurred while processing your request",
			"Business Validation Error: The deposit total cannot be negative.", "Line.Amount")
	}
	rec["TotalAmt"] = total
	return nil
}

func (s *Server) checkTxn(entity string, rec map[string]any, self string, allowDupDoc bool) *faultError {
	if ref := refValue(rec["CustomerRef"]); ref != "" {
		if c := s.records["customer"][ref]; c == nil || c["Active"] == false {
			return notFound("Customer " + ref)
		}
	} else if entity == "invoice" || entity == "creditmemo" {
		return validation("2020", "Required param missing, need to supply the required value for the API", "Required parameter CustomerRef is missing in the request", "CustomerRef")
	}
	// References to lists must point at active records, as QuickBooks
	// answers 610 Object Not Found for an inactive or unknown one.
	for field, list := range map[string]string{"PaymentMethodRef": "paymentmethod", "DepositToAccountRef": "account"} {
		if ref := refValue(rec[field]); ref != "" {
			if r := s.records[list][ref]; r == nil || r["Active"] == false {
				return notFound(entities[list] + " " + ref)
			}
		}
	}
	lines, _ := rec["Line"].([]any)
	if len(lines) == 0 {
		return validation("2020", "Required param missing, need to supply the required value for the API", "Required parameter Line is missing in the request", "Line")
	}
	total := 0.0
	for i, l := range lines {
		lm, _ := l.(map[string]any)
		amt, ok := lm["Amount"].(float64)
		if lm == nil || !ok {
			return validation("2020", "Required param missing, need to supply the required value for the API", fmt.Sprintf("Required parameter Line.Amount is missing in line %d", i+1), "Line.Amount")
		}
		switch str(lm["DetailType"]) {
		case "SalesItemLineDetail":
			d, _ := lm["SalesItemLineDetail"].(map[string]any)
			item := refValue(d["ItemRef"])
			switch {
			case item == "SHIPPING_ITEM_ID" && s.opts.NoShipping:
				return validation("6000", "A business validation error has occurred while processing your request",
					"Business Validation Error: Shipping is not turned on for sales forms.", "Line.SalesItemLineDetail.ItemRef")
			case item == "SHIPPING_ITEM_ID":
			case item == "" || s.records["item"][item] == nil || s.records["item"][item]["Active"] == false:
				return notFound("Item " + item)
			}
			if tc := refValue(d["TaxCodeRef"]); tc != "" && !s.taxCode(tc) {
				return notFound("TaxCode " + tc)
			}
			total += amt
		case "DiscountLineDetail":
			if s.opts.NoDiscount {
				return validation("6000", "A business validation error has occurred while processing your request",
					"Business Validation Error: Discounts are not turned on for sales forms.", "Line.DiscountLineDetail")
			}
			total -= amt
		case "SubTotalLineDetail":
		default:
			return validation("2020", "Request has invalid or unsupported property", fmt.Sprintf("Line %d has an unsupported DetailType %q", i+1, str(lm["DetailType"])), "Line.DetailType")
		}
	}
	rec["TotalAmt"] = math.Round(total*100) / 100
	if entity == "invoice" {
		rec["Balance"] = rec["TotalAmt"]
	}
	if doc := str(rec["DocNumber"]); doc != "" && !allowDupDoc {
		if len(doc) > 21 {
			return validation("6000", "A business validation error has occurred while processing your request", "DocNumber is longer than 21 characters.", "DocNumber")
		}
		for id := range s.byValue[indexKey{entity, "DocNumber", strings.ToLower(doc)}] {
			if t := s.records[entity][id]; id != self && t != nil && str(t["DocNumber"]) == doc {
				return validation("6210", "Duplicate Document Number Error",
					"Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber="+doc+" is assigned to TxnType="+entities[entity]+" with TxnId="+id, "")
			}
		}
	}
	return nil
}

func (s *Server) taxCode(v string) bool {
	for id, t := range s.records["taxcode"] {
		if id == v || str(t["Name"]) == v {
			return true
		}
	}
	return false
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func refValue(v any) string {
	m, _ := v.(map[string]any)
	return str(m["value"])
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

var (
	queryRE = regexp.MustCompile(`(?is)^\s*select\s+(\*|count\(\*\))\s+from\s+(\w+)(?:\s+where\s+(.+?))?(?:\s+orderby\s+[\w.]+(?:\s+(?:asc|desc))?)?(?:\s+startposition\s+(\d+))?(?:\s+maxresults\s+(\d+))?\s*$`)
	condRE  = regexp.MustCompile(`(?is)^\s*([\w.]+)\s*(=|in\b|like\b|>=|<=|>|<)\s*(.+?)\s*$`)
	andRE   = regexp.MustCompile(`(?i)\s+and\s+`)
)

func parseErr(detail string) *faultError {
	return &faultError{status: http.StatusBadRequest, typ: "ValidationFault", code: "4000", msg: "Error parsing query", det: "QueryParserError: " + detail}
}

type cond struct {
	field, op string
	values    []string
}

// parseValues reads 'a' or ('a', 'b') or true/false/numbers.
func parseValues(raw string) ([]string, bool) {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "(") && strings.HasSuffix(raw, ")") {
		var out []string
		for _, p := range splitTop(raw[1 : len(raw)-1]) {
			v, ok := parseValues(p)
			if !ok || len(v) != 1 {
				return nil, false
			}
			out = append(out, v[0])
		}
		return out, len(out) > 0
	}
	if strings.HasPrefix(raw, "'") && strings.HasSuffix(raw, "'") && len(raw) >= 2 {
		return []string{strings.ReplaceAll(raw[1:len(raw)-1], `\'`, `'`)}, true
	}
	if raw != "" && !strings.ContainsAny(raw, " '") {
		return []string{raw}, true
	}
	return nil, false
}

// splitTop splits on commas outside quotes.
func splitTop(s string) []string {
	var out []string
	inQ, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
		case s[i] == '\'':
			inQ = !inQ
		case s[i] == ',' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// fieldOf reads a record's field for a query: PrimaryEmailAddr compares its
// Address, MetaData.X its nested value.
func fieldOf(rec map[string]any, field string) string {
	if field == "PrimaryEmailAddr" {
		m, _ := rec[field].(map[string]any)
		return str(m["Address"])
	}
	if a, b, ok := strings.Cut(field, "."); ok {
		m, _ := rec[a].(map[string]any)
		return str(m[b])
	}
	if m, ok := rec[field].(map[string]any); ok {
		return str(m["value"])
	}
	return str(rec[field])
}

func (c cond) match(rec map[string]any) bool {
	v := fieldOf(rec, c.field)
	switch c.op {
	case "=":
		return strings.EqualFold(v, c.values[0])
	case "in":
		return slices.ContainsFunc(c.values, func(x string) bool { return strings.EqualFold(v, x) })
	case "like":
		return like(v, c.values[0])
	}
	cmp := strings.Compare(v, c.values[0])
	// Dates and times compare as times (MetaData.LastUpdatedTime >= '…'),
	// whatever their fractions of a second and zones.
	if a, err1 := time.Parse(time.RFC3339Nano, v); err1 == nil {
		if b, err2 := time.Parse(time.RFC3339Nano, c.values[0]); err2 == nil {
			cmp = a.Compare(b)
		}
	} else if a, err1 := strconv.ParseFloat(v, 64); err1 == nil {
		if b, err2 := strconv.ParseFloat(c.values[0], 64); err2 == nil {
			cmp = 0
			if a < b {
				cmp = -1
			} else if a > b {
				cmp = 1
			}
		}
	}
	switch c.op {
	case ">":
		return cmp > 0
	case "<":
		return cmp < 0
	case ">=":
		return cmp >= 0
	default:
		return cmp <= 0
	}
}

// like matches a value to a LIKE pattern, where % stands for any run of
// characters, ignoring case as QuickBooks' = does.
func like(v, pattern string) bool {
	v, pattern = strings.ToLower(v), strings.ToLower(pattern)
	parts := strings.Split(pattern, "%")
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	last := len(parts) - 1
	for _, p := range parts[1:last] {
		i := strings.Index(v, p)
		if i < 0 {
			return false
		}
		v = v[i+len(p):]
	}
	if last == 0 {
		return v == ""
	}
	return strings.HasSuffix(v, parts[last])
}

// indexed are the fields an equality lookup finds through an index:
// the connector's lookups by document number, e-mail and name.
var indexed = map[string]bool{"DocNumber": true, "PrimaryEmailAddr": true, "DisplayName": true}

// indexKey is an entity's field value (lower case: = ignores case).
type indexKey struct{ entity, field, value string }

// index and unindex keep byValue in step with a record; the caller holds mu.
func (s *Server) index(entity, id string, rec map[string]any) {
	for f := range indexed {
		if v := fieldOf(rec, f); v != "" {
			k := indexKey{entity, f, strings.ToLower(v)}
			if s.byValue[k] == nil {
				s.byValue[k] = map[string]struct{}{}
			}
			s.byValue[k][id] = struct{}{}
		}
	}
}

func (s *Server) unindex(entity, id string, rec map[string]any) {
	for f := range indexed {
		k := indexKey{entity, f, strings.ToLower(fieldOf(rec, f))}
		delete(s.byValue[k], id)
		if len(s.byValue[k]) == 0 {
			delete(s.byValue, k)
		}
	}
}

// query answers the subset of the query language the connector uses:
// select * | count(*) from X [where F = 'v' and F in ('a','b') and F > 'v'
// and F like 'a%']
// [orderby F] [startposition n] [maxresults m ≤ 1000].
func (s *Server) query(q string) (any, *faultError) {
	m := queryRE.FindStringSubmatch(q)
	if m == nil {
		return nil, parseErr("Encountered an unsupported query: " + q)
	}
	entity := strings.ToLower(m[2])
	name := entities[entity]
	if name == "" {
		return nil, parseErr("Invalid entity " + m[2])
	}
	var conds []cond
	activeAsked := false
	if m[3] != "" {
		for _, part := range andRE.Split(m[3], -1) {
			cm := condRE.FindStringSubmatch(part)
			if cm == nil {
				return nil, parseErr("Cannot read the condition " + strings.TrimSpace(part))
			}
			vals, ok := parseValues(cm[3])
			if !ok {
				return nil, parseErr("Cannot read the value in " + strings.TrimSpace(part))
			}
			c := cond{field: cm[1], op: strings.ToLower(cm[2]), values: vals}
			if c.op != "in" && len(vals) != 1 {
				return nil, parseErr("One value expected in " + strings.TrimSpace(part))
			}
			activeAsked = activeAsked || strings.EqualFold(c.field, "Active")
			conds = append(conds, c)
		}
	}
	start, max := 1, 100
	if m[4] != "" {
		start, _ = strconv.Atoi(m[4])
	}
	if m[5] != "" {
		max, _ = strconv.Atoi(m[5])
	}
	if start < 1 || max < 1 || max > 1000 {
		return nil, parseErr("STARTPOSITION must be at least 1 and MAXRESULTS between 1 and 1000")
	}
	// Filter first, then order the matches by id: a lookup by number or
	// e-mail among thousands of records sorts one, and reads only the
	// records its value indexes (as QuickBooks' own lookups are indexed).
	var found []map[string]any
	candidates := s.records[entity]
	for _, c := range conds {
		if c.op == "=" && indexed[c.field] {
			candidates = map[string]map[string]any{}
			for id := range s.byValue[indexKey{entity, c.field, strings.ToLower(c.values[0])}] {
				candidates[id] = s.records[entity][id]
			}
			break
		}
	}
	for _, rec := range candidates {
		if !activeAsked && rec["Active"] == false {
			continue
		}
		ok := true
		for _, c := range conds {
			if !c.match(rec) {
				ok = false
				break
			}
		}
		if ok {
			found = append(found, rec)
		}
	}
	slices.SortFunc(found, func(a, b map[string]any) int {
		x, _ := strconv.Atoi(str(a["Id"]))
		y, _ := strconv.Atoi(str(b["Id"]))
		return x - y
	})
	if strings.HasPrefix(strings.ToLower(m[1]), "count") {
		return map[string]any{"QueryResponse": map[string]any{"totalCount": len(found)}}, nil
	}
	qr := map[string]any{}
	if start-1 < len(found) {
		page := found[start-1 : min(len(found), start-1+max)]
		qr[name], qr["startPosition"], qr["maxResults"] = page, start, len(page)
	}
	return map[string]any{"QueryResponse": qr}, nil
}

// cdc answers GET /cdc?entities=A,B&changedSince=T: the records of each
// entity changed since T (at most 30 days back), at most 1000 objects in
// all. QuickBooks does not say which changes a full answer keeps: the twin
// keeps the oldest (by LastUpdatedTime, then id), so a client that asks
// again from the newest change it got misses none.
func (s *Server) cdc(list, since string) (any, *faultError) {
	t, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return nil, validation("2020", "Required param missing, need to supply the required value for the API", "changedSince must be a date and time (ISO 8601).", "changedSince")
	}
	if s.now().Sub(t) > 30*24*time.Hour {
		return nil, validation("2020", "Request has invalid or unsupported property", "changedSince must be within the last 30 days.", "changedSince")
	}
	type changed struct {
		entity string
		at     time.Time
		id     int
		rec    map[string]any
	}
	var all []changed
	var names []string
	for _, e := range strings.Split(list, ",") {
		entity := strings.ToLower(strings.TrimSpace(e))
		name := entities[entity]
		if name == "" {
			return nil, validation("2020", "Request has invalid or unsupported property", "Unknown entity "+e, "entities")
		}
		names = append(names, entity)
		// Deleted records come back too, as QuickBooks' CDC lists them
		// (status "Deleted").
		for _, set := range []map[string]map[string]any{s.records[entity], s.deleted[entity]} {
			for _, rec := range set {
				md, _ := rec["MetaData"].(map[string]any)
				lu, err := time.Parse(time.RFC3339Nano, str(md["LastUpdatedTime"]))
				if err == nil && !lu.Before(t) {
					id, _ := strconv.Atoi(str(rec["Id"]))
					all = append(all, changed{entity, lu, id, rec})
				}
			}
		}
	}
	slices.SortFunc(all, func(a, b changed) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.id - b.id
	})
	if s.opts.CDCNewest {
		all = all[max(len(all)-CDCLimit, 0):]
	} else {
		all = all[:min(len(all), CDCLimit)]
	}
	var qrs []any
	for _, entity := range names {
		var recs []map[string]any
		for _, c := range all {
			if c.entity == entity {
				recs = append(recs, c.rec)
			}
		}
		slices.SortFunc(recs, func(a, b map[string]any) int {
			x, _ := strconv.Atoi(str(a["Id"]))
			y, _ := strconv.Atoi(str(b["Id"]))
			return x - y
		})
		qr := map[string]any{"startPosition": 1, "maxResults": len(recs)}
		if len(recs) > 0 {
			qr[entities[entity]] = recs
		}
		qrs = append(qrs, qr)
	}
	return map[string]any{"CDCResponse": []any{map[string]any{"QueryResponse": qrs}}}, nil
}

// CDCLimit is how many objects one change-data-capture answer carries at
// most.
const CDCLimit = 1000
