// Package shipbob connects Crossdock to ShipBob, a 3PL (third-party
// logistics) warehouse: orders go out to it, shipments with tracking and
// stock levels come back. It speaks ShipBob's dated REST API
// (https://api.shipbob.com/<version>/…, sandbox at sandbox-api.shipbob.com)
// with a personal access token, honours its 150 requests a minute (a
// sliding window, shared by every caller of one connection's client) and
// reads its error envelope. A twin of the API lives in shipbob/sandbox.
package shipbob

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"crossdock/connectors"
)

// DefaultAPIVersion is the dated API version Crossdock is written against.
const DefaultAPIVersion = "2026-01"

// Hosts of ShipBob's two environments.
const (
	ProductionURL = "https://api.shipbob.com"
	SandboxURL    = "https://sandbox-api.shipbob.com"
)

// RateLimit is ShipBob's documented limit: 150 requests a minute per user
// and app, over a sliding window (developer.shipbob.com/rate-limit).
const RateLimit = 150

// HeaderChannel carries the channel every write is made for.
const HeaderChannel = "shipbob_channel_id"

// Config is what a Client needs.
type Config struct {
	// BaseURL is the host (ProductionURL, SandboxURL or a twin's address).
	BaseURL     string
	AccessToken string
	APIVersion  string // DefaultAPIVersion when empty
	ChannelID   int64  // shipbob_channel_id of writes; 0 until chosen
	// WebhookSecret (whsec_…) is given to the subscriptions Crossdock makes.
	WebhookSecret string
	HTTPClient    *http.Client
	// RateLimit requests per RateWindow (150 a minute when zero).
	RateLimit  int
	RateWindow time.Duration
	// MaxThrottleWait is the longest a call waits for the window (or a
	// 429's x-retry-after) before giving up with KindThrottled (30 s when
	// zero); a context deadline shortens it.
	MaxThrottleWait time.Duration
	// Tokens, for a connection that signs in (OAuth), gives the access
	// tokens instead of AccessToken.
	Tokens *connectors.TokenSource
}

// Client calls one ShipBob account. It is safe for concurrent use; all its
// callers share its rate window.
type Client struct {
	base    string
	token   string
	version string
	channel int64
	http    *http.Client
	window  *window
	maxWait time.Duration
	tokens  *connectors.TokenSource

	webhookSecret string
}

// NewClient checks cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		return nil, errors.New("no ShipBob address")
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the ShipBob address %q is not a full http(s) address", base)
	}
	if strings.TrimSpace(cfg.AccessToken) == "" && cfg.Tokens == nil {
		return nil, errors.New("no personal access token")
	}
	return &Client{tokens: cfg.Tokens, base: base, token: strings.TrimSpace(cfg.AccessToken), version: cmp.Or(strings.TrimSpace(cfg.APIVersion), DefaultAPIVersion),
		channel: cfg.ChannelID, http: cmp.Or(cfg.HTTPClient, &http.Client{Timeout: 30 * time.Second}),
		window:  newWindow(cmp.Or(cfg.RateLimit, RateLimit), cmp.Or(cfg.RateWindow, time.Minute)),
		maxWait: cmp.Or(cfg.MaxThrottleWait, 30*time.Second), webhookSecret: strings.TrimSpace(cfg.WebhookSecret)}, nil
}

// KeepTokensWith makes a signed-in connection's client read and store its
// rotating refresh tokens through k (connectors.KeepsTokens); a client with
// a personal access token has none.
func (c *Client) KeepTokensWith(k connectors.TokenKeeper) {
	if c.tokens != nil {
		c.tokens.KeepTokensWith(k)
	}
}

// SignsIn reports whether the client reaches ShipBob by a sign-in (OAuth).
func (c *Client) SignsIn() bool { return c.tokens != nil }

// GrantedScopes are the scopes ShipBob's last token answer granted ("" for
// a personal access token, or before the first call).
func (c *Client) GrantedScopes() string {
	if c.tokens == nil {
		return ""
	}
	return c.tokens.Scope()
}

// accessToken is the bearer token of the next call.
func (c *Client) accessToken(ctx context.Context, method, path string) (string, error) {
	if c.tokens == nil {
		return c.token, nil
	}
	t, err := c.tokens.Token(ctx)
	if errors.Is(err, connectors.ErrNoRefreshToken) {
		return "", &Error{Kind: KindAuth, Method: method, Path: path, SignIn: true, Message: "not signed in to ShipBob yet", Err: err}
	}
	return t, err
}

// APIVersion is the version the client speaks.
func (c *Client) APIVersion() string { return c.version }

// Endpoint is the client's host.
func (c *Client) Endpoint() string { return c.base }

// ChannelID is the channel writes are made for (0 when none is chosen).
func (c *Client) ChannelID() int64 { return c.channel }

// ErrorKind classifies a failed call by what to do next.
type ErrorKind int

// Error kinds.
const (
	KindProtocol   ErrorKind = iota // the answer could not be read
	KindAuth                        // 401/403: the token was refused or lacks a scope
	KindThrottled                   // 429 beyond what the caller could wait
	KindNotFound                    // 404
	KindTransient                   // 5xx, network, timeouts
	KindValidation                  // 400/422: ShipBob refused the request
	KindDuplicate                   // 422: the reference_id exists already
	KindNoChannel                   // a write without a chosen channel
)

// String names a kind for logs and evidence.
func (k ErrorKind) String() string {
	return [...]string{"protocol", "auth", "throttled", "not_found", "transient", "validation", "duplicate", "no_channel"}[k]
}

// Error is every failed call's error.
type Error struct {
	Kind   ErrorKind
	Status int
	// Message is ShipBob's own message (the envelope's message, title or
	// first field error), or what went wrong reaching it.
	Message string
	// Fields are the envelope's field errors ("" for the whole request).
	Fields map[string][]string
	// RetryAfter is the 429's x-retry-after.
	RetryAfter time.Duration
	// SignIn: the connection signs in (OAuth), so a refusal asks a person
	// to sign in again rather than for a new token.
	SignIn bool
	// Code is the sign-in service's OAuth error ("invalid_grant": the
	// refresh token was revoked or is too old; a person signs in again).
	Code         string
	Method, Path string
	Body         []byte // the raw answer, capped, as evidence
	Err          error
}

func (e *Error) Error() string {
	s := "shipbob: " + e.Method + " " + e.Path
	if e.Status != 0 {
		s += ": " + strconv.Itoa(e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

const maxEvidence = 4096

// retryInRe reads the wait out of the 429 body's sentence ("Try again in 25
// seconds."), for an answer without the header.
var retryInRe = regexp.MustCompile(`(?i)try again in (\d+) seconds?`)

// readError reads ShipBob's error envelope, in any of the shapes it uses: a
// map of field to messages (orders: {"": ["Cannot insert order with
// existing ReferenceId"]}), {"statusCode","message"} (the rate limit), or
// RFC 7807 problem details ({"title","detail","errors":{…}}: inventory,
// returns).
func readError(method, path string, res *http.Response, body []byte) *Error {
	e := &Error{Status: res.StatusCode, Method: method, Path: path, Body: body[:min(len(body), maxEvidence)]}
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) == nil {
		var s string
		for _, k := range []string{"message", "detail", "title", "error"} {
			if json.Unmarshal(raw[k], &s) == nil && s != "" {
				e.Message = s
				break
			}
		}
		fields := map[string][]string{}
		if errs, ok := raw["errors"]; ok {
			_ = json.Unmarshal(errs, &fields)
		}
		for k, v := range raw {
			var msgs []string
			if json.Unmarshal(v, &msgs) == nil && len(msgs) > 0 {
				fields[k] = msgs
			}
		}
		if len(fields) > 0 {
			e.Fields = fields
			if e.Message == "" {
				e.Message = firstFieldError(fields)
			}
		}
	} else if t := strings.TrimSpace(string(e.Body)); t != "" && len(t) < 300 {
		var s string
		if json.Unmarshal(body, &s) == nil {
			t = s
		}
		e.Message = t
	}
	switch s := res.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = KindAuth
	case s == http.StatusNotFound:
		e.Kind = KindNotFound
	case s == http.StatusTooManyRequests:
		e.Kind = KindThrottled
		e.RetryAfter = retryAfter(res.Header, e.Message)
	case s == http.StatusUnprocessableEntity && isDuplicate(e):
		e.Kind = KindDuplicate
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity || s == http.StatusConflict:
		e.Kind = KindValidation
	case s >= 500:
		e.Kind = KindTransient
	default:
		e.Kind = KindProtocol
	}
	return e
}

func firstFieldError(fields map[string][]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	// Stable: the whole request's errors first, then by field name.
	slices.Sort(keys)
	for _, k := range keys {
		if len(fields[k]) > 0 {
			if k == "" {
				return fields[k][0]
			}
			return k + ": " + fields[k][0]
		}
	}
	return ""
}

// isDuplicate recognises the 422 of an order whose reference_id the account
// already has ("Cannot insert order with existing ReferenceId"; the docs'
// "You have already created a product or order with the same reference_id").
func isDuplicate(e *Error) bool {
	check := func(s string) bool {
		s = strings.ToLower(s)
		return strings.Contains(s, "existing referenceid") || strings.Contains(s, "same reference_id") ||
			strings.Contains(s, "existing reference_id")
	}
	if check(e.Message) {
		return true
	}
	for _, msgs := range e.Fields {
		for _, m := range msgs {
			if check(m) {
				return true
			}
		}
	}
	return false
}

// retryAfter reads x-retry-after (seconds), else the body's sentence, else
// a whole window.
func retryAfter(h http.Header, message string) time.Duration {
	if n, err := strconv.ParseFloat(strings.TrimSpace(h.Get("X-Retry-After")), 64); err == nil && n >= 0 {
		return min(time.Duration(n*float64(time.Second)), 10*time.Minute)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, 10*time.Minute)
	}
	if m := retryInRe.FindStringSubmatch(message); m != nil {
		n, _ := strconv.Atoi(m[1])
		return min(time.Duration(n)*time.Second, 10*time.Minute)
	}
	return time.Minute
}

// call sends one request and decodes a 2xx answer into out (nil: ignored).
// It waits for the rate window first, and on a 429 waits the answer's
// x-retry-after and tries again, as long as the wait fits in the caller's
// context and MaxThrottleWait.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any, write bool) (http.Header, error) {
	if write && c.channel == 0 {
		return nil, &Error{Kind: KindNoChannel, Method: method, Path: path,
			Message: "no ShipBob channel is chosen for this connection (shipbob_channel_id)"}
	}
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return nil, &Error{Kind: KindProtocol, Method: method, Path: path, Err: err}
		}
	}
	u := c.base + "/" + c.version + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	deadline := time.Now().Add(c.maxWait)
	refreshed := false
	for {
		token, err := c.accessToken(ctx, method, path)
		if err != nil {
			return nil, err
		}
		answered, err := c.window.wait(ctx, deadline)
		if err != nil {
			return nil, &Error{Kind: KindThrottled, Method: method, Path: path, Message: "Crossdock's share of the 150 requests a minute is used up", Err: err}
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			answered()
			return nil, &Error{Kind: KindProtocol, Method: method, Path: path, Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.channel != 0 {
			req.Header.Set(HeaderChannel, strconv.FormatInt(c.channel, 10))
		}
		res, err := c.http.Do(req)
		answered()
		if err != nil {
			return nil, &Error{Kind: KindTransient, Method: method, Path: path, Err: err}
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
		res.Body.Close()
		if err != nil {
			return nil, &Error{Kind: KindTransient, Method: method, Path: path, Status: res.StatusCode, Err: err}
		}
		if res.StatusCode >= 200 && res.StatusCode < 300 {
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return nil, &Error{Kind: KindProtocol, Method: method, Path: path, Status: res.StatusCode,
						Message: "the answer is not what the API documents", Body: body[:min(len(body), maxEvidence)], Err: err}
				}
			}
			return res.Header, nil
		}
		e := readError(method, path, res, body)
		e.SignIn = c.tokens != nil
		if e.Kind == KindAuth && res.StatusCode == http.StatusUnauthorized && c.tokens != nil && !refreshed {
			// The access token ended early (or was revoked): refresh once.
			refreshed = true
			c.tokens.Forget(token)
			continue
		}
		if e.Kind != KindThrottled {
			return nil, e
		}
		// Everyone sharing the window waits too: ShipBob counts the account's calls, not this caller's.
		c.window.pause(e.RetryAfter)
		if end, ok := ctx.Deadline(); (ok && time.Now().Add(e.RetryAfter).After(end)) || time.Now().Add(e.RetryAfter).After(deadline) {
			return nil, e
		}
	}
}

// window is a sliding window of requests: at most limit in any span of
// per, and none while a 429's retry-after runs. A request holds its place
// from when it is sent until per after its answer came: ShipBob counts a
// request when it arrives, which is after it was sent and before its answer
// — so a request sent once an earlier one's place is free arrives at least
// per after it, however long either took on the way, and the window never
// earns a 429 of its own making.
type window struct {
	limit int
	per   time.Duration
	now   func() time.Time

	mu          sync.Mutex
	places      []*place // oldest first
	pausedUntil time.Time
}

// place is one request's place in the window: answered is zero while it is
// on its way.
type place struct{ answered time.Time }

func newWindow(limit int, per time.Duration) *window {
	return &window{limit: limit, per: per, now: time.Now}
}

// wait takes a place in the window, waiting for one until deadline or the
// context's end; answered gives it back, to be freed per later, once the
// request's answer (or failure) is in.
func (w *window) wait(ctx context.Context, deadline time.Time) (answered func(), err error) {
	for {
		w.mu.Lock()
		now := w.now()
		cut := 0
		for cut < len(w.places) && !w.places[cut].answered.IsZero() && !w.places[cut].answered.After(now.Add(-w.per)) {
			cut++
		}
		w.places = w.places[cut:]
		var d time.Duration
		switch {
		case now.Before(w.pausedUntil):
			d = w.pausedUntil.Sub(now)
		case len(w.places) >= w.limit && w.places[0].answered.IsZero():
			d = time.Millisecond // the oldest is still on its way
		case len(w.places) >= w.limit:
			d = w.places[0].answered.Add(w.per).Sub(now)
		default:
			p := &place{}
			w.places = append(w.places, p)
			w.mu.Unlock()
			return func() {
				w.mu.Lock()
				p.answered = w.now()
				w.mu.Unlock()
			}, nil
		}
		w.mu.Unlock()
		if now.Add(d).After(deadline) {
			return nil, fmt.Errorf("the next free place is %s away", d.Round(time.Millisecond))
		}
		t := time.NewTimer(max(d, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (w *window) pause(d time.Duration) {
	w.mu.Lock()
	if until := w.now().Add(d); until.After(w.pausedUntil) {
		w.pausedUntil = until
	}
	w.mu.Unlock()
}

// Used reports how many places of the window are taken now, and its size.
func (c *Client) Used() (used, limit int) {
	w := c.window
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	for _, p := range w.places {
		if p.answered.IsZero() || p.answered.After(now.Add(-w.per)) {
			used++
		}
	}
	return used, w.limit
}
