package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// flowRoutes serves the Overview's flows section alone, for its htmx refresh
// (everyone who sees the Overview may refresh it), and the admins' pause and
// resume of a flow.
func (s *Server) flowRoutes() {
	overview := handlers.Overview{Base: s.base(), Store: s.cfg.Store}
	s.route(fiber.MethodGet, "/overview/flows", everyone, overview.Flows)

	flows := handlers.Flows{Base: s.base(), Store: s.cfg.Store}
	s.route(fiber.MethodPost, "/flows/:family/pause", admins, flows.Pause)
	s.route(fiber.MethodPost, "/flows/:family/resume", admins, flows.Resume)
}
