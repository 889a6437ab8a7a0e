// Package handlers holds one small handler per action, grouped in a struct per
// area. A handler parses the request, calls the store or the engine, and
// renders a view; errors go to the central error handler in web.
package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views/layout"
	"crossdock/vocab"
	"crossdock/web/session"
)

// ErrForbidden is returned when the signed-in user's role may not do something.
var ErrForbidden = errors.New("your role does not allow this")

const (
	localUser      = "crossdock.user"
	localRequestID = "requestid"
	localClientIP  = "crossdock.client_ip"
)

// SetUser records the signed-in user for the rest of the request.
func SetUser(c *fiber.Ctx, u *store.User) { c.Locals(localUser, u) }

// CurrentUser is the signed-in user, or nil.
func CurrentUser(c *fiber.Ctx) *store.User {
	u, _ := c.Locals(localUser).(*store.User)
	return u
}

// RequestID is the id the request-id middleware gave this request.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// SetClientIP records the address of the client behind the request (the
// direct peer, or what trusted proxies say it is).
func SetClientIP(c *fiber.Ctx, ip string) { c.Locals(localClientIP, ip) }

// ClientIP is the address of the client behind the request: what
// SetClientIP recorded, else the direct peer.
func ClientIP(c *fiber.Ctx) string {
	if ip, _ := c.Locals(localClientIP).(string); ip != "" {
		return ip
	}
	return c.IP()
}

// Actor is who makes the request's changes, for the audit log.
func Actor(c *fiber.Ctx) store.Actor {
	a := store.Actor{RequestID: RequestID(c), IP: ClientIP(c)}
	if u := CurrentUser(c); u != nil {
		// People are named by name on every page that says who did something;
		// the id keeps who it was when two share a name.
		a.UserID, a.Label = u.ID, cmp.Or(u.Name, u.Email)
	}
	return a
}

// IsHTMX reports whether htmx sent the request (it wants a fragment back).
func IsHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// Render writes a templ component as HTML with the request's context.
func Render(c *fiber.Ctx, comp templ.Component) error {
	c.Type("html", "utf-8")
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// RenderStatus renders with a status code (422 for a form with mistakes).
func RenderStatus(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	return Render(c, comp)
}

// Redirect sends the browser to path after a successful post; htmx requests
// get HX-Redirect so the whole page changes.
func Redirect(c *fiber.Ctx, path string) error {
	if IsHTMX(c) {
		c.Set("HX-Redirect", path)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(path, fiber.StatusSeeOther)
}

// Base is what every area's handlers share: sessions, for CSRF tokens and
// flashes, and what the navigation shows.
type Base struct {
	Sessions *session.Manager
	// PendingApprovals counts the change sets an admin may approve (nil: none yet).
	PendingApprovals func(ctx context.Context, adminID int64) (int, error)
	// SentToOperators counts the open discrepancies finance sent to the
	// operators (nil: none).
	SentToOperators func(ctx context.Context) (int, error)
	// SeesPersonal says whether a role sees customers' personal data (the
	// Privacy settings); nil: the default settings (masking.go).
	SeesPersonal func(ctx context.Context, r vocab.Role) (bool, error)
}

// Meta builds the layout's view model for a signed-in page.
func (b Base) Meta(c *fiber.Ctx, title, active string) layout.Meta {
	m := layout.Meta{Title: title, Active: active, CSRF: b.Sessions.CSRFToken(session.From(c))}
	if u := CurrentUser(c); u != nil {
		m.User = &layout.NavUser{Name: u.Name, Email: u.Email, Role: string(u.Role), IsAdmin: u.Role == vocab.RoleAdmin}
		if m.User.IsAdmin && b.PendingApprovals != nil {
			// The count is a courtesy: a failure must not break the page.
			m.PendingApprovals, _ = b.PendingApprovals(c.UserContext(), u.ID)
		}
		if (u.Role == vocab.RoleAdmin || u.Role == vocab.RoleOperator) && b.SentToOperators != nil {
			m.SentToOperators, _ = b.SentToOperators(c.UserContext()) // a courtesy too
		}
	}
	if f := b.Sessions.TakeFlash(c); f != nil {
		m.Flash = &layout.Flash{Kind: f.Kind, Message: f.Message}
	}
	return m
}

// CSRF is the request's CSRF token.
func (b Base) CSRF(c *fiber.Ctx) string { return b.Sessions.CSRFToken(session.From(c)) }

// Flash queues a message for the next page.
func (b Base) Flash(c *fiber.Ctx, kind, msg string) { b.Sessions.SetFlash(c, kind, msg) }

// Toast shows msg as a toast after an htmx swap (kind: success, info, warning
// or critical): the answer carries it in HX-Trigger and app.js builds it.
// Pages reached by a redirect use Flash instead, which the next page shows.
func Toast(c *fiber.Ctx, kind, msg string) {
	b, err := json.Marshal(map[string]map[string]string{"crossdock:toast": {"kind": kind, "message": msg}})
	if err != nil {
		return
	}
	// Header values are bytes, not UTF-8, to the browser: escape the rest.
	var sb strings.Builder
	for _, r := range string(b) {
		if r < 0x80 {
			sb.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&sb, `\u%04x`, u)
		}
	}
	c.Set("HX-Trigger", sb.String())
}

// form returns a trimmed, copied form value capped at max bytes; ok is false
// when the value was longer (oversized input is refused, not truncated).
func form(c *fiber.Ctx, key string, max int) (string, bool) {
	v := c.FormValue(key)
	if len(v) > max {
		return "", false
	}
	return strings.Clone(v), true
}

// safeNext keeps a post-sign-in redirect inside Crossdock.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func now() time.Time { return time.Now() }
