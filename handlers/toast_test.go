package handlers

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// A toast travels in HX-Trigger as JSON with every non-ASCII character
// escaped (header bytes are not read as UTF-8), and says what it said.
func TestToastTravelsInHXTrigger(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Post("/", func(c *fiber.Ctx) error {
		Toast(c, "success", "Registered 14 webhook subscriptions — “done” ✓")
		return c.SendStatus(fiber.StatusOK)
	})
	res, err := app.Test(httptest.NewRequest("POST", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	h := res.Header.Get("HX-Trigger")
	for _, b := range []byte(h) {
		if b >= 0x80 {
			t.Fatalf("HX-Trigger has a non-ASCII byte: %q", h)
		}
	}
	var got map[string]map[string]string
	if err := json.Unmarshal([]byte(h), &got); err != nil {
		t.Fatalf("HX-Trigger %q: %v", h, err)
	}
	want := map[string]string{"kind": "success", "message": "Registered 14 webhook subscriptions — “done” ✓"}
	if g := got["crossdock:toast"]; g["kind"] != want["kind"] || g["message"] != want["message"] {
		t.Errorf("toast %v, want %v", g, want)
	}
}
