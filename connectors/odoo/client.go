// Package odoo is Crossdock's connector to Odoo, the open-source ERP.
//
// One Client speaks either of Odoo's external APIs, chosen by Config.Protocol:
//
//   - ProtocolJSONRPC: execute_kw over POST /jsonrpc (Odoo 14 to 21). The client
//     calls common.authenticate once, caches the uid and sends
//     object.execute_kw(db, uid, secret, model, method, args, kwargs).
//   - ProtocolJSON2: POST /json/2/<model>/<method> (Odoo 19 and later), with
//     "Authorization: bearer <API key>" and named arguments in the JSON body.
//
// The typed helpers (Products, Quants, CreateSaleOrder, ...) hide the difference;
// Call is the generic escape hatch. The same code talks to a real Odoo and to
// the in-process twin in package sandbox.
package odoo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Protocol selects which of Odoo's external APIs the client uses.
type Protocol string

// Supported protocols.
const (
	// ProtocolJSONRPC is execute_kw over /jsonrpc (Odoo 14–21; removed in 22).
	ProtocolJSONRPC Protocol = "jsonrpc"
	// ProtocolJSON2 is the JSON-2 API, POST /json/2/<model>/<method> (Odoo 19+).
	ProtocolJSON2 Protocol = "json2"
)

// Config says where an Odoo is and how to log in.
type Config struct {
	URL      string // base URL, e.g. https://mycompany.odoo.com (a path prefix is kept)
	Database string // required for JSON-RPC; for JSON-2 sent as X-Odoo-Database when set
	Username string // login, required for JSON-RPC; unused by JSON-2
	Secret   string // API key (or password, JSON-RPC only); never logged
	Protocol Protocol
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger
}

// Validate says in plain words what is wrong with the configuration.
func (c Config) Validate() error {
	var problems []string
	u, err := url.Parse(c.URL)
	switch {
	case strings.TrimSpace(c.URL) == "":
		problems = append(problems, "the Odoo URL is empty")
	case err != nil:
		problems = append(problems, fmt.Sprintf("the Odoo URL %q is not a valid URL", c.URL))
	case u.Scheme != "http" && u.Scheme != "https":
		problems = append(problems, fmt.Sprintf("the Odoo URL %q must start with http:// or https://", c.URL))
	case u.Host == "":
		problems = append(problems, fmt.Sprintf("the Odoo URL %q has no host name", c.URL))
	case u.RawQuery != "" || u.Fragment != "":
		problems = append(problems, fmt.Sprintf("the Odoo URL %q must not contain a query or fragment", c.URL))
	}
	switch c.Protocol {
	case ProtocolJSONRPC:
		if c.Database == "" {
			problems = append(problems, "the database name is required for JSON-RPC")
		}
		if c.Username == "" {
			problems = append(problems, "the login (user name or email) is required for JSON-RPC")
		}
		if c.Secret == "" {
			problems = append(problems, "the password or API key is empty")
		}
	case ProtocolJSON2:
		if c.Secret == "" {
			problems = append(problems, "the API key is empty (JSON-2 needs an API key, not a password)")
		}
	default:
		problems = append(problems, fmt.Sprintf("unknown protocol %q: use %q (Odoo 14–21) or %q (Odoo 19+)",
			c.Protocol, ProtocolJSONRPC, ProtocolJSON2))
	}
	if len(problems) > 0 {
		return fmt.Errorf("odoo config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Client calls one Odoo database as one user. It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  string // URL without trailing slash
	http  *http.Client
	log   *slog.Logger
	reqID atomic.Int64
	// calls and failed count Call's answers, for a rehearsal's report.
	calls, failed atomic.Int64
	authMu        sync.Mutex // serialises logins so a burst of calls authenticates once
	uid           atomic.Int64
	verMu         sync.Mutex
	version       *VersionInfo
}

// maxAnswer bounds how much of an answer is read: a sweep page of a few
// thousand records is a few MiB; anything near this limit is a mistake.
const maxAnswer = 64 << 20

// NewClient checks cfg and returns a client. It does not contact Odoo; use
// Check for a connection test.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:  cfg,
		base: strings.TrimRight(cfg.URL, "/"),
		http: cmp.Or(cfg.HTTPClient, &http.Client{Timeout: 30 * time.Second}),
		log:  cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
	}
	return c, nil
}

// Protocol returns the protocol the client speaks.
func (c *Client) Protocol() Protocol { return c.cfg.Protocol }

// Call runs method on model and decodes the result into out (nil to discard).
//
// args and kwargs follow execute_kw's positional convention on both protocols.
// For JSON-2, which only takes named arguments, Call maps them:
//
//   - record methods (read, write, unlink, action_*, and any method not listed
//     below) take the record ids as args[0], sent as "ids";
//   - the remaining positional args are named after the method's signature
//     (search_read: domain, fields, offset, limit, order; search: domain,
//     offset, limit, order; search_count: domain, limit; read: fields;
//     write: vals; create: vals_list; fields_get: allfields, attributes;
//     check_access_rights: operation, raise_exception); a method with extra
//     positional args that are not in that table is refused: use kwargs;
//   - kwargs (including "context") are sent as they are.
//
// create with a single dict answers a single id on both protocols, although
// JSON-2 itself always answers a list.
func (c *Client) Call(ctx context.Context, model, method string, args []any, kwargs map[string]any, out any) error {
	start := time.Now()
	var raw json.RawMessage
	var err error
	switch c.cfg.Protocol {
	case ProtocolJSON2:
		raw, err = c.callJSON2(ctx, model, method, args, kwargs)
	default:
		raw, err = c.executeKW(ctx, model, method, args, kwargs)
	}
	c.log.DebugContext(ctx, "odoo call", "protocol", string(c.cfg.Protocol), "model", model, "method", method,
		"duration_ms", time.Since(start).Milliseconds(), "error", err)
	c.calls.Add(1)
	if err != nil {
		c.failed.Add(1)
		return err
	}
	return decodeResult(raw, out, model, method)
}

// Calls counts the calls made through Call since the client was created, and
// how many of them failed.
func (c *Client) Calls() (calls, failed int64) { return c.calls.Load(), c.failed.Load() }

func decodeResult(raw json.RawMessage, out any, model, method string) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Kind: KindProtocol, Model: model, Method: method, Body: evidence(raw), Err: err,
			Message: fmt.Sprintf("the answer to %s.%s has an unexpected shape: %v", model, method, err)}
	}
	return nil
}

// executeKW calls object.execute_kw, logging in first if needed. On AccessDenied
// or an expired session it logs in again once: an API key rotated in Odoo or a
// restarted server should not need a person.
func (c *Client) executeKW(ctx context.Context, model, method string, args []any, kwargs map[string]any) (json.RawMessage, error) {
	if args == nil {
		args = []any{}
	}
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	for attempt := 0; ; attempt++ {
		uid, err := c.login(ctx)
		if err != nil {
			return nil, err
		}
		raw, err := c.jsonrpc(ctx, "object", "execute_kw",
			[]any{c.cfg.Database, uid, c.cfg.Secret, model, method, args, kwargs})
		if err != nil {
			var oe *Error
			if errors.As(err, &oe) {
				oe.Model, oe.Method = model, method
				if oe.Kind == KindAuth && attempt == 0 {
					c.uid.CompareAndSwap(uid, 0)
					c.log.InfoContext(ctx, "odoo session refused, logging in again", "model", model, "method", method)
					continue
				}
			}
			return nil, err
		}
		return raw, nil
	}
}

// login returns the cached uid, authenticating when there is none.
func (c *Client) login(ctx context.Context) (int64, error) {
	if uid := c.uid.Load(); uid != 0 {
		return uid, nil
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if uid := c.uid.Load(); uid != 0 {
		return uid, nil
	}
	uid, err := c.authenticate(ctx)
	if err != nil {
		return 0, err
	}
	c.uid.Store(uid)
	return uid, nil
}

// authenticate calls common.authenticate, which answers the uid, or false
// (not an error) when the login or secret is wrong.
func (c *Client) authenticate(ctx context.Context) (int64, error) {
	raw, err := c.jsonrpc(ctx, "common", "authenticate",
		[]any{c.cfg.Database, c.cfg.Username, c.cfg.Secret, map[string]any{}})
	if err != nil {
		return 0, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, &Error{Kind: KindProtocol, Method: "authenticate", Body: evidence(raw), Err: err,
			Message: "the login answer is not JSON"}
	}
	switch uid := v.(type) {
	case float64:
		if uid > 0 {
			return int64(uid), nil
		}
	case bool:
		if !uid {
			return 0, &Error{Kind: KindAuth, Method: "authenticate", Body: evidence(raw),
				Message: fmt.Sprintf("login %q with this password or API key was refused for database %q",
					c.cfg.Username, c.cfg.Database)}
		}
	}
	return 0, &Error{Kind: KindProtocol, Method: "authenticate", Body: evidence(raw),
		Message: "the login answer is not a user id"}
}

type rpcRequest struct {
	JSONRPC string    `json:"jsonrpc"`
	Method  string    `json:"method"`
	Params  rpcParams `json:"params"`
	ID      int64     `json:"id"`
}

type rpcParams struct {
	Service string `json:"service"`
	Method  string `json:"method"`
	Args    []any  `json:"args"`
}

// jsonrpc posts one call to /jsonrpc and returns its result member.
func (c *Client) jsonrpc(ctx context.Context, service, method string, args []any) (json.RawMessage, error) {
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", Method: "call", ID: c.reqID.Add(1),
		Params: rpcParams{Service: service, Method: method, Args: args}})
	if err != nil {
		return nil, fmt.Errorf("odoo: encode %s.%s: %w", service, method, err)
	}
	status, answer, err := c.post(ctx, c.base+"/jsonrpc", body, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		e := fromJSON2(status, answer) // a proxy or a server without /jsonrpc
		if status == http.StatusNotFound {
			e.Kind, e.Message = KindProtocol, "there is no Odoo JSON-RPC endpoint (/jsonrpc) at this URL"
		}
		e.Method = method
		return nil, e
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(answer, &env); err != nil {
		return nil, &Error{Kind: KindProtocol, Status: status, Body: evidence(answer), Method: method, Err: err,
			Message: "the answer is not JSON: is this URL an Odoo server?"}
	}
	if rawErr, ok := env["error"]; ok && string(rawErr) != "null" {
		var je jsonrpcError
		if err := json.Unmarshal(rawErr, &je); err != nil {
			return nil, &Error{Kind: KindProtocol, Status: status, Body: evidence(answer), Method: method, Err: err,
				Message: "the error in the answer is malformed"}
		}
		e := fromJSONRPC(je, status, answer)
		e.Method = method
		return nil, e
	}
	result, ok := env["result"]
	if !ok {
		return nil, &Error{Kind: KindProtocol, Status: status, Body: evidence(answer), Method: method,
			Message: "the answer has neither a result nor an error"}
	}
	return result, nil
}

// json2Params names the positional arguments of the methods the helpers use.
// Methods not listed here are record methods whose only positional arg is ids.
var json2Params = map[string][]string{
	"search_read":         {"domain", "fields", "offset", "limit", "order"},
	"search":              {"domain", "offset", "limit", "order"},
	"search_count":        {"domain", "limit"},
	"create":              {"vals_list"},
	"fields_get":          {"allfields", "attributes"},
	"check_access_rights": {"operation", "raise_exception"},
	"default_get":         {"fields_list"},
	"name_search":         {"name", "domain", "operator", "limit"},
	"read":                {"ids", "fields"},
	"write":               {"ids", "vals"},
	"unlink":              {"ids"},
}

// json2Body maps execute_kw-style arguments to JSON-2 named arguments. single
// reports a create with one dict, whose list answer must be unwrapped.
func json2Body(method string, args []any, kwargs map[string]any) (body map[string]any, single bool, err error) {
	body = make(map[string]any, len(args)+len(kwargs))
	names, ok := json2Params[method]
	if !ok {
		names = []string{"ids"}
	}
	if len(args) > len(names) {
		return nil, false, fmt.Errorf("odoo: %s takes at most %d positional arguments over JSON-2 (%s); pass the others as kwargs",
			method, len(names), strings.Join(names, ", "))
	}
	for i, a := range args {
		body[names[i]] = a
	}
	if method == "create" {
		if _, isMap := body["vals_list"].(map[string]any); isMap {
			body["vals_list"] = []any{body["vals_list"]}
			single = true
		}
	}
	for k, v := range kwargs {
		body[k] = v
	}
	return body, single, nil
}

func (c *Client) callJSON2(ctx context.Context, model, method string, args []any, kwargs map[string]any) (json.RawMessage, error) {
	named, single, err := json2Body(method, args, kwargs)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(named)
	if err != nil {
		return nil, fmt.Errorf("odoo: encode %s.%s: %w", model, method, err)
	}
	headers := map[string]string{"Authorization": "bearer " + c.cfg.Secret}
	if c.cfg.Database != "" {
		headers["X-Odoo-Database"] = c.cfg.Database
	}
	endpoint := c.base + "/json/2/" + url.PathEscape(model) + "/" + url.PathEscape(method)
	status, answer, err := c.post(ctx, endpoint, body, headers)
	if err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			oe.Model, oe.Method = model, method
		}
		return nil, err
	}
	if status < 200 || status > 299 {
		e := fromJSON2(status, answer)
		e.Model, e.Method = model, method
		return nil, e
	}
	if !json.Valid(answer) {
		return nil, &Error{Kind: KindProtocol, Status: status, Body: evidence(answer), Model: model, Method: method,
			Message: "the answer is not JSON: is this URL an Odoo 19+ server?"}
	}
	if single {
		var ids []json.RawMessage
		if err := json.Unmarshal(answer, &ids); err != nil || len(ids) != 1 {
			return nil, &Error{Kind: KindProtocol, Status: status, Body: evidence(answer), Model: model, Method: method,
				Message: "create did not answer a list of one id"}
		}
		return ids[0], nil
	}
	return answer, nil
}

// post sends body and returns the status and the answer. Failures to get an
// answer at all are *Error of KindTransient wrapping the cause.
func (c *Client) post(ctx context.Context, endpoint string, body []byte, headers map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("odoo: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "crossdock")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

func (c *Client) do(req *http.Request) (int, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, &Error{Kind: KindTransient, Err: err, Message: "no answer from " + redact(req.URL)}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, &Error{Kind: KindTransient, Status: resp.StatusCode, Err: err,
			Message: "the answer from " + redact(req.URL) + " was cut off"}
	}
	return resp.StatusCode, answer, nil
}

// redact drops user info from a URL before it lands in an error message.
func redact(u *url.URL) string {
	cp := *u
	cp.User = nil
	return cp.Redacted()
}
