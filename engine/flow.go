package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// A flow moves one family of data from one kind of system into another
// (Shopify orders into Odoo, Odoo stock levels into Shopify...). Each is a
// Flow value declared in its own file and listed once in Flows; the queue,
// the intake, the sweeps and the workers find everything they need of a flow
// there, so the engine's core names no flow.

// Flow is one registered flow.
type Flow struct {
	// Name is the flow's stored name: sync records and queued jobs in
	// databases hold it, so it is never renamed.
	Name   string
	Family vocab.Family
	// From and To are the kinds of system it reads from and writes to
	// (vocab.KindShopify, vocab.KindOdoo).
	From, To vocab.Kind
	// Topics are the webhook topics of From that Plan turns into its syncs;
	// none when only a sweep plans it.
	Topics []string
	Plan   planFunc
	// Sweep plans it on a schedule; nil when only webhooks do.
	Sweep *flowSweep
	// Lease names what one of its syncs writes to, so that two syncs never
	// write the same entity of a target at once (on any replica); "" takes
	// no lease.
	Lease func(target int64, entityRef string) string
	// Personal are the personal data its syncs carry, as plain field names
	// ("name", "email", "phone", "address"); empty when none.
	Personal []string
	// Run makes one attempt of one of its syncs.
	Run runFunc
}

// planFunc turns a webhook event into the flow's syncs (intake.go).
type planFunc func(e *Engine, rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan

// runFunc makes one attempt of a sync.
type runFunc func(e *Engine, ctx context.Context, s store.Sync) result

// The periodic jobs that run the sweeps: each runs the sweeps registered
// with it, in the order of Flows.
const (
	sweepJobStock   = "stock"   // SweepArgs (inventory.go): Odoo's stock, prices and deliveries
	sweepJobContent = "content" // ContentSweepArgs (sweep_content.go): customers and products
)

// flowSweep is the scheduled sweep that plans a flow.
type flowSweep struct {
	job string // sweepJobStock or sweepJobContent
	run func(e *Engine, ctx context.Context, trigger string, force bool) (int, error)
	// of names the flow whose sweep plans this one too (one read of the
	// source for every kind of target); run is then nil.
	of string
}

// Flows lists the flows Crossdock runs. Adding a flow is a file declaring
// its Flow and one line here.
func Flows() []Flow {
	return []Flow{
		ordersFlow(),
		refundsFlow(),
		customersFlow(),
		productsFlow(),
		productsOdooFlow(),
		stockLevelsFlow(),
		inventoryFlow(),
		pricesFlow(),
		fulfillmentsFlow(),
		payoutsFlow(),
		shipbobOrdersFlow(),
		shipbobShipmentsFlow(),
		shipbobStockFlow(),
		shipbobReturnsFlow(),
		quickbooksOrdersFlow(),
		quickbooksCustomersFlow(),
		quickbooksRefundsFlow(),
		quickbooksPayoutsFlow(),
		quickbooksStockFlow(),
		quickbooksPricesFlow(),
	}
}

// flowRegistry indexes Flows for the engine, built once on first use.
type flowRegistry struct {
	once    sync.Once
	list    []Flow
	byName  map[string]*Flow
	byTopic map[[2]string][]*Flow // (kind, topic): every flow a topic plans
	kinds   map[vocab.Kind]bool   // kinds whose webhooks plan some flow
}

// flows returns the engine's registry (built on first use, so that an
// Engine made without New has one too).
func (e *Engine) flows() *flowRegistry {
	r := &e.flowSet
	r.once.Do(func() {
		r.list = Flows()
		r.byName = make(map[string]*Flow, len(r.list))
		r.byTopic, r.kinds = map[[2]string][]*Flow{}, map[vocab.Kind]bool{}
		for i := range r.list {
			f := &r.list[i]
			r.byName[f.Name] = f
			for _, t := range f.Topics {
				k := [2]string{string(f.From), t}
				r.byTopic[k] = append(r.byTopic[k], f)
				r.kinds[f.From] = true
			}
		}
	})
	return r
}

// named returns the flow of a name; nil when none is registered.
func (r *flowRegistry) named(name string) *Flow { return r.byName[name] }

// lease is leaseFor through the registry.
func (r *flowRegistry) lease(flow string, target int64, entityRef string) string {
	if f := r.named(flow); f != nil {
		return f.Lease(target, entityRef)
	}
	return ""
}

// queue is syncQueue through the registry.
func (r *flowRegistry) queue(flow string) string {
	if f := r.named(flow); f != nil {
		return queueInto(f.To)
	}
	return queueSyncs
}

// lookupFlow finds a flow without an engine: it lists the flows again
// (some microseconds), so code that has an engine uses e.flows().
func lookupFlow(name string) (Flow, bool) {
	for _, f := range Flows() {
		if f.Name == name {
			return f, true
		}
	}
	return Flow{}, false
}

// leaseFor names what a sync of a flow writes to (Flow.Lease); "" for a
// flow that takes no lease or is not registered.
func leaseFor(flow string, target int64, entityRef string) string {
	if f, ok := lookupFlow(flow); ok {
		return f.Lease(target, entityRef)
	}
	return ""
}

// syncQueue is the queue of a flow's syncs, by the kind of system written to.
func syncQueue(flow string) string {
	if f, ok := lookupFlow(flow); ok {
		return queueInto(f.To)
	}
	return queueSyncs
}

// queueInto is the queue of syncs into a kind of system: Odoo's has a queue
// of its own, sized to what may call Odoo at once (its name is kept: jobs
// queued in databases hold it).
func queueInto(kind vocab.Kind) string {
	if q, ok := kindQueues[kind]; ok {
		return q
	}
	return queueSyncs
}

// kindQueues are the systems whose syncs have a queue of their own, sized to
// what each lets Crossdock call at once.
var kindQueues = map[vocab.Kind]string{
	vocab.KindOdoo:       queueSyncsOdoo,
	vocab.KindQuickBooks: queueSyncsQuickBooks,
	vocab.KindShipBob:    queueSyncsShipBob,
}

// leaseOn is the lease of flows whose syncs write one entity each:
// "order:<target>:<entity>".
func leaseOn(what string) func(target int64, entityRef string) string {
	return func(target int64, entityRef string) string {
		return fmt.Sprintf("%s:%d:%s", what, target, entityRef)
	}
}

// noLease is the lease of a flow whose syncs take turns some other way.
func noLease(int64, string) string { return "" }

// runSweeps runs the sweeps of one periodic job, each whatever the others
// meet. It returns how many syncs they queued.
func (e *Engine) runSweeps(ctx context.Context, job, trigger string, force bool) (int, error) {
	total := 0
	var errs []error
	for _, f := range e.flows().list {
		if f.Sweep != nil && f.Sweep.job == job && f.Sweep.run != nil {
			n, err := f.Sweep.run(e, ctx, trigger, force)
			total += n
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// verdict is what the sources of truth said as an attempt began.
type verdict struct {
	rs rules.Rules
	d  rules.Decision
	// refused are the reasons for the families refused of a sync that
	// carries several (prices and costs); the others went on.
	refused []string
}

// runSpec says how the syncs of a flow are run; runWith makes its Run.
type runSpec[Rec, C any] struct {
	// record names the payload in "The order recorded for this sync cannot
	// be read".
	record string
	// connect opens the client of the target system (Engine.odoo, Engine.shopify).
	connect func(e *Engine, ctx context.Context, id int64) (C, store.Connection, error)
	// fields, when set, are the product fields the flow can write: the
	// sources of truth decide them field by field.
	fields []string
	// decide, when set, replaces the decision on the sync's family; it runs
	// once the record is read, and may narrow it (prices and costs).
	decide func(e *Engine, ctx context.Context, s store.Sync, rec *Rec) (verdict, *result, error)
	// check, when set, may end the attempt before the target is connected.
	check func(e *Engine, ctx context.Context, s store.Sync, rec Rec) *result
	// body writes the record into the target.
	body func(e *Engine, ctx context.Context, s store.Sync, rec Rec, cl C, conn store.Connection, v verdict) result
}

// runWith is the opening every flow's attempt shares: the sources of truth
// decide whether the sync may write (a refusal is its result, never a
// write), its recorded payload is read, and the target's client is opened;
// then the flow's body runs. A body's result names the target system unless
// it names another.
func runWith[Rec, C any](spec runSpec[Rec, C]) runFunc {
	return func(e *Engine, ctx context.Context, s store.Sync) result {
		var v verdict
		if spec.decide == nil {
			var refused *result
			var err error
			if v, refused, err = e.decide(ctx, s, spec.fields); err != nil {
				return result{err: err}
			} else if refused != nil {
				return *refused
			}
		}
		var rec Rec
		if err := json.Unmarshal(s.Payload, &rec); err != nil {
			return result{err: fail(vocab.ClassInternal, "The "+spec.record+" recorded for this sync cannot be read: "+err.Error(), err)}
		}
		if spec.decide != nil {
			var refused *result
			var err error
			if v, refused, err = spec.decide(e, ctx, s, &rec); err != nil {
				return result{err: err}
			} else if refused != nil {
				return *refused
			}
		}
		if spec.check != nil {
			if r := spec.check(e, ctx, s, rec); r != nil {
				return *r
			}
		}
		cl, conn, err := spec.connect(e, ctx, s.TargetConnectionID)
		if err != nil {
			return result{err: err, system: conn.Name}
		}
		res := spec.body(e, ctx, s, rec, cl, conn, v)
		if res.system == "" {
			res.system = conn.Name
		}
		return res
	}
}
