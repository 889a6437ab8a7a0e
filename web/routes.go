package web

import (
	"cmp"
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"crossdock/connectors/demo"
	"crossdock/handlers"
	"crossdock/store"
	"crossdock/vocab"
)

// access says who may use a route. It is checked on the server for every
// request; hiding a button is never the only guard.
type access []vocab.Role

var (
	public    access = nil // anyone, signed in or not
	everyone         = access{vocab.RoleAdmin, vocab.RoleOperator, vocab.RoleFinance}
	operators        = access{vocab.RoleAdmin, vocab.RoleOperator}
	admins           = access{vocab.RoleAdmin}
)

// routes is the one table of every page and action of the console.
func (s *Server) routes() {
	st := s.cfg.Store
	base := s.base()
	health := handlers.Health{Store: st}
	auth := handlers.Auth{Base: base, Store: st, FirstRunDone: func() { s.setUp.Store(true) }, LoadDemo: s.loadDemo}
	overview := handlers.Overview{Base: base, Store: st, DemoLoaded: func() bool { return s.demo.Workspace() != nil }, BaseURL: s.cfg.BaseURL}
	demoWS := handlers.Demo{Base: base, Load: s.loadDemo}
	settings := handlers.Settings{Base: base, Store: st, Version: s.cfg.Version}
	users := handlers.Users{Base: base, Store: st}
	audit := handlers.Audit{Base: base, Store: st}
	conns := handlers.Connections{Base: base, Store: st, Box: s.box, BaseURL: s.cfg.BaseURL, HTTP: s.http, Catalogue: s.cfg.Engine}

	s.route(fiber.MethodGet, "/healthz", public, health.Live)
	s.route(fiber.MethodGet, "/readyz", public, health.Ready)
	s.route(fiber.MethodGet, "/metrics", public, s.serveMetrics())

	s.route(fiber.MethodGet, "/setup", public, auth.SetupPage)
	s.route(fiber.MethodPost, "/setup", public, auth.Setup)
	s.route(fiber.MethodGet, "/login", public, auth.LoginPage)
	s.route(fiber.MethodPost, "/login", public, auth.Login)
	s.route(fiber.MethodPost, "/logout", everyone, auth.Logout)

	s.route(fiber.MethodGet, "/", everyone, overview.Show)
	s.route(fiber.MethodPost, "/overview/try/dismiss", everyone, overview.DismissTry)
	s.route(fiber.MethodPost, "/demo", admins, demoWS.LoadWorkspace)
	s.route(fiber.MethodGet, "/settings", everyone, settings.Show)
	s.route(fiber.MethodPost, "/settings/password", everyone, settings.ChangePassword)

	s.route(fiber.MethodGet, "/users", admins, users.List)
	s.route(fiber.MethodGet, "/users/new", admins, users.New)
	s.route(fiber.MethodPost, "/users", admins, users.Create)
	s.route(fiber.MethodGet, "/users/:id<int>", admins, users.Edit)
	s.route(fiber.MethodPost, "/users/:id<int>", admins, users.Update)
	s.route(fiber.MethodPost, "/users/:id<int>/password", admins, users.ResetPassword)
	s.route(fiber.MethodPost, "/users/:id<int>/unlock", admins, users.UnlockSignIn)

	s.route(fiber.MethodGet, "/audit", admins, audit.List)

	s.mappingRoutes()

	s.route(fiber.MethodGet, "/connections", operators, conns.List)
	s.route(fiber.MethodGet, "/connections/new", admins, conns.New)
	s.route(fiber.MethodPost, "/connections", admins, conns.Create)
	s.route(fiber.MethodGet, "/connections/:id<int>", operators, conns.Show)
	s.route(fiber.MethodGet, "/connections/:id<int>/edit", admins, conns.Edit)
	s.route(fiber.MethodPost, "/connections/:id<int>", admins, conns.Update)
	s.route(fiber.MethodPost, "/connections/:id<int>/test", operators, conns.Test)
	s.route(fiber.MethodGet, "/connections/:id<int>/subscriptions", operators, conns.Subscriptions)
	s.route(fiber.MethodPost, "/connections/:id<int>/subscriptions", admins, conns.RegisterSubscriptions)
	s.route(fiber.MethodPost, "/connections/:id<int>/disable", admins, conns.Disable)
	s.route(fiber.MethodPost, "/connections/:id<int>/enable", admins, conns.Enable)
	s.route(fiber.MethodPost, "/connections/:id<int>/catalogue", operators, conns.RefreshCatalogue)

	s.webhookRoutes()
	s.sourceRoutes()
	s.syncRoutes()
	s.failedRoutes()
	s.flowRoutes()
	s.reconciliationRoutes()
	s.financeRoutes()
	s.alertRoutes()
	s.rehearsalRoutes()
}

func (s *Server) route(method, path string, who access, h fiber.Handler) {
	if who == nil {
		s.App.Add(method, path, h)
		return
	}
	s.App.Add(method, path, s.require(who), h)
}

// loadDemo loads the demo workspace (sandbox Shopify and Odoo served under /sandbox/).
func (s *Server) loadDemo(ctx context.Context, a store.Actor) (string, error) {
	d, err := demo.Load(ctx, s.cfg.Store, s.box, a, s.cfg.BaseURL, s.demo, cmp.Or(s.cfg.DemoSeed, demo.DefaultSeed))
	if errors.Is(err, demo.ErrLoaded) {
		return "", handlers.ErrDemoLoaded
	}
	if err != nil {
		return "", err
	}
	summary := d.Summary()
	if s.cfg.Engine != nil {
		// Read both catalogues now, so the mapping pages have something to match.
		for _, id := range []int64{d.ShopifyConnectionID, d.OdooConnectionID} {
			if _, err := s.cfg.Engine.RefreshCatalogue(ctx, a, id); err != nil {
				return summary + " Reading its catalogue failed (" + err.Error() + "); use Refresh catalogue on the connection.", nil
			}
		}
		summary += " Their catalogues are read."
		// Every family the demo gives a source is compared now, not at the
		// next scheduled check.
		if c, ok := s.cfg.Engine.(handlers.SourceComparer); ok {
			for _, f := range demo.Families() {
				if _, _, err := c.SourceSaved(ctx, f, demo.Actor); err != nil {
					return summary + " Starting its comparisons failed (" + err.Error() + "); they run at the next scheduled check.", nil
				}
			}
		}
	}
	return summary, nil
}
