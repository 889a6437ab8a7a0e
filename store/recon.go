package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// Reconciliation families: what a run compares.
const (
	ReconInventory = "inventory"
	ReconPrices    = "prices" // prices and costs
	ReconOrders    = "orders"
	ReconRefunds   = "refunds"
	ReconMappings  = "mappings"
)

// ReconFamilies lists the families in page order.
var ReconFamilies = []string{ReconInventory, ReconPrices, ReconOrders, ReconRefunds, ReconPayouts, ReconWarehouse, ReconWarehouseStock, ReconMappings}

// Run statuses. A partial run compared some pairs of systems but not all; a
// failed or partial run never closes a discrepancy it could not see.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunPartial   = "partial"
	RunFailed    = "failed"
)

// Discrepancy statuses.
const (
	DiscOpen         = "open"
	DiscAcknowledged = "acknowledged"
	DiscResolved     = "resolved"
	DiscIgnored      = "ignored"
)

// DiscStatuses lists every status in filter order.
var DiscStatuses = []string{DiscOpen, DiscAcknowledged, DiscIgnored, DiscResolved}

// RunProblem is something a run could not compare, and why.
type RunProblem struct {
	What  string `json:"what"`
	Why   string `json:"why"`
	Count int64  `json:"count,omitempty"`
}

// ReconRun is one reconciliation run.
type ReconRun struct {
	ID            int64           `db:"id"`
	Family        string          `db:"family"`
	Trigger       string          `db:"trigger"`
	RequestedBy   string          `db:"requested_by"`
	Status        string          `db:"status"`
	CreatedAt     time.Time       `db:"created_at"`
	StartedAt     *time.Time      `db:"started_at"`
	FinishedAt    *time.Time      `db:"finished_at"`
	Compared      int64           `db:"compared"`
	Differing     int64           `db:"differing"`
	NotComparable int64           `db:"not_comparable"`
	Opened        int64           `db:"opened"`
	Closed        int64           `db:"closed"`
	ProblemsJSON  json.RawMessage `db:"problems"`
	Message       string          `db:"message"`
	// Resumes counts the times the run was taken over from a replica that
	// stopped (ResumedAt the last); Pulled are the connections whose
	// snapshot the run has in full, kept when it resumes.
	Resumes   int           `db:"resumes"`
	ResumedAt *time.Time    `db:"resumed_at"`
	Pulled    pq.Int64Array `db:"pulled"`
}

// Problems decodes what the run could not compare.
func (r ReconRun) Problems() []RunProblem {
	var ps []RunProblem
	_ = json.Unmarshal(r.ProblemsJSON, &ps)
	return ps
}

// Duration is how long the run took (so far).
func (r ReconRun) Duration() time.Duration {
	if r.StartedAt == nil {
		return 0
	}
	end := time.Now()
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	return end.Sub(*r.StartedAt)
}

// Ended reports whether the run has finished.
func (r ReconRun) Ended() bool { return r.FinishedAt != nil }

const reconRunColumns = `id, family, trigger, requested_by, status, created_at, started_at, finished_at, compared, differing,
not_comparable, opened, closed, problems, message, resumes, resumed_at, pulled`

// ErrRunLive is returned when a family already has a run waiting or running.
var ErrRunLive = errors.New("store: a run of this family is already waiting or running")

// CreateReconRun records a queued run. When the family already has a live
// run, it returns that run and ErrRunLive.
func (tx *Tx) CreateReconRun(ctx context.Context, family, trigger, by string) (ReconRun, error) {
	var r ReconRun
	err := sqlxGet(ctx, tx.q, &r, `INSERT INTO recon_runs (family, trigger, requested_by) VALUES ($1, $2, $3)
ON CONFLICT (family) WHERE status IN ('queued', 'running') DO NOTHING RETURNING `+reconRunColumns, family, trigger, by)
	if errors.Is(err, ErrNotFound) {
		if err := sqlxGet(ctx, tx.q, &r, `SELECT `+reconRunColumns+` FROM recon_runs WHERE family = $1 AND status IN ('queued', 'running')`, family); err != nil {
			return r, fmt.Errorf("store: live run: %w", err)
		}
		return r, ErrRunLive
	}
	if err != nil {
		return r, fmt.Errorf("store: create run: %w", err)
	}
	return r, nil
}

// ClaimDueReconFamilies marks the families among eligible whose interval
// has passed as queued now and returns them; concurrent callers never get
// the same family. A family left out (nothing decides it) is not claimed,
// so it is due at once when it becomes eligible.
func (q q) ClaimDueReconFamilies(ctx context.Context, eligible []string) ([]string, error) {
	// A run no replica has worked on for this long (its job lost, every
	// replica gone) would block its family for good; a run whose replica
	// stopped is taken over long before (engine: takeover).
	if _, err := q.ext.ExecContext(ctx, `UPDATE recon_runs SET status = 'failed', finished_at = now(),
message = 'Crossdock stopped while this run was going on; nothing was closed. The next run compares again.'
WHERE status = 'running' AND coalesce(beat_at, started_at) < now() - $1 * interval '1 second'`, (StaleRunAfter + 5*time.Minute).Seconds()); err != nil {
		return nil, fmt.Errorf("store: fail stale runs: %w", err)
	}
	// A family whose run still waits or runs keeps its slot: the schedule
	// queues the next run once that one has ended, not a refusal each tick.
	var fs []string
	err := sqlxSelect(ctx, q, &fs, `UPDATE recon_schedules s SET last_queued_at = now()
WHERE every_minutes > 0 AND (last_queued_at IS NULL OR last_queued_at <= now() - every_minutes * interval '1 minute')
  AND family = ANY($1)
  AND NOT EXISTS (SELECT 1 FROM recon_runs r WHERE r.family = s.family AND r.status IN ('queued', 'running'))
RETURNING family`, pq.Array(eligible))
	if err != nil {
		return nil, fmt.Errorf("store: due reconciliations: %w", err)
	}
	return fs, nil
}

// MarkReconQueued records that a family's comparison was queued now, out of
// schedule, so the next scheduled one counts its interval from now.
func (q q) MarkReconQueued(ctx context.Context, family string) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE recon_schedules SET last_queued_at = now() WHERE family = $1`, family); err != nil {
		return fmt.Errorf("store: mark reconciliation queued: %w", err)
	}
	return nil
}

// ReconSchedules returns each family's interval in minutes (0: on demand only).
func (q q) ReconSchedules(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Family string `db:"family"`
		Every  int    `db:"every_minutes"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT family, every_minutes FROM recon_schedules`); err != nil {
		return nil, fmt.Errorf("store: reconciliation schedules: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Family] = r.Every
	}
	return out, nil
}

// SetReconSchedule sets how often a family is compared (0: on demand only).
func (s *Store) SetReconSchedule(ctx context.Context, a Actor, family string, minutes int) error {
	if minutes < 0 || minutes > 60*24*31 {
		return vocab.FieldErrors{"every": "Choose between 0 (only when asked) and 44,640 minutes (a month)."}
	}
	return s.InTx(ctx, func(tx *Tx) error {
		var before int
		if err := sqlxGet(ctx, tx.q, &before, `SELECT every_minutes FROM recon_schedules WHERE family = $1 FOR UPDATE`, family); err != nil {
			return fmt.Errorf("store: schedule of %s: %w", family, err)
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE recon_schedules SET every_minutes = $2 WHERE family = $1`, family, minutes); err != nil {
			return fmt.Errorf("store: set schedule: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "reconciliation.scheduled", ObjectType: "reconciliation", ObjectID: family,
			Summary: fmt.Sprintf("Reconciliation of %s set to every %d minutes (0: only on demand).", family, minutes),
			Before:  map[string]int{"every_minutes": before}, After: map[string]int{"every_minutes": minutes}})
	})
}

// StaleRunAfter is how long a running run may go without a beat before
// Crossdock takes it for lost: the reconciliation worker's timeout.
const StaleRunAfter = time.Hour

// StartReconRun claims a queued run (or one gone stale) and marks it
// running; a run that ended or that another worker runs answers ErrSyncDone.
func (q q) StartReconRun(ctx context.Context, id int64) (ReconRun, error) {
	var r ReconRun
	err := sqlxGet(ctx, q, &r, `UPDATE recon_runs SET status = 'running', started_at = now(), beat_at = now(), pulled = '{}'
WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND coalesce(beat_at, started_at) < now() - $2 * interval '1 second'))
RETURNING `+reconRunColumns, id, StaleRunAfter.Seconds())
	if errors.Is(err, ErrNotFound) {
		return r, ErrSyncDone
	}
	return r, err
}

// ReconRunByID reads one run.
func (q q) ReconRunByID(ctx context.Context, id int64) (ReconRun, error) {
	var r ReconRun
	err := sqlxGet(ctx, q, &r, `SELECT `+reconRunColumns+` FROM recon_runs WHERE id = $1`, id)
	return r, err
}

// ReconRunFilter selects runs, newest first, keyset on id.
type ReconRunFilter struct {
	Family   string
	BeforeID int64
	Limit    int
}

// ListReconRuns lists runs newest first; more says whether older ones exist.
func (q q) ListReconRuns(ctx context.Context, f ReconRunFilter) ([]ReconRun, bool, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var rs []ReconRun
	err := sqlxSelect(ctx, q, &rs, `SELECT `+reconRunColumns+` FROM recon_runs
WHERE ($1 = '' OR family = $1) AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, f.Family, f.BeforeID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("store: list runs: %w", err)
	}
	more := len(rs) > limit
	if more {
		rs = rs[:limit]
	}
	return rs, more, nil
}

// CompareResult counts what one comparison saw.
type CompareResult struct {
	Compared  int64 `db:"compared"`
	Differing int64 `db:"differing"`
	Opened    int64 `db:"opened"`
	// NotComparable lists what was left out, and why.
	NotComparable []RunProblem
}

// RunOutcome is how a run ended.
type RunOutcome struct {
	Status   string
	Result   CompareResult
	Problems []RunProblem
	Message  string
	// ClosePairs are the other connections whose comparison succeeded: their
	// live discrepancies not seen by this run are closed. Only for a run that
	// did not fail.
	ClosePairs []int64
}

// FinishReconRun records a run's outcome and, when the run did not fail,
// closes the discrepancies of the compared pairs that this run no longer
// found, with a note, in one transaction.
func (s *Store) FinishReconRun(ctx context.Context, run ReconRun, o RunOutcome) (ReconRun, error) {
	var out ReconRun
	err := s.InTx(ctx, func(tx *Tx) error {
		closed := int64(0)
		if o.Status != RunFailed && len(o.ClosePairs) > 0 {
			res, err := tx.ext.ExecContext(ctx, `UPDATE discrepancies SET status = 'resolved', closed_at = now(),
note = CASE WHEN note = '' THEN '' ELSE note || E'\n' END || $3
WHERE family = $1 AND status IN ('open', 'acknowledged', 'ignored') AND last_run_id < $2 AND other_connection_id = ANY($4)`,
				run.Family, run.ID, fmt.Sprintf("Closed automatically: run #%d found the systems in agreement.", run.ID), pq.Array(o.ClosePairs))
			if err != nil {
				return fmt.Errorf("store: close discrepancies: %w", err)
			}
			closed, _ = res.RowsAffected()
		}
		problems := append(append([]RunProblem{}, o.Problems...), o.Result.NotComparable...)
		var notComparable int64
		for _, p := range o.Result.NotComparable {
			notComparable += p.Count
		}
		pj, err := json.Marshal(problems)
		if err != nil {
			return err
		}
		if err := sqlxGet(ctx, tx.q, &out, `UPDATE recon_runs SET status = $2, finished_at = now(), compared = $3, differing = $4,
not_comparable = $5, opened = $6, closed = $7, problems = $8, message = $9 WHERE id = $1 RETURNING `+reconRunColumns,
			run.ID, o.Status, o.Result.Compared, o.Result.Differing, notComparable, o.Result.Opened, closed, pj, o.Message); err != nil {
			return fmt.Errorf("store: finish run: %w", err)
		}
		// Snapshots of older runs of the family are no longer read.
		for _, t := range snapshotTables {
			if _, err := tx.ext.ExecContext(ctx, `DELETE FROM `+t+` WHERE run_id IN (SELECT id FROM recon_runs WHERE family = $1 AND id < $2)`,
				run.Family, run.ID); err != nil {
				return fmt.Errorf("store: drop old snapshots: %w", err)
			}
		}
		return nil
	})
	return out, err
}

var snapshotTables = []string{"recon_stock", "recon_prices", "recon_collections", "recon_orders", "recon_refunds", "recon_records"}

// ---- snapshots ----

// StockRow is one stock level as a system reports it.
type StockRow struct {
	VariantRef, LocationRef string
	Label, Location         string
	OnHand, Available       float64
}

// PriceRow is one variant's prices and cost as a system reports them. Nil
// means the system has no value.
type PriceRow struct {
	VariantRef, ProductRef, Label string
	Price, CompareAt, Cost        *float64
	Currency, CostCurrency        string
}

// OrderRow is one order (Odoo: a sale order created for a Shopify order).
type OrderRow struct {
	OrderRef, Label string
	Total           *float64
	Currency        string
	CreatedAt       time.Time
}

// RefundRow is one refund (Odoo: a credit note created for a Shopify refund).
type RefundRow struct {
	RefundRef, OrderRef, Label string
	Amount                     *float64
	CreatedAt                  time.Time
}

// copyRows streams rows into a temporary table shaped like table, and moves
// them into table through translate (an INSERT … SELECT from tmp), in one
// transaction. Translation through the mappings happens there, set-based.
func (s *Store) copyRows(ctx context.Context, table string, cols []string, n int, row func(i int) []any, translate string, args ...any) error {
	if n == 0 {
		return nil
	}
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ext.ExecContext(ctx, `CREATE TEMP TABLE tmp (LIKE `+table+`) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("store: snapshot staging: %w", err)
		}
		stmt, err := tx.tx.PrepareContext(ctx, pq.CopyIn("tmp", cols...))
		if err != nil {
			return fmt.Errorf("store: snapshot copy: %w", err)
		}
		defer stmt.Close()
		for i := range n {
			if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
				return fmt.Errorf("store: snapshot copy: %w", err)
			}
		}
		if _, err := stmt.ExecContext(ctx); err != nil {
			return fmt.Errorf("store: snapshot copy: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, translate, args...); err != nil {
			return fmt.Errorf("store: snapshot translate: %w", err)
		}
		return nil
	})
}

// AddStockSnapshot stores stock levels of one connection for a run. Several
// rows of one variant and location (Odoo quants of several lots) add up.
func (s *Store) AddStockSnapshot(ctx context.Context, runID, connID int64, rows []StockRow) error {
	return s.copyRows(ctx, "recon_stock", []string{"run_id", "connection_id", "variant_ref", "location_ref", "label", "location", "on_hand", "available"},
		len(rows), func(i int) []any {
			r := rows[i]
			return []any{runID, connID, r.VariantRef, r.LocationRef, r.Label, r.Location, r.OnHand, r.Available}
		}, `INSERT INTO recon_stock (run_id, connection_id, variant_ref, location_ref, variant_id, location_id, label, location, on_hand, available)
SELECT t.run_id, t.connection_id, t.variant_ref, t.location_ref, mv.entity_id, ml.entity_id, min(t.label), min(t.location), sum(t.on_hand), sum(t.available)
FROM tmp t
LEFT JOIN mapping_refs mv ON mv.connection_id = t.connection_id AND mv.entity_type = 'variant' AND mv.external_id = t.variant_ref AND mv.valid_to IS NULL
LEFT JOIN mapping_refs ml ON ml.connection_id = t.connection_id AND ml.entity_type = 'location' AND ml.external_id = t.location_ref AND ml.valid_to IS NULL
GROUP BY 1, 2, 3, 4, 5, 6`)
}

// AddPriceSnapshot stores variant prices and costs of one connection for a run.
func (s *Store) AddPriceSnapshot(ctx context.Context, runID, connID int64, rows []PriceRow) error {
	return s.copyRows(ctx, "recon_prices", []string{"run_id", "connection_id", "variant_ref", "product_ref", "label", "price", "compare_at", "cost", "currency", "cost_currency"},
		len(rows), func(i int) []any {
			r := rows[i]
			return []any{runID, connID, r.VariantRef, r.ProductRef, r.Label, r.Price, r.CompareAt, r.Cost, r.Currency, r.CostCurrency}
		}, `INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, product_ref, label, price, compare_at, cost, currency, cost_currency)
SELECT t.run_id, t.connection_id, t.variant_ref, mv.entity_id, t.product_ref, t.label, t.price, t.compare_at, t.cost, t.currency, t.cost_currency
FROM tmp t
LEFT JOIN mapping_refs mv ON mv.connection_id = t.connection_id AND mv.entity_type = 'variant' AND mv.external_id = t.variant_ref AND mv.valid_to IS NULL`)
}

// CollectionRow says that a Shopify product is in a collection.
type CollectionRow struct {
	ProductRef, CollectionRef, Title string
}

// AddCollectionSnapshot stores which collections the products of one
// connection are in, for a run.
func (s *Store) AddCollectionSnapshot(ctx context.Context, runID, connID int64, rows []CollectionRow) error {
	return s.copyRows(ctx, "recon_collections", []string{"run_id", "connection_id", "product_ref", "collection_ref", "title"},
		len(rows), func(i int) []any {
			r := rows[i]
			return []any{runID, connID, r.ProductRef, r.CollectionRef, r.Title}
		}, `INSERT INTO recon_collections SELECT * FROM tmp`)
}

// AddOrderSnapshot stores orders of one connection for a run.
func (s *Store) AddOrderSnapshot(ctx context.Context, runID, connID int64, rows []OrderRow) error {
	return s.copyRows(ctx, "recon_orders", []string{"run_id", "connection_id", "order_ref", "label", "total", "currency", "created_at"},
		len(rows), func(i int) []any {
			r := rows[i]
			return []any{runID, connID, r.OrderRef, r.Label, r.Total, r.Currency, nullTime(r.CreatedAt)}
		}, `INSERT INTO recon_orders SELECT * FROM tmp`)
}

// AddRefundSnapshot stores refunds of one connection for a run.
func (s *Store) AddRefundSnapshot(ctx context.Context, runID, connID int64, rows []RefundRow) error {
	return s.copyRows(ctx, "recon_refunds", []string{"run_id", "connection_id", "refund_ref", "order_ref", "label", "amount", "created_at"},
		len(rows), func(i int) []any {
			r := rows[i]
			return []any{runID, connID, r.RefundRef, r.OrderRef, r.Label, r.Amount, nullTime(r.CreatedAt)}
		}, `INSERT INTO recon_refunds SELECT * FROM tmp`)
}

// AddRecordSnapshot stores the ids of records that exist in a connection.
func (s *Store) AddRecordSnapshot(ctx context.Context, runID, connID int64, entityType string, ids []string) error {
	return s.copyRows(ctx, "recon_records", []string{"run_id", "connection_id", "entity_type", "external_id"},
		len(ids), func(i int) []any { return []any{runID, connID, entityType, ids[i]} }, `INSERT INTO recon_records SELECT * FROM tmp`)
}

// ---- comparisons: one set-based statement each ----

// upsertDiscrepancies is the tail of every comparison: the differing rows
// of the CTE "diff" become live discrepancies (new ones open, known ones
// refreshed). Its columns: kind, key, label, master_value, other_value,
// size, detail.
const upsertDiscrepancies = `
up AS (
  INSERT INTO discrepancies AS d (family, kind, key, master_connection_id, other_connection_id, label, master_value, other_value,
    size, detail, first_run_id, last_run_id)
  SELECT $4, kind, key, $2, $3, label, master_value, other_value, size, detail, $1, $1 FROM diff
  ON CONFLICT (family, kind, key) WHERE status <> 'resolved' DO UPDATE SET label = EXCLUDED.label,
    master_value = EXCLUDED.master_value, other_value = EXCLUDED.other_value, size = EXCLUDED.size,
    detail = EXCLUDED.detail, last_seen_at = now(), last_run_id = EXCLUDED.last_run_id
  RETURNING (xmax = 0) AS opened)`

// compare runs one comparison statement. JIT is off for it: the planner's
// estimates for the few differing rows are pessimistic, and compiling the
// plan took seconds where running it takes a fraction of one.
func (s *Store) compare(ctx context.Context, query string, runID, master, other int64, family string, extra ...any) (CompareResult, error) {
	var r CompareResult
	args := append([]any{runID, master, other, family}, extra...)
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ext.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		return sqlxGet(ctx, tx.q, &r, query, args...)
	})
	if err != nil {
		return r, fmt.Errorf("store: compare %s: %w", family, err)
	}
	return r, nil
}

// inventorySQL compares stock levels per mapped variant and location. A
// level missing on one side counts as zero there: Odoo drops empty quants.
// %[1]s is the quantity compared (available or on_hand).
const inventorySQL = `WITH cmp AS (
  -- Only keys and quantities go through the join; the rows' ctid fetches
  -- names for the few that differ.
  SELECT coalesce(m.variant_id, o.variant_id) AS v, coalesce(m.location_id, o.location_id) AS l,
    coalesce(m.q, 0) AS mq, coalesce(o.q, 0) AS oq, m.ctid AS mt, o.ctid AS ot
  FROM (SELECT ctid, variant_id, location_id, %[1]s AS q FROM recon_stock
        WHERE run_id = $1 AND connection_id = $2 AND variant_id IS NOT NULL AND location_id IS NOT NULL) m
  FULL JOIN (SELECT ctid, variant_id, location_id, %[1]s AS q FROM recon_stock
        WHERE run_id = $1 AND connection_id = $3 AND variant_id IS NOT NULL AND location_id IS NOT NULL) o
  ON m.variant_id = o.variant_id AND m.location_id = o.location_id),
diff AS (
  SELECT 'stock' AS kind, $3::bigint::text || ':v' || c.v || ':l' || c.l AS key,
    coalesce(ms.label, os.label) || ' at ' || coalesce(ms.location, os.location) AS label,
    trim_scale(c.mq)::text AS master_value, trim_scale(c.oq)::text AS other_value, abs(c.mq - c.oq) AS size,
    jsonb_build_object('sku', coalesce(ms.label, os.label), 'location', coalesce(ms.location, os.location), 'quantity', '%[1]s',
      'odoo_product_id', coalesce(ms.variant_ref, rv.external_id), 'odoo_location_id', coalesce(ms.location_ref, rl.external_id),
      'on_hand', coalesce(ms.on_hand, 0), 'available', coalesce(ms.available, 0)) AS detail
  FROM cmp c
  -- LATERAL: one TID lookup per differing row, never a scan of the snapshot.
  LEFT JOIN LATERAL (SELECT label, location, variant_ref, location_ref, on_hand, available FROM recon_stock WHERE ctid = c.mt LIMIT 1) ms ON true
  LEFT JOIN LATERAL (SELECT label, location FROM recon_stock WHERE ctid = c.ot LIMIT 1) os ON true
  LEFT JOIN mapping_refs rv ON c.mt IS NULL AND rv.entity_id = c.v AND rv.connection_id = $2 AND rv.valid_to IS NULL
  LEFT JOIN mapping_refs rl ON c.mt IS NULL AND rl.entity_id = c.l AND rl.connection_id = $2 AND rl.valid_to IS NULL
  WHERE c.mq <> c.oq),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FROM cmp) AS compared, (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// CompareInventory compares the stock levels of master (Odoo) and other
// (Shopify) in a run; quantity is "available" or "on_hand".
func (s *Store) CompareInventory(ctx context.Context, runID, master, other int64, quantity string) (CompareResult, error) {
	if quantity != "on_hand" {
		quantity = "available"
	}
	r, err := s.compare(ctx, fmt.Sprintf(inventorySQL, quantity), runID, master, other, ReconInventory)
	if err != nil {
		return r, err
	}
	var nc struct {
		Variants  int64 `db:"variants"`
		Locations int64 `db:"locations"`
	}
	if err := sqlxGet(ctx, s.q, &nc, `SELECT count(*) FILTER (WHERE variant_id IS NULL) AS variants,
  count(*) FILTER (WHERE variant_id IS NOT NULL AND location_id IS NULL) AS locations
FROM recon_stock WHERE run_id = $1 AND connection_id IN ($2, $3)`, runID, master, other); err != nil {
		return r, fmt.Errorf("store: unmapped stock: %w", err)
	}
	if nc.Variants > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "stock levels of products that are not mapped",
			Why: "Crossdock cannot tell which product they are in the other system. Map them on the Mappings page.", Count: nc.Variants})
	}
	if nc.Locations > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "stock levels at locations that are not mapped",
			Why: "Crossdock cannot tell which location they are in the other system. Map the locations on the Mappings page.", Count: nc.Locations})
	}
	return r, nil
}

// pricesSQL compares prices and costs of variants mapped on both sides. A
// price that is missing, zero or negative, a cost that is missing, and
// amounts in different currencies are not compared (counted apart).
const pricesSQL = `WITH j AS (
  SELECT m.variant_id AS v, m.variant_ref, m.label, m.price AS mp, m.cost AS mc, m.currency AS mcur,
    o.variant_ref AS oref, o.product_ref, o.price AS op, o.cost AS oc, o.currency AS ocur, o.cost_currency AS occur
  FROM recon_prices m JOIN recon_prices o ON o.variant_id = m.variant_id AND o.run_id = $1 AND o.connection_id = $3
  WHERE m.run_id = $1 AND m.connection_id = $2 AND m.variant_id IS NOT NULL),
cmp AS (
  SELECT j.*, (mp > 0 AND op > 0 AND (mcur = '' OR ocur = '' OR mcur = ocur)) AS price_ok,
    (mc > 0 AND oc IS NOT NULL AND oc >= 0 AND (occur = '' OR ocur = '' OR occur = ocur) AND (mcur = '' OR occur = '' OR mcur = occur)) AS cost_ok
  FROM j),
diff AS (
  SELECT 'price' AS kind, $3::bigint::text || ':v' || v AS key, label, trim_scale(round(mp, 2))::text AS master_value,
    trim_scale(round(op, 2))::text AS other_value, abs(round(mp, 2) - round(op, 2)) AS size,
    jsonb_build_object('sku', label, 'odoo_product_id', variant_ref, 'shopify_variant_id', oref, 'price', mp, 'cost', mc) AS detail
  FROM cmp WHERE price_ok AND round(mp, 2) <> round(op, 2)
  UNION ALL
  SELECT 'cost', $3::bigint::text || ':v' || v, label, trim_scale(round(mc, 2))::text, trim_scale(round(oc, 2))::text, abs(round(mc, 2) - round(oc, 2)),
    jsonb_build_object('sku', label, 'odoo_product_id', variant_ref, 'shopify_variant_id', oref, 'price', mp, 'cost', mc)
  FROM cmp WHERE cost_ok AND round(mc, 2) <> round(oc, 2)),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FILTER (WHERE price_ok) + count(*) FILTER (WHERE cost_ok) FROM cmp) AS compared,
  (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// ComparePrices compares prices and costs of master (Odoo) and other (Shopify).
func (s *Store) ComparePrices(ctx context.Context, runID, master, other int64) (CompareResult, error) {
	r, err := s.compare(ctx, pricesSQL, runID, master, other, ReconPrices)
	if err != nil {
		return r, err
	}
	var nc struct {
		Unmapped   int64 `db:"unmapped"`
		BadPrice   int64 `db:"bad_price"`
		NoCost     int64 `db:"no_cost"`
		Currencies int64 `db:"currencies"`
	}
	err = sqlxGet(ctx, s.q, &nc, `WITH j AS (
  SELECT m.price AS mp, m.cost AS mc, m.currency AS mcur, o.price AS op, o.cost AS oc, o.currency AS ocur, o.cost_currency AS occur
  FROM recon_prices m JOIN recon_prices o ON o.variant_id = m.variant_id AND o.run_id = $1 AND o.connection_id = $3
  WHERE m.run_id = $1 AND m.connection_id = $2 AND m.variant_id IS NOT NULL)
SELECT (SELECT count(*) FROM recon_prices WHERE run_id = $1 AND connection_id IN ($2, $3) AND variant_id IS NULL) AS unmapped,
  count(*) FILTER (WHERE NOT (coalesce(mp, 0) > 0 AND coalesce(op, 0) > 0)) AS bad_price,
  count(*) FILTER (WHERE NOT (coalesce(mc, 0) > 0 AND oc IS NOT NULL)) AS no_cost,
  count(*) FILTER (WHERE (mcur <> '' AND ocur <> '' AND mcur <> ocur) OR (occur <> '' AND ocur <> '' AND occur <> ocur)) AS currencies
FROM j`, runID, master, other)
	if err != nil {
		return r, fmt.Errorf("store: prices not compared: %w", err)
	}
	if nc.Unmapped > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "variants that are not mapped",
			Why: "Crossdock cannot tell which product they are in the other system. Map them on the Mappings page.", Count: nc.Unmapped})
	}
	if nc.BadPrice > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "prices that are missing, zero or negative",
			Why: "A price of zero or less is a data problem of its own; fix the price, then compare again.", Count: nc.BadPrice})
	}
	if nc.NoCost > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "costs that are missing",
			Why: "A variant with no cost in one of the systems has nothing to compare. Enter the cost in Odoo.", Count: nc.NoCost})
	}
	if nc.Currencies > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "prices and costs in different currencies",
			Why:   "Odoo and Shopify price these variants in different currencies. Crossdock does not convert currencies, so their prices were not compared and the finance review shows no margin for them (flagged “Currencies differ”).",
			Count: nc.Currencies})
	}
	return r, nil
}

// ordersSQL compares orders: master (Shopify) orders older than $5 that
// are missing in other (Odoo), Odoo orders whose Shopify order does not exist,
// and totals that differ (same currency only).
const ordersSQL = `WITH m AS (SELECT DISTINCT ON (order_ref) * FROM recon_orders WHERE run_id = $1 AND connection_id = $2 ORDER BY order_ref),
o AS (SELECT order_ref, string_agg(label, ', ' ORDER BY label) AS label, sum(total) AS total, min(currency) AS currency, count(*) AS n
  FROM recon_orders WHERE run_id = $1 AND connection_id = $3 GROUP BY order_ref),
cmp AS (
  SELECT m.order_ref AS mref, o.order_ref AS oref, m.label AS mlabel, o.label AS olabel, m.total AS mt, o.total AS ot,
    m.currency AS mcur, o.currency AS ocur, o.n
  FROM m FULL JOIN o ON m.order_ref = o.order_ref
  WHERE o.order_ref IS NOT NULL OR m.created_at < $5),
diff AS (
  SELECT 'order_missing' AS kind, $3::bigint::text || ':' || mref AS key, 'Shopify order ' || mlabel AS label,
    coalesce(trim_scale(round(mt, 2))::text || ' ' || mcur, '') AS master_value, 'missing' AS other_value, coalesce(mt, 0) AS size,
    jsonb_build_object('order', mref) AS detail
  FROM cmp WHERE oref IS NULL
  UNION ALL
  SELECT 'order_unknown', $3::bigint::text || ':' || oref, 'Odoo order ' || olabel, 'missing', coalesce(trim_scale(round(ot, 2))::text, ''), coalesce(ot, 0),
    jsonb_build_object('order', oref)
  FROM cmp WHERE mref IS NULL
  UNION ALL
  SELECT 'order_duplicate', $3::bigint::text || ':' || mref, 'Shopify order ' || mlabel, '1 order', n || ' sale orders: ' || olabel, n - 1,
    jsonb_build_object('order', mref)
  FROM cmp WHERE mref IS NOT NULL AND n > 1
  UNION ALL
  SELECT 'order_total', $3::bigint::text || ':' || mref, 'Shopify order ' || mlabel, trim_scale(round(mt, 2))::text || ' ' || mcur,
    trim_scale(round(ot, 2))::text || ' ' || coalesce(nullif(ocur, ''), mcur), abs(mt - ot), jsonb_build_object('order', mref)
  FROM cmp WHERE mref IS NOT NULL AND n = 1 AND mt IS NOT NULL AND ot IS NOT NULL
    AND (mcur = '' OR ocur = '' OR mcur = ocur) AND round(mt, 2) <> round(ot, 2)),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FROM cmp) AS compared, (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// CompareOrders compares orders of master (Shopify) and other (Odoo); orders
// placed after notBefore may still be on their way and are left out.
func (s *Store) CompareOrders(ctx context.Context, runID, master, other int64, notBefore time.Time) (CompareResult, error) {
	r, err := s.compare(ctx, ordersSQL, runID, master, other, ReconOrders, notBefore)
	if err != nil {
		return r, err
	}
	var nc struct {
		Recent     int64 `db:"recent"`
		Currencies int64 `db:"currencies"`
	}
	err = sqlxGet(ctx, s.q, &nc, `SELECT
  (SELECT count(*) FROM recon_orders m WHERE m.run_id = $1 AND m.connection_id = $2 AND m.created_at >= $4
     AND NOT EXISTS (SELECT 1 FROM recon_orders o WHERE o.run_id = $1 AND o.connection_id = $3 AND o.order_ref = m.order_ref)) AS recent,
  (SELECT count(*) FROM recon_orders m JOIN recon_orders o ON o.run_id = $1 AND o.connection_id = $3 AND o.order_ref = m.order_ref
     WHERE m.run_id = $1 AND m.connection_id = $2 AND m.currency <> '' AND o.currency <> '' AND m.currency <> o.currency) AS currencies`,
		runID, master, other, notBefore)
	if err != nil {
		return r, fmt.Errorf("store: orders not compared: %w", err)
	}
	if nc.Recent > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "orders placed in the last hour",
			Why: "They may still be on their way to Odoo; the next run looks at them again.", Count: nc.Recent})
	}
	if nc.Currencies > 0 {
		r.NotComparable = append(r.NotComparable, RunProblem{What: "order totals in different currencies",
			Why: "Crossdock does not convert currencies, so these totals were not compared.", Count: nc.Currencies})
	}
	return r, nil
}

// refundsSQL finds master (Shopify) refunds older than $5 without a credit
// note in other (Odoo).
const refundsSQL = `WITH m AS (SELECT * FROM recon_refunds WHERE run_id = $1 AND connection_id = $2 AND created_at < $5),
cmp AS (
  SELECT m.*, EXISTS (SELECT 1 FROM recon_refunds o WHERE o.run_id = $1 AND o.connection_id = $3 AND o.refund_ref = m.refund_ref) AS found
  FROM m),
diff AS (
  SELECT 'refund_no_credit_note' AS kind, $3::bigint::text || ':' || refund_ref AS key, 'Refund of Shopify order ' || label AS label,
    coalesce(trim_scale(round(amount, 2))::text, '') AS master_value, 'no credit note' AS other_value, coalesce(amount, 0) AS size,
    jsonb_build_object('refund', refund_ref, 'order', order_ref) AS detail
  FROM cmp WHERE NOT found),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FROM cmp) AS compared, (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// CompareRefunds finds Shopify refunds older than notBefore with no credit note in Odoo.
func (s *Store) CompareRefunds(ctx context.Context, runID, master, other int64, notBefore time.Time) (CompareResult, error) {
	return s.compare(ctx, refundsSQL, runID, master, other, ReconRefunds, notBefore)
}

// mappingsSQL finds current references of the connection ($3) to variants
// and locations that its snapshot no longer has. $2 is the connection too.
const mappingsSQL = `WITH cmp AS (
  SELECT r.entity_id, r.entity_type, r.external_id, coalesce(nullif(r.sku, ''), nullif(r.name, ''), e.key) AS label,
    EXISTS (SELECT 1 FROM recon_records x WHERE x.run_id = $1 AND x.connection_id = $3 AND x.entity_type = r.entity_type
      AND x.external_id = r.external_id) AS found
  FROM mapping_refs r JOIN mapping_entities e ON e.id = r.entity_id
  WHERE r.connection_id = $3 AND r.valid_to IS NULL AND r.entity_type IN ('variant', 'location')),
diff AS (
  SELECT 'mapping_gone' AS kind, $3::bigint::text || ':' || entity_type || ':' || external_id AS key,
    initcap(entity_type) || ' ' || label AS label, external_id AS master_value, 'no longer exists' AS other_value, 1 AS size,
    jsonb_build_object('entity_id', entity_id, 'entity_type', entity_type, 'external_id', external_id) AS detail
  FROM cmp WHERE NOT found),
` + upsertDiscrepancies + `
SELECT (SELECT count(*) FROM cmp) AS compared, (SELECT count(*) FROM up) AS differing, (SELECT count(*) FROM up WHERE opened) AS opened`

// CheckMappings finds references of a connection to records it no longer has.
func (s *Store) CheckMappings(ctx context.Context, runID, connID int64) (CompareResult, error) {
	return s.compare(ctx, mappingsSQL, runID, connID, connID, ReconMappings)
}

// FailedReconRuns returns, per family, its latest finished comparison when
// that one failed: the family's alert holds until a later run gets through.
func (q q) FailedReconRuns(ctx context.Context) ([]ReconRun, error) {
	var rs []ReconRun
	if err := sqlxSelect(ctx, q, &rs, `SELECT `+reconRunColumns+` FROM (
  SELECT DISTINCT ON (family) * FROM recon_runs WHERE finished_at IS NOT NULL ORDER BY family, finished_at DESC, id DESC
) latest WHERE status = 'failed' ORDER BY family`); err != nil {
		return nil, fmt.Errorf("store: failed reconciliation runs: %w", err)
	}
	return rs, nil
}
