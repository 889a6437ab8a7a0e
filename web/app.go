// Package web is Crossdock's HTTP front: the Fiber app, its middleware, the
// central error handler and the route table. Only web and handlers know Fiber.
package web

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"crossdock/connectors"
	"crossdock/handlers"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/web/demo"
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

	// The features below come from the sync engine (or the packages built
	// on it), one typed field each, filled where the program is wired. A nil
	// field turns its feature off on purpose (tests of other areas start a
	// bare console): New logs which are off, and their pages say so ("the
	// sync engine is not running") instead of dropping a button silently.

	// Connections tests connections, reads their catalogue (Refresh
	// catalogue, the demo) and their webhook subscriptions, through the
	// engine's client pool.
	Connections handlers.ConnectionEngine
	// Sweep queues a check of every system now (Syncs).
	Sweep handlers.SweepRequester
	// Replay replays failed syncs: one, edited, a selection or a filter's worth.
	Replay handlers.Replayer
	// Compare queues the comparison a newly saved source of truth allows.
	Compare handlers.SourceComparer
	// Alerts sends the test alert and the test e-mail.
	Alerts handlers.AlertSender
	// Rehearsal runs peak rehearsals.
	Rehearsal handlers.RehearsalRunner
	// Recon queues reconciliation runs and sends a master's value.
	Recon handlers.ReconEngine
	// Observer gives /metrics this replica's engine state.
	Observer EngineObserver
	// PersonalFlows lists the flows that carry personal data (the personal
	// data map).
	PersonalFlows handlers.PersonalFlowLister
	// Privacy sends customers' erasures to the connected systems (their
	// setting) and erases a shop's data once confirmed.
	Privacy handlers.PrivacyEngine
}

// featuresOff names the engine features left nil in the configuration.
func (cfg Config) featuresOff() []string {
	var off []string
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"connections", cfg.Connections != nil}, {"sweep", cfg.Sweep != nil}, {"replay", cfg.Replay != nil},
		{"compare", cfg.Compare != nil}, {"alerts", cfg.Alerts != nil}, {"rehearsal", cfg.Rehearsal != nil},
		{"reconciliation", cfg.Recon != nil}, {"engine metrics", cfg.Observer != nil},
		{"personal data map", cfg.PersonalFlows != nil}, {"erasures in connected systems", cfg.Privacy != nil},
	} {
		if !f.on {
			off = append(off, f.name)
		}
	}
	return off
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
	if off := cfg.featuresOff(); len(off) > 0 {
		s.log.Warn("console features off: no sync engine given for them", "features", strings.Join(off, ", "))
	}
	s.metrics = newMetrics(cfg.Store, cfg.Observer)
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
	s.mounts()
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
		SentToOperators: s.cfg.Store.CountSentToOperators, SeesPersonal: s.cfg.Store.SeesPersonal}
}

// DemoWorkspace returns the loaded demo workspace (its sandbox twins), or nil.
func (s *Server) DemoWorkspace() *demo.Workspace { return s.demo.Workspace() }
