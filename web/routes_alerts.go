package web

import (
	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
)

// alertRoutes serves the alerts: everyone sees them, operators and admins
// acknowledge them, admins set the rules and channels.
func (s *Server) alertRoutes() {
	h := handlers.Alerts{Base: s.base(), Store: s.vault, Sender: s.cfg.Alerts}

	s.route(fiber.MethodGet, "/alerts", everyone, h.List)
	s.route(fiber.MethodPost, "/alerts/:id<int>/acknowledge", operators, h.Acknowledge)
	s.route(fiber.MethodGet, "/alerts/settings", admins, h.Settings)
	s.route(fiber.MethodPost, "/alerts/rules/:kind", admins, h.UpdateRule)
	s.route(fiber.MethodPost, "/alerts/channels", admins, h.CreateChannel)
	s.route(fiber.MethodPost, "/alerts/channels/:id<int>/delete", admins, h.DeleteChannel)
	s.route(fiber.MethodPost, "/alerts/channels/:id<int>/test", admins, h.TestChannel)
	s.route(fiber.MethodPost, "/alerts/smtp", admins, h.SaveSMTP)
	s.route(fiber.MethodPost, "/alerts/smtp/test", admins, h.TestSMTP)
}
