package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// reconciliationRoutes serves runs and discrepancies: everyone reads them
// and may assign, acknowledge or ignore a discrepancy (finance owns many of
// them); operators ask for a run or send a master's value (a write to a
// system); admins set the schedule.
func (s *Server) reconciliationRoutes() {
	h := handlers.Reconciliation{Base: s.base(), Store: s.cfg.Store, Engine: s.cfg.Recon}

	s.route(fiber.MethodGet, "/reconciliation", everyone, h.Overview)
	s.route(fiber.MethodPost, "/reconciliation/runs", operators, h.RequestRun)
	s.route(fiber.MethodPost, "/reconciliation/schedule", admins, h.Schedule)
	s.route(fiber.MethodGet, "/reconciliation/runs/:id<int>", everyone, h.Run)
	s.route(fiber.MethodGet, "/reconciliation/discrepancies", everyone, h.Discrepancies)
	s.route(fiber.MethodGet, "/reconciliation/discrepancies.csv", everyone, h.CSV)
	s.route(fiber.MethodGet, "/reconciliation/discrepancies/:id<int>", everyone, h.Discrepancy)
	s.route(fiber.MethodPost, "/reconciliation/discrepancies/:id<int>/assign", everyone, h.Act("assign"))
	s.route(fiber.MethodPost, "/reconciliation/discrepancies/:id<int>/acknowledge", everyone, h.Act("acknowledge"))
	s.route(fiber.MethodPost, "/reconciliation/discrepancies/:id<int>/ignore", everyone, h.Act("ignore"))
	s.route(fiber.MethodPost, "/reconciliation/discrepancies/:id<int>/reopen", everyone, h.Act("reopen"))
	s.route(fiber.MethodPost, "/reconciliation/discrepancies/:id<int>/push", operators, h.Push)
}
