package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	"crossdock/engine"
	"crossdock/engine/alert"
	"crossdock/engine/recon"
	"crossdock/engine/rehearsal"
	"crossdock/store"
	"crossdock/web"
)

func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	return serveWith(ctx, cfg, log, stdout, nil)
}

// serveWith is serve with the engine's settings tuned (tests shorten its
// waits); tune may be nil.
func serveWith(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer, tune func(*engine.Config)) error {
	start := time.Now()
	key, err := resolveSecretKey(cfg, log)
	if err != nil {
		return err
	}
	st, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	if n, err := st.Migrate(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Info("applied migrations", "count", n)
	}
	if err := st.MigrateQueue(ctx); err != nil {
		return err
	}
	kinds, err := connectors.NewRegistry(shopify.Kind(), odoo.Kind(), shipbob.Kind(), quickbooks.Kind())
	if err != nil {
		return err
	}
	ecfg := engine.Config{Store: st, Kinds: kinds, SecretKey: key, Logger: log.With("component", "engine"), BaseURL: cfg.BaseURL}
	if tune != nil {
		tune(&ecfg)
	}
	eng, err := engine.New(ecfg)
	if err != nil {
		return err
	}
	// Above the engine's core, on its queue. Reconciliation before alerts:
	// that is the order of their scheduled work.
	reconciler, err := recon.New(eng, recon.Config{})
	if err != nil {
		return err
	}
	alerts, err := alert.New(eng, alert.Config{})
	if err != nil {
		return err
	}
	rehearsals, err := rehearsal.New(eng)
	if err != nil {
		return err
	}
	srv, err := web.New(web.Config{Store: st, Kinds: kinds, Logger: log, SecretKey: key, SecureCookies: cfg.SecureCookies(), Version: version, BaseURL: cfg.BaseURL, MetricsToken: cfg.MetricsToken,
		TrustedProxies: cfg.trustedProxies(),
		Connections:    eng,
		Sweep:          eng,
		Replay:         eng,
		Compare:        reconciler,
		Alerts:         alerts,
		Rehearsal:      rehearsals,
		Recon:          reconciler,
		Observer:       eng,
		PersonalFlows:  eng,
		Privacy:        eng,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("CROSSDOCK_ADDR %s: %w", cfg.Addr, err)
	}

	if err := eng.Start(ctx); err != nil {
		return err
	}
	stopEngine := func() {
		c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := eng.Stop(c); err != nil {
			log.Error("engine stop", "err", err)
		}
	}

	bg, stopBG := context.WithCancel(context.Background())
	housekeeping := make(chan struct{})
	go func() { defer close(housekeeping); pruneSessions(bg, st, log) }()

	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, srv, log)
		if err != nil {
			stopEngine()
			stopBG()
			<-housekeeping
			return err
		}
		defer stopMetrics()
	}

	served := make(chan error, 1)
	go func() { served <- srv.App.Listener(ln) }()
	log.Info("crossdock is ready", "url", cfg.BaseURL, "startup_ms", time.Since(start).Milliseconds(), "version", version)
	fmt.Fprintf(stdout, "Crossdock is running at %s — press Ctrl-C to stop.\n", cfg.BaseURL)

	select {
	case err := <-served:
		stopEngine()
		stopBG()
		<-housekeeping
		return err
	case <-ctx.Done():
	}
	// Shut down in order: in-flight requests finish, then the sync engine
	// (running jobs finish or are left for another replica), then the pool.
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	stopEngine()
	stopBG()
	<-housekeeping
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		log.Error("http server", "err", err)
	}
	return nil
}

// pruneSessions deletes expired sessions and old sign-in failures every hour.
func pruneSessions(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := st.PruneSessions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("prune sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
