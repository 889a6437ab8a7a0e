// Package webtest starts the real console on a loopback port, on a fresh
// migrated database, with one user per role, for HTTP and browser tests.
package webtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	"crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/engine/alert"
	"crossdock/engine/recon"
	"crossdock/engine/rehearsal"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
	"crossdock/web"
)

// Services are what runs above the engine's core, on its queue.
type Services struct {
	Recon      *recon.Service
	Alerts     *alert.Service
	Rehearsals *rehearsal.Service
}

// Above adds reconciliation, alerts and rehearsals to a built engine,
// before it starts, as the binary does.
func Above(t testing.TB, eng *engine.Engine) Services {
	t.Helper()
	var s Services
	var err error
	// Reconciliation before alerts: RunScheduledOnce compares, then evaluates.
	s.Recon, err = recon.New(eng, recon.Config{})
	require.NoError(t, err)
	s.Alerts, err = alert.New(eng, alert.Config{})
	require.NoError(t, err)
	s.Rehearsals, err = rehearsal.New(eng)
	require.NoError(t, err)
	return s
}

// Password is every test user's password.
const Password = "correct horse battery"

// SecretKey is the test console's CROSSDOCK_SECRET_KEY.
const SecretKey = "test-secret-key-test-secret-key-0123"

// Kinds are the connector kinds the test console knows, as
// cmd/crossdock registers them.
func Kinds() *connectors.Registry {
	return connectors.MustRegistry(shopify.Kind(), odoo.Kind(), shipbob.Kind(), quickbooks.Kind())
}

// Env is a running console.
type Env struct {
	URL    string
	Store  *store.Store
	Server *web.Server
	// Engine is the console's sync engine, built but not started: a test
	// calls the periodic work it needs (FollowApprovals) itself.
	Engine *engine.Engine
	// Services run above Engine's core, on its queue.
	Services
	Users map[vocab.Role]store.User
}

// Options tune Start.
type Options struct {
	// Empty starts with no users at all (first-run tests).
	Empty bool
	// MetricsToken opens /metrics to requests carrying it.
	MetricsToken string
	// TrustedProxies makes the console read X-Forwarded-For from these
	// peers (127.0.0.1/32: the test's own requests), so a test can sign in
	// from several client addresses.
	TrustedProxies []netip.Prefix
	// Now is the clock of sign-in throttling (nil: time.Now).
	Now func() time.Time
	// DemoSeed sizes the demo workspace when it is loaded (0: the full
	// demo, about 3,000 Shopify variants and 4,500 Odoo products).
	DemoSeed int
}

// Start runs the console for the test and stops it when the test ends.
func Start(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	st := storetest.New(t)
	st.Now = o.Now
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	// The engine is built but not started: pages can call its actions
	// (catalogue refresh), no background sync runs under the tests.
	kinds, baseURL := Kinds(), "http://"+ln.Addr().String()
	eng, err := engine.New(engine.Config{Store: st, Kinds: kinds, SecretKey: []byte(SecretKey), Logger: log, BaseURL: baseURL})
	require.NoError(t, err)
	above := Above(t, eng)
	srv, err := web.New(web.Config{Store: st, Kinds: kinds, Logger: log, SecretKey: []byte(SecretKey), Version: "test", BaseURL: baseURL, MetricsToken: o.MetricsToken,
		TrustedProxies: o.TrustedProxies, DemoSeed: o.DemoSeed,
		Connections:   eng,
		Sweep:         eng,
		Replay:        eng,
		Compare:       above.Recon,
		Alerts:        above.Alerts,
		Rehearsal:     above.Rehearsals,
		Recon:         above.Recon,
		Observer:      eng,
		PersonalFlows: eng,
		Privacy:       eng,
	})
	require.NoError(t, err)
	go srv.App.Listener(ln) //nolint:errcheck
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck
	})
	env := &Env{URL: "http://" + ln.Addr().String(), Store: st, Server: srv, Engine: eng, Services: above, Users: map[vocab.Role]store.User{}}
	if !o.Empty {
		ctx := context.Background()
		admin, err := st.CreateFirstAdmin(ctx, store.NewUser{Email: "admin@shop.test", Name: "Ada Admin", Password: Password})
		require.NoError(t, err)
		env.Users[vocab.RoleAdmin] = admin
		for _, r := range []vocab.Role{vocab.RoleOperator, vocab.RoleFinance} {
			u, err := st.CreateUser(ctx, store.SystemActor("test"), store.NewUser{Email: string(r) + "@shop.test", Name: strings.ToUpper(string(r[:1])) + string(r[1:]) + " User", Role: r, Password: Password})
			require.NoError(t, err)
			env.Users[r] = u
		}
	}
	return env
}

type testWriter struct{ t testing.TB }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Client is a browser-like HTTP client: cookies kept, redirects not followed.
type Client struct {
	t    testing.TB
	env  *Env
	HTTP *http.Client
	CSRF string
}

// Anonymous returns a client that is not signed in (it has fetched /login, so
// it holds a session cookie and a CSRF token, like a browser on the sign-in page).
func (e *Env) Anonymous(t testing.TB) *Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	// No client timeout: loading the demo workspace under -race on a busy
	// machine took over 2 minutes, and any fixed limit is a speed check. A
	// stuck request is stopped by the test binary's own -timeout, which
	// prints where it hung.
	c := &Client{t: t, env: e, HTTP: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if res, body := c.Get("/login"); res.StatusCode == http.StatusOK {
		if m := csrfRe.FindStringSubmatch(body); m != nil {
			c.CSRF = m[1]
		}
	}
	return c
}

// SignIn returns a client signed in as the role's test user.
func (e *Env) SignIn(t testing.TB, role vocab.Role) *Client {
	t.Helper()
	c := e.Anonymous(t)
	res := c.PostForm("/login", url.Values{"email": {e.Users[role].Email}, "password": {Password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "sign in as %s", role)
	c.RefreshCSRF("/settings")
	return c
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// RefreshCSRF reads the CSRF token from a page's forms.
func (c *Client) RefreshCSRF(path string) {
	c.t.Helper()
	res, body := c.Get(path)
	require.Equal(c.t, http.StatusOK, res.StatusCode, "GET %s for a CSRF token", path)
	m := csrfRe.FindStringSubmatch(body)
	require.NotNil(c.t, m, "no CSRF token on %s", path)
	c.CSRF = m[1]
}

// Get fetches a path and returns the response and its body.
func (c *Client) Get(path string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.env.URL+path, nil)
	require.NoError(c.t, err)
	return c.Do(req)
}

// PostForm posts a form with the client's CSRF token.
func (c *Client) PostForm(path string, form url.Values) *http.Response {
	c.t.Helper()
	res, _ := c.PostFormBody(path, form)
	return res
}

// PostFormBody posts a form with the client's CSRF token and returns the body too.
func (c *Client) PostFormBody(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" && c.CSRF != "" {
		form.Set("_csrf", c.CSRF)
	}
	req, err := http.NewRequest(http.MethodPost, c.env.URL+path, strings.NewReader(form.Encode()))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// Do sends a request and reads the whole body.
func (c *Client) Do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	res, err := c.HTTP.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res, string(b)
}

// SandboxShopify starts a sandbox Shopify store and adds a test connection to it.
func (e *Env) SandboxShopify(t testing.TB, name string) store.Connection {
	t.Helper()
	shop := sandbox.New(sandbox.Options{Plan: "plus", AccessToken: "shpat_sandbox", Seed: 5, ShopDomain: "route-shop.myshopify.com"})
	ts := httptest.NewServer(shop)
	t.Cleanup(ts.Close)
	box, err := secretbox.New([]byte(SecretKey))
	require.NoError(t, err)
	c, err := e.Store.CreateConnection(context.Background(), store.SystemActor("test"), box, store.ConnectionInput{
		Name: name, Kind: vocab.KindShopify, Environment: vocab.EnvTest,
		Settings: map[string]string{"shop_domain": "route-shop.myshopify.com", "api_base_url": ts.URL},
		Secrets:  map[string]string{"access_token": "shpat_sandbox", "api_secret": "sandbox-webhook-secret"},
	})
	require.NoError(t, err)
	return c
}

// From makes the client's requests arrive as if from ip, named in
// X-Forwarded-For by the test's own address (start the console with
// Options.TrustedProxies 127.0.0.1/32 for it to be believed).
func (c *Client) From(ip string) *Client {
	next := c.HTTP.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.HTTP.Transport = forwardedFor{ip: ip, next: next}
	return c
}

type forwardedFor struct {
	ip   string
	next http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.ip)
	return f.next.RoundTrip(r)
}

// StartDemo starts a console as Start does, loads the demo workspace as its
// admin would (POST /demo, which lands on the Overview), and runs the
// engine's scheduled work once, synchronously (Engine.RunScheduledOnce): the
// demo's failed syncs, discrepancies, finance review and alerts exist when
// it returns, and no background worker runs. Call env.Engine.RunScheduledOnce
// again after a fix to carry its effects (replays wait in the queue).
func StartDemo(t testing.TB, opts ...Options) *Env {
	t.Helper()
	env := Start(t, opts...)
	c := env.SignIn(t, vocab.RoleAdmin)
	c.RefreshCSRF("/")
	res := c.PostForm("/demo", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/", res.Header.Get("Location"))
	_, err := env.Engine.RunScheduledOnce(context.Background())
	require.NoError(t, err)
	return env
}
