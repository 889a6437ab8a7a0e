package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// sourceRoutes serves the sources of truth: everyone may read them (finance
// included, for margin questions); only admins change them.
func (s *Server) sourceRoutes() {
	sources := handlers.Sources{Base: s.base(), Store: s.cfg.Store, Compare: s.cfg.Comparer}

	s.route(fiber.MethodGet, "/sources", everyone, sources.List)
	s.route(fiber.MethodGet, "/sources/:family/edit", admins, sources.Edit)
	s.route(fiber.MethodPost, "/sources/:family", admins, sources.Update)
}
