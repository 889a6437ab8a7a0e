package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// privacyRoutes serves the privacy requests Shopify sends: admins only, as
// they show customers' personal data.
func (s *Server) privacyRoutes() {
	h := handlers.Privacy{Base: s.base(), Store: s.cfg.Store}
	exports := handlers.PrivacyExports{Base: s.base(), Store: s.cfg.Store}

	s.route(fiber.MethodGet, "/privacy", admins, h.List)
	s.route(fiber.MethodGet, "/privacy/:id<int>", admins, h.Show)
	s.route(fiber.MethodPost, "/privacy/:id<int>/answered", admins, h.Answered)
	s.route(fiber.MethodGet, "/privacy/:id<int>/export", admins, exports.Page)
	s.route(fiber.MethodGet, "/privacy/:id<int>/download", admins, exports.Download)
}
