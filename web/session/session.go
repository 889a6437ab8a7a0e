// Package session keeps signed-in browser sessions in PostgreSQL through
// gorilla/sessions, bridged to Fiber, and derives each session's CSRF token.
//
// The cookie carries only a signed random id. Anonymous visitors get an id but
// no database row (their id only anchors the sign-in form's CSRF token); a
// row is written when someone signs in, and deleted when they sign out, their
// password changes or an admin deactivates them, which ends the session on the
// server, not just in the browser.
package session

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"crossdock/store"
)

// CookieName is the session cookie's name.
const CookieName = "crossdock_session"

// Lifetime is how long a sign-in lasts: one working day.
const Lifetime = 12 * time.Hour

const (
	keyUserID  = "uid"
	prefixAnon = "a."
	prefixUser = "u."
)

// Rows is the part of the store sessions need.
type Rows interface {
	SessionByID(ctx context.Context, id string) (store.SessionRow, error)
	SaveSession(ctx context.Context, s store.SessionRow) error
	DeleteSession(ctx context.Context, id string) error
}

// Manager is a gorilla sessions.Store backed by PostgreSQL.
type Manager struct {
	rows    Rows
	codec   *securecookie.SecureCookie
	csrfKey []byte
	secure  bool
}

// NewManager derives the cookie-signing and CSRF keys from the secret key.
// secure sets the cookie's Secure flag (when Crossdock is served over https).
func NewManager(rows Rows, secretKey []byte, secure bool) *Manager {
	codec := securecookie.New(derive(secretKey, "session-cookie"), nil)
	codec.MaxAge(int(Lifetime / time.Second))
	return &Manager{rows: rows, codec: codec, csrfKey: derive(secretKey, "csrf"), secure: secure}
}

func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("crossdock/" + purpose))
	return m.Sum(nil)
}

func (m *Manager) options() *sessions.Options {
	return &sessions.Options{Path: "/", MaxAge: int(Lifetime / time.Second), HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode}
}

// Get returns the request's session, cached per request by gorilla's registry.
func (m *Manager) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(m, name)
}

// New loads the session named by the request's cookie, or starts a new anonymous one.
func (m *Manager) New(r *http.Request, name string) (*sessions.Session, error) {
	s := sessions.NewSession(m, name)
	s.Options = m.options()
	s.IsNew = true
	s.ID = prefixAnon + newID()
	ck, err := r.Cookie(name)
	if err != nil {
		return s, nil
	}
	var id string
	if err := m.codec.Decode(name, ck.Value, &id); err != nil {
		return s, nil // tampered or too old: a fresh anonymous session
	}
	if strings.HasPrefix(id, prefixAnon) {
		s.ID, s.IsNew = id, false
		return s, nil
	}
	row, err := m.rows.SessionByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.Values[expiredFlag] = true // signed in once, gone now: say so on the sign-in page
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := gob.NewDecoder(bytes.NewReader(row.Data)).Decode(&s.Values); err != nil {
		return s, fmt.Errorf("session: decode: %w", err)
	}
	s.ID, s.IsNew = id, false
	return s, nil
}

const expiredFlag = "_expired"

// Save writes the session row (signed-in sessions only) and the cookie.
func (m *Manager) Save(r *http.Request, w http.ResponseWriter, s *sessions.Session) error {
	if s.Options.MaxAge < 0 {
		if strings.HasPrefix(s.ID, prefixUser) {
			if err := m.rows.DeleteSession(r.Context(), s.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(s.Name(), "", s.Options))
		return nil
	}
	if uid, ok := s.Values[keyUserID].(int64); ok {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(s.Values); err != nil {
			return fmt.Errorf("session: encode: %w", err)
		}
		if err := m.rows.SaveSession(r.Context(), store.SessionRow{ID: s.ID, UserID: uid, Data: buf.Bytes(),
			ExpiresAt: time.Now().Add(time.Duration(s.Options.MaxAge) * time.Second)}); err != nil {
			return err
		}
	}
	enc, err := m.codec.Encode(s.Name(), s.ID)
	if err != nil {
		return fmt.Errorf("session: sign cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(s.Name(), enc, s.Options))
	return nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CSRFToken is the token forms and htmx requests must send back. It is bound
// to the session id, so it changes at sign-in and sign-out.
func (m *Manager) CSRFToken(s *sessions.Session) string {
	h := hmac.New(sha256.New, m.csrfKey)
	h.Write([]byte(s.ID))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// ValidCSRF compares a submitted token with the session's, in constant time.
func (m *Manager) ValidCSRF(s *sessions.Session, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(m.CSRFToken(s)))
}

// --- Fiber bridge ---------------------------------------------------------

const localsKey = "crossdock.session"

// Load reads the request's session into the Fiber context; call it once per request.
func (m *Manager) Load(c *fiber.Ctx) (*sessions.Session, error) {
	r, err := http.NewRequestWithContext(c.UserContext(), http.MethodGet, "/", nil)
	if err != nil {
		return nil, err
	}
	if ck := c.Get(fiber.HeaderCookie); ck != "" {
		r.Header.Set(fiber.HeaderCookie, ck)
	}
	s, err := m.Get(r, CookieName)
	c.Locals(localsKey, s)
	if err != nil {
		return s, err
	}
	if s.IsNew {
		// Give the visitor a stable anonymous id so the sign-in form's token holds.
		return s, m.save(c, s)
	}
	return s, nil
}

// From returns the session Load put in the context.
func From(c *fiber.Ctx) *sessions.Session {
	s, _ := c.Locals(localsKey).(*sessions.Session)
	return s
}

// UserID returns the signed-in user's id, or 0.
func UserID(s *sessions.Session) int64 {
	if s == nil {
		return 0
	}
	id, _ := s.Values[keyUserID].(int64)
	return id
}

// Expired reports whether the request carried a signed-in session that has
// since expired or been ended on the server.
func Expired(s *sessions.Session) bool {
	if s == nil {
		return false
	}
	v, _ := s.Values[expiredFlag].(bool)
	return v
}

// Login starts a new signed-in session for userID. The old id is dropped, so a
// session id planted before sign-in (session fixation) is worthless after.
func (m *Manager) Login(c *fiber.Ctx, userID int64) error {
	old := From(c)
	if old != nil && strings.HasPrefix(old.ID, prefixUser) {
		if err := m.rows.DeleteSession(c.UserContext(), old.ID); err != nil {
			return err
		}
	}
	s := sessions.NewSession(m, CookieName)
	s.Options = m.options()
	s.ID = prefixUser + newID()
	s.Values[keyUserID] = userID
	s.Values["signed_in_at"] = time.Now().Unix()
	c.Locals(localsKey, s)
	return m.save(c, s)
}

// Logout ends the session on the server and gives the browser a fresh anonymous id.
func (m *Manager) Logout(c *fiber.Ctx) error {
	if old := From(c); old != nil && strings.HasPrefix(old.ID, prefixUser) {
		if err := m.rows.DeleteSession(c.UserContext(), old.ID); err != nil {
			return err
		}
	}
	s := sessions.NewSession(m, CookieName)
	s.Options = m.options()
	s.ID = prefixAnon + newID()
	c.Locals(localsKey, s)
	return m.save(c, s)
}

func (m *Manager) save(c *fiber.Ctx, s *sessions.Session) error {
	r, err := http.NewRequestWithContext(c.UserContext(), http.MethodGet, "/", nil)
	if err != nil {
		return err
	}
	w := headerWriter{h: http.Header{}}
	if err := m.Save(r, w, s); err != nil {
		return err
	}
	for _, v := range w.h.Values("Set-Cookie") {
		c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
	return nil
}

// headerWriter collects the headers gorilla sets; Fiber writes the response.
type headerWriter struct{ h http.Header }

func (w headerWriter) Header() http.Header         { return w.h }
func (w headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w headerWriter) WriteHeader(int)             {}
