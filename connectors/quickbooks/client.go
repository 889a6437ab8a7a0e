// Package quickbooks is the QuickBooks Online connector: its Kind (the
// connection form, the connection test), a client of the accounting API
// (/v3/company/{realm}/…) with OAuth 2.0 refresh-token rotation, the fault
// envelope, requestid idempotency, SyncToken updates, queries and change
// data capture, and the verification and decoding of its webhooks. Its
// sandbox twin lives in connectors/quickbooks/sandbox.
package quickbooks

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
	"strconv"
	"strings"
	"sync"
	"time"

	"crossdock/connectors"
)

// Endpoints and versions of the real service (FACTS-next §1).
const (
	ProductionBaseURL = "https://quickbooks.api.intuit.com"
	SandboxBaseURL    = "https://sandbox-quickbooks.api.intuit.com"
	AuthorizeURL      = "https://appcenter.intuit.com/connect/oauth2"
	TokenURL          = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
	Scope             = "com.intuit.quickbooks.accounting"
	// MinorVersion is the API minor version Crossdock is written against;
	// versions 1–74 were retired on 2025-08-01.
	MinorVersion = "75"
	// RatePerMinute and Concurrency are QuickBooks' limits per company
	// (realm): 500 requests a minute, 10 at once.
	RatePerMinute = 500
	Concurrency   = 10
)

// Config configures a Client.
type Config struct {
	BaseURL      string // API base, without /v3 [ProductionBaseURL]
	TokenURL     string // OAuth token endpoint [TokenURL]
	RealmID      string
	ClientID     string
	ClientSecret string
	// RefreshToken is the refresh token the connection was saved with; a
	// TokenKeeper, when set, is read instead.
	RefreshToken string
	MinorVersion string // [MinorVersion]
	HTTPClient   *http.Client
	// RatePerMinute and Concurrency pace the client's calls (the whole
	// pool shares one client per connection) [RatePerMinute, Concurrency].
	RatePerMinute int
	Concurrency   int
	// ThrottleWait is how long a 429 waits before the call is sent again
	// [from Retry-After, else 2 s]; MaxThrottled how many 429s one call
	// absorbs before it fails as throttled [5].
	ThrottleWait time.Duration
	MaxThrottled int
	Now          func() time.Time
}

// Client calls one QuickBooks company. It is safe for concurrent use.
type Client struct {
	cfg   Config
	hc    *http.Client
	pace  *pacer
	mu    sync.Mutex // guards the tokens below and serialises refreshes
	token struct {
		access    string
		expires   time.Time
		refresh   string // the refresh token last used or received
		hardUntil time.Time
	}
	keeper connectors.TokenKeeper
	known  customerMemory
}

// NewClient returns a client of one company.
func NewClient(cfg Config) (*Client, error) {
	cfg.BaseURL = strings.TrimRight(cmp.Or(strings.TrimSpace(cfg.BaseURL), ProductionBaseURL), "/")
	cfg.TokenURL = cmp.Or(strings.TrimSpace(cfg.TokenURL), TokenURL)
	cfg.MinorVersion = cmp.Or(cfg.MinorVersion, MinorVersion)
	cfg.RatePerMinute = cmp.Or(cfg.RatePerMinute, RatePerMinute)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, Concurrency)
	cfg.MaxThrottled = cmp.Or(cfg.MaxThrottled, 5)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if strings.TrimSpace(cfg.RealmID) == "" {
		return nil, errors.New("the company (realm) id is missing: connect to QuickBooks first")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("the app's client id and client secret are missing")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 120 * time.Second} // QuickBooks times requests out after 120 s
	}
	c := &Client{cfg: cfg, hc: hc, pace: newPacer(cfg.RatePerMinute, cfg.Concurrency, cfg.Now)}
	c.token.refresh = cfg.RefreshToken
	return c, nil
}

// KeepTokensWith makes the client read and store its refresh tokens
// through k (connectors.KeepsTokens).
func (c *Client) KeepTokensWith(k connectors.TokenKeeper) {
	c.mu.Lock()
	c.keeper = k
	c.mu.Unlock()
}

// RealmID is the company the client calls.
func (c *Client) RealmID() string { return c.cfg.RealmID }

// HardExpiry is when the authorisation ends whatever the refreshes, as
// QuickBooks said at the last refresh (zero before one).
func (c *Client) HardExpiry() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token.hardUntil
}

// TokenResponse is the token endpoint's answer.
type TokenResponse struct {
	AccessToken            string `json:"access_token"`
	RefreshToken           string `json:"refresh_token"`
	TokenType              string `json:"token_type"`
	ExpiresIn              int64  `json:"expires_in"`
	RefreshExpiresIn       int64  `json:"x_refresh_token_expires_in"`
	RefreshHardExpiresIn   int64  `json:"x_refresh_token_hard_expires_in,omitempty"`
	IDToken                string `json:"id_token,omitempty"`
	hardExpiresAt, expires time.Time
}

// HardExpiresAt is when the refresh token's 5-year hard limit ends (zero
// when QuickBooks did not say).
func (t TokenResponse) HardExpiresAt() time.Time { return t.hardExpiresAt }

// AuthorizeLink is the page a person is sent to to connect a company:
// authorizeURL with the app's client id, scope, redirect and state.
func AuthorizeLink(authorizeURL, clientID, redirectURI, state string) string {
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {Scope},
		"redirect_uri": {redirectURI}, "state": {state}}
	return cmp.Or(authorizeURL, AuthorizeURL) + "?" + q.Encode()
}

// ExchangeCode trades an authorization code for the first tokens.
func ExchangeCode(ctx context.Context, hc *http.Client, tokenURL, clientID, clientSecret, code, redirectURI string) (TokenResponse, error) {
	return tokenCall(ctx, hc, cmp.Or(tokenURL, TokenURL), clientID, clientSecret, time.Now(),
		url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
}

func tokenCall(ctx context.Context, hc *http.Client, tokenURL, id, secret string, now time.Time, form url.Values) (TokenResponse, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return TokenResponse{}, err
	}
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-include-refresh-token-hard-expires-in", "true")
	resp, err := hc.Do(req)
	if err != nil {
		return TokenResponse{}, &Error{Kind: KindTransient, Err: err, Message: "the token endpoint could not be reached"}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return TokenResponse{}, faultError(resp.StatusCode, body, resp.Header.Get("intuit_tid"), "oauth")
	}
	var t TokenResponse
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" || t.RefreshToken == "" {
		return TokenResponse{}, &Error{Kind: KindProtocol, Status: resp.StatusCode, Body: truncate(body), Message: "the token endpoint's answer has no tokens"}
	}
	t.expires = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	if t.RefreshHardExpiresIn > 0 {
		t.hardExpiresAt = now.Add(time.Duration(t.RefreshHardExpiresIn) * time.Second)
	}
	return t, nil
}

// accessToken returns a valid access token, refreshing it when it is (about
// to be) expired.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token.access != "" && c.cfg.Now().Before(c.token.expires) {
		return c.token.access, nil
	}
	return c.refreshLocked(ctx)
}

// forgetAccess drops an access token QuickBooks refused, so the next call
// refreshes.
func (c *Client) forgetAccess(token string) {
	c.mu.Lock()
	if c.token.access == token {
		c.token.access = ""
	}
	c.mu.Unlock()
}

// refreshLocked trades the newest refresh token for an access token and
// stores the rotated refresh token.
//
// Rotation safety: the stored token is read first (another replica may have
// rotated it); the new one is stored with a compare-and-swap on the one
// used, so two replicas refreshing at once never overwrite a newer token
// with an older one. If the save fails (a crash, the database away), the
// stored token is still the one just used, which QuickBooks honours for
// 24 hours after issuing its successor: the next refresh starts from it. The
// previous token is kept too and tried when the newest is refused.
func (c *Client) refreshLocked(ctx context.Context) (string, error) {
	stored := connectors.RefreshToken{Token: c.token.refresh}
	if c.keeper != nil {
		var err error
		if stored, err = c.keeper.LoadToken(ctx); err != nil {
			return "", fmt.Errorf("quickbooks: read the stored refresh token: %w", err)
		}
	}
	if stored.Token == "" {
		return "", &Error{Kind: KindAuth, Code: CodeInvalidGrant, Message: "no refresh token saved yet: connect to QuickBooks first"}
	}
	used := stored.Token
	t, err := c.refreshWith(ctx, used)
	if IsKind(err, KindAuth) && stored.Previous != "" && stored.Previous != used {
		used = stored.Previous
		t, err = c.refreshWith(ctx, used)
	}
	if err != nil {
		return "", err
	}
	next := connectors.RefreshToken{Token: t.RefreshToken, Previous: used, HardExpiresAt: t.hardExpiresAt}
	if next.HardExpiresAt.IsZero() {
		next.HardExpiresAt = stored.HardExpiresAt
	}
	if c.keeper != nil && t.RefreshToken != stored.Token {
		// A failed or lost swap does not fail the call: the access token is
		// good, and the stored token still works (see above).
		_, _ = c.keeper.SwapToken(ctx, stored.Token, next)
	}
	c.token.access, c.token.refresh, c.token.hardUntil = t.AccessToken, t.RefreshToken, next.HardExpiresAt
	// Refresh a minute early: a token that expires in flight fails the call.
	c.token.expires = t.expires.Add(-time.Minute)
	return t.AccessToken, nil
}

func (c *Client) refreshWith(ctx context.Context, refresh string) (TokenResponse, error) {
	return tokenCall(ctx, c.hc, c.cfg.TokenURL, c.cfg.ClientID, c.cfg.ClientSecret, c.cfg.Now(),
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
}

// companyURL is the address of a path of the company's API, with the
// pinned minor version and the extra query.
func (c *Client) companyURL(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("minorversion", c.cfg.MinorVersion)
	return c.cfg.BaseURL + "/v3/company/" + url.PathEscape(c.cfg.RealmID) + "/" + strings.TrimLeft(path, "/") + "?" + q.Encode()
}

// do sends one call and decodes its answer into out. Throttling (429) waits
// and sends again, up to MaxThrottled times; a refused access token is
// refreshed once. A 200 answer holding a fault is an error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("quickbooks: encode %s: %w", path, err)
		}
	}
	entity := strings.SplitN(path, "/", 2)[0]
	target := c.companyURL(path, q)
	refreshed, throttled := false, 0
	for {
		token, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		status, hdr, answer, err := c.send(ctx, method, target, token, payload)
		if err != nil {
			return &Error{Kind: KindTransient, Entity: entity, Err: err}
		}
		if status == http.StatusOK {
			if f := parseFault(answer); f != nil {
				return faultError(status, answer, hdr.Get("intuit_tid"), entity)
			}
			if out != nil {
				if err := json.Unmarshal(answer, out); err != nil {
					return &Error{Kind: KindProtocol, Status: status, Entity: entity, Body: truncate(answer), Err: err}
				}
			}
			return nil
		}
		qe := faultError(status, answer, hdr.Get("intuit_tid"), entity)
		switch {
		case qe.Kind == KindAuth && status == http.StatusUnauthorized && !refreshed:
			refreshed = true
			c.forgetAccess(token)
			continue
		case qe.Kind == KindThrottled && throttled < c.cfg.MaxThrottled:
			throttled++
			wait := c.cfg.ThrottleWait
			if s, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil && s > 0 && wait == 0 {
				wait = time.Duration(s) * time.Second
			}
			if err := sleep(ctx, cmp.Or(wait, 2*time.Second)); err != nil {
				return err
			}
			continue
		}
		return qe
	}
}

// send makes one HTTP call, paced to the company's limits.
func (c *Client) send(ctx context.Context, method, target, token string, payload []byte) (int, http.Header, []byte, error) {
	release, err := c.pace.acquire(ctx)
	if err != nil {
		return 0, nil, nil, err
	}
	defer release()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, resp.Header, answer, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pacer keeps a client within a company's limits: at most perMinute calls a
// minute, evenly spaced after a small burst (GCRA), and at most concurrency
// at once.
type pacer struct {
	mu       sync.Mutex
	tat      time.Time // theoretical arrival time of the next call
	interval time.Duration
	burst    int
	slots    chan struct{}
	now      func() time.Time
}

func newPacer(perMinute, concurrency int, now func() time.Time) *pacer {
	return &pacer{interval: time.Minute / time.Duration(perMinute), burst: concurrency,
		slots: make(chan struct{}, concurrency), now: now}
}

func (p *pacer) acquire(ctx context.Context) (func(), error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	now := p.now()
	if p.tat.Before(now) {
		p.tat = now
	}
	wait := p.tat.Sub(now) - time.Duration(p.burst-1)*p.interval
	p.tat = p.tat.Add(p.interval)
	p.mu.Unlock()
	if wait > 0 {
		if err := sleep(ctx, wait); err != nil {
			<-p.slots
			return nil, err
		}
	}
	return func() { <-p.slots }, nil
}
