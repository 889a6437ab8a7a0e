package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// rehearsalRoutes serves the peak rehearsal: admins only, against
// test-environment connections only.
func (s *Server) rehearsalRoutes() {
	h := handlers.Rehearsals{Base: s.base(), Store: s.cfg.Store, Runner: s.cfg.Rehearsals}
	s.route(fiber.MethodGet, "/rehearsals", admins, h.List)
	s.route(fiber.MethodPost, "/rehearsals", admins, h.Start)
	s.route(fiber.MethodGet, "/rehearsals/:id<int>", admins, h.Show)
	s.route(fiber.MethodPost, "/rehearsals/:id<int>/cancel", admins, h.Cancel)
}
