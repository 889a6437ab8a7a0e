package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
	"crossdock/vocab"
)

// financeRoutes serve the margin review: finance and admins only; admins set
// the thresholds.
func (s *Server) financeRoutes() {
	h := handlers.Finance{Base: s.base(), Store: s.cfg.Store}
	finance := access{vocab.RoleAdmin, vocab.RoleFinance}

	s.route(fiber.MethodGet, "/finance", finance, h.List)
	s.route(fiber.MethodGet, "/finance.csv", finance, h.CSV)
	s.route(fiber.MethodGet, "/finance/summary", finance, h.Summary)
	s.route(fiber.MethodPost, "/finance/thresholds", admins, h.SetThresholds)
	s.route(fiber.MethodGet, "/finance/collections", finance, h.Collections)
	s.route(fiber.MethodPost, "/finance/collections/thresholds", admins, h.SetCollectionThresholds)
	s.route(fiber.MethodPost, "/finance/collections/thresholds/clear", admins, h.ClearCollectionThresholds)
	s.route(fiber.MethodPost, "/finance/variants/:id<int>/acknowledge", finance, h.Review("acknowledge"))
	s.route(fiber.MethodPost, "/finance/variants/:id<int>/accept", finance, h.Review("accept"))
	s.route(fiber.MethodPost, "/finance/variants/:id<int>/send", finance, h.Review("send"))
}
