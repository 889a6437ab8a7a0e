// Package engine moves changes between connected systems: a durable queue and
// scheduler in PostgreSQL (River, on the same lib/pq pool as the store),
// intake of stored webhook events, scheduled sweeps, and the flows themselves
// (stock levels from Odoo to Shopify, Shopify orders into Odoo). Every change
// it moves or refuses becomes a sync record (store.Sync) that the console reads.
//
// Guarantees, and where they come from:
//   - No accepted event is lost: a webhook event is claimed, turned into a sync
//     record and its queue job, and marked processed in one transaction.
//   - No write happens twice: every write carries a key derived from the sync
//     (Shopify @idempotent; Odoo client_order_ref looked up before create), and
//     writes to one target entity are serialised by a lease across replicas.
//   - A stale change never overwrites a newer one: a high-water mark per source
//     entity rejects late and duplicate events, and a sync superseded while it
//     waited is skipped.
//   - One failing system does not clog the others: per-connection concurrency
//     limits and a circuit breaker; jobs that meet an open breaker are snoozed,
//     freeing their worker.
//   - Nothing waits for a replica that died: replicas beat, and the jobs of
//     one whose beat stopped are taken over by the others within about
//     ReplicaDeadAfter, long ones resuming where they were (takeover.go).
package engine

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"

	"crossdock/connectors"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
)

// Resolver translates identifiers between systems through the mapping
// table. *store.Store implements it.
type Resolver interface {
	ResolveRefs(ctx context.Context, fromConn, toConn int64, entityType string, externalIDs []string) (map[string]string, []string, error)
	// ResolveAllRefs gives every reference in toConn, oldest first (types
	// with several references per system: a payment method's method and
	// deposit account).
	ResolveAllRefs(ctx context.Context, fromConn, toConn int64, entityType string, externalIDs []string) (map[string][]string, []string, error)
}

// Config configures an Engine. Zero values get the defaults in brackets.
type Config struct {
	Store *store.Store
	// Kinds are the kinds of systems the engine connects to (required): it
	// asks them what a connection can do and how to build its client.
	Kinds *connectors.Registry
	// SecretKey opens the connections' sealed secrets (the same key web uses).
	SecretKey []byte
	Logger    *slog.Logger
	// HTTPClient calls the connected systems [60 s timeout].
	HTTPClient *http.Client
	// Resolver translates identifiers [Store].
	Resolver Resolver

	// Workers is how many syncs into Shopify one replica takes from the
	// queue at once, OdooWorkers how many into Odoo [PerConnection each]. A
	// job taken waits for its system's slot while River counts it as
	// running (and a replica that dies holds it), so a replica takes only
	// what it can run: raise them to PerConnection × the number of systems
	// of that kind when there are several.
	Workers     int
	OdooWorkers int
	// ShipBobWorkers is how many syncs into ShipBob one replica runs at once
	// [2: ShipBob allows 150 requests a minute, 2.5 a second]; a twin with a
	// faster limit (the benchmark's) needs more.
	ShipBobWorkers int
	// QuickBooksWorkers is how many syncs into QuickBooks Online one replica
	// runs at once [4; QuickBooks allows 10 requests at once per company and
	// PerConnection caps one company's share].
	QuickBooksWorkers int
	// PerConnection caps the syncs one replica runs against one target system
	// at once [8]. The limit is per replica: N replicas allow N times as many.
	PerConnection int
	// MaxAttempts bounds the attempts of a sync failing transiently [8].
	MaxAttempts int
	// RetryBase is the first retry delay; each next one doubles, with ±25 %
	// jitter [2 min: 8 attempts span about 4 hours].
	RetryBase time.Duration
	// JobTimeout bounds one attempt [60 s].
	JobTimeout time.Duration
	// RescueAfter is River's own rescue of a job left running [JobTimeout +
	// 2 min], for replicas that never beat (an older version). It must
	// exceed JobTimeout: a sync still running on a live replica is never
	// started twice.
	RescueAfter time.Duration
	// ReplicaBeat is how often a replica says it is alive and looks for
	// replicas that stopped [5 s]; ReplicaDeadAfter is how old a replica's
	// last beat is when the others take over its running jobs — syncs,
	// reconciliations, bulk replays, periodic jobs — whatever their timeout
	// [20 s; at least 3 beats] (takeover.go).
	ReplicaBeat      time.Duration
	ReplicaDeadAfter time.Duration
	// BreakerThreshold consecutive transient failures of a system open its
	// circuit breaker [5]; it stays open BreakerCooldown [30 s], doubling
	// while the system keeps failing (at most 5 min).
	BreakerThreshold int
	BreakerCooldown  time.Duration

	// IntakeBatch webhook events are claimed per transaction [200], every
	// IntakeInterval while there is nothing to claim [100 ms].
	IntakeBatch    int
	IntakeInterval time.Duration
	// SweepTick is how often the scheduler checks which sweeps are due [1 min];
	// each family's own interval comes from its source-of-truth rule.
	SweepTick time.Duration
	// ManualSweepsOnly turns the periodic sweeps off, and the comparisons'
	// schedule of engine/recon (tests and benchmarks run them themselves).
	ManualSweepsOnly bool
	// InventoryQuantity is the Shopify quantity name stock levels are set on:
	// "available" (Odoo's on hand minus reserved) or "on_hand" [available].
	InventoryQuantity string

	// FetchCooldown and FetchPollInterval tune River's fetch loop [10 ms, 200 ms].
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// RulesTTL is how long a loaded sources-of-truth snapshot is trusted [1 s].
	RulesTTL time.Duration
	// BaseURL is where people reach the console (links in alerts, the
	// webhook address subscriptions must use, the rehearsal's target).
	BaseURL string
	// PausedRecheck is how often a queued sync of a paused flow looks again
	// whether its flow was resumed [30 s].
	PausedRecheck time.Duration
	// TrackingUploadLinger is how long shipments whose tracking reached
	// Shopify wait for others before ShipBob is told of them in one batch
	// [1 s]; the next tracking check tells it first in any case.
	TrackingUploadLinger time.Duration
	// StatePublishInterval is how often the replica writes its breakers and
	// API budgets to the database besides on every breaker change [10 s].
	StatePublishInterval time.Duration
}

func (c *Config) defaults() {
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if c.Resolver == nil {
		c.Resolver = c.Store
	}
	c.PerConnection = cmp.Or(c.PerConnection, 8)
	c.Workers = cmp.Or(c.Workers, c.PerConnection)
	c.OdooWorkers = cmp.Or(c.OdooWorkers, c.PerConnection)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 8)
	c.RetryBase = cmp.Or(c.RetryBase, 2*time.Minute)
	c.JobTimeout = cmp.Or(c.JobTimeout, 60*time.Second)
	c.RescueAfter = cmp.Or(c.RescueAfter, c.JobTimeout+2*time.Minute)
	c.ReplicaBeat = cmp.Or(c.ReplicaBeat, 5*time.Second)
	c.ReplicaDeadAfter = cmp.Or(c.ReplicaDeadAfter, 20*time.Second)
	c.BreakerThreshold = cmp.Or(c.BreakerThreshold, 5)
	c.BreakerCooldown = cmp.Or(c.BreakerCooldown, 30*time.Second)
	c.IntakeBatch = cmp.Or(c.IntakeBatch, 200)
	c.IntakeInterval = cmp.Or(c.IntakeInterval, 100*time.Millisecond)
	c.SweepTick = cmp.Or(c.SweepTick, time.Minute)
	c.InventoryQuantity = cmp.Or(c.InventoryQuantity, "available")
	c.FetchCooldown = cmp.Or(c.FetchCooldown, 10*time.Millisecond)
	c.FetchPollInterval = cmp.Or(c.FetchPollInterval, 200*time.Millisecond)
	c.RulesTTL = cmp.Or(c.RulesTTL, time.Second)
	c.PausedRecheck = cmp.Or(c.PausedRecheck, 30*time.Second)
	c.StatePublishInterval = cmp.Or(c.StatePublishInterval, 10*time.Second)
}

// Queue names. Syncs into Odoo have a queue of their own, sized to what may
// call Odoo at once (syncQueue).
const (
	queueSyncs     = "syncs"
	queueSyncsOdoo = "syncs_odoo"
	// Syncs into QuickBooks Online (10 requests at once per company) and
	// ShipBob (150 a minute) have queues of their own, so a slow system never
	// holds up the others.
	queueSyncsQuickBooks = "syncs_quickbooks"
	queueSyncsShipBob    = "syncs_shipbob"
	queueSweeps          = "sweeps"
)

// Engine is the sync engine of one replica.
type Engine struct {
	cfg    Config
	st     *store.Store
	box    *secretbox.Box
	log    *slog.Logger
	river  *river.Client[*sql.Tx]
	limits *limiter
	counts syncCounter // finished attempts, for metrics
	calls  *callHealth // calls to each connection since the last flush (callhealth.go)
	// uploads marks ShipBob shipments as uploaded, in batches (shipbob_uploads.go).
	uploads *trackingUploads

	// What packages above the core added (export_api.go): River's workers
	// (the client reads the bundle when it works a job) and their share of
	// RunScheduledOnce.
	workers *river.Workers
	rounds  []func(context.Context, *Round) error

	rulesMu  sync.Mutex
	rulesAt  time.Time
	rulesVal rules.Rules

	// The client pool (pool.go): one client per connection, reused while
	// the connection is unchanged, by every caller.
	kinds     *connectors.Registry
	clientsMu sync.Mutex
	shops     map[int64]*shopEntry
	odoos     map[int64]*odooEntry
	others    map[int64]*otherEntry
	items     sync.Map // variant GID (per connection) → inventory item GID; never changes in Shopify

	stopIntake context.CancelFunc
	intakeDone chan struct{}

	// replica names this engine's rows of shared state (replica_state.go).
	replica       string
	statesChanged chan struct{}
	stopPublish   context.CancelFunc
	publishDone   chan struct{}

	// Beats, take-over and the fence (takeover.go).
	fence    *fence
	stopBeat context.CancelFunc
	beatDone chan struct{}

	flowSet flowRegistry // the registered flows (flow.go)
}

// New builds an engine. It does not start working until Start.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("engine: no store")
	}
	if cfg.Kinds == nil {
		return nil, errors.New("engine: no connector kinds (Config.Kinds)")
	}
	cfg.defaults()
	if cfg.RescueAfter <= cfg.JobTimeout {
		return nil, fmt.Errorf("engine: rescue delay %s must exceed the job timeout %s", cfg.RescueAfter, cfg.JobTimeout)
	}
	if cfg.ReplicaDeadAfter < 3*cfg.ReplicaBeat {
		return nil, fmt.Errorf("engine: a replica taken for dead after %s must have missed at least 3 beats of %s", cfg.ReplicaDeadAfter, cfg.ReplicaBeat)
	}
	if cfg.InventoryQuantity != "available" && cfg.InventoryQuantity != "on_hand" {
		return nil, fmt.Errorf("engine: inventory quantity %q must be available or on_hand", cfg.InventoryQuantity)
	}
	box, err := secretbox.New(cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{cfg: cfg, st: cfg.Store, box: box, log: cfg.Logger,
		limits: newLimiter(cfg.PerConnection, cfg.BreakerThreshold, cfg.BreakerCooldown),
		kinds:  cfg.Kinds, shops: map[int64]*shopEntry{}, odoos: map[int64]*odooEntry{}, others: map[int64]*otherEntry{},
		replica: newReplicaID(), statesChanged: make(chan struct{}, 1), calls: newCallHealth(), fence: newFence()}
	e.limits.changed = e.stateChanged
	e.uploads = newTrackingUploads(e, cmp.Or(cfg.TrackingUploadLinger, time.Second))

	var periodic []*river.PeriodicJob
	if !cfg.ManualSweepsOnly {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepTick), func() (river.JobArgs, *river.InsertOpts) {
			return SweepArgs{}, sweepOpts()
		}, &river.PeriodicJobOpts{ID: "inventory_sweep", RunOnStart: true}))
		periodic = append(periodic, contentSweepJob(cfg.SweepTick))
	}
	// Packages above the core add their workers, queues and periodic jobs
	// before Start (export_api.go).
	workers := river.NewWorkers()
	e.workers = workers
	river.AddWorker(workers, &syncWorker{e: e})
	river.AddWorker(workers, &sweepWorker{e: e})
	river.AddWorker(workers, &contentSweepWorker{e: e})
	periodic = append(periodic, addFailedWorkers(workers, e)...) // failed.go: bulk replays, retention

	periodic = append(periodic, addRetentionWorkers(workers, e)...) // retention.go: personal data
	e.river, err = river.NewClient(riverdatabasesql.New(cfg.Store.DB.DB), &river.Config{
		Queues: map[string]river.QueueConfig{
			queueSyncs:           {MaxWorkers: cfg.Workers},
			queueSyncsOdoo:       {MaxWorkers: cfg.OdooWorkers},
			queueSyncsQuickBooks: {MaxWorkers: cmp.Or(cfg.QuickBooksWorkers, 4)},
			queueSyncsShipBob:    {MaxWorkers: cmp.Or(cfg.ShipBobWorkers, 2)},
			queueSweeps:          {MaxWorkers: 2},
		},
		// The client id is the replica's: a job's attempted_by names the
		// replica running it, so the others can take it over when it stops.
		ID:                e.replica,
		Middleware:        []rivertype.Middleware{&fenceMiddleware{f: e.fence}},
		Workers:           workers,
		FetchCooldown:     cfg.FetchCooldown,
		FetchPollInterval: cfg.FetchPollInterval,
		JobTimeout:        cfg.JobTimeout,
		// A replica that dies mid-job leaves it running; the others take it
		// over once its beat stops (takeover.go), or River after this. The
		// sync takes its own lease again (a lease held by the same sync is
		// renewed), so nothing waits for it to expire.
		RescueStuckJobsAfter: cfg.RescueAfter,
		// Our own retries snooze the job (our attempt count and backoff live on
		// the sync record); River's attempts only count infrastructure errors
		// (database unreachable) and may be many.
		MaxAttempts:  25,
		PeriodicJobs: periodic,
		// River reports its producers' counts every few seconds at info level:
		// noise in a merchant's log. Its warnings and errors still come through.
		Logger: slog.New(minLevel{Handler: cfg.Logger.Handler(), min: slog.LevelWarn}).With("queue", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("engine: river client: %w", err)
	}
	return e, nil
}

// Start starts the queue workers, the scheduler (on the elected leader) and
// the webhook intake. It returns at once; Stop stops them.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.river.Start(ctx); err != nil {
		return fmt.Errorf("engine: start queue: %w", err)
	}
	ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stopIntake = cancel
	e.intakeDone = make(chan struct{})
	go func() {
		defer close(e.intakeDone)
		var erasures sync.WaitGroup
		erasures.Go(func() { e.erasureLoop(ictx) }) // customers' erasures (privacy_redact.go), stopped with intake
		e.intakeLoop(ictx)
		erasures.Wait()
	}()
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stopPublish, e.publishDone = stop, make(chan struct{})
	go func() {
		defer close(e.publishDone)
		e.publishLoop(pctx)
	}()
	bctx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	e.stopBeat, e.beatDone = stopBeat, make(chan struct{})
	go func() {
		defer close(e.beatDone)
		e.beatLoop(bctx)
	}()
	return nil
}

// Stop stops claiming new work, lets running syncs finish until ctx ends, and
// then cancels them (they are retried, never lost).
func (e *Engine) Stop(ctx context.Context) error {
	if e.stopPublish != nil {
		e.stopPublish()
		select {
		case <-e.publishDone:
		case <-ctx.Done():
		}
	}
	if e.stopIntake != nil {
		e.stopIntake()
		select {
		case <-e.intakeDone:
		case <-ctx.Done():
		}
	}
	// The replica beats until its jobs have ended: the others must not
	// take over what it still finishes.
	defer e.stopBeating(ctx)
	if err := e.river.Stop(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return e.river.StopAndCancel(context.WithoutCancel(ctx))
		}
		return fmt.Errorf("engine: stop queue: %w", err)
	}
	// What the ended syncs sent to Shopify, told to ShipBob.
	e.uploads.flushAll(ctx)
	return nil
}

func (e *Engine) stopBeating(ctx context.Context) {
	if e.stopBeat == nil {
		return
	}
	e.stopBeat()
	select {
	case <-e.beatDone:
	case <-ctx.Done():
	}
}

// Rules returns the sources of truth, from a snapshot at most RulesTTL old.
func (e *Engine) Rules(ctx context.Context) (rules.Rules, error) {
	e.rulesMu.Lock()
	defer e.rulesMu.Unlock()
	if !e.rulesAt.IsZero() && time.Since(e.rulesAt) < e.cfg.RulesTTL {
		return e.rulesVal, nil
	}
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return rules.Rules{}, err
	}
	e.rulesVal, e.rulesAt = rs, time.Now()
	return rs, nil
}

// rulesIn returns the sources of truth as tx sees them. The cached snapshot
// serves while its version is still the newest saved (one index lookup);
// otherwise the rules are read again in tx. A webhook stored just after an
// admin saved a rule is so planned under that rule, never under the snapshot
// from before it.
func (e *Engine) rulesIn(ctx context.Context, tx *store.Tx) (rules.Rules, error) {
	v, err := tx.SourceRulesVersion(ctx)
	if err != nil {
		return rules.Rules{}, err
	}
	e.rulesMu.Lock()
	cached, fresh := e.rulesVal, !e.rulesAt.IsZero() && time.Since(e.rulesAt) < e.cfg.RulesTTL
	e.rulesMu.Unlock()
	if fresh && cached.Version == v {
		return cached, nil
	}
	rs, err := tx.SourceRules(ctx)
	if err != nil {
		return rules.Rules{}, err
	}
	e.keepRules(rs)
	return rs, nil
}

// freshRules reads the sources of truth now, bypassing the snapshot.
func (e *Engine) freshRules(ctx context.Context) (rules.Rules, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return rules.Rules{}, err
	}
	e.keepRules(rs)
	return rs, nil
}

// keepRules makes rs the snapshot unless a newer one is kept already.
func (e *Engine) keepRules(rs rules.Rules) {
	e.rulesMu.Lock()
	defer e.rulesMu.Unlock()
	if rs.Version >= e.rulesVal.Version {
		e.rulesVal, e.rulesAt = rs, time.Now()
	}
}

// minLevel drops records below min, whatever the wrapped handler accepts.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
