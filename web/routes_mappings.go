package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// mappingRoutes registers identifier mapping: list, entities, change sets and
// approvals, unmapped records, history, CSV import and export. Operators and
// admins map and propose; finance does not. Deciding on a change set is for
// admins only, and never for its proposer (enforced again in the store).
func (s *Server) mappingRoutes() {
	m := handlers.Mappings{Base: s.base(), Store: s.cfg.Store}

	s.route(fiber.MethodGet, "/mappings", operators, m.List)
	s.route(fiber.MethodGet, "/mappings/export.csv", operators, m.Export)
	s.route(fiber.MethodGet, "/mappings/new", operators, m.New)
	s.route(fiber.MethodGet, "/mappings/entities/:id", operators, m.Entity)
	s.route(fiber.MethodGet, "/mappings/history", operators, m.History)
	s.route(fiber.MethodGet, "/mappings/unmapped", operators, m.Unmapped)
	s.route(fiber.MethodPost, "/mappings/unmapped/accept", operators, m.AcceptSuggestions)
	s.route(fiber.MethodPost, "/mappings/unmapped/pick", operators, m.Pick)
	s.route(fiber.MethodGet, "/mappings/candidates", operators, m.Candidates)
	s.route(fiber.MethodGet, "/mappings/fix", operators, m.Fix)
	s.route(fiber.MethodGet, "/mappings/import", operators, m.ImportForm)
	s.route(fiber.MethodPost, "/mappings/import", operators, m.Import)
	s.route(fiber.MethodGet, "/mappings/import/template.csv", operators, m.Template)

	s.route(fiber.MethodGet, "/mappings/change-sets", operators, m.ChangeSets)
	s.route(fiber.MethodPost, "/mappings/change-sets", operators, m.CreateChangeSet)
	s.route(fiber.MethodGet, "/mappings/change-sets/:id", operators, m.ChangeSet)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/rows", operators, m.AddRow)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/remove-row", operators, m.RemoveRow)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/submit", operators, m.Submit)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/withdraw", operators, m.Withdraw)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/recheck", operators, m.Recheck)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/revert", operators, m.Revert)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/comments", operators, m.Comment)
	s.route(fiber.MethodGet, "/mappings/approvals", admins, m.Approvals)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/approve", admins, m.Approve)
	s.route(fiber.MethodPost, "/mappings/change-sets/:id/reject", admins, m.Reject)
}
