// Package recon compares what the systems believe — stock per location,
// prices and costs, orders and refunds present on both sides, and the
// records the mappings point to — lists the discrepancies, and resolves one
// by sending the source's value as a sync. It runs above the engine's core,
// on its queue.
package recon

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"crossdock/connectors/odoo"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shopify"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// Reconciliation: a run pulls a snapshot of one family from the master and
// from each receiver into PostgreSQL (Shopify through bulk exports, Odoo
// through search_read in pages), translating ids through the mappings as it
// stores them, and compares the snapshots with one set-based statement per
// pair of systems (store.Compare*). A run that fails, or a pair it could not
// pull, never closes a discrepancy: only a pair compared in full does.

const (
	queueRecon = "reconcile"
	reconPage  = 1000
	// snapshotBatch rows are copied into PostgreSQL at a time.
	snapshotBatch = 5000
)

// Config configures reconciliation. Zero values get the defaults in brackets.
type Config struct {
	// Grace leaves orders and refunds younger than this out of a
	// comparison: their syncs may still be on their way [1 h].
	Grace time.Duration
}

// Service runs reconciliations on the engine's queue: on the engine's
// schedule (its SweepTick; none with ManualSweepsOnly), when asked, and
// when a data family gets a source of truth.
type Service struct {
	e        *engine.Engine
	cfg      Config
	st       *store.Store
	log      *slog.Logger
	beat     time.Duration // the engine's ReplicaBeat: how often a run says it is alive
	quantity string        // the engine's InventoryQuantity: which Shopify quantity stock is compared on
}

// New adds reconciliation to a built engine, before it starts: its queue,
// its jobs, the scheduler's periodic tick, and its share of
// RunScheduledOnce (the due and queued comparisons, run in the caller).
func New(e *engine.Engine, cfg Config) (*Service, error) {
	cfg.Grace = cmp.Or(cfg.Grace, time.Hour)
	ec := e.Config()
	s := &Service{e: e, cfg: cfg, st: ec.Store, log: ec.Logger, beat: ec.ReplicaBeat, quantity: ec.InventoryQuantity}
	if err := e.AddQueue(queueRecon, 1); err != nil {
		return nil, err
	}
	engine.AddWorker(e, &worker{s: s})
	engine.AddWorker(e, &tickWorker{s: s})
	if !ec.ManualSweepsOnly {
		// River runs periodic jobs on the elected leader only, so one
		// replica queues each due run.
		e.AddPeriodicJob(river.NewPeriodicJob(river.PeriodicInterval(ec.SweepTick), func() (river.JobArgs, *river.InsertOpts) {
			return TickArgs{}, &river.InsertOpts{Queue: queueRecon, MaxAttempts: 1}
		}, &river.PeriodicJobOpts{ID: "reconcile_tick"}))
	}
	e.OnRound(s.round)
	return s, nil
}

// Args is the queue job of one reconciliation run.
type Args struct {
	RunID int64 `json:"run_id"`
}

// Kind is the job kind in River's table.
func (Args) Kind() string { return "crossdock_reconcile" }

// TickArgs is the periodic job that queues the reconciliations that are due.
type TickArgs struct{}

// Kind is the job kind in River's table.
func (TickArgs) Kind() string { return "crossdock_reconcile_tick" }

type worker struct {
	river.WorkerDefaults[Args]
	s *Service
}

// Timeout: a snapshot of a large shop takes minutes, not the sync timeout.
func (w *worker) Timeout(*river.Job[Args]) time.Duration { return time.Hour }

func (w *worker) Work(ctx context.Context, job *river.Job[Args]) error {
	_, err := w.s.run(ctx, job.Args.RunID, engine.TakenOver(job.JobRow))
	return err
}

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	s *Service
}

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error { return w.s.tick(ctx) }

// tick queues the comparisons that are due.
func (s *Service) tick(ctx context.Context) error {
	rs, err := s.st.SourceRules(ctx)
	if err != nil {
		return err
	}
	fs, err := s.st.ClaimDueReconFamilies(ctx, eligibleRecon(rs))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fs {
		if _, err := s.RequestReconciliation(ctx, f, "schedule", "Crossdock (schedule)"); err != nil && !errors.Is(err, store.ErrRunLive) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// round is reconciliation's share of RunScheduledOnce: the scheduler's
// tick, then every comparison waiting or running, run here.
func (s *Service) round(ctx context.Context, r *engine.Round) error {
	var errs []error
	if err := s.tick(ctx); err != nil {
		errs = append(errs, err)
	}
	runs, _, err := s.st.ListReconRuns(ctx, store.ReconRunFilter{Limit: 100})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, run := range runs {
		if run.Ended() {
			continue
		}
		if _, err := s.Reconcile(ctx, run.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Compared++
	}
	return errors.Join(errs...)
}

// RequestReconciliation queues a run of family. When one is already waiting
// or running it returns that run and store.ErrRunLive.
func (s *Service) RequestReconciliation(ctx context.Context, family, trigger, by string) (store.ReconRun, error) {
	if !slices.Contains(store.ReconFamilies, family) {
		return store.ReconRun{}, fmt.Errorf("recon: no reconciliation of %q", family)
	}
	var run store.ReconRun
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		run, err = tx.CreateReconRun(ctx, family, trigger, by)
		if err != nil {
			return err
		}
		return s.e.InsertJobTx(ctx, tx, Args{RunID: run.ID}, &river.InsertOpts{Queue: queueRecon, MaxAttempts: 3})
	})
	return run, err
}

// pairFailure is a pair of systems a run could not compare.
type pairFailure struct {
	other int64
	err   error
}

// Reconcile runs a queued run now (the worker calls it; tests too).
func (s *Service) Reconcile(ctx context.Context, runID int64) (store.ReconRun, error) {
	return s.run(ctx, runID, false)
}

// run runs a run; resume is set when its job was taken over from a
// replica that stopped while running it: the run goes on from the
// snapshots it had pulled in full, and says it resumed after a restart.
// While it runs, it beats (the stuck-work alert reads the beat).
func (s *Service) run(ctx context.Context, runID int64, resume bool) (store.ReconRun, error) {
	run, err := s.st.StartReconRun(ctx, runID)
	if errors.Is(err, store.ErrSyncDone) && resume {
		run, err = s.st.ResumeReconRun(ctx, runID)
	}
	if errors.Is(err, store.ErrSyncDone) {
		return s.st.ReconRunByID(ctx, runID)
	}
	if err != nil {
		return run, err
	}
	var out store.RunOutcome
	_ = engine.Beating(ctx, s.beat, func(ctx context.Context) error { return s.st.BeatReconRun(ctx, runID) },
		func(ctx context.Context) error {
			out = s.reconcile(ctx, run)
			return nil
		})
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return s.st.FinishReconRun(fctx, run, out)
}

func (s *Service) reconcile(ctx context.Context, run store.ReconRun) (out store.RunOutcome) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("reconciliation panicked", "run_id", run.ID, "panic", p)
			out = store.RunOutcome{Status: store.RunFailed, Message: fmt.Sprintf("Crossdock hit an internal error: %v", p)}
		}
	}()
	rs, err := s.st.SourceRules(ctx)
	if err != nil {
		return failed(err, "the sources of truth could not be read")
	}
	switch run.Family {
	case store.ReconMappings:
		return s.reconcileMappings(ctx, run, rs)
	case store.ReconWarehouse:
		return s.compareWarehouse(ctx, run)
	case store.ReconWarehouseStock:
		return s.compareWarehouseStock(ctx, run, rs)
	}
	fam := map[string]vocab.Family{store.ReconInventory: vocab.Inventory, store.ReconPrices: vocab.Prices,
		store.ReconOrders: vocab.Orders, store.ReconRefunds: vocab.Refunds, store.ReconPayouts: vocab.Payouts}[run.Family]
	rule := rs.Rule(fam)
	master, ok := rs.Conn(rule.Master)
	if !ok {
		return store.RunOutcome{Status: store.RunFailed, Message: fmt.Sprintf(
			"No system decides %s yet, so there is nothing to compare against. Name one on the Sources of truth page.", fam.Noun())}
	}
	wantMaster, wantOther := vocab.KindOdoo, vocab.KindShopify
	if fam == vocab.Orders || fam == vocab.Refunds || fam == vocab.Payouts {
		wantMaster, wantOther = vocab.KindShopify, vocab.KindOdoo
	}
	if fam == vocab.Prices && master.Kind == vocab.KindQuickBooks {
		// QuickBooks' items carry a sales price and a purchase cost: they are
		// compared, and make the finance review, as Odoo's products do.
		wantMaster = vocab.KindQuickBooks
	}
	if master.Kind != wantMaster {
		return store.RunOutcome{Status: store.RunFailed, Message: fmt.Sprintf(
			"Crossdock compares %s when %s decides them; %s decides them here.", fam.Noun(), kindName(wantMaster), master.Name)}
	}
	var others []rules.ConnInfo
	for _, rc := range rule.Receivers {
		// Payouts are compared with the deposits of QuickBooks too: the
		// payouts flow records the deposit it made there as Odoo's found.
		if c, ok := rs.Conn(rc.ConnectionID); ok && (c.Kind == wantOther || fam == vocab.Payouts && c.Kind == vocab.KindQuickBooks) {
			others = append(others, c)
		}
	}
	if len(others) == 0 {
		which := kindName(wantOther) + " system"
		if fam == vocab.Payouts {
			which = "accounting system (Odoo or QuickBooks)"
		}
		return store.RunOutcome{Status: store.RunFailed, Message: fmt.Sprintf(
			"No %s receives %s from %s, so there is nothing to compare.", which, fam.Noun(), master.Name)}
	}
	start := time.Now()
	if run.Family == store.ReconPayouts {
		return s.comparePayouts(ctx, run, master, others, start)
	}
	if err := s.pullStep(ctx, run, master.ID, func() error { return s.pullSnapshot(ctx, run, master) }); err != nil {
		return failed(err, fmt.Sprintf("%s could not be read from %s", fam.Noun(), master.Name))
	}
	var res store.CompareResult
	var fails []pairFailure
	var closePairs []int64
	for _, o := range others {
		if err := s.pullStep(ctx, run, o.ID, func() error { return s.pullSnapshot(ctx, run, o) }); err != nil {
			fails = append(fails, pairFailure{o.ID, fmt.Errorf("%s could not be read from %s: %w", fam.Noun(), o.Name, err)})
			continue
		}
		var r store.CompareResult
		switch run.Family {
		case store.ReconInventory:
			r, err = s.st.CompareInventory(ctx, run.ID, master.ID, o.ID, s.quantity)
		case store.ReconPrices:
			r, err = s.st.ComparePrices(ctx, run.ID, master.ID, o.ID)
		case store.ReconOrders:
			r, err = s.st.CompareOrders(ctx, run.ID, master.ID, o.ID, start.Add(-s.cfg.Grace))
		case store.ReconRefunds:
			r, err = s.st.CompareRefunds(ctx, run.ID, master.ID, o.ID, start.Add(-s.cfg.Grace))
		}
		if err != nil {
			fails = append(fails, pairFailure{o.ID, fmt.Errorf("%s of %s and %s could not be compared: %w", fam.Noun(), master.Name, o.Name, err)})
			continue
		}
		res.Compared += r.Compared
		res.Differing += r.Differing
		res.Opened += r.Opened
		res.NotComparable = append(res.NotComparable, r.NotComparable...)
		closePairs = append(closePairs, o.ID)
	}
	out = outcome(res, fails, closePairs, len(others))
	if run.Family == store.ReconPrices && len(closePairs) > 0 {
		out.Problems = append(out.Problems, s.buildFinanceReview(ctx, run, master, closePairs, others)...)
	}
	return out
}

// buildFinanceReview computes the finance review of a prices run, against
// the first Shopify store compared: the review (and finance's decisions) is
// per variant. What it could not do is said as run problems; the
// comparison itself stands.
func (s *Service) buildFinanceReview(ctx context.Context, run store.ReconRun, master rules.ConnInfo, compared []int64, others []rules.ConnInfo) []store.RunProblem {
	shop := compared[0]
	if _, err := s.st.BuildFinanceReview(ctx, run.ID, master.ID, shop); err != nil {
		s.log.Error("finance review not built", "run_id", run.ID, "error", err)
		return []store.RunProblem{{What: "The finance review was not updated",
			Why: "It still shows the previous comparison. " + engine.Plain(err)}}
	}
	if len(compared) < 2 {
		return nil
	}
	name := ""
	for _, o := range others {
		if o.ID == shop {
			name = o.Name
		}
	}
	return []store.RunProblem{{What: "The finance review shows one store",
		Why: fmt.Sprintf("It compares Odoo with %s only; the prices of the %d other stores are compared in the discrepancies.", name, len(compared)-1)}}
}

// reconcileMappings checks, for every Shopify and Odoo connection, that the
// variants and locations the mappings point to still exist.
func (s *Service) reconcileMappings(ctx context.Context, run store.ReconRun, rs rules.Rules) store.RunOutcome {
	conns, err := s.st.ListConnections(ctx)
	if err != nil {
		return failed(err, "the connections could not be read")
	}
	var res store.CompareResult
	var fails []pairFailure
	var closePairs []int64
	n := 0
	for _, c := range conns {
		if !c.Enabled || (c.Kind != vocab.KindShopify && c.Kind != vocab.KindOdoo) {
			continue
		}
		n++
		if err := s.pullStep(ctx, run, c.ID, func() error { return s.pullRecords(ctx, run, c) }); err != nil {
			fails = append(fails, pairFailure{c.ID, fmt.Errorf("the records of %s could not be read: %w", c.Name, err)})
			continue
		}
		r, err := s.st.CheckMappings(ctx, run.ID, c.ID)
		if err != nil {
			fails = append(fails, pairFailure{c.ID, err})
			continue
		}
		res.Compared += r.Compared
		res.Differing += r.Differing
		res.Opened += r.Opened
		closePairs = append(closePairs, c.ID)
	}
	if n == 0 {
		return store.RunOutcome{Status: store.RunFailed, Message: "There is no enabled Shopify or Odoo connection to check."}
	}
	return outcome(res, fails, closePairs, n)
}

func outcome(res store.CompareResult, fails []pairFailure, closePairs []int64, pairs int) store.RunOutcome {
	out := store.RunOutcome{Status: store.RunSucceeded, Result: res, ClosePairs: closePairs}
	for _, f := range fails {
		out.Problems = append(out.Problems, store.RunProblem{What: "A comparison was left out", Why: engine.Plain(f.err)})
	}
	switch {
	case len(fails) == pairs:
		out.Status, out.ClosePairs = store.RunFailed, nil
		out.Message = "Nothing could be compared; open discrepancies stay as they were. " + engine.Plain(fails[0].err)
	case len(fails) > 0:
		out.Status = store.RunPartial
		out.Message = fmt.Sprintf("%d of %d comparisons could not be made; their open discrepancies stay as they were.", len(fails), pairs)
	default:
		out.Message = fmt.Sprintf("%d compared, %d differ.", res.Compared, res.Differing)
	}
	return out
}

func failed(err error, what string) store.RunOutcome {
	return store.RunOutcome{Status: store.RunFailed, Message: engine.Capital(what) + "; open discrepancies stay as they were. " + engine.Plain(err),
		Problems: []store.RunProblem{{What: engine.Capital(what), Why: engine.Plain(err)}}}
}

func kindName(k vocab.Kind) string {
	switch k {
	case vocab.KindShopify:
		return "Shopify"
	case vocab.KindQuickBooks:
		return "QuickBooks"
	}
	return "Odoo"
}

// ---- snapshots ----

// pullStep pulls one connection's snapshot as one step of a run: a snapshot
// the run has in full (before a restart) is kept; otherwise what part of it
// there is goes, and it is pulled again.
func (s *Service) pullStep(ctx context.Context, run store.ReconRun, connID int64, pull func() error) error {
	if slices.Contains(run.Pulled, connID) {
		return nil
	}
	if err := s.st.ClearSnapshot(ctx, run.ID, connID); err != nil {
		return err
	}
	if err := pull(); err != nil {
		return err
	}
	return s.st.MarkSnapshotPulled(ctx, run.ID, connID)
}

func (s *Service) pullSnapshot(ctx context.Context, run store.ReconRun, c rules.ConnInfo) error {
	switch {
	case c.Kind == vocab.KindOdoo && run.Family == store.ReconInventory:
		return s.odooStock(ctx, run, c.ID)
	case c.Kind == vocab.KindShopify && run.Family == store.ReconInventory:
		return s.shopifyStock(ctx, run, c.ID)
	case c.Kind == vocab.KindOdoo && run.Family == store.ReconPrices:
		return s.odooPrices(ctx, run, c.ID)
	case c.Kind == vocab.KindShopify && run.Family == store.ReconPrices:
		return s.shopifyPrices(ctx, run, c.ID)
	case c.Kind == vocab.KindQuickBooks && run.Family == store.ReconPrices:
		return s.quickbooksPrices(ctx, run, c.ID)
	case c.Kind == vocab.KindShopify && (run.Family == store.ReconOrders || run.Family == store.ReconRefunds):
		return s.shopifyOrders(ctx, run, c.ID)
	case c.Kind == vocab.KindOdoo && run.Family == store.ReconOrders:
		return s.odooOrders(ctx, run, c.ID)
	case c.Kind == vocab.KindOdoo && run.Family == store.ReconRefunds:
		return s.odooCreditNotes(ctx, run, c.ID)
	}
	return fmt.Errorf("recon: no %s snapshot for %s", run.Family, c.Kind)
}

// bulkExport runs a Shopify bulk query and streams its lines to fn.
func (s *Service) bulkExport(ctx context.Context, connID int64, query string, fn func(line []byte) error) error {
	cl, _, err := s.e.ShopifyClient(ctx, connID)
	if err != nil {
		return err
	}
	op, err := cl.RunBulkQuery(ctx, query)
	if err != nil {
		return err
	}
	op, err = cl.WaitBulk(ctx, op.ID, 250*time.Millisecond)
	if err != nil {
		return err
	}
	if op.URL == "" { // nothing to export
		return nil
	}
	return cl.StreamJSONL(ctx, op.URL, fn)
}

// batcher collects rows and stores them snapshotBatch at a time.
type batcher[T any] struct {
	rows  []T
	flush func([]T) error
}

func (b *batcher[T]) add(r T) error {
	b.rows = append(b.rows, r)
	if len(b.rows) >= snapshotBatch {
		return b.done()
	}
	return nil
}

func (b *batcher[T]) done() error {
	if len(b.rows) == 0 {
		return nil
	}
	err := b.flush(b.rows)
	b.rows = b.rows[:0]
	return err
}

const stockBulkQuery = `{
  locations {
    edges {
      node {
        id
        name
        inventoryLevels {
          edges {
            node {
              quantities(names: ["available", "on_hand"]) { name quantity }
              item { variant { id sku } }
            }
          }
        }
      }
    }
  }
}`

func (s *Service) shopifyStock(ctx context.Context, run store.ReconRun, connID int64) error {
	names := map[string]string{}
	b := &batcher[store.StockRow]{flush: func(rs []store.StockRow) error { return s.st.AddStockSnapshot(ctx, run.ID, connID, rs) }}
	err := s.bulkExport(ctx, connID, stockBulkQuery, func(line []byte) error {
		var row struct {
			ID         string `json:"id"`
			Name       string `json:"name"`
			Quantities []struct {
				Name     string `json:"name"`
				Quantity int64  `json:"quantity"`
			} `json:"quantities"`
			Item *struct {
				Variant *struct {
					ID  string `json:"id"`
					SKU string `json:"sku"`
				} `json:"variant"`
			} `json:"item"`
			ParentID string `json:"__parentId"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return fmt.Errorf("recon: Shopify export line: %w", err)
		}
		if row.ParentID == "" {
			names[row.ID] = row.Name
			return nil
		}
		if row.Item == nil || row.Item.Variant == nil {
			return nil // an inventory item without a variant is not sold
		}
		r := store.StockRow{VariantRef: row.Item.Variant.ID, LocationRef: row.ParentID, Label: row.Item.Variant.SKU, Location: names[row.ParentID]}
		for _, q := range row.Quantities {
			switch q.Name {
			case "available":
				r.Available = float64(q.Quantity)
			case "on_hand":
				r.OnHand = float64(q.Quantity)
			}
		}
		return b.add(r)
	})
	if err != nil {
		return err
	}
	return b.done()
}

func (s *Service) odooStock(ctx context.Context, run store.ReconRun, connID int64) error {
	cl, _, err := s.e.OdooClient(ctx, connID)
	if err != nil {
		return err
	}
	locs, err := cl.Locations(ctx)
	if err != nil {
		return err
	}
	locName := map[int]string{}
	for _, l := range locs {
		locName[l.ID] = engine.Or(l.CompleteName, l.Name)
	}
	for after := 0; ; {
		var rows []engine.QuantRow
		err := cl.Call(ctx, "stock.quant", "search_read", []any{[]any{[]any{"location_id.usage", "=", "internal"}, []any{"id", ">", after}}},
			map[string]any{"fields": []string{"id", "product_id", "location_id", "quantity", "reserved_quantity"}, "order": "id asc", "limit": reconPage}, &rows)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		skus, err := engine.ProductSKUs(ctx, cl, rows)
		if err != nil {
			return err
		}
		out := make([]store.StockRow, len(rows))
		for i, r := range rows {
			out[i] = store.StockRow{VariantRef: strconv.Itoa(r.Product.ID), LocationRef: strconv.Itoa(r.Location.ID),
				Label: engine.Or(skus[r.Product.ID], r.Product.Name), Location: engine.Or(locName[r.Location.ID], r.Location.Name),
				OnHand: r.Quantity, Available: r.Quantity - r.Reserved}
		}
		if err := s.st.AddStockSnapshot(ctx, run.ID, connID, out); err != nil {
			return err
		}
		if len(rows) < reconPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// pricesBulkQuery exports products with their collections and variants:
// nested connections come as lines of their own whose __parentId is the
// product, before or after other products' lines.
const pricesBulkQuery = `{
  products {
    edges {
      node {
        id
        collections {
          edges {
            node {
              id
              title
            }
          }
        }
        variants {
          edges {
            node {
              id
              sku
              price
              compareAtPrice
              inventoryItem { unitCost { amount currencyCode } }
            }
          }
        }
      }
    }
  }
}`

func (s *Service) shopifyPrices(ctx context.Context, run store.ReconRun, connID int64) error {
	cl, _, err := s.e.ShopifyClient(ctx, connID)
	if err != nil {
		return err
	}
	shop, err := cl.Shop(ctx)
	if err != nil {
		return err
	}
	b := &batcher[store.PriceRow]{flush: func(rs []store.PriceRow) error { return s.st.AddPriceSnapshot(ctx, run.ID, connID, rs) }}
	cb := &batcher[store.CollectionRow]{flush: func(rs []store.CollectionRow) error { return s.st.AddCollectionSnapshot(ctx, run.ID, connID, rs) }}
	err = s.bulkExport(ctx, connID, pricesBulkQuery, func(line []byte) error {
		var row struct {
			ID             string  `json:"id"`
			Title          string  `json:"title"`
			SKU            string  `json:"sku"`
			Price          *string `json:"price"`
			CompareAtPrice *string `json:"compareAtPrice"`
			InventoryItem  *struct {
				UnitCost *struct {
					Amount       string `json:"amount"`
					CurrencyCode string `json:"currencyCode"`
				} `json:"unitCost"`
			} `json:"inventoryItem"`
			ParentID string `json:"__parentId"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return fmt.Errorf("recon: Shopify export line: %w", err)
		}
		switch {
		case row.ParentID == "": // a product: its children say what is needed
			return nil
		case strings.HasPrefix(row.ID, "gid://shopify/Collection/"):
			return cb.add(store.CollectionRow{ProductRef: row.ParentID, CollectionRef: row.ID, Title: row.Title})
		}
		r := store.PriceRow{VariantRef: row.ID, ProductRef: row.ParentID, Label: row.SKU, Currency: shop.CurrencyCode,
			Price: engine.Decimal(row.Price), CompareAt: engine.Decimal(row.CompareAtPrice)}
		if row.InventoryItem != nil && row.InventoryItem.UnitCost != nil {
			r.Cost, r.CostCurrency = engine.Decimal(&row.InventoryItem.UnitCost.Amount), row.InventoryItem.UnitCost.CurrencyCode
		}
		return b.add(r)
	})
	if err != nil {
		return err
	}
	return errors.Join(b.done(), cb.done())
}

func (s *Service) odooPrices(ctx context.Context, run store.ReconRun, connID int64) error {
	cl, _, err := s.e.OdooClient(ctx, connID)
	if err != nil {
		return err
	}
	for after := 0; ; {
		ps, err := cl.Products(ctx, []any{[]any{"id", ">", after}}, 0, reconPage)
		if err != nil {
			return err
		}
		out := make([]store.PriceRow, len(ps))
		for i, p := range ps {
			price, cost := p.ListPrice, p.StandardPrice
			out[i] = store.PriceRow{VariantRef: strconv.Itoa(p.ID), Label: engine.Or(p.DefaultCode, p.Name), Price: &price, Cost: &cost,
				Currency: p.Currency, CostCurrency: p.CostCurrency}
		}
		if err := s.st.AddPriceSnapshot(ctx, run.ID, connID, out); err != nil {
			return err
		}
		if len(ps) < reconPage {
			return nil
		}
		after = ps[len(ps)-1].ID
	}
}

// quickbooksPrices reads every active item of a QuickBooks company: its
// sales price (UnitPrice) and purchase cost (PurchaseCost), in the
// company's home currency. A cost of 0 is no cost, as Odoo's is.
func (s *Service) quickbooksPrices(ctx context.Context, run store.ReconRun, connID int64) error {
	cl, _, err := s.e.QuickBooksClient(ctx, connID)
	if err != nil {
		return err
	}
	prefs, err := cl.Preferences(ctx)
	if err != nil {
		return err
	}
	currency := prefs.CurrencyPrefs.HomeCurrency.Value
	for start := 1; ; start += quickbooks.CDCLimit {
		items, err := cl.Items(ctx, start, quickbooks.CDCLimit)
		if err != nil {
			return err
		}
		out := make([]store.PriceRow, 0, len(items))
		for _, it := range items {
			if it.Type == "Category" {
				continue
			}
			price, cost := it.UnitPrice, it.PurchaseCost
			out = append(out, store.PriceRow{VariantRef: it.ID, Label: engine.Or(strings.TrimSpace(it.Sku), it.Name), Price: &price, Cost: &cost,
				Currency: currency, CostCurrency: currency})
		}
		if err := s.st.AddPriceSnapshot(ctx, run.ID, connID, out); err != nil {
			return err
		}
		if len(items) < quickbooks.CDCLimit {
			return nil
		}
	}
}

const ordersBulkQuery = `{
  orders {
    edges {
      node {
        id
        name
        createdAt
        currencyCode
        totalPriceSet { shopMoney { amount currencyCode } }
        refunds { id createdAt totalRefundedSet { shopMoney { amount } } }
      }
    }
  }
}`

// shopifyOrders exports every order with its refunds, for both the orders
// and the refunds comparison.
func (s *Service) shopifyOrders(ctx context.Context, run store.ReconRun, connID int64) error {
	ob := &batcher[store.OrderRow]{flush: func(rs []store.OrderRow) error { return s.st.AddOrderSnapshot(ctx, run.ID, connID, rs) }}
	rb := &batcher[store.RefundRow]{flush: func(rs []store.RefundRow) error { return s.st.AddRefundSnapshot(ctx, run.ID, connID, rs) }}
	err := s.bulkExport(ctx, connID, ordersBulkQuery, func(line []byte) error {
		var row struct {
			ID            string    `json:"id"`
			Name          string    `json:"name"`
			CreatedAt     time.Time `json:"createdAt"`
			CurrencyCode  string    `json:"currencyCode"`
			TotalPriceSet struct {
				ShopMoney shopify.Money `json:"shopMoney"`
			} `json:"totalPriceSet"`
			Refunds []struct {
				ID               string    `json:"id"`
				CreatedAt        time.Time `json:"createdAt"`
				TotalRefundedSet struct {
					ShopMoney shopify.Money `json:"shopMoney"`
				} `json:"totalRefundedSet"`
			} `json:"refunds"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return fmt.Errorf("recon: Shopify export line: %w", err)
		}
		amount := row.TotalPriceSet.ShopMoney.Amount
		if run.Family == store.ReconOrders {
			return ob.add(store.OrderRow{OrderRef: row.ID, Label: row.Name, Total: engine.Decimal(&amount),
				Currency: engine.Or(row.TotalPriceSet.ShopMoney.CurrencyCode, row.CurrencyCode), CreatedAt: row.CreatedAt})
		}
		for _, r := range row.Refunds {
			a := r.TotalRefundedSet.ShopMoney.Amount
			if err := rb.add(store.RefundRow{RefundRef: r.ID, OrderRef: row.ID, Label: row.Name, Amount: engine.Decimal(&a), CreatedAt: r.CreatedAt}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(ob.done(), rb.done())
}

func (s *Service) odooOrders(ctx context.Context, run store.ReconRun, connID int64) error {
	cl, _, err := s.e.OdooClient(ctx, connID)
	if err != nil {
		return err
	}
	for after := 0; ; {
		var rows []struct {
			ID     int     `json:"id"`
			Name   any     `json:"name"`
			Ref    any     `json:"client_order_ref"`
			Total  float64 `json:"amount_total"`
			Status any     `json:"state"`
		}
		err := cl.Call(ctx, "sale.order", "search_read", []any{[]any{[]any{"client_order_ref", "=like", "gid://shopify/Order/%"}, []any{"id", ">", after}}},
			map[string]any{"fields": []string{"id", "name", "client_order_ref", "amount_total", "state"}, "order": "id asc", "limit": reconPage}, &rows)
		if err != nil {
			return err
		}
		out := make([]store.OrderRow, 0, len(rows))
		for _, r := range rows {
			ref, _ := r.Ref.(string)
			name, _ := r.Name.(string)
			if st, _ := r.Status.(string); st == "cancel" || ref == "" {
				continue
			}
			total := r.Total
			out = append(out, store.OrderRow{OrderRef: ref, Label: name, Total: &total})
		}
		if err := s.st.AddOrderSnapshot(ctx, run.ID, connID, out); err != nil {
			return err
		}
		if len(rows) < reconPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

func (s *Service) odooCreditNotes(ctx context.Context, run store.ReconRun, connID int64) error {
	cl, _, err := s.e.OdooClient(ctx, connID)
	if err != nil {
		return err
	}
	for after := 0; ; {
		var rows []struct {
			ID    int     `json:"id"`
			Ref   any     `json:"ref"`
			Total float64 `json:"amount_total"`
		}
		err := cl.Call(ctx, "account.move", "search_read", []any{[]any{[]any{"move_type", "=", "out_refund"},
			[]any{"ref", "=like", "gid://shopify/Refund/%"}, []any{"id", ">", after}}},
			map[string]any{"fields": []string{"id", "ref", "amount_total"}, "order": "id asc", "limit": reconPage}, &rows)
		if err != nil {
			return err
		}
		out := make([]store.RefundRow, 0, len(rows))
		for _, r := range rows {
			if ref, _ := r.Ref.(string); ref != "" {
				total := r.Total
				out = append(out, store.RefundRow{RefundRef: ref, Amount: &total})
			}
		}
		if err := s.st.AddRefundSnapshot(ctx, run.ID, connID, out); err != nil {
			return err
		}
		if len(rows) < reconPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

const recordsBulkQuery = `{ productVariants { edges { node { id } } } }`

// pullRecords stores the ids of the variants and locations a connection has.
func (s *Service) pullRecords(ctx context.Context, run store.ReconRun, c store.Connection) error {
	var locIDs []string
	switch c.Kind {
	case vocab.KindShopify:
		b := &batcher[string]{flush: func(ids []string) error { return s.st.AddRecordSnapshot(ctx, run.ID, c.ID, engine.EntityVariant, ids) }}
		err := s.bulkExport(ctx, c.ID, recordsBulkQuery, func(line []byte) error {
			var row struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				return fmt.Errorf("recon: Shopify export line: %w", err)
			}
			return b.add(row.ID)
		})
		if err == nil {
			err = b.done()
		}
		if err != nil {
			return err
		}
		cl, _, err := s.e.ShopifyClient(ctx, c.ID)
		if err != nil {
			return err
		}
		locs, err := cl.Locations(ctx)
		if err != nil {
			return err
		}
		for _, l := range locs {
			locIDs = append(locIDs, l.ID)
		}
	case vocab.KindOdoo:
		cl, _, err := s.e.OdooClient(ctx, c.ID)
		if err != nil {
			return err
		}
		for after := 0; ; {
			var rows []struct {
				ID int `json:"id"`
			}
			// Archived products still exist: a mapping to one is not broken.
			err := cl.Call(ctx, "product.product", "search_read", []any{[]any{[]any{"id", ">", after}}},
				map[string]any{"fields": []string{"id"}, "order": "id asc", "limit": reconPage * 5, "context": map[string]any{"active_test": false}}, &rows)
			if err != nil {
				return err
			}
			ids := make([]string, len(rows))
			for i, r := range rows {
				ids[i] = strconv.Itoa(r.ID)
			}
			if err := s.st.AddRecordSnapshot(ctx, run.ID, c.ID, engine.EntityVariant, ids); err != nil {
				return err
			}
			if len(rows) < reconPage*5 {
				break
			}
			after = rows[len(rows)-1].ID
		}
		locs, err := odooAllLocations(ctx, cl)
		if err != nil {
			return err
		}
		locIDs = locs
	}
	return s.st.AddRecordSnapshot(ctx, run.ID, c.ID, engine.EntityLocation, locIDs)
}

// odooAllLocations lists every stock location id, archived ones too.
func odooAllLocations(ctx context.Context, cl *odoo.Client) ([]string, error) {
	var rows []struct {
		ID int `json:"id"`
	}
	if err := cl.Call(ctx, "stock.location", "search_read", []any{[]any{}}, map[string]any{"fields": []string{"id"},
		"context": map[string]any{"active_test": false}}, &rows); err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strconv.Itoa(r.ID)
	}
	return out, nil
}
