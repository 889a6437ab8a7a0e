package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// webhookRoutes serves Shopify's webhook deliveries and the pages that show
// them. The delivery endpoint is public: it is authenticated by the HMAC of
// each body, not by a session (machinePath skips sessions and CSRF for it).
func (s *Server) webhookRoutes() {
	st := s.cfg.Store
	ingest := handlers.ShopifyWebhooks{Store: st, Targets: s.vault.WebhookTargets(0), Kinds: s.cfg.Kinds, Log: s.log}
	pages := handlers.Webhooks{Base: s.base(), Store: st, BaseURL: s.cfg.BaseURL}

	s.route(fiber.MethodPost, "/webhooks/shopify/:connection", public, ingest.Receive)

	s.route(fiber.MethodGet, "/connections/:id<int>/webhooks", operators, pages.List)
	s.route(fiber.MethodGet, "/connections/:id<int>/webhooks/:event", operators, pages.Show)
	s.route(fiber.MethodGet, "/connections/:id<int>/webhooks/rejected/:rejection", operators, pages.ShowRejection)
}
