// Package sandbox is an in-process twin of an Odoo server for tests, the demo
// and benchmarks. It speaks Odoo's wire protocols (JSON-RPC execute_kw on
// /jsonrpc, JSON-2 on /json/2/<model>/<method> from version 19, GET
// /web/version) with Odoo's envelopes, error shapes and status codes, keeps a
// small in-memory database of the models Crossdock uses, and records every
// write so tests can assert exactly-once effects.
//
// The seeded catalogue is deterministic: Options.Seed products, each with one
// variant per colour of Colours() (BLK, WHT, RED), whose internal reference is
// SKU(i, colour) = "SKU-%06d-<COLOUR>", the scheme the Shopify sandbox uses,
// so the two catalogues match. Stock sits in WH/Stock (LocationStock) and
// WH2/Stock (LocationStock2); a few customers exist.
package sandbox

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// uid is the user id of the sandbox's only user.
const uid = 2

// Options configures a sandbox server. Zero values get working defaults.
type Options struct {
	Database string // default "crossdock"
	Login    string // default "admin"
	Password string // default "admin"; accepted by JSON-RPC only
	APIKey   string // default "sandbox-api-key"; accepted by both protocols
	// Seed is the number of products to create, each with 3 colour variants.
	Seed int
	// Version is the Odoo version to imitate, e.g. "17.0", "saas~18.3" or
	// "19.0" (default). JSON-2 is only answered from 19.0, like real Odoo;
	// older versions answer its routes with an HTML 404.
	Version string
	// NoAccess lists models the sandbox user has no rights on: every call on
	// them raises Odoo's AccessError.
	NoAccess []string
	// Now is the clock for write_date and the write log (default time.Now).
	Now func() time.Time
	// HangFor bounds how long an injected Timeout holds a request when the
	// client does not give up first (default 10 s).
	HangFor time.Duration
}

// FailMode is a failure FailNext injects.
type FailMode string

// Failure modes.
const (
	// Timeout holds the request until the client gives up (or HangFor passes).
	Timeout FailMode = "timeout"
	// Status500 answers HTTP 500 with an HTML page, as a crashed worker does.
	Status500 FailMode = "500"
	// Status502 answers HTTP 502 with an HTML page, as a proxy does.
	Status502 FailMode = "502"
	// AccessDenied refuses the credentials: authenticate answers false,
	// execute_kw raises AccessDenied, JSON-2 answers 401.
	AccessDenied FailMode = "access_denied"
)

const validationPrefix = "validation:"

// Validation raises a ValidationError with message (422 on JSON-2).
func Validation(message string) FailMode { return FailMode(validationPrefix + message) }

// Write is one recorded change: a create, write, unlink or action_* call.
type Write struct {
	Model  string
	Method string
	// Args are the call's named arguments, the same on both protocols:
	// {"vals_list": [...]}, {"ids": [...], "vals": {...}} or {"ids": [...]},
	// plus "context" when one was sent.
	Args json.RawMessage
	Ref  string // client_order_ref or ref of the values or record, when present
	IDs  []int  // records created or touched
	At   time.Time
}

// Server is the sandbox. It implements http.Handler; all methods are safe for
// concurrent use.
type Server struct {
	opts         Options
	major, minor int
	base         time.Time // write_date of the seeded data

	mu      sync.Mutex // guards everything below; one request at a time, like a single worker
	models  map[string]*model
	counter map[string]int
	writes  []Write
	moves   []StockMove
	fails   []FailMode
}

// New builds a seeded sandbox.
func New(opts Options) *Server {
	opts.Database = cmp.Or(opts.Database, "crossdock")
	opts.Login = cmp.Or(opts.Login, "admin")
	opts.Password = cmp.Or(opts.Password, "admin")
	opts.APIKey = cmp.Or(opts.APIKey, "sandbox-api-key")
	opts.Version = cmp.Or(opts.Version, "19.0")
	opts.HangFor = cmp.Or(opts.HangFor, 10*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, models: map[string]*model{}, counter: map[string]int{},
		base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, _ = fmt.Sscanf(strings.TrimPrefix(opts.Version, "saas~"), "%d.%d", &s.major, &s.minor)
	s.buildModels()
	s.buildStockModels()
	s.buildBankModels()
	s.indexFields()
	s.seed()
	return s
}

func (s *Server) atLeast(major, minor int) bool {
	return s.major > major || (s.major == major && s.minor >= minor)
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func (s *Server) stamp() string { return formatTime(s.opts.Now()) }

// FailNext makes the next n data requests (on /jsonrpc and /json/2) fail with mode.
func (s *Server) FailNext(n int, mode FailMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, mode)
	}
}

// ClearFailures forgets the failures FailNext injected and not yet used.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = nil
}

func (s *Server) takeFail() FailMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) == 0 {
		return ""
	}
	m := s.fails[0]
	s.fails = s.fails[1:]
	return m
}

// ServeHTTP answers Odoo's external API routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/jsonrpc" && r.Method == http.MethodPost:
		s.serveJSONRPC(w, r)
	case strings.HasPrefix(r.URL.Path, "/json/2/") && s.atLeast(19, 0):
		s.serveJSON2(w, r)
	case r.URL.Path == "/web/version":
		info := []any{s.major, s.minor, 0, "final", 0, ""}
		writeJSON(w, http.StatusOK, orderedRow{keys: []string{"version_info", "version"},
			vals: map[string]any{"version_info": info, "version": s.opts.Version}})
	default:
		notFoundPage(w)
	}
}

func notFoundPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"+
		"<p>The requested URL was not found on the server. If you entered the URL manually please check your "+
		"spelling and try again.</p>\n")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// injected plays a transport-level failure mode; it reports whether it answered.
func (s *Server) injected(w http.ResponseWriter, r *http.Request, mode FailMode) bool {
	switch mode {
	case Timeout:
		// Read the body first: only then does net/http notice the client
		// hanging up and cancel r.Context().
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(s.opts.HangFor):
		}
		w.WriteHeader(http.StatusGatewayTimeout)
		return true
	case Status500:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"+
			"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete "+
			"your request. Either the server is overloaded or there is an error in the application.</p>\n")
		return true
	case Status502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"+
			"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
		return true
	}
	return false
}

// --- JSON-RPC ---

type rpcErrData17 struct {
	Name      string         `json:"name"`
	Debug     string         `json:"debug"`
	Message   string         `json:"message"`
	Arguments []any          `json:"arguments"`
	Context   map[string]any `json:"context"`
}

// rpcErrData19 has debug last, as serialize_exception does from 18.1.
type rpcErrData19 struct {
	Name      string         `json:"name"`
	Message   string         `json:"message"`
	Arguments []any          `json:"arguments"`
	Context   map[string]any `json:"context"`
	Debug     string         `json:"debug"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

type rpcAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
}

type rpcErrAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcError        `json:"error"`
}

// rpcFail answers an error envelope: HTTP 200, code 200 up to 18.0 and 0 from
// 18.1 (odoo/odoo#183902).
func (s *Server) rpcFail(w http.ResponseWriter, id json.RawMessage, e *odooError) {
	env := rpcErrAnswer{JSONRPC: "2.0", ID: id, Error: rpcError{Code: 200, Message: "Odoo Server Error"}}
	if s.atLeast(18, 1) {
		env.Error.Code = 0
		env.Error.Data = rpcErrData19{Name: e.name, Message: e.message, Arguments: e.arguments,
			Context: map[string]any{}, Debug: e.debug()}
	} else {
		env.Error.Data = rpcErrData17{Name: e.name, Debug: e.debug(), Message: e.message, Arguments: e.arguments,
			Context: map[string]any{}}
	}
	writeJSON(w, http.StatusOK, env)
}

func (s *Server) serveJSONRPC(w http.ResponseWriter, r *http.Request) {
	mode := s.takeFail()
	if s.injected(w, r, mode) {
		return
	}
	var req struct {
		Params struct {
			Service string `json:"service"`
			Method  string `json:"method"`
			Args    []any  `json:"args"`
		} `json:"params"`
		ID json.RawMessage `json:"id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 32<<20)).Decode(&req); err != nil {
		http.Error(w, "Invalid JSON data", http.StatusBadRequest)
		return
	}
	id := req.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	p := req.Params
	result, oe := s.rpc(p.Service, p.Method, p.Args, mode)
	if oe != nil {
		s.rpcFail(w, id, oe)
		return
	}
	writeJSON(w, http.StatusOK, rpcAnswer{JSONRPC: "2.0", ID: id, Result: result})
}

func (s *Server) rpc(service, method string, args []any, mode FailMode) (any, *odooError) {
	if msg, ok := strings.CutPrefix(string(mode), validationPrefix); ok {
		return nil, validationError(msg)
	}
	str := func(i int) string {
		if i < len(args) {
			v, _ := args[i].(string)
			return v
		}
		return ""
	}
	switch service + "." + method {
	case "common.version":
		return orderedRow{keys: []string{"server_version", "server_version_info", "server_serie", "protocol_version"},
			vals: map[string]any{"server_version": s.opts.Version,
				"server_version_info": []any{s.major, s.minor, 0, "final", 0, ""},
				"server_serie":        fmt.Sprintf("%d.%d", s.major, s.minor), "protocol_version": 1}}, nil
	case "common.authenticate", "common.login":
		if err := s.checkDB(str(0)); err != nil {
			return nil, err
		}
		if mode == AccessDenied || str(1) != s.opts.Login || !s.secretOK(str(2)) {
			return false, nil // authenticate swallows AccessDenied and answers False
		}
		return uid, nil
	case "object.execute_kw":
		if len(args) < 6 {
			return nil, newErr("builtins.TypeError", 500,
				fmt.Sprintf("execute_kw() missing %d required positional arguments", 6-len(args)))
		}
		if err := s.checkDB(str(0)); err != nil {
			return nil, err
		}
		if n, _ := args[1].(float64); mode == AccessDenied || int(n) != uid || !s.secretOK(str(2)) {
			return nil, accessDenied()
		}
		positional, ok := args[5].([]any)
		if !ok {
			return nil, newErr("builtins.TypeError", 500, "execute_kw() args must be a list")
		}
		kwargs := map[string]any{}
		if len(args) > 6 {
			if kw, ok := args[6].(map[string]any); ok {
				kwargs = kw
			}
		}
		return s.executeKW(str(3), str(4), positional, kwargs)
	}
	return nil, newErr("builtins.Exception", 500, fmt.Sprintf("No such RPC method: %s.%s", service, method))
}

func (s *Server) checkDB(db string) *odooError {
	if db != s.opts.Database {
		return newErr("psycopg2.OperationalError", 500,
			fmt.Sprintf("connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  "+
				"database \"%s\" does not exist\n", db))
	}
	return nil
}

func (s *Server) secretOK(secret string) bool {
	return secret != "" && (secret == s.opts.Password || secret == s.opts.APIKey)
}

// signatures names the positional parameters of the supported methods; a
// leading "ids" marks a record method.
var signatures = map[string][]string{
	"search_read":            {"domain", "fields", "offset", "limit", "order"},
	"search":                 {"domain", "offset", "limit", "order"},
	"search_count":           {"domain", "limit"},
	"read":                   {"ids", "fields"},
	"create":                 {"vals_list"},
	"write":                  {"ids", "vals"},
	"unlink":                 {"ids"},
	"fields_get":             {"allfields", "attributes"},
	"check_access_rights":    {"operation", "raise_exception"},
	"action_apply_inventory": {"ids"},
	"action_confirm":         {"ids"},
	"action_cancel":          {"ids"},
	"action_post":            {"ids"},
}

func (s *Server) executeKW(modelName, method string, args []any, kwargs map[string]any) (any, *odooError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[modelName]
	if m == nil {
		return nil, userError(fmt.Sprintf("Object %s doesn't exist", modelName))
	}
	names, ok := signatures[method]
	if !ok || !methodOn(modelName, method) {
		return nil, newErr("builtins.AttributeError", 500,
			fmt.Sprintf("The method '%s' does not exist on the model '%s'", method, modelName))
	}
	if len(args) > len(names) {
		return nil, newErr("builtins.TypeError", 500, fmt.Sprintf("%s() takes at most %d positional arguments (%d given)",
			method, len(names), len(args)))
	}
	kw := maps(kwargs)
	for i, a := range args {
		if _, dup := kw[names[i]]; dup {
			return nil, newErr("builtins.TypeError", 500,
				fmt.Sprintf("%s() got multiple values for argument '%s'", method, names[i]))
		}
		kw[names[i]] = a
	}
	single := false
	if method == "create" {
		if v, isMap := kw["vals_list"].(map[string]any); isMap {
			kw["vals_list"] = []any{v}
			single = true
		}
	}
	if ids, isNum := kw["ids"].(float64); isNum { // execute_kw accepts a bare id
		kw["ids"] = []any{ids}
	}
	return s.dispatch(m, method, kw, single)
}

// methodOn reports whether a model has a method, for the actions that only
// some models have.
func methodOn(model, method string) bool {
	switch method {
	case "action_apply_inventory":
		return model == "stock.quant"
	case "action_confirm", "action_cancel":
		return model == "sale.order"
	case "action_post":
		return model == "account.move"
	}
	return true
}

// --- JSON-2 ---

func (s *Server) json2Fail(w http.ResponseWriter, e *odooError) {
	writeJSON(w, e.status, rpcErrData19{Name: e.name, Message: e.message, Arguments: e.arguments,
		Context: map[string]any{}, Debug: e.debug()})
}

func (s *Server) serveJSON2(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.json2Fail(w, httpError("werkzeug.exceptions.MethodNotAllowed", http.StatusMethodNotAllowed,
			"The method is not allowed for the requested URL."))
		return
	}
	mode := s.takeFail()
	if s.injected(w, r, mode) {
		return
	}
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if mode == AccessDenied || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(key) != s.opts.APIKey {
		s.json2Fail(w, httpError("werkzeug.exceptions.Unauthorized", http.StatusUnauthorized, "Invalid apikey"))
		return
	}
	// Sandbox choice: a database name that is not ours is a 404, as when
	// Odoo's db filter finds no such database.
	if db := r.Header.Get("X-Odoo-Database"); db != "" && db != s.opts.Database {
		s.json2Fail(w, httpError("werkzeug.exceptions.NotFound", http.StatusNotFound,
			fmt.Sprintf("the database %s does not exist", quote(db))))
		return
	}
	modelName, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/json/2/"), "/")
	if msg, ok := strings.CutPrefix(string(mode), validationPrefix); ok {
		s.json2Fail(w, validationError(msg))
		return
	}
	kw := map[string]any{}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &kw)
	}
	if err != nil {
		s.json2Fail(w, httpError("werkzeug.exceptions.BadRequest", http.StatusBadRequest,
			"The browser (or proxy) sent a request that this server could not understand."))
		return
	}
	s.mu.Lock()
	m := s.models[modelName]
	s.mu.Unlock()
	if m == nil {
		s.json2Fail(w, httpError("werkzeug.exceptions.NotFound", http.StatusNotFound,
			fmt.Sprintf("the model %s does not exist", quote(modelName))))
		return
	}
	if _, ok := signatures[method]; !ok || !methodOn(modelName, method) {
		s.json2Fail(w, httpError("werkzeug.exceptions.NotFound", http.StatusNotFound,
			fmt.Sprintf("the method %s does not exist on the model %s", quote(method), quote(modelName))))
		return
	}
	if v, isMap := kw["vals_list"].(map[string]any); isMap && method == "create" {
		kw["vals_list"] = []any{v} // JSON-2 answers a list of ids either way
	}
	s.mu.Lock()
	result, oe := s.dispatch(m, method, kw, false)
	s.mu.Unlock()
	if oe != nil {
		s.json2Fail(w, oe)
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// --- methods, shared by both protocols; s.mu is held ---

func intsOf(v any) ([]int, *odooError) {
	list, ok := v.([]any)
	if !ok && v != nil {
		return nil, valueError(fmt.Sprintf("Invalid ids: %s", mustJSON(v)))
	}
	out := make([]int, 0, len(list))
	for _, x := range list {
		n, ok := x.(float64)
		if !ok {
			return nil, valueError(fmt.Sprintf("Invalid ids: %s", mustJSON(v)))
		}
		out = append(out, int(n))
	}
	return out, nil
}

func intOf(v any) int {
	n, _ := v.(float64)
	return int(n)
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (s *Server) dispatch(m *model, method string, kw map[string]any, single bool) (any, *odooError) {
	ctx, _ := kw["context"].(map[string]any)
	if ctx == nil {
		ctx = map[string]any{}
	}
	domain, _ := kw["domain"].([]any)
	if _, isRecordMethod := kw["ids"]; !isRecordMethod && signatures[method][0] == "ids" {
		kw["ids"] = []any{}
	}
	ids, oe := intsOf(kw["ids"])
	if oe != nil {
		return nil, oe
	}
	operation := "read"
	switch method {
	case "create":
		operation = "create"
	case "write", "action_apply_inventory", "action_confirm", "action_cancel", "action_post":
		operation = "write"
	case "unlink":
		operation = "unlink"
	case "check_access_rights", "fields_get":
		operation = ""
	}
	if operation != "" {
		if err := s.checkAccess(m, operation); err != nil {
			return nil, err
		}
	}
	order, _ := kw["order"].(string)
	switch method {
	case "search_read":
		found, err := s.search(m, domain, ctx, intOf(kw["offset"]), intOf(kw["limit"]), order)
		if err != nil {
			return nil, err
		}
		return s.read(m, found, stringsOf(kw["fields"]))
	case "search":
		return s.search(m, domain, ctx, intOf(kw["offset"]), intOf(kw["limit"]), order)
	case "search_count":
		found, err := s.search(m, domain, ctx, 0, intOf(kw["limit"]), "")
		return len(found), err
	case "read":
		return s.read(m, ids, stringsOf(kw["fields"]))
	case "create":
		return s.createMany(m, kw, ctx, single)
	case "write":
		vals, _ := kw["vals"].(map[string]any)
		if err := s.write(m, ids, vals, ctx); err != nil {
			return nil, err
		}
		s.logWrite(m, method, kw, ids, refOf(vals))
		return true, nil
	case "unlink":
		if err := s.unlink(m, ids); err != nil {
			return nil, err
		}
		s.logWrite(m, method, kw, ids, "")
		return true, nil
	case "check_access_rights":
		op, _ := kw["operation"].(string)
		if err := s.checkAccess(m, op); err != nil {
			if kw["raise_exception"] == false {
				return false, nil
			}
			return nil, err
		}
		return true, nil
	case "fields_get":
		return s.fieldsGet(m, stringsOf(kw["allfields"]), stringsOf(kw["attributes"])), nil
	}
	return s.action(m, method, kw, ids, ctx)
}

func refOf(vals map[string]any) string {
	for _, k := range []string{"client_order_ref", "ref"} {
		if v, ok := vals[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

func (s *Server) recordRef(m *model, ids []int) string {
	for _, id := range ids {
		if rec := m.recs[id]; rec != nil {
			for _, k := range []string{"client_order_ref", "ref"} {
				if v, ok := rec[k].(string); ok && v != "" {
					return v
				}
			}
		}
	}
	return ""
}

func (s *Server) logWrite(m *model, method string, kw map[string]any, ids []int, ref string) {
	args := map[string]any{}
	for _, k := range []string{"ids", "vals", "vals_list", "context"} {
		if v, ok := kw[k]; ok {
			args[k] = v
		}
	}
	if method == "create" {
		delete(args, "ids")
	}
	raw, _ := json.Marshal(args)
	s.writes = append(s.writes, Write{Model: m.name, Method: method, Args: raw, Ref: ref, IDs: slices.Clone(ids),
		At: s.opts.Now()})
}

// createMany creates every dict of vals_list, all or nothing, as one
// transaction does in Odoo.
func (s *Server) createMany(m *model, kw map[string]any, ctx map[string]any, single bool) (any, *odooError) {
	list, ok := kw["vals_list"].([]any)
	if !ok {
		return nil, newErr("builtins.TypeError", 500, "create() missing 1 required positional argument: 'vals_list'")
	}
	var ids []int
	ref := ""
	for _, v := range list {
		vals, ok := v.(map[string]any)
		if !ok {
			_ = s.unlink(m, ids)
			return nil, valueError(fmt.Sprintf("Wrong value for create: %s", mustJSON(v)))
		}
		id, err := s.createOne(m, vals, ctx)
		if err != nil {
			_ = s.unlink(m, ids)
			return nil, err
		}
		ids = append(ids, id)
		ref = cmp.Or(ref, refOf(vals))
	}
	s.logWrite(m, "create", kw, ids, ref)
	if single {
		return ids[0], nil
	}
	return ids, nil
}

func (s *Server) createOne(m *model, vals map[string]any, ctx map[string]any) (int, *odooError) {
	if m.name != "stock.quant" {
		return s.create(m, vals, ctx)
	}
	// stock.quant creation is only open in inventory mode, where it sets the
	// counted quantity on the matching quant, or on a new one.
	if ctx["inventory_mode"] != true {
		return 0, userError("Quant's creation is restricted, you can't do this operation.")
	}
	counted, hasCount := vals["inventory_quantity"]
	found, err := s.search(m, []any{
		[]any{"product_id", "=", vals["product_id"]}, []any{"location_id", "=", vals["location_id"]},
		[]any{"lot_id", "=", cmp.Or[any](vals["lot_id"], false)},
		[]any{"package_id", "=", cmp.Or[any](vals["package_id"], false)},
		[]any{"owner_id", "=", cmp.Or[any](vals["owner_id"], false)},
	}, ctx, 0, 1, "id")
	if err != nil {
		return 0, err
	}
	if len(found) > 0 {
		if hasCount {
			if err := s.write(m, found, map[string]any{"inventory_quantity": counted}, ctx); err != nil {
				return 0, err
			}
		}
		return found[0], nil
	}
	clean := maps(vals)
	delete(clean, "quantity") // only moves change the on-hand quantity
	id, err := s.create(m, clean, ctx)
	if err != nil {
		return 0, err
	}
	if hasCount {
		m.recs[id]["inventory_quantity_set"] = true
	}
	return id, nil
}

func (s *Server) action(m *model, method string, kw map[string]any, ids []int, ctx map[string]any) (any, *odooError) {
	for _, id := range ids {
		if m.recs[id] == nil {
			return nil, missingError(fmt.Sprintf("Record does not exist or has been deleted.\n(Record: %s(%d,), User: %d)",
				m.name, id, uid))
		}
	}
	var result any
	switch method {
	case "action_apply_inventory":
		for _, id := range ids {
			q := m.recs[id]
			if q["inventory_quantity_set"] != true {
				continue
			}
			diff := round2(q["inventory_quantity"].(float64) - q["quantity"].(float64))
			if diff != 0 {
				s.moves = append(s.moves, StockMove{ProductID: q["product_id"].(int), LocationID: q["location_id"].(int),
					Quantity: diff, At: s.opts.Now()})
				s.bookInventoryMoveLocked(q, diff, ctx)
			}
			q["quantity"] = q["inventory_quantity"]
			q["inventory_quantity"] = 0.0
			q["inventory_quantity_set"] = false
			q["write_date"] = s.stamp()
		}
		result = nil
	case "action_confirm":
		for _, id := range ids {
			if st := m.recs[id]["state"]; st != "draft" && st != "sent" {
				return nil, userError("Some orders are not in a state requiring confirmation.")
			}
		}
		for _, id := range ids {
			m.recs[id]["state"] = "sale"
			m.recs[id]["write_date"] = s.stamp()
		}
		result = true
	case "action_cancel":
		// sale.order.action_cancel: a locked order refuses; a non-draft one
		// answers with the cancel wizard (and stays as it is) unless the
		// context carries disable_cancel_warning.
		for _, id := range ids {
			if m.recs[id]["locked"] == true {
				return nil, userError("You cannot cancel a locked order. Please unlock it first.")
			}
		}
		if ctx["disable_cancel_warning"] != true {
			for _, id := range ids {
				if m.recs[id]["state"] != "draft" {
					return map[string]any{"name": "Cancel Sales Order", "type": "ir.actions.act_window", "view_mode": "form",
						"res_model": "sale.order.cancel", "target": "new", "context": map[string]any{"default_order_id": id}}, nil
				}
			}
		}
		for _, id := range ids {
			m.recs[id]["state"] = "cancel"
			m.recs[id]["write_date"] = s.stamp()
		}
		result = true
	case "action_post":
		lines := m.fields["invoice_line_ids"]
		for _, id := range ids {
			rec := m.recs[id]
			if rec["state"] != "draft" {
				return nil, userError("The entry " + s.displayName(m, rec) + " is already posted.")
			}
			if rec["move_type"] != "entry" && len(s.inverseIDs(lines, id)) == 0 {
				return nil, userError("You need to add a line before posting.")
			}
		}
		for _, id := range ids {
			rec := m.recs[id]
			prefix := map[string]string{"out_refund": "RINV", "out_invoice": "INV"}[rec["move_type"].(string)]
			s.counter[prefix]++
			rec["name"] = fmt.Sprintf("%s/%d/%05d", cmp.Or(prefix, "MISC"), s.opts.Now().Year(), s.counter[prefix])
			rec["state"] = "posted"
			if rec["invoice_date"] == "" {
				rec["invoice_date"] = s.opts.Now().UTC().Format("2006-01-02")
			}
			rec["write_date"] = s.stamp()
		}
		result = false
	}
	s.logWrite(m, method, kw, ids, s.recordRef(m, ids))
	return result, nil
}

func (s *Server) fieldsGet(m *model, allfields, attributes []string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, f := range m.fields {
		if len(allfields) > 0 && !slices.Contains(allfields, name) {
			continue
		}
		desc := map[string]any{"type": fieldTypeNames[f.typ], "string": f.label, "required": f.required,
			"readonly": f.compute != nil || name == "id" || name == "create_date" || name == "write_date"}
		if f.relation != "" {
			desc["relation"] = f.relation
		}
		if f.selection != nil {
			sel := []any{}
			for _, v := range f.selection {
				sel = append(sel, []any{v, v})
			}
			desc["selection"] = sel
		}
		if len(attributes) > 0 {
			for k := range desc {
				if !slices.Contains(attributes, k) {
					delete(desc, k)
				}
			}
		}
		out[name] = desc
	}
	return out
}
