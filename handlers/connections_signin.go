package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/web/session"
)

// ConnectionSignIn connects a system by signing in to it (OAuth 2.0
// authorization code: QuickBooks Online, ShipBob). The engine implements
// it; a ConnectionEngine that does not has no sign-in.
type ConnectionSignIn interface {
	AuthorizeLink(ctx context.Context, id int64, redirectURI, state string) (string, error)
	// CompleteAuthorization takes the callback's query (code, and what the
	// system adds) and says what was connected.
	CompleteAuthorization(ctx context.Context, a store.Actor, id int64, back url.Values, redirectURI string) (store.Connection, string, error)
	ReconnectBy(ctx context.Context, id int64) (time.Time, bool)
	SignsIn(c store.Connection) (signsIn, signedIn bool)
}

// SignInCallbackPath is where the system sends the person back after
// signing in; it is the redirect URI to register with the app.
const SignInCallbackPath = "/connections/signed-in"

// signInTTL bounds how long a sign-in may take.
const signInTTL = 15 * time.Minute

func (h Connections) signIn() (ConnectionSignIn, bool) {
	s, ok := h.Engine.(ConnectionSignIn)
	return s, ok && h.Engine != nil
}

func (h Connections) redirectURI() string {
	return strings.TrimRight(h.BaseURL, "/") + SignInCallbackPath
}

// signInState binds a sign-in to the person's session and the connection:
// "<id>.<expiry>.<nonce>.<mac>", the mac keyed by the session's CSRF token,
// so a state minted for another session (a forged callback) is refused.
func (h Connections) signInState(c *fiber.Ctx, id int64, expires time.Time) string {
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	body := fmt.Sprintf("%d.%d.%s", id, expires.Unix(), base64.RawURLEncoding.EncodeToString(nonce))
	return body + "." + h.stateMAC(c, body)
}

func (h Connections) stateMAC(c *fiber.Ctx, body string) string {
	m := hmac.New(sha256.New, []byte(h.Sessions.CSRFToken(session.From(c))))
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkState returns the connection a state was minted for.
func (h Connections) checkState(c *fiber.Ctx, state string) (int64, error) {
	parts := strings.Split(state, ".")
	if len(parts) != 4 || len(state) > 300 {
		return 0, errors.New("the sign-in came back without Crossdock's mark")
	}
	body := strings.Join(parts[:3], ".")
	if !hmac.Equal([]byte(parts[3]), []byte(h.stateMAC(c, body))) {
		return 0, errors.New("the sign-in was started in another browser session (or was tampered with)")
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || now().After(time.Unix(exp, 0)) {
		return 0, errors.New("the sign-in took more than 15 minutes")
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, errors.New("the sign-in names no connection")
	}
	return id, nil
}

// SignIn sends an admin to the system's sign-in page ("Connect to
// QuickBooks", "Connect to ShipBob").
func (h Connections) SignIn(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	si, ok := h.signIn()
	if !ok {
		h.Flash(c, "critical", "The sync engine is not running, so Crossdock cannot connect to "+conn.Name+" now.")
		return Redirect(c, fmt.Sprintf("/connections/%d", conn.ID))
	}
	link, err := si.AuthorizeLink(c.UserContext(), conn.ID, h.redirectURI(), h.signInState(c, conn.ID, now().Add(signInTTL)))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		h.Flash(c, "critical", "Crossdock cannot connect to "+conn.Name+": "+err.Error()+".")
		return Redirect(c, fmt.Sprintf("/connections/%d", conn.ID))
	}
	if IsHTMX(c) {
		c.Set("HX-Redirect", link)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(link, fiber.StatusSeeOther)
}

// SignedIn is where the system sends the admin back: it checks the state,
// keeps the company and the tokens, and says how it went.
func (h Connections) SignedIn(c *fiber.Ctx) error {
	state := strings.Clone(c.Query("state"))
	id, err := h.checkState(c, state)
	if err != nil {
		h.Flash(c, "critical", "Crossdock did not accept this sign-in: "+err.Error()+". Open the connection and press Connect again.")
		return Redirect(c, "/connections")
	}
	page := fmt.Sprintf("/connections/%d", id)
	if e := c.Query("error"); e != "" {
		msg := "You did not allow Crossdock access"
		if e != "access_denied" {
			msg = "The sign-in did not finish (" + clip(printable(e), 60) + ")"
		}
		h.Flash(c, "critical", msg+"; nothing was changed. Press Connect again when you are ready.")
		return Redirect(c, page)
	}
	si, ok := h.signIn()
	if !ok {
		h.Flash(c, "critical", "The sync engine is not running, so Crossdock cannot finish the sign-in. Try again once it runs.")
		return Redirect(c, page)
	}
	back := url.Values{}
	for _, k := range []string{"code", "realmId", "scope"} {
		if v := c.Query(k); v != "" {
			back.Set(k, strings.Clone(v))
		}
	}
	conn, what, err := si.CompleteAuthorization(c.UserContext(), Actor(c), id, back, h.redirectURI())
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		h.Flash(c, "critical", "Crossdock could not finish connecting: "+err.Error()+".")
		return Redirect(c, page)
	}
	h.Flash(c, "success", fmt.Sprintf("Connected %s to %s. Test it to see what Crossdock can reach.", conn.Name, what))
	return Redirect(c, page)
}

// printable drops control characters from what another system sent.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
