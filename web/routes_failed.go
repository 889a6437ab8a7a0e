package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// failedRoutes serves the failed-syncs console. Operators and admins find,
// resolve, ignore and replay failures; finance does not see the area (it
// follows orders on the Syncs pages, which stay readable to everyone). Edit
// and replay, which sends data a person typed, and the area's settings are
// for admins only.
func (s *Server) failedRoutes() {
	failed := handlers.Failed{Base: s.base(), Store: s.cfg.Store}
	if r, ok := s.cfg.Engine.(handlers.Replayer); ok {
		failed.Engine = r
	}

	s.route(fiber.MethodGet, "/failed", operators, failed.List)
	s.route(fiber.MethodPost, "/failed/replay", operators, failed.Replay)
	s.route(fiber.MethodPost, "/failed/resolve", operators, failed.Resolve)
	s.route(fiber.MethodPost, "/failed/ignore", operators, failed.Ignore)
	s.route(fiber.MethodPost, "/failed/exclude", operators, failed.Exclude)
	s.route(fiber.MethodGet, "/failed/act", operators, failed.ActConfirm)
	s.route(fiber.MethodPost, "/failed/act", operators, failed.Act)
	s.route(fiber.MethodPost, "/failed/settings", admins, failed.SaveSettings)
	s.route(fiber.MethodPost, "/failed/propose-mappings", operators, failed.ProposeMappings)
	s.route(fiber.MethodGet, "/failed/batches/:id<int>", operators, failed.Batch)
	s.route(fiber.MethodPost, "/failed/batches/:id<int>/cancel", operators, failed.CancelBatch)
	s.route(fiber.MethodPost, "/syncs/:id<int>/replay", operators, failed.ReplayOne)
	s.route(fiber.MethodPost, "/syncs/:id<int>/resolve", operators, failed.Resolve)
	s.route(fiber.MethodPost, "/syncs/:id<int>/ignore", operators, failed.Ignore)
	s.route(fiber.MethodPost, "/syncs/:id<int>/edit-replay", admins, failed.EditReplay)

	// Records excluded from syncing (from Failed syncs): operators and
	// admins see and include them again.
	excl := handlers.Exclusions{Base: s.base(), Store: s.cfg.Store}
	s.route(fiber.MethodGet, "/exclusions", operators, excl.List)
	s.route(fiber.MethodPost, "/exclusions/:id<int>/include", operators, excl.IncludeAgain)
}
