package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// flowRoutes serves the Overview's flows section alone, for its htmx refresh:
// everyone who sees the Overview may refresh it.
func (s *Server) flowRoutes() {
	overview := handlers.Overview{Base: s.base(), Store: s.cfg.Store}
	s.route(fiber.MethodGet, "/overview/flows", everyone, overview.Flows)
}
