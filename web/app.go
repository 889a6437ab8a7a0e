// Package web is Crossdock's HTTP front: the Fiber app, its middleware, the
// central error handler and the route table. Only web and handlers know Fiber.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"crossdock/connectors"
	"crossdock/connectors/demo"
	"crossdock/handlers"
	"crossdock/static"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/web/session"
)

// Config is what the web app needs.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// Kinds are the kinds of systems the console connects to.
	Kinds     *connectors.Registry
	SecretKey []byte
	// SecureCookies marks cookies Secure (Crossdock served over https).
	SecureCookies bool
	Version       string
	// BaseURL is where people and Shopify reach this console (webhook addresses).
	BaseURL string
	// Engine is the sync engine; nil leaves its actions out (tests of other areas).
	Engine handlers.EngineActions
	// What runs above the engine's core, nil without an engine: Recon asks
	// for comparisons and sends a source's value, Comparer compares a family
	// once it has a source (engine/recon); Alerts sends test alerts
	// (engine/alert); Rehearsals starts peak rehearsals (engine/rehearsal).
	Recon      handlers.ReconEngine
	Comparer   handlers.SourceComparer
	Alerts     handlers.AlertSender
	Rehearsals handlers.RehearsalRunner
	// MetricsToken, when set, lets /metrics answer requests that carry it
	// as a bearer token (CROSSDOCK_METRICS_TOKEN).
	MetricsToken string
	// TrustedProxies are the proxies (load balancers) in front of the
	// console (CROSSDOCK_TRUSTED_PROXIES): only requests from them have
	// their X-Forwarded-For read for the client's address.
	TrustedProxies []netip.Prefix
	// DemoSeed sizes the demo workspace (0: demo.DefaultSeed; tests load a
	// smaller one).
	DemoSeed int
}

// Server is the console's Fiber app with what its middleware needs.
type Server struct {
	App      *fiber.App
	cfg      Config
	sessions *session.Manager
	box      *secretbox.Box
	// vault is the store with the secret box: the pages that keep
	// credentials get it, never the box.
	vault   *store.Vault
	demo    *demo.Holder
	log     *slog.Logger
	metrics *metrics
	// https is true when the base URL is https (HSTS is sent).
	https bool
	// setUp turns true once the first admin exists; until then every page
	// leads to first-run setup. It never turns back, so one read is enough.
	setUp atomic.Bool
}

// New builds the app with every route.
func New(cfg Config) (*Server, error) {
	box, err := secretbox.New(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, box: box, vault: store.NewVault(cfg.Store, box), demo: &demo.Holder{},
		sessions: session.NewManager(cfg.Store, cfg.SecretKey, cfg.SecureCookies),
		https:    strings.HasPrefix(cfg.BaseURL, "https://")}
	eng, _ := cfg.Engine.(engineObserver)
	s.metrics = newMetrics(cfg.Store, eng)
	if ok, err := demo.Restore(context.Background(), cfg.Store, box, cfg.BaseURL, s.demo); err != nil {
		return nil, err
	} else if ok {
		s.log.Info("demo workspace restored: its sandbox systems start from their seed again")
	}
	s.App = fiber.New(fiber.Config{
		AppName:               "Crossdock",
		Immutable:             true, // values from the request outlive handlers safely
		BodyLimit:             BodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
	})
	// Each route's own body limit, applied from the headers (bodylimit.go).
	s.App.Server().HeaderReceived = limitBodies
	s.App.Use(s.recoverPanics)
	s.App.Use(s.clientAddr)
	s.App.Use(s.observeRequests)
	s.App.Use(requestid.New(requestid.Config{ContextKey: "requestid"}))
	s.App.Use(s.logRequests)
	s.App.Use(s.securityHeaders)
	s.App.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.FS), MaxAge: 300}))
	// The demo's sandbox Shopify and Odoo answer here (404 until the demo is loaded).
	s.App.Use(demo.PathPrefix, adaptor.HTTPHandler(s.demo))
	s.App.Use(s.loadSession)
	s.App.Use(s.firstRun)
	s.App.Use(refuseNUL)
	s.App.Use(s.checkCSRF)
	s.routes()
	s.App.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return s, nil
}

// Shutdown stops accepting requests and lets in-flight ones finish.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.App.ShutdownWithContext(ctx)
}

func (s *Server) base() handlers.Base {
	return handlers.Base{Sessions: s.sessions, PendingApprovals: s.cfg.Store.CountPendingApprovals,
		SentToOperators: s.cfg.Store.CountSentToOperators}
}

// DemoWorkspace returns the loaded demo workspace (its sandbox twins), or nil.
func (s *Server) DemoWorkspace() *demo.Workspace { return s.demo.Workspace() }
