package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"crossdock/connectors"
	"crossdock/handlers"
	"crossdock/static"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/demo"
)

// access says who may use a route. It is checked on the server for every
// request; hiding a button is never the only guard.
type access []vocab.Role

var (
	public      access = nil // anyone, signed in or not
	everyone           = access{vocab.RoleAdmin, vocab.RoleOperator, vocab.RoleFinance}
	operators          = access{vocab.RoleAdmin, vocab.RoleOperator}
	financeTeam        = access{vocab.RoleAdmin, vocab.RoleFinance}
	admins             = access{vocab.RoleAdmin}
)

// route is one line of the route table.
type route struct {
	method string
	path   string
	who    access
	h      fiber.Handler
}

const (
	get  = fiber.MethodGet
	post = fiber.MethodPost
)

// mounts serves what answers before a session is read: the static files and
// the demo's sandbox Shopify and Odoo (404 until the demo is loaded).
func (s *Server) mounts() {
	s.App.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static.FS), MaxAge: 300}))
	s.App.Use(demo.PathPrefix, adaptor.HTTPHandler(s.demo))
}

// routes registers the route table.
func (s *Server) routes() {
	for _, r := range s.table() {
		if r.who == nil {
			s.App.Add(r.method, r.path, r.h)
			continue
		}
		s.App.Add(r.method, r.path, s.require(r.who), r.h)
	}
}

// table is every page and action of the console: method, path, who may use
// it, and the handler. No route is registered anywhere else (mounts holds
// the static files and the demo's sandboxes).
func (s *Server) table() []route {
	st, base, cfg := s.cfg.Store, s.base(), s.cfg
	health := handlers.Health{Store: st}
	auth := handlers.Auth{Base: base, Store: st, FirstRunDone: func() { s.setUp.Store(true) }, LoadDemo: s.loadDemo}
	overview := handlers.Overview{Base: base, Store: st, DemoLoaded: func() bool { return s.demo.Workspace() != nil }, BaseURL: cfg.BaseURL, Kinds: cfg.Kinds}
	flows := handlers.Flows{Base: base, Store: st}
	demoWS := handlers.Demo{Base: base, Load: s.loadDemo, AddQuickBooks: s.addDemoQuickBooks, LoadQuickBooks: s.loadDemoQuickBooks}
	settings := handlers.Settings{Base: base, Store: st, Version: cfg.Version}
	users := handlers.Users{Base: base, Store: st}
	audit := handlers.Audit{Base: base, Store: st}
	mappings := handlers.Mappings{Base: base, Store: st}
	conns := handlers.Connections{Base: base, Store: s.vault, Kinds: cfg.Kinds, BaseURL: cfg.BaseURL, Engine: cfg.Connections}
	ingest := handlers.WebhookReceiver{Store: st, Targets: s.vault.WebhookTargets(0), Kinds: cfg.Kinds, Log: s.log}
	webhooks := handlers.Webhooks{Base: base, Store: st, BaseURL: cfg.BaseURL, Kinds: cfg.Kinds}
	sources := handlers.Sources{Base: base, Store: st, Compare: cfg.Compare}
	syncs := handlers.Syncs{Base: base, Store: st, Failures: st, Sweep: cfg.Sweep}
	failed := handlers.Failed{Base: base, Store: st, Engine: cfg.Replay}
	exclusions := handlers.Exclusions{Base: base, Store: st}
	recon := handlers.Reconciliation{Base: base, Store: st, Engine: cfg.Recon}
	finance := handlers.Finance{Base: base, Store: st}
	payouts := handlers.Payouts{Base: base, Store: st}
	if cfg.Recon != nil {
		finance.Engine = cfg.Recon
		payouts.Engine = cfg.Recon
	}
	alerts := handlers.Alerts{Base: base, Store: s.vault, Sender: cfg.Alerts}
	rehearsals := handlers.Rehearsals{Base: base, Store: st, Runner: cfg.Rehearsal}
	privacy := handlers.Privacy{Base: base, Store: st, Engine: cfg.Privacy}
	privacyExports := handlers.PrivacyExports{Base: base, Store: st}
	privacyMap := handlers.PrivacyMap{Base: base, Store: st, Flows: cfg.PersonalFlows}
	privacySettings := handlers.PrivacySettings{Base: base, Store: st}

	return []route{
		// Probes and metrics (metrics answer a bearer token, or only on
		// CROSSDOCK_METRICS_ADDR).
		{get, "/healthz", public, health.Live},
		{get, "/readyz", public, health.Ready},
		{get, "/metrics", public, s.serveMetrics()},

		// Signing in, and the first admin's setup.
		{get, "/setup", public, auth.SetupPage},
		{post, "/setup", public, auth.Setup},
		{get, "/login", public, auth.LoginPage},
		{post, "/login", public, auth.Login},
		{post, "/logout", everyone, auth.Logout},

		// The overview and one's own settings.
		{get, "/", everyone, overview.Show},
		{post, "/overview/try/dismiss", everyone, overview.DismissTry},
		{post, "/demo", admins, demoWS.LoadWorkspace},
		{get, "/settings", everyone, settings.Show},
		{post, "/settings/password", everyone, settings.ChangePassword},

		// Users and the audit log: admins.
		{get, "/users", admins, users.List},
		{get, "/users/new", admins, users.New},
		{post, "/users", admins, users.Create},
		{get, "/users/:id<int>", admins, users.Edit},
		{post, "/users/:id<int>", admins, users.Update},
		{post, "/users/:id<int>/password", admins, users.ResetPassword},
		{post, "/users/:id<int>/unlock", admins, users.UnlockSignIn},
		{get, "/audit", admins, audit.List},

		// Identifier mapping: list, entities, change sets and approvals,
		// unmapped records, history, CSV import and export. Operators and
		// admins map and propose; finance does not. Deciding on a change set
		// is for admins only, and never for its proposer (enforced again in
		// the store).
		{get, "/mappings", operators, mappings.List},
		{get, "/mappings/export.csv", operators, mappings.Export},
		{get, "/mappings/new", operators, mappings.New},
		{get, "/mappings/entities/:id", operators, mappings.Entity},
		{get, "/mappings/history", operators, mappings.History},
		{get, "/mappings/unmapped", operators, mappings.Unmapped},
		{post, "/mappings/unmapped/accept", operators, mappings.AcceptSuggestions},
		{post, "/mappings/unmapped/pick", operators, mappings.Pick},
		{get, "/mappings/candidates", operators, mappings.Candidates},
		{get, "/mappings/fix", operators, mappings.Fix},
		{get, "/mappings/import", operators, mappings.ImportForm},
		{post, "/mappings/import", operators, mappings.Import},
		{get, "/mappings/import/template.csv", operators, mappings.Template},
		{get, "/mappings/change-sets", operators, mappings.ChangeSets},
		{post, "/mappings/change-sets", operators, mappings.CreateChangeSet},
		{get, "/mappings/change-sets/:id", operators, mappings.ChangeSet},
		{post, "/mappings/change-sets/:id/rows", operators, mappings.AddRow},
		{post, "/mappings/change-sets/:id/remove-row", operators, mappings.RemoveRow},
		{post, "/mappings/change-sets/:id/submit", operators, mappings.Submit},
		{post, "/mappings/change-sets/:id/withdraw", operators, mappings.Withdraw},
		{post, "/mappings/change-sets/:id/recheck", operators, mappings.Recheck},
		{post, "/mappings/change-sets/:id/revert", operators, mappings.Revert},
		{post, "/mappings/change-sets/:id/comments", operators, mappings.Comment},
		{get, "/mappings/approvals", admins, mappings.Approvals},
		{post, "/mappings/change-sets/:id/approve", admins, mappings.Approve},
		{post, "/mappings/change-sets/:id/reject", admins, mappings.Reject},

		// Connections: operators watch, test and read catalogues; admins
		// add, edit, enable and subscribe.
		{get, "/connections", operators, conns.List},
		{get, "/connections/new", admins, conns.New},
		{post, "/connections", admins, conns.Create},
		{get, "/connections/:id<int>", operators, conns.Show},
		{get, "/connections/:id<int>/edit", admins, conns.Edit},
		{post, "/connections/:id<int>", admins, conns.Update},
		{post, "/connections/:id<int>/test", operators, conns.Test},
		{get, "/connections/:id<int>/sign-in", admins, conns.SignIn},
		{get, handlers.SignInCallbackPath, admins, conns.SignedIn},
		{get, "/connections/:id<int>/subscriptions", operators, conns.Subscriptions},
		{post, "/connections/:id<int>/subscriptions", admins, conns.RegisterSubscriptions},
		{post, "/connections/:id<int>/disable", admins, conns.Disable},
		{post, "/connections/:id<int>/enable", admins, conns.Enable},
		{post, "/connections/:id<int>/catalogue", operators, conns.RefreshCatalogue},

		// Shopify's webhook deliveries, and the pages that show them. The
		// delivery endpoint is public: it is authenticated by the HMAC of
		// each body, not by a session (machinePath skips sessions and CSRF
		// for it).
		{post, connectors.WebhookPath(vocab.KindShopify) + ":connection", public, ingest.Receive},
		// Every other kind that sends webhooks, through the same receiver.
		{post, connectors.WebhookPath(vocab.KindShipBob) + ":connection", public, ingest.For(vocab.KindShipBob)},
		{post, connectors.WebhookPath(vocab.KindQuickBooks) + ":connection", public, ingest.For(vocab.KindQuickBooks)},
		{get, "/connections/:id<int>/webhooks", operators, webhooks.List},
		{get, "/connections/:id<int>/webhooks/:event", operators, webhooks.Show},
		{get, "/connections/:id<int>/webhooks/rejected/:rejection", operators, webhooks.ShowRejection},

		// Sources of truth: everyone may read them (finance included, for
		// margin questions); only admins change them.
		{get, "/sources", everyone, sources.List},
		{get, "/sources/:family/edit", admins, sources.Edit},
		{post, "/sources/:family", admins, sources.Update},

		// Sync records: everyone may read them (finance included, to follow
		// an order into the ERP); operators and admins may ask for a check of
		// every system now.
		{get, "/syncs", everyone, syncs.List},
		{get, "/syncs/:id<int>", everyone, syncs.Show},
		{post, "/syncs/sweep", operators, syncs.RequestSweep},

		// Failed syncs: operators and admins find, resolve, ignore and replay
		// failures; finance does not see the area (it follows orders on the
		// Syncs pages). Edit and replay, which sends data a person typed, and
		// the area's settings are for admins only.
		{get, "/failed", operators, failed.List},
		{post, "/failed/replay", operators, failed.Replay},
		{post, "/failed/resolve", operators, failed.Resolve},
		{post, "/failed/ignore", operators, failed.Ignore},
		{post, "/failed/exclude", operators, failed.Exclude},
		{get, "/failed/act", operators, failed.ActConfirm},
		{post, "/failed/act", operators, failed.Act},
		{post, "/failed/settings", admins, failed.SaveSettings},
		{post, "/failed/propose-mappings", operators, failed.ProposeMappings},
		{get, "/failed/batches/:id<int>", operators, failed.Batch},
		{post, "/failed/batches/:id<int>/cancel", operators, failed.CancelBatch},
		{post, "/syncs/:id<int>/replay", operators, failed.ReplayOne},
		{post, "/syncs/:id<int>/resolve", operators, failed.Resolve},
		{post, "/syncs/:id<int>/ignore", operators, failed.Ignore},
		{post, "/syncs/:id<int>/edit-replay", admins, failed.EditReplay},
		// Records excluded from syncing (from Failed syncs): operators and
		// admins see and include them again.
		{get, "/exclusions", operators, exclusions.List},
		{post, "/exclusions/:id<int>/include", operators, exclusions.IncludeAgain},

		// The Overview's flows section alone, for its htmx refresh (everyone
		// who sees the Overview); admins pause and resume a flow.
		{get, "/overview/flows", everyone, overview.Flows},
		{post, "/flows/:family/pause", admins, flows.Pause},
		{post, "/flows/:family/resume", admins, flows.Resume},

		// Reconciliation: everyone reads runs and discrepancies and may
		// assign, acknowledge or ignore a discrepancy (finance owns many of
		// them); operators ask for a run or send a master's value (a write to
		// a system); admins set the schedule.
		{get, "/reconciliation", everyone, recon.Overview},
		{post, "/reconciliation/runs", operators, recon.RequestRun},
		{post, "/reconciliation/schedule", admins, recon.Schedule},
		{post, "/reconciliation/warehouse", admins, recon.SaveWarehouse},
		{get, "/reconciliation/runs/:id<int>", everyone, recon.Run},
		{get, "/reconciliation/discrepancies", everyone, recon.Discrepancies},
		{get, "/reconciliation/discrepancies.csv", everyone, recon.CSV},
		{get, "/reconciliation/discrepancies/:id<int>", everyone, recon.Discrepancy},
		{post, "/reconciliation/discrepancies/:id<int>/assign", everyone, recon.Act("assign")},
		{post, "/reconciliation/discrepancies/:id<int>/acknowledge", everyone, recon.Act("acknowledge")},
		{post, "/reconciliation/discrepancies/:id<int>/ignore", everyone, recon.Act("ignore")},
		{post, "/reconciliation/discrepancies/:id<int>/reopen", everyone, recon.Act("reopen")},
		{post, "/reconciliation/discrepancies/:id<int>/push", operators, recon.Push},
		// The operators' answer to a price fix finance sent them.
		{post, "/reconciliation/discrepancies/:id<int>/answer", operators, finance.Answer},

		// The margin review: finance and admins only; admins set the
		// thresholds.
		{get, "/finance", financeTeam, finance.List},
		{get, "/finance.csv", financeTeam, finance.CSV},
		{get, "/finance/summary", financeTeam, finance.Summary},
		{get, "/finance/summary.csv", financeTeam, finance.SummaryCSV},
		{post, "/finance/compare", financeTeam, finance.Compare},
		{post, "/finance/thresholds", admins, finance.SetThresholds},
		{get, "/finance/collections", financeTeam, finance.Collections},
		{post, "/finance/collections/thresholds", admins, finance.SetCollectionThresholds},
		{post, "/finance/collections/thresholds/clear", admins, finance.ClearCollectionThresholds},
		{post, "/finance/variants/:id<int>/acknowledge", financeTeam, finance.Review("acknowledge")},
		{post, "/finance/variants/:id<int>/accept", financeTeam, finance.Review("accept")},
		{post, "/finance/variants/:id<int>/send", financeTeam, finance.Review("send")},

		// Payouts: finance and admins. Comparing payouts with the bank
		// writes into no system, so finance may ask for it.
		{get, "/payouts", financeTeam, payouts.List},
		{get, "/payouts/:id<int>", financeTeam, payouts.Show},
		{post, "/payouts/compare", financeTeam, payouts.Compare},

		// Alerts: everyone sees them, operators and admins acknowledge them,
		// admins set the rules and channels.
		{get, "/alerts", everyone, alerts.List},
		{post, "/alerts/:id<int>/acknowledge", operators, alerts.Acknowledge},
		{get, "/alerts/settings", admins, alerts.Settings},
		{post, "/alerts/rules/:kind", admins, alerts.UpdateRule},
		{post, "/alerts/channels", admins, alerts.CreateChannel},
		{post, "/alerts/channels/:id<int>/delete", admins, alerts.DeleteChannel},
		{post, "/alerts/channels/:id<int>/test", admins, alerts.TestChannel},
		{post, "/alerts/smtp", admins, alerts.SaveSMTP},
		{post, "/alerts/smtp/test", admins, alerts.TestSMTP},

		// The peak rehearsal: admins only, against test-environment
		// connections only.
		{get, "/rehearsals", admins, rehearsals.List},
		{post, "/rehearsals", admins, rehearsals.Start},
		{get, "/rehearsals/:id<int>", admins, rehearsals.Show},
		{post, "/rehearsals/:id<int>/cancel", admins, rehearsals.Cancel},

		// Privacy requests Shopify sends: admins only, as they show
		// customers' personal data.
		{get, "/privacy", admins, privacy.List},
		{get, "/privacy/map", admins, privacyMap.Page},
		{get, "/privacy/settings", admins, privacySettings.Show},
		{post, "/privacy/settings", admins, privacySettings.Save},
		{get, "/privacy/:id<int>", admins, privacy.Show},
		{post, "/privacy/:id<int>/answered", admins, privacy.Answered},
		{post, "/privacy/settings/erasures", admins, privacy.SetErasures},
		{post, "/privacy/:id<int>/systems/retry", admins, privacy.RetryErasure},
		{post, "/privacy/:id<int>/erase-shop", admins, privacy.ConfirmShopErasure},
		{get, "/privacy/:id<int>/export", admins, privacyExports.Page},
		{get, "/privacy/:id<int>/download", admins, privacyExports.Download},
	}
}

// addDemoQuickBooks adds the demo QuickBooks company to the loaded demo.
func (s *Server) addDemoQuickBooks(ctx context.Context, a store.Actor) (int64, error) {
	c, err := demo.AddQuickBooks(ctx, s.cfg.Store, s.box, a, s.cfg.BaseURL, s.demo)
	return c.ID, err
}

// loadDemoQuickBooks loads the Shopify + QuickBooks demo, and reads both
// catalogues so the mapping pages offer QuickBooks' products, tax codes
// and payment methods.
func (s *Server) loadDemoQuickBooks(ctx context.Context, a store.Actor) (string, error) {
	d, err := demo.LoadWithQuickBooks(ctx, s.cfg.Store, s.box, a, s.cfg.BaseURL, s.demo, cmp.Or(s.cfg.DemoSeed, demo.DefaultSeed))
	if errors.Is(err, demo.ErrLoaded) {
		return "", handlers.ErrDemoLoaded
	}
	if err != nil {
		return "", err
	}
	summary, _ := s.readDemoCatalogues(ctx, a, d.Summary(), d.ShopifyConnectionID, d.QuickBooksConnectionID)
	return summary, nil
}

// readDemoCatalogues reads the demo systems' catalogues now, so the mapping
// pages have something to match; a failure is said after the summary, and
// ok is false.
func (s *Server) readDemoCatalogues(ctx context.Context, a store.Actor, summary string, ids ...int64) (_ string, ok bool) {
	if s.cfg.Connections == nil {
		return summary, true
	}
	for _, id := range ids {
		if _, err := s.cfg.Connections.RefreshCatalogue(ctx, a, id); err != nil {
			return summary + " Reading its catalogue failed (" + err.Error() + "); use Refresh catalogue on the connection.", false
		}
	}
	return summary + " Their catalogues are read.", true
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
	summary, ok := s.readDemoCatalogues(ctx, a, d.Summary(), d.ShopifyConnectionID, d.OdooConnectionID)
	if !ok {
		return summary, nil
	}
	if s.cfg.Connections != nil {
		// The warehouse's catalogue is its fulfilment centres; its
		// connection is tested, so that the Overview shows it answering
		// from the start.
		if d.ShipBobConnectionID != 0 {
			if _, err := s.cfg.Connections.RefreshCatalogue(ctx, a, d.ShipBobConnectionID); err != nil {
				return summary + " Reading the warehouse's fulfilment centres failed (" + err.Error() + "); use Refresh catalogue on its connection.", nil
			}
			if res, err := s.cfg.Connections.CheckConnection(ctx, d.ShipBobConnectionID); err != nil || !res.OK {
				return summary + " Testing the warehouse's connection failed; use Test connection on its page.", nil
			}
		}
	}
	if s.cfg.Compare != nil {
		// Every family the demo gives a source is compared now, not at the
		// next scheduled check.
		for _, f := range demo.Families() {
			if _, _, err := s.cfg.Compare.SourceSaved(ctx, f, demo.Actor); err != nil {
				return summary + " Starting its comparisons failed (" + err.Error() + "); they run at the next scheduled check.", nil
			}
		}
	}
	return summary, nil
}
