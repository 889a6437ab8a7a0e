package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// syncRoutes serves the sync records: everyone may read them (finance
// included, to follow an order into the ERP); operators and admins may ask
// for a check of every system now.
func (s *Server) syncRoutes() {
	syncs := handlers.Syncs{Base: s.base(), Store: s.cfg.Store, Failures: s.cfg.Store}
	if s.cfg.Engine != nil {
		syncs.Sweep = s.cfg.Engine
	}

	s.route(fiber.MethodGet, "/syncs", everyone, syncs.List)
	s.route(fiber.MethodGet, "/syncs/:id<int>", everyone, syncs.Show)
	s.route(fiber.MethodPost, "/syncs/sweep", operators, syncs.RequestSweep)
}
