package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The safety sweeps of the customers and products flows: webhooks are not a
// delivery guarantee, so every Shopify system that decides customers (or
// product fields) is asked, every SweepMinutes of the family's rule, for
// what changed since its last sweep. What it answers goes through the same
// high-water marks as the webhooks: a version a webhook already brought is
// dropped, a missed one becomes a sync with trigger "sweep".
const (
	cursorCustomers = "shopify_customers"
	cursorProducts  = "shopify_products"
	customersPage   = 250
	productsPage    = 10
)

// ContentSweepArgs is the periodic job that runs the customers and products
// sweeps that are due.
type ContentSweepArgs struct {
	// Force runs the sweeps even when their interval has not passed (manual).
	Force bool `json:"force,omitempty"`
}

// Kind is the job kind in River's table.
func (ContentSweepArgs) Kind() string { return "crossdock_content_sweep" }

func contentSweepOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: queueSweeps, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

type contentSweepWorker struct {
	river.WorkerDefaults[ContentSweepArgs]
	e *Engine
}

func (w *contentSweepWorker) Work(ctx context.Context, job *river.Job[ContentSweepArgs]) error {
	trigger := store.TriggerSweep
	if job.Args.Force {
		trigger = store.TriggerManual
	}
	_, err := w.e.SweepCustomers(ctx, trigger, job.Args.Force)
	_, perr := w.e.SweepProducts(ctx, trigger, job.Args.Force)
	_, oerr := w.e.SweepOdooProducts(ctx, trigger, job.Args.Force)
	return errors.Join(err, perr, oerr)
}

// contentSweepJob is the periodic job registered by New.
func contentSweepJob(every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return ContentSweepArgs{}, contentSweepOpts()
	}, &river.PeriodicJobOpts{ID: "content_sweep", RunOnStart: true})
}

// RequestContentSweep queues the customers and products sweeps now,
// whatever their schedule.
func (e *Engine) RequestContentSweep(ctx context.Context) error {
	_, err := e.river.Insert(ctx, ContentSweepArgs{Force: true}, contentSweepOpts())
	return err
}

// shopifySources lists the enabled Shopify systems whose changes of family
// could go to an Odoo receiver, with those receivers.
func shopifySources(rs rules.Rules, f vocab.Family, allowed func(src, tgt int64) bool) map[int64][]int64 {
	out := map[int64][]int64{}
	for _, c := range rs.Connections {
		if c.Kind != vocab.KindShopify || !c.Enabled {
			continue
		}
		for _, t := range targets(rs, f, vocab.KindOdoo) {
			if allowed(c.ID, t) && !slices.Contains(out[c.ID], t) {
				out[c.ID] = append(out[c.ID], t)
			}
		}
	}
	return out
}

// SweepCustomers reads, from every Shopify system that decides customers,
// the customers updated since its last sweep (all of them the first time),
// and queues those not seen yet for the Odoo receivers. It returns how many
// syncs it queued.
func (e *Engine) SweepCustomers(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	srcs := shopifySources(rs, vocab.Customers, func(src, tgt int64) bool { return rs.Decide(vocab.Customers, src, tgt, nil).Allowed })
	total := 0
	var errs []error
	for src, tgts := range srcs {
		n, err := e.sweepShopify(ctx, rs, src, cursorCustomers, e.every(rs, vocab.Customers, force), func(cl *shopify.Client, since time.Time, after string) (page, error) {
			pg, err := cl.CustomersUpdatedSince(ctx, since, after, customersPage)
			if err != nil {
				return page{}, err
			}
			out := page{next: pg.PageInfo.EndCursor, more: pg.PageInfo.HasNextPage}
			for _, c := range pg.Customers {
				rec := customerRec{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone,
					Street: c.Address1, Street2: c.Address2, City: c.City, Zip: c.Zip, UpdatedAt: c.UpdatedAt.UTC()}
				out.items = append(out.items, sweptItem{version: rec.UpdatedAt, build: func(tx *store.Tx) []queued {
					return e.sweptSyncs(rs, src, tgts, vocab.Customers, e.customerSync(rec, src, trigger), rec, customerProblem(rec), rec.label())
				}, ref: rec.ID, entity: entityCustomer})
			}
			return out, nil
		})
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// customerProblem checks a swept customer as parseCustomer checks a webhook's.
func customerProblem(c customerRec) string {
	switch {
	case c.Email == "":
		return c.label() + " has no e-mail address in Shopify. Crossdock finds customers in the ERP by e-mail, so it cannot tell whether they are there already. Add an e-mail address in Shopify; the change is then sent on."
	}
	return ""
}

// SweepProducts reads, from every Shopify system that decides product
// content (or some product fields), the products updated since its last
// sweep and queues those not seen yet for the Odoo receivers.
func (e *Engine) SweepProducts(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	srcs := shopifySources(rs, vocab.Products, func(src, tgt int64) bool {
		return rs.Decide(vocab.Products, src, tgt, carriedFields).Allowed
	})
	total := 0
	var errs []error
	for src, tgts := range srcs {
		n, err := e.sweepShopify(ctx, rs, src, cursorProducts, e.every(rs, vocab.Products, force), func(cl *shopify.Client, since time.Time, after string) (page, error) {
			pg, err := cl.ProductsUpdatedSince(ctx, since, after, productsPage)
			if err != nil {
				return page{}, err
			}
			out := page{next: pg.PageInfo.EndCursor, more: pg.PageInfo.HasNextPage}
			for _, p := range pg.Products {
				rec := productRec{ID: p.ID, Title: p.Title, Description: plainText(p.DescriptionHTML), UpdatedAt: p.UpdatedAt.UTC()}
				for _, v := range p.Variants {
					rec.Variants = append(rec.Variants, variantRec{ID: v.ID, Title: v.Title, SKU: v.SKU, Barcode: v.Barcode})
				}
				problem := ""
				if len(rec.Variants) == 0 {
					problem = rec.label() + " has no variants in Shopify, so there is nothing to match with the ERP's products."
				}
				out.items = append(out.items, sweptItem{version: rec.UpdatedAt, build: func(tx *store.Tx) []queued {
					return e.sweptSyncs(rs, src, tgts, vocab.Products, e.productSync(rec, src, trigger), rec, problem, rec.label())
				}, ref: rec.ID, entity: entityProduct})
			}
			return out, nil
		})
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// sweptSyncs are the syncs of one swept record, one per target: failed
// (validation) when the record is unusable, rejected when the sources of
// truth refuse it, waiting otherwise.
func (e *Engine) sweptSyncs(rs rules.Rules, src int64, tgts []int64, f vocab.Family, base store.NewSync, payload any, problem, label string) []queued {
	var qs []queued
	for _, t := range tgts {
		s := base
		s.TargetConnectionID, s.Payload = t, payload
		switch d := rs.Decide(f, src, t, nil); {
		case problem != "":
			s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, vocab.ClassValidation, problem
		case !d.Allowed:
			s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
		default:
			s.Message = fmt.Sprintf("%s is waiting to be sent to %s.", label, rs.Name(t))
		}
		qs = append(qs, queued{sync: s, lease: leaseFor(base.Flow, t, base.EntityRef)})
	}
	return qs
}

type sweptItem struct {
	entity, ref string
	version     time.Time
	build       func(tx *store.Tx) []queued
}

type page struct {
	items []sweptItem
	next  string
	more  bool
}

// sweepShopify runs one changed-since sweep of a Shopify system when it is
// due: each page's new versions become syncs, in one transaction with their
// high-water marks; the cursor (the newest updated_at seen) moves once the
// last page is read, so a sweep cut short is repeated, not lost.
func (e *Engine) sweepShopify(ctx context.Context, rs rules.Rules, src int64, name string, every time.Duration,
	read func(cl *shopify.Client, since time.Time, after string) (page, error)) (int, error) {
	cur, due, err := e.st.ClaimSweep(ctx, src, name, every)
	if err != nil || !due {
		return 0, err
	}
	cl, conn, err := e.shopify(ctx, src)
	if err != nil {
		return 0, err
	}
	var since time.Time
	if cur.PositionAt != nil {
		// Shopify compares at second resolution and its search index lags
		// a little behind writes: re-read the last minute; the marks drop
		// what was seen.
		since = cur.PositionAt.Add(-time.Minute)
	}
	newest := since
	if cur.PositionAt != nil {
		newest = *cur.PositionAt
	}
	queuedN, after := 0, ""
	for {
		pg, err := read(cl, since, after)
		if err != nil {
			return queuedN, fmt.Errorf("engine: %s sweep of %s: %w", name, conn.Name, err)
		}
		err = e.st.InTx(ctx, func(tx *store.Tx) error {
			marks := make([]store.Watermark, len(pg.items))
			for i, it := range pg.items {
				marks[i] = store.Watermark{ConnectionID: src, EntityType: it.entity, ExternalID: it.ref, Version: it.version}
			}
			accepted, err := tx.AdvanceWatermarks(ctx, marks)
			if err != nil {
				return err
			}
			var qs []queued
			for i, it := range pg.items {
				if accepted[i] {
					qs = append(qs, it.build(tx)...)
				}
			}
			if _, err := e.insertSyncs(ctx, tx, qs); err != nil {
				return err
			}
			queuedN += len(qs)
			return nil
		})
		if err != nil {
			return queuedN, err
		}
		for _, it := range pg.items {
			if it.version.After(newest) {
				newest = it.version
			}
		}
		if !pg.more || pg.next == "" {
			break
		}
		after = pg.next
	}
	if newest.IsZero() {
		return queuedN, nil
	}
	return queuedN, e.st.SaveSyncCursor(ctx, store.SyncCursor{ConnectionID: src, Name: name, PositionAt: &newest})
}
