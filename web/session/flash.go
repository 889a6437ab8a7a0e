package session

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
)

const flashCookie = "crossdock_flash"

// Flash is a one-time message for the next page, kept in a short-lived signed
// cookie so it survives the redirect after a form post (signed in or not).
type Flash struct {
	Kind    string `json:"k"`
	Message string `json:"m"`
}

// SetFlash queues a message for the next page.
func (m *Manager) SetFlash(c *fiber.Ctx, kind, message string) {
	b, _ := json.Marshal(Flash{Kind: kind, Message: message})
	enc, err := m.codec.Encode(flashCookie, string(b))
	if err != nil {
		return
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: enc, Path: "/", MaxAge: 60, HTTPOnly: true, Secure: m.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// TakeFlash returns the queued message, if any, and clears it.
func (m *Manager) TakeFlash(c *fiber.Ctx) *Flash {
	raw := c.Cookies(flashCookie)
	if raw == "" {
		return nil
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true, Secure: m.secure, SameSite: fiber.CookieSameSiteLaxMode})
	var s string
	if err := m.codec.Decode(flashCookie, raw, &s); err != nil {
		return nil
	}
	var f Flash
	if json.Unmarshal([]byte(s), &f) != nil || f.Message == "" {
		return nil
	}
	return &f
}
