package engine

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"crossdock/connectors/odoo"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// The core's API for the packages above it: reconciliation (engine/recon),
// alerts (engine/alert) and peak rehearsals (engine/rehearsal) run on the
// engine's queue and read the systems through its clients, but the core
// never imports them. Like River's AddWorker, a package above registers its
// queue, job kinds and periodic jobs on a built engine before Start, and
// its share of RunScheduledOnce (OnRound).

// AddQueue adds a queue of the engine's River client, working at most
// maxWorkers jobs at once on each replica. Call it before Start.
func (e *Engine) AddQueue(name string, maxWorkers int) error {
	if err := e.river.Queues().Add(name, river.QueueConfig{MaxWorkers: maxWorkers}); err != nil {
		return fmt.Errorf("engine: queue %s: %w", name, err)
	}
	return nil
}

// AddWorker registers the worker of a job kind on the engine's queue (as
// river.AddWorker). Call it before Start, and before inserting such a job.
// The running jobs of a replica that stops are taken over whatever their
// kind (takeover.go).
func AddWorker[T river.JobArgs](e *Engine, w river.Worker[T]) {
	river.AddWorker(e.workers, w)
}

// AddPeriodicJob adds a periodic job; River enqueues it on the elected
// leader only, so once across replicas. Call it before Start.
func (e *Engine) AddPeriodicJob(j *river.PeriodicJob) {
	e.river.PeriodicJobs().Add(j)
}

// InsertJobTx queues a job in the caller's transaction: the job exists if
// and only if the transaction commits.
func (e *Engine) InsertJobTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := e.river.InsertTx(ctx, tx.SQLTx(), args, opts)
	return err
}

// OnRound adds work to RunScheduledOnce, run after the core's own (intake,
// sweeps, syncs) in the order added: comparisons, then alerts.
func (e *Engine) OnRound(fn func(ctx context.Context, r *Round) error) {
	e.rounds = append(e.rounds, fn)
}

// Config returns the engine's configuration, defaults applied.
func (e *Engine) Config() Config { return e.cfg }

// SecretBox opens the connections' sealed secrets.
func (e *Engine) SecretBox() *secretbox.Box { return e.box }

// Beating calls beat every interval while fn runs, so that a long run shows
// a replica works on it (the stuck-work alert reads the beat).
func Beating(ctx context.Context, every time.Duration, beat func(context.Context) error, fn func(context.Context) error) error {
	return beating(ctx, every, beat, fn)
}

// TakenOver reports whether a job was handed over from a replica that
// stopped while running it: a long job then resumes where it was.
func TakenOver(job *rivertype.JobRow) bool { return takenOver(job) }

// Entity types of the mapping table.
const (
	EntityVariant  = entityVariant
	EntityLocation = entityLocation
)

// FlowStockLevels is the flow of Shopify's stock levels into Odoo.
const FlowStockLevels = flowStockLevels

// Targets lists the systems of a kind a family could be written into: its
// receivers of that kind or, when none is set up, every such system.
func Targets(rs rules.Rules, f vocab.Family, kind vocab.Kind) []int64 { return targets(rs, f, kind) }

// GIDTail is the numeric tail of a Shopify global id.
func GIDTail(gid string) string { return gidTail(gid) }

// QuantRow is a stock.quant as Odoo's search_read answers it.
type QuantRow = quantRow

// ProductSKUs reads the internal references (SKUs) of the quants'
// products, archived ones included.
func ProductSKUs(ctx context.Context, cl *odoo.Client, rows []QuantRow) (map[int]string, error) {
	return productSKUs(ctx, cl, rows)
}

// Plain says an error in a sentence a merchant can act on.
func Plain(err error) string { return plain(err) }

func plain(err error) string {
	f := classify(err, "The other system")
	if f.message != "" {
		return f.message
	}
	return err.Error()
}

// Capital starts a sentence.
func Capital(s string) string { return capital(s) }

// Or returns a unless it is blank, else b.
func Or(a, b string) string { return cmpStr(a, b) }

// Minutes says a duration in whole minutes ("1 minute", "12 minutes").
func Minutes(d time.Duration) string { return minutes(d) }

func minutes(d time.Duration) string {
	m := int(math.Round(d.Minutes()))
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// Decimal reads a Shopify decimal string; nil or unreadable is no value.
func Decimal(s *string) *float64 { return decimal(s) }

func decimal(s *string) *float64 {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	f, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil
	}
	return &f
}

// SourceValue is a value of the source of truth to send to another system:
// a discrepancy's fix. Kind is "stock" (OdooLocationID, Location, OnHand,
// Available) or "price" / "cost" (Price and Cost, of which the kind's is
// sent).
type SourceValue struct {
	Kind           string
	Source, Target int64
	SKU            string
	OdooProductID  int
	OdooLocationID int
	Location       string
	OnHand         float64
	Available      float64
	Price, Cost    float64
	// Message is the sync's first message.
	Message string
}

// QueueSourceValue queues in tx a manual sync of the usual flow (stock
// levels, or prices and costs) writing v into its target, with its own
// idempotency key: it writes even when Crossdock believes the value is
// already there. It returns the sync's id. The caller has checked the
// sources of truth and the person's write scope.
func (e *Engine) QueueSourceValue(ctx context.Context, tx *store.Tx, v SourceValue) (int64, error) {
	now := time.Now().UTC()
	s := store.NewSync{Direction: vocab.OdooToShopify, SourceConnectionID: v.Source, TargetConnectionID: v.Target, Trigger: store.TriggerManual,
		SearchKeys: []string{v.SKU}, SourceVersion: now, IdempotencyKey: newKey(), MaxAttempts: e.cfg.MaxAttempts, Message: v.Message}
	var lease string
	switch v.Kind {
	case "stock":
		s.Family, s.Flow, s.EntityType = vocab.Inventory, flowInventory, entityLevel
		s.EntityRef, s.EntityKey = fmt.Sprintf("location:%d", v.OdooLocationID), inventoryLabel(1, v.Location)
		s.Payload = inventoryBatch{OdooLocationID: v.OdooLocationID, OdooLocation: v.Location, Items: []quantIn{{ProductID: v.OdooProductID, SKU: v.SKU,
			Quantity: v.OnHand, Reserved: v.OnHand - v.Available, Version: now}}}
		lease = leaseFor(flowInventory, v.Target, s.EntityRef)
	case "price", "cost":
		fam := vocab.Prices
		if v.Kind == "cost" {
			fam = vocab.Costs
		}
		b := priceBatch{Prices: v.Kind == "price", Costs: v.Kind == "cost", Items: []priceIn{{ProductID: v.OdooProductID, SKU: v.SKU,
			Price: v.Price, Cost: v.Cost, Version: now}}}
		s.Family, s.Flow, s.EntityType = fam, flowPrices, entityPrices
		s.EntityRef, s.EntityKey, s.Payload = b.Items[0].ref(), batchLabel(b, 1), b
		lease = pricesLease(v.Target)
	default:
		return 0, fmt.Errorf("engine: no flow sends a %q value", v.Kind)
	}
	ids, err := e.insertSyncs(ctx, tx, []queued{{sync: s, lease: lease}})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}
