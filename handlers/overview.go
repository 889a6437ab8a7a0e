package handlers

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
)

// Overview handles the landing page.
type Overview struct {
	Base
	// DemoLoaded reports whether the demo workspace exists.
	DemoLoaded func() bool
}

// Show displays the overview.
func (h Overview) Show(c *fiber.Ctx) error {
	u := CurrentUser(c)
	return Render(c, views.Overview(views.OverviewPage{Meta: h.Meta(c, "Overview", "overview"), IsAdmin: u.Role == store.RoleAdmin,
		DemoLoaded: h.DemoLoaded != nil && h.DemoLoaded()}))
}
