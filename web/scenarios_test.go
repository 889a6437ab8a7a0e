package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/vocab"
	"crossdock/web"
	"crossdock/web/webtest"
)

func TestMissingCSRFTokenChangesNothing(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	form := url.Values{"name": {"Mallory"}, "email": {"mallory@shop.test"}, "role": {"admin"}, "password": {webtest.Password}}

	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"wrong token", "not-the-token"},
		{"token of another session", env.SignIn(t, vocab.RoleAdmin).CSRF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set("_csrf", tc.token)
			if tc.token == "" {
				admin.CSRF, f = "", form // send no token at all
			}
			res, body := admin.PostFormBody("/users", f)
			require.Equal(t, http.StatusForbidden, res.StatusCode)
			require.Contains(t, body, "This form has expired")
		})
	}
	_, err := env.Store.UserByEmail(t.Context(), "mallory@shop.test")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestCSRFHeaderWorksForHTMX(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	form := url.Values{"name": {"Olga"}, "email": {"olga@shop.test"}, "role": {"operator"}, "password": {webtest.Password}}
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/users", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", admin.CSRF)
	res, _ := admin.Do(req)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "/users", res.Header.Get("HX-Redirect"))
	_, err := env.Store.UserByEmail(t.Context(), "olga@shop.test")
	require.NoError(t, err)
}

func TestHTMXErrorsBecomeToasts(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	op := env.SignIn(t, vocab.RoleOperator)
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/users", nil)
	req.Header.Set("HX-Request", "true")
	res, body := op.Do(req)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Equal(t, "#toasts", res.Header.Get("HX-Retarget"))
	require.Equal(t, "beforeend", res.Header.Get("HX-Reswap"))
	require.Contains(t, body, `class="banner toast banner-critical"`)
	require.NotContains(t, body, "<html")
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	tests := []struct {
		name     string
		email    string
		password string
		status   int
		text     string
	}{
		{"wrong password", "admin@shop.test", "wrong password!", http.StatusUnauthorized, "do not match an active account"},
		{"unknown email says the same", "nobody@shop.test", "wrong password!", http.StatusUnauthorized, "do not match an active account"},
		{"missing fields", "", "", http.StatusUnprocessableEntity, "Enter your email and password."},
		{"oversized email", strings.Repeat("a", 300) + "@shop.test", "x", http.StatusUnprocessableEntity, "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := env.Anonymous(t)
			res, body := c.PostFormBody("/login", url.Values{"email": {tc.email}, "password": {tc.password}})
			require.Equal(t, tc.status, res.StatusCode)
			require.Contains(t, body, tc.text)
			res, _ = c.Get("/")
			require.Equal(t, http.StatusSeeOther, res.StatusCode, "still signed out")
		})
	}
}

func TestSignInIsThrottledPerAccount(t *testing.T) {
	t.Parallel()
	// A stopped clock: the wait cannot pass while the test runs, however slow.
	env := webtest.Start(t, webtest.Options{Now: newTestClock().Now})
	c := env.Anonymous(t)
	for i := 0; i < store.DefaultAccountThrottle.Limit; i++ {
		res := c.PostForm("/login", url.Values{"email": {"operator@shop.test"}, "password": {"guess number " + fmt.Sprint(i)}})
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}
	// Now even the right password is refused, with a clear message.
	res, body := c.PostFormBody("/login", url.Values{"email": {"operator@shop.test"}, "password": {webtest.Password}})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.Contains(t, body, "Too many failed sign-ins to this account. Try again in 10 seconds")
	require.Equal(t, "10", res.Header.Get("Retry-After"))
	// Another account is not affected.
	res = c.PostForm("/login", url.Values{"email": {"finance@shop.test"}, "password": {webtest.Password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestSignInRedirectsBackButNeverAway(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	tests := []struct{ next, want string }{
		{"/audit?type=user", "/audit?type=user"},
		{"https://evil.example/", "/"},
		{"//evil.example/", "/"},
		{"/\\evil.example", "/"},
	}
	for _, tc := range tests {
		t.Run(tc.next, func(t *testing.T) {
			t.Parallel()
			c := env.Anonymous(t)
			res := c.PostForm("/login", url.Values{"email": {"admin@shop.test"}, "password": {webtest.Password}, "next": {tc.next}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			require.Equal(t, tc.want, res.Header.Get("Location"))
		})
	}
}

func TestSessionRotatesAndLogoutEndsItOnTheServer(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := env.Anonymous(t)
	u, _ := url.Parse(env.URL)
	before := c.HTTP.Jar.Cookies(u)
	require.NotEmpty(t, before)
	res := c.PostForm("/login", url.Values{"email": {"admin@shop.test"}, "password": {webtest.Password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	after := c.HTTP.Jar.Cookies(u)
	require.NotEqual(t, before[0].Value, after[0].Value, "session id rotates at sign-in")
	cookie := res.Header.Get("Set-Cookie")
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Lax")

	// Replay the signed-in cookie after logout: the server has forgotten it.
	stolen := after[0]
	c.RefreshCSRF("/settings")
	res = c.PostForm("/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	replay := env.Anonymous(t)
	replay.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: stolen.Name, Value: stolen.Value, Path: "/"}})
	res, _ = replay.Get("/")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/login?expired=1", res.Header.Get("Location"))
	_, body := replay.Get("/login?expired=1")
	require.Contains(t, body, "Your session has ended")
}

func TestDeactivatedUserIsSignedOutEverywhere(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	op := env.SignIn(t, vocab.RoleOperator)
	admin := env.SignIn(t, vocab.RoleAdmin)
	id := env.Users[vocab.RoleOperator].ID
	res := admin.PostForm(fmt.Sprintf("/users/%d", id), url.Values{"name": {"Operator User"}, "role": {"operator"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = op.Get("/")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Contains(t, res.Header.Get("Location"), "/login")
	c := env.Anonymous(t)
	res = c.PostForm("/login", url.Values{"email": {"operator@shop.test"}, "password": {webtest.Password}})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "a deactivated user cannot sign in")

	entries, _, err := env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "user"})
	require.NoError(t, err)
	require.Equal(t, "user.sign_in_failed", entries[0].Action)
	require.Equal(t, "Failed sign-in as operator@shop.test: the account is deactivated", entries[0].Summary)
	require.Equal(t, "user.updated", entries[1].Action)
	require.Equal(t, "Ada Admin", entries[1].ActorLabel)
	require.Contains(t, entries[1].Summary, "deactivated")
	var before, after struct{ Active bool }
	require.NoError(t, json.Unmarshal(*entries[1].Before, &before))
	require.NoError(t, json.Unmarshal(*entries[1].After, &after))
	require.True(t, before.Active)
	require.False(t, after.Active)
}

func TestUserFormErrorsKeepInputAndChangeNothing(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	tests := []struct {
		name string
		form url.Values
		text string
	}{
		{"duplicate email", url.Values{"name": {"Dup"}, "email": {"OPERATOR@shop.test"}, "role": {"operator"}, "password": {webtest.Password}}, "A user with this email already exists."},
		{"weak password", url.Values{"name": {"Weak"}, "email": {"weak@shop.test"}, "role": {"operator"}, "password": {"123"}}, "at least 10 characters"},
		{"unknown role", url.Values{"name": {"Boss"}, "email": {"boss@shop.test"}, "role": {"owner"}, "password": {webtest.Password}}, "Choose a role"},
		{"oversized name", url.Values{"name": {strings.Repeat("x", 500)}, "email": {"big@shop.test"}, "role": {"operator"}, "password": {webtest.Password}}, "far too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := admin.PostFormBody("/users", tc.form)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			require.Contains(t, body, tc.text)
			if len(tc.form.Get("name")) < 100 {
				require.Contains(t, body, `value="`+tc.form.Get("name")+`"`, "typed input is kept")
			}
		})
	}
	users, err := env.Store.ListUsers(t.Context())
	require.NoError(t, err)
	require.Len(t, users, 3)
}

func TestOversizedBodyIsRefusedPerRoute(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	// As browsers and proxies may: "Expect: 100-continue", and the server
	// answers from the headers, before any of the body is sent. Spoken over a
	// bare connection: an HTTP client would start sending the body once told
	// to continue, and the server closing on it mid-upload makes the test
	// depend on timing.
	tests := []struct {
		name, path, contentType string
		limit                   int
		words                   string
	}{
		{"console form", "/users", "application/x-www-form-urlencoded", web.FormBodyLimit, "64 KB"},
		{"sign-in form", "/login", "application/x-www-form-urlencoded", web.FormBodyLimit, "64 KB"},
		{"ticked failures", "/failed/replay", "application/x-www-form-urlencoded", web.SelectionBodyLimit, "1 MB"},
		{"edited payload", "/syncs/1/edit-replay", "application/x-www-form-urlencoded", web.PayloadBodyLimit, "4 MB"},
		{"mapping import", "/mappings/import", "multipart/form-data; boundary=x", web.ImportBodyLimit, "31 MB"},
		{"webhook", "/webhooks/shopify/1", "application/json", web.WebhookRouteLimit, "2 MB"},
		{"demo sandbox", "/sandbox/shopify/admin/api/2026-04/graphql.json", "application/json", web.SandboxBodyLimit, "4 MB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, body := rawRequest(t, env, admin, fmt.Sprintf("POST %s HTTP/1.1\r\nContent-Type: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n",
				tc.path, tc.contentType, tc.limit+1), nil)
			require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
			require.Contains(t, body, "Too much data")
			require.Contains(t, body, "larger than the "+tc.words+" Crossdock accepts here")
		})
	}

	// A chunked body announces no size: it is cut off once its chunks pass
	// the route's limit. All the chunks are sent up to the one that crosses
	// it, whose size line alone is read, so the server has read everything
	// sent when it answers.
	chunked := []struct {
		name, path string
		limit      int
	}{
		{"console form", "/users", web.FormBodyLimit},
		{"webhook", "/webhooks/shopify/1", web.WebhookRouteLimit},
	}
	for _, tc := range chunked {
		t.Run("chunked "+tc.name, func(t *testing.T) {
			t.Parallel()
			res, body := rawRequest(t, env, admin, fmt.Sprintf("POST %s HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n", tc.path),
				func(w io.Writer) {
					chunk := strings.Repeat("a", 16<<10)
					for sent := 0; sent < tc.limit; sent += len(chunk) {
						fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk)
					}
					fmt.Fprint(w, "1\r\n")
				})
			require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
			require.Contains(t, body, "Too much data")
		})
	}

	// Up to the limit, a form goes through.
	res := admin.PostForm("/users", url.Values{"name": {"Padded"}, "email": {"padded@shop.test"}, "role": {"operator"},
		"password": {webtest.Password}, "padding": {strings.Repeat("a", web.FormBodyLimit-1024)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

// rawRequest speaks one request over a bare connection, with the client's
// cookies: head is the request line and headers (without the blank line),
// body writes what follows them, if anything.
func rawRequest(t *testing.T, env *webtest.Env, c *webtest.Client, head string, body func(io.Writer)) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(env.URL)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	defer conn.Close()
	var cookies []string
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	w := bufio.NewWriter(conn)
	_, err = fmt.Fprintf(w, "%sHost: %s\r\nCookie: %s\r\n\r\n", head, u.Host, strings.Join(cookies, "; "))
	require.NoError(t, err)
	if body != nil {
		body(w)
	}
	require.NoError(t, w.Flush())
	// Only so a server that waits for a body never sent cannot hang the suite.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	if res.StatusCode == http.StatusContinue {
		res, err = http.ReadResponse(br, nil)
		require.NoError(t, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	res, _ := env.Anonymous(t).Get("/login")
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'")
	require.NotContains(t, res.Header.Get("Content-Security-Policy"), "unsafe-inline")
	require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	res, body := env.Anonymous(t).Get("/no/such/page")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Contains(t, body, "Page not found")
}

func TestFirstRunCreatesTheFirstAdmin(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t, webtest.Options{Empty: true})
	c := env.Anonymous(t)
	res, _ := c.Get("/")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/setup", res.Header.Get("Location"))
	c.RefreshCSRF("/setup")

	res, body := c.PostFormBody("/setup", url.Values{"name": {"Owner"}, "email": {"not-an-email"}, "password": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "Enter an email address like name@example.com.")
	require.Contains(t, body, "at least 10 characters")

	res = c.PostForm("/setup", url.Values{"name": {"Owner"}, "email": {"owner@shop.test"}, "password": {webtest.Password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/", res.Header.Get("Location"))
	res, body = c.Get("/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Welcome, Owner")

	// Setup is closed once someone owns the installation.
	other := env.Anonymous(t)
	res, _ = other.Get("/setup")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/login", res.Header.Get("Location"))
}

func TestAuditLogFiltersAndPages(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	ctx := context.Background()
	// Signed in first: the sign-in's own audit entry is then the oldest.
	admin := env.SignIn(t, vocab.RoleAdmin)
	a := store.Actor{UserID: env.Users[vocab.RoleAdmin].ID, Label: "admin@shop.test"}
	for i := 0; i < 60; i++ {
		require.NoError(t, env.Store.Audit(ctx, a, store.Change{Action: "thing.changed", ObjectType: "thing", ObjectID: fmt.Sprint(i), Summary: fmt.Sprintf("Changed thing T%02d.", i)}))
	}
	res, body := admin.Get(fmt.Sprintf("/audit?user=%d", a.UserID))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 50, strings.Count(body, "<tr>")-1, "one page of 50 rows plus the header row")
	require.True(t, strings.Contains(body, "Changed thing T59."), "newest first")
	require.False(t, strings.Contains(body, "Changed thing T09."), "T09 is on the next page")
	next := between(body, `<a class="btn btn-small" href="`, `">Older`)
	require.NotEmpty(t, next)
	res, body = admin.Get(strings.ReplaceAll(next, "&amp;", "&"))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.Contains(body, "Changed thing T09."))
	require.True(t, strings.Contains(body, "Changed thing T00."))
	require.False(t, strings.Contains(body, "Changed thing T10."), "no overlap between pages")

	res, body = admin.Get("/audit?from=yesterday")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Dates look like 2026-11-03")
	_, body = admin.Get("/audit?from=2000-01-01&to=2000-01-02")
	require.Contains(t, body, "Nothing recorded for this filter")
}

func TestReadyzSaysWhenTheDatabaseIsGone(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	srv, err := web.New(web.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SecretKey: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	res, err := srv.App.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	st.Close()
	res, err = srv.App.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	res, err = srv.App.Test(httptest.NewRequest(http.MethodGet, "/healthz", nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestCSRFTokenInTheQueryStringIsRefused(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	token := admin.CSRF
	admin.CSRF = "" // the token travels only in the address
	form := url.Values{"name": {"Mallory"}, "email": {"mallory@shop.test"}, "role": {"admin"}, "password": {webtest.Password}}
	res, body := admin.PostFormBody("/users?_csrf="+url.QueryEscape(token), form)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, body, "This form has expired")
	_, err := env.Store.UserByEmail(t.Context(), "mallory@shop.test")
	require.ErrorIs(t, err, store.ErrNotFound)

	// The same token in the form is accepted.
	admin.CSRF = token
	res = admin.PostForm("/users", form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestConsolePagesAreNotCachedAndHSTSOnlyOverHTTPS(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	finance := env.SignIn(t, vocab.RoleFinance)
	for _, path := range []string{"/finance", "/settings", "/login"} {
		res, _ := finance.Get(path)
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"), path)
		require.Empty(t, res.Header.Get("Strict-Transport-Security"), "%s: no HSTS over http", path)
	}
	res, _ := finance.Get("/static/app.css")
	require.NotEqual(t, "no-store", res.Header.Get("Cache-Control"), "assets stay cacheable")

	st := storetest.New(t)
	srv, err := web.New(web.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SecretKey: []byte(webtest.SecretKey), BaseURL: "https://crossdock.example.com", SecureCookies: true})
	require.NoError(t, err)
	res, err = srv.App.Test(httptest.NewRequest(http.MethodGet, "/login", nil))
	require.NoError(t, err)
	require.Equal(t, "max-age=31536000", res.Header.Get("Strict-Transport-Security"))
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
}
