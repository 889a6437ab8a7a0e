// Package shopify is Crossdock's client for the Shopify GraphQL Admin API and
// Shopify webhooks. The same code talks to a real shop and to the in-process
// sandbox twin (package sandbox): only Config.BaseURL differs.
package shopify

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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAPIVersion is the Admin API version Crossdock is written against.
const DefaultAPIVersion = "2026-04"

// Default cost estimates used before Shopify has told us what a query costs.
const (
	defaultMutationCost = 10
	defaultQueryCost    = 50
)

// maxAnswer caps how much of an answer is read; bulk results are streamed
// separately, so GraphQL answers stay small.
const maxAnswer = 32 << 20

// Config configures a Client.
type Config struct {
	// ShopDomain is the shop's permanent domain, e.g. "acme.myshopify.com".
	ShopDomain string
	// AccessToken is the Admin API access token (sent as X-Shopify-Access-Token).
	AccessToken string
	// APIVersion defaults to DefaultAPIVersion.
	APIVersion string
	// BaseURL overrides https://{ShopDomain} (sandbox, proxy).
	BaseURL string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Client calls the GraphQL Admin API of one shop. It is safe for concurrent use.
type Client struct {
	endpoint string
	token    string
	version  string
	domain   string
	http     *http.Client
	log      *slog.Logger
	bucket   *Bucket

	costMu sync.Mutex
	costs  map[string]float64

	budgetMu sync.Mutex
	budget   BudgetStatus
	meters   map[*CostMeter]struct{}

	calls, throttled, retries atomic.Int64
}

// NewClient validates cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.AccessToken) == "" {
		return nil, errors.New("shopify: access token is empty")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		d := strings.ToLower(strings.TrimSpace(cfg.ShopDomain))
		if !validShopDomain(d) {
			return nil, fmt.Errorf("shopify: shop domain %q must look like your-shop.myshopify.com", cfg.ShopDomain)
		}
		base = "https://" + d
	} else if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("shopify: base URL %q must start with http:// or https://", cfg.BaseURL)
	}
	version := cmp.Or(cfg.APIVersion, DefaultAPIVersion)
	if !validVersion(version) {
		return nil, fmt.Errorf("shopify: API version %q must look like 2026-04", version)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{
		endpoint: base + "/admin/api/" + version + "/graphql.json",
		token:    cfg.AccessToken,
		version:  version,
		domain:   cfg.ShopDomain,
		http:     hc,
		log:      cmp.Or(cfg.Logger, slog.Default()),
		bucket:   NewBucket(),
		costs:    map[string]float64{},
	}, nil
}

func validShopDomain(d string) bool {
	name, ok := strings.CutSuffix(d, ".myshopify.com")
	if !ok || name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func validVersion(v string) bool {
	if v == "unstable" {
		return true
	}
	if len(v) != 7 || v[4] != '-' {
		return false
	}
	_, err1 := strconv.Atoi(v[:4])
	_, err2 := strconv.Atoi(v[5:])
	return err1 == nil && err2 == nil
}

// APIVersion returns the API version the client is pinned to.
func (c *Client) APIVersion() string { return c.version }

// Endpoint returns the GraphQL URL the client posts to.
func (c *Client) Endpoint() string { return c.endpoint }

// Bucket returns the client's rate-limit estimate.
func (c *Client) Bucket() *Bucket { return c.bucket }

// BudgetStatus is the last rate-limit status Shopify reported.
type BudgetStatus struct {
	ThrottleStatus
	// SeenAt is when the status was reported; zero if never.
	SeenAt time.Time
	// EstimatedAvailable is the client's estimate of the points available now.
	EstimatedAvailable float64
}

// Budget returns the last throttle status seen, for "rate-limit budget currently available".
func (c *Client) Budget() BudgetStatus {
	c.budgetMu.Lock()
	b := c.budget
	c.budgetMu.Unlock()
	if !b.SeenAt.IsZero() {
		b.EstimatedAvailable = c.bucket.Available(time.Now())
	}
	return b
}

// Stats counts what the client did since it was created.
type Stats struct {
	// Calls is the number of HTTP requests sent.
	Calls int64
	// Throttled is the number of THROTTLED (or 429) answers received.
	Throttled int64
	// Retries is the number of requests re-sent after a throttled answer.
	Retries int64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{Calls: c.calls.Load(), Throttled: c.throttled.Load(), Retries: c.retries.Load()}
}

func (c *Client) estimate(query string) float64 {
	c.costMu.Lock()
	v, ok := c.costs[query]
	c.costMu.Unlock()
	if ok {
		return v
	}
	if isMutation(query) {
		return defaultMutationCost
	}
	return defaultQueryCost
}

func isMutation(q string) bool {
	return strings.HasPrefix(strings.TrimSpace(q), "mutation")
}

// GraphQLError is one entry of a GraphQL answer's errors array.
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func (g GraphQLError) code() string {
	s, _ := g.Extensions["code"].(string)
	return s
}

type answer struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *Cost `json:"cost"`
	} `json:"extensions"`
}

// minThrottleBackoff keeps a throttled retry from spinning when the answer
// carries no usable cost information.
const minThrottleBackoff = 250 * time.Millisecond

// Do sends one GraphQL document and decodes data into out (when out is not nil).
// It waits on the cost model first, retries THROTTLED answers after the bucket
// has refilled (bounded only by ctx), and maps every failure to *Error.
func (c *Client) Do(ctx context.Context, query string, variables map[string]any, out any) error {
	body, err := json.Marshal(struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables,omitempty"`
	}{query, variables})
	if err != nil {
		return &Error{Kind: KindProtocol, Message: "encoding variables: " + err.Error(), Err: err}
	}
	cost := c.estimate(query)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
		}
		if err := c.bucket.Wait(ctx, cost); err != nil {
			c.bucket.refund(cost)
			return &Error{Kind: KindThrottled, Message: "waiting for rate-limit budget: " + err.Error(), Err: err}
		}
		status, raw, hdr, err := c.post(ctx, body)
		if err != nil {
			c.bucket.refund(cost)
			return err
		}
		ans, throttled, err := readAnswer(status, raw, out)
		c.bucket.settle(cost)
		if ans.Extensions.Cost != nil {
			c.observe(query, ans.Extensions.Cost)
		}
		if !throttled {
			return err
		}
		c.throttled.Add(1)
		if status == http.StatusTooManyRequests {
			d := minThrottleBackoff
			if s, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil && s > 0 {
				d = time.Duration(s) * time.Second
			}
			c.log.DebugContext(ctx, "shopify throttled (429)", "wait", d)
			if err := sleepCtx(ctx, d); err != nil {
				return &Error{Kind: KindThrottled, Status: status, Body: evidence(raw), Err: err}
			}
			continue
		}
		requested := cost
		if ans.Extensions.Cost != nil && ans.Extensions.Cost.RequestedQueryCost > 0 {
			requested = ans.Extensions.Cost.RequestedQueryCost
		}
		cost = requested
		if ans.Extensions.Cost == nil {
			// The minimal throttled form carries no bucket numbers: back off a fixed time.
			if err := sleepCtx(ctx, time.Second); err != nil {
				return &Error{Kind: KindThrottled, Status: status, Code: "THROTTLED", Body: evidence(raw), Err: err}
			}
		}
		avail := c.bucket.Available(time.Now())
		c.log.DebugContext(ctx, "shopify throttled", "requested_cost", requested, "available", avail)
		if avail >= requested {
			// Shopify said no while our estimate says yes: never spin on that.
			if err := sleepCtx(ctx, minThrottleBackoff); err != nil {
				return &Error{Kind: KindThrottled, Status: status, Code: "THROTTLED", Body: evidence(raw), Err: err}
			}
		}
	}
}

// readAnswer judges one answer: throttled (a 429, or a THROTTLED error: ask
// again), an *Error, or nil with data decoded into out (when out is not nil).
// ans carries the answer's cost when it could be read.
func readAnswer(status int, raw []byte, out any) (ans answer, throttled bool, err error) {
	if jsonErr := json.Unmarshal(raw, &ans); jsonErr != nil {
		ans = answer{} // a value of the wrong type leaves the rest half read
		if status == http.StatusTooManyRequests {
			return ans, true, nil
		}
		if e := statusError(status, raw); e != nil {
			return ans, false, e
		}
		return ans, false, &Error{Kind: KindProtocol, Status: status, Message: "answer is not JSON", Body: evidence(raw), Err: jsonErr}
	}
	if status == http.StatusTooManyRequests {
		return ans, true, nil
	}
	if e := statusError(status, raw); e != nil {
		return ans, false, e
	}
	gqlErrs, perr := parseErrors(ans.Errors)
	if perr != nil {
		return ans, false, &Error{Kind: KindProtocol, Status: status, Message: "errors field is neither a list nor a string", Body: evidence(raw), Err: perr}
	}
	if throttledAnswer(gqlErrs) {
		return ans, true, nil
	}
	if len(gqlErrs) > 0 {
		if out != nil && len(ans.Data) > 0 && string(ans.Data) != "null" {
			_ = json.Unmarshal(ans.Data, out)
		}
		return ans, false, graphQLErrorsToError(status, gqlErrs, raw)
	}
	if len(ans.Data) == 0 || string(ans.Data) == "null" {
		return ans, false, &Error{Kind: KindProtocol, Status: status, Message: "answer has no data", Body: evidence(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(ans.Data, out); err != nil {
			return ans, false, &Error{Kind: KindProtocol, Status: status, Message: "data does not match the expected shape: " + err.Error(), Body: evidence(raw), Err: err}
		}
	}
	return ans, false, nil
}

func (c *Client) observe(query string, cost *Cost) {
	now := time.Now()
	c.bucket.Update(cost.ThrottleStatus, now)
	if cost.RequestedQueryCost > 0 {
		c.costMu.Lock()
		c.costs[query] = cost.RequestedQueryCost
		c.costMu.Unlock()
	}
	c.budgetMu.Lock()
	c.budget = BudgetStatus{ThrottleStatus: cost.ThrottleStatus, SeenAt: now}
	for m := range c.meters {
		m.add(cost)
	}
	c.budgetMu.Unlock()
}

func (c *Client) post(ctx context.Context, body []byte) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, &Error{Kind: KindProtocol, Message: "building request: " + err.Error(), Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.token)
	c.calls.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, &Error{Kind: KindTransient, Message: err.Error(), Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, nil, nil, &Error{Kind: KindTransient, Status: resp.StatusCode, Message: "reading answer: " + err.Error(), Err: err}
	}
	return resp.StatusCode, raw, resp.Header, nil
}

// statusError classifies non-200 answers. A 200 is judged by its body.
func statusError(status int, raw []byte) *Error {
	if status >= 200 && status < 300 {
		return nil
	}
	msg := errorText(raw)
	e := &Error{Status: status, Message: msg, Body: evidence(raw)}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = KindAuth
	case status == http.StatusPaymentRequired:
		e.Kind, e.Message = KindAuth, cmp.Or(msg, "the shop is frozen (unpaid bill)")
	case status == http.StatusLocked:
		e.Kind, e.Message = KindAuth, cmp.Or(msg, "the shop is locked")
	case status == http.StatusNotFound:
		e.Kind = KindNotFound
	case status >= 500:
		e.Kind = KindTransient
	default:
		e.Kind = KindProtocol
	}
	return e
}

// errorText pulls a readable message out of an error body, whose errors field
// may be a string (401), a list, or an object.
func errorText(raw []byte) string {
	var v struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(raw, &v) != nil || len(v.Errors) == 0 {
		return ""
	}
	if errs, err := parseErrors(v.Errors); err == nil && len(errs) > 0 {
		return joinMessages(errs)
	}
	return string(v.Errors)
}

func parseErrors(raw json.RawMessage) ([]GraphQLError, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '[':
		var l []GraphQLError
		err := json.Unmarshal(raw, &l)
		return l, err
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return []GraphQLError{{Message: s}}, err
	case '{':
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(m)
		return []GraphQLError{{Message: string(b)}}, nil
	}
	return nil, errors.New("unexpected errors value")
}

func throttledAnswer(errs []GraphQLError) bool {
	for _, e := range errs {
		if e.code() == "THROTTLED" {
			return true
		}
	}
	return false
}

func joinMessages(errs []GraphQLError) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	return strings.Join(msgs, "; ")
}

func graphQLErrorsToError(status int, errs []GraphQLError, raw []byte) *Error {
	e := &Error{Kind: KindValidation, Status: status, Code: errs[0].code(), Message: joinMessages(errs), Body: evidence(raw)}
	switch e.Code {
	case "ACCESS_DENIED":
		e.Kind = KindAuth
	case "INTERNAL_SERVER_ERROR":
		e.Kind = KindTransient
	}
	return e
}
