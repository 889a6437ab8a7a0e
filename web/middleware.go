package web

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
	"crossdock/store"
	"crossdock/web/demo"
	"crossdock/web/session"
)

// errCSRF is a state-changing request without a valid token.
var errCSRF = errors.New("missing or invalid CSRF token")

func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "request_id", handlers.RequestID(c), "method", c.Method(), "path", c.Path(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Next()
}

func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		// The error handler runs after us; report the status it will choose.
		status = statusOf(err)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if !strings.HasPrefix(c.Path(), "/static/") {
		s.log.Log(c.UserContext(), level, "request", "method", c.Method(), "path", c.Path(), "status", status,
			"duration_ms", time.Since(start).Milliseconds(), "request_id", handlers.RequestID(c))
	}
	return err
}

// securityHeaders allows only Crossdock's own scripts and styles (no inline
// script), forbids framing, and, when Crossdock is served over https, tells
// browsers never to reach it over plain http again (HSTS). HSTS is only sent
// for an https base URL: over http a browser ignores it, and a console first
// tried over http must not lock its people out once they switch.
// shopifyImages is the one outside host pages load anything from: Shopify's
// image CDN, for the catalogue's product and variant images.
const shopifyImages = "https://cdn.shopify.com"

func (s *Server) securityHeaders(c *fiber.Ctx) error {
	if s.https {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "+shopifyImages+"; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	return c.Next()
}

// errNUL is a request whose address (or form) holds a NUL character.
var errNUL = errors.New("a NUL character in the request's parameters")

// refuseNUL answers 400 when a query parameter — or a field of a posted
// form — holds a NUL character (%00): PostgreSQL text cannot hold one, so
// a search for it could only fail in the database. One check here covers
// every list, today's and tomorrow's.
func refuseNUL(c *fiber.Ctx) error {
	found := false
	hasNUL := func(k, v []byte) {
		found = found || bytes.IndexByte(k, 0) >= 0 || bytes.IndexByte(v, 0) >= 0
	}
	c.Request().URI().QueryArgs().VisitAll(hasNUL)
	if !found && !machinePath(c.Path()) && strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationForm) {
		c.Request().PostArgs().VisitAll(hasNUL)
	}
	if found {
		return errNUL
	}
	return c.Next()
}

// machinePaths are called by machines, not browsers: no session, no CSRF.
func machinePath(p string) bool {
	return p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/webhooks/") || strings.HasPrefix(p, demo.PathPrefix+"/")
}

func (s *Server) loadSession(c *fiber.Ctx) error {
	if machinePath(c.Path()) {
		return c.Next()
	}
	// Console pages show a person's data and carry their CSRF token: no
	// browser or proxy may keep them, so Back after signing out shows the
	// sign-in page rather than the finance page from the cache.
	c.Set(fiber.HeaderCacheControl, "no-store")
	sess, err := s.sessions.Load(c)
	if err != nil {
		return err
	}
	if uid := session.UserID(sess); uid != 0 {
		u, err := s.cfg.Store.UserByID(c.UserContext(), uid)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case u.Active:
			handlers.SetUser(c, &u)
		}
	}
	return c.Next()
}

// firstRun sends every visitor to the setup page until the first admin exists.
func (s *Server) firstRun(c *fiber.Ctx) error {
	if s.setUp.Load() || machinePath(c.Path()) || c.Path() == "/setup" {
		return c.Next()
	}
	has, err := s.cfg.Store.HasUsers(c.UserContext())
	if err != nil {
		return err
	}
	if has {
		s.setUp.Store(true)
		return c.Next()
	}
	return handlers.Redirect(c, "/setup")
}

func (s *Server) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if machinePath(c.Path()) {
		return c.Next()
	}
	if !s.sessions.ValidCSRF(session.From(c), csrfToken(c)) {
		return errCSRF
	}
	return c.Next()
}

// csrfToken is the token a request sends in the X-CSRF-Token header (htmx)
// or in its posted form, never in the query string: a token in a URL lands in
// logs, browser history and Referer headers, and a link could carry it.
// (c.FormValue would look in the query string first.)
func csrfToken(c *fiber.Ctx) string {
	if t := c.Get("X-CSRF-Token"); t != "" {
		return t
	}
	if t := c.Request().PostArgs().Peek("_csrf"); len(t) > 0 {
		return string(t)
	}
	if f, err := c.MultipartForm(); err == nil && len(f.Value["_csrf"]) > 0 {
		return f.Value["_csrf"][0]
	}
	return ""
}

// require lets a request through only for a signed-in user with one of the roles.
func (s *Server) require(who access) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := handlers.CurrentUser(c)
		if u == nil {
			return s.toLogin(c)
		}
		if !slices.Contains(who, u.Role) {
			return handlers.ErrForbidden
		}
		return c.Next()
	}
}

// toLogin sends a visitor who is not signed in to the sign-in page, and back
// to where they were going afterwards.
func (s *Server) toLogin(c *fiber.Ctx) error {
	q := url.Values{}
	if c.Method() == fiber.MethodGet && c.OriginalURL() != "/" {
		q.Set("next", c.OriginalURL())
	}
	if session.Expired(session.From(c)) {
		q.Set("expired", "1")
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if handlers.IsHTMX(c) {
		c.Set("HX-Redirect", target)
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}
