package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// Rehearsal profiles.
const (
	RehearsalBestHour = "best_hour" // a multiple of the busiest recorded hour of orders
	RehearsalRate     = "rate"      // N orders a minute for M minutes
)

// Rehearsal states.
const (
	RehearsalQueued     = "queued"
	RehearsalRunning    = "running"
	RehearsalCancelling = "cancelling"
	RehearsalCancelled  = "cancelled"
	RehearsalFinished   = "finished"
	RehearsalFailed     = "failed"
)

// Rehearsal is one peak rehearsal: what was asked and, once it ran, its report.
type Rehearsal struct {
	ID              int64      `db:"id"`
	CreatedAt       time.Time  `db:"created_at"`
	CreatedBy       *int64     `db:"created_by"`
	CreatedByLabel  string     `db:"created_by_label"`
	ConnectionID    int64      `db:"connection_id"`
	ConnectionName  string     `db:"connection_name"`
	Profile         string     `db:"profile"`
	Multiple        float64    `db:"multiple"`
	OrdersPerMin    float64    `db:"orders_per_min"`
	DurationSeconds int        `db:"duration_seconds"`
	UpdatesPerOrder int        `db:"updates_per_order"`
	State           string     `db:"state"`
	StartedAt       *time.Time `db:"started_at"`
	FinishedAt      *time.Time `db:"finished_at"`
	ReportJSON      []byte     `db:"report"`
	Verdict         string     `db:"verdict"`
	Error           string     `db:"error"`
}

// Done reports whether the rehearsal ended (its report is final).
func (r Rehearsal) Done() bool {
	return r.State == RehearsalFinished || r.State == RehearsalCancelled || r.State == RehearsalFailed
}

// Report decodes the stored report (zero before the run ended).
func (r Rehearsal) Report() (RehearsalReport, error) {
	var rep RehearsalReport
	if len(r.ReportJSON) == 0 {
		return rep, nil
	}
	err := json.Unmarshal(r.ReportJSON, &rep)
	return rep, err
}

// RehearsalReport is what a rehearsal measured.
type RehearsalReport struct {
	// Asked and achieved: orders (and inventory updates) delivered to the
	// webhook endpoint, and orders per minute over the delivery window.
	AskedOrdersPerMin     float64 `json:"asked_orders_per_min"`
	OrdersSent            int     `json:"orders_sent"`
	UpdatesSent           int     `json:"updates_sent"`
	WebhooksAccepted      int     `json:"webhooks_accepted"`
	WebhooksRefused       int     `json:"webhooks_refused"` // non-2xx answers or no answer
	SentOrdersPerMin      float64 `json:"sent_orders_per_min"`
	ProcessedOrdersPerMin float64 `json:"processed_orders_per_min"`
	SendSeconds           float64 `json:"send_seconds"`
	// DrainSeconds is how long after the last delivery the queue took to
	// empty (or the drain limit, when it did not).
	DrainSeconds float64 `json:"drain_seconds"`
	Drained      bool    `json:"drained"`
	// Webhook answer times in milliseconds, against Shopify's 5 s limit.
	AnswerP50Ms float64 `json:"answer_p50_ms"`
	AnswerP99Ms float64 `json:"answer_p99_ms"`
	AnswerMaxMs float64 `json:"answer_max_ms"`
	OverLimit   int     `json:"over_limit"` // answers slower than 5 s
	// Queue lag over time: one sample a tick.
	Lag       []LagSample `json:"lag"`
	MaxLagSec float64     `json:"max_lag_sec"`
	// Syncs the rehearsal created, by outcome and by failure class.
	Syncs         int            `json:"syncs"`
	Succeeded     int            `json:"succeeded"`
	Failed        int            `json:"failed"`
	Waiting       int            `json:"waiting"` // still pending, running or retrying when the report was written
	ByStatus      map[string]int `json:"by_status"`
	FailedByClass map[string]int `json:"failed_by_class"`
	// API budget: calls Crossdock made to the connected systems during the
	// run (Shopify and Odoo), and how many failed.
	APICalls  int  `json:"api_calls"`
	APIFailed int  `json:"api_failed"`
	Cancelled bool `json:"cancelled"`

	// End to end: the mapped variants and locations the orders and stock
	// updates were made of, and the ERPs they were written to.
	Variants  int      `json:"variants,omitempty"`
	Locations int      `json:"locations,omitempty"`
	Targets   []string `json:"targets,omitempty"`
	// Orders created in the ERP and stock levels applied (succeeded syncs),
	// and orders per minute synced from the first delivery until the last
	// order sync ended.
	OrdersSynced       int     `json:"orders_synced,omitempty"`
	StockSynced        int     `json:"stock_synced,omitempty"`
	SyncedOrdersPerMin float64 `json:"synced_orders_per_min,omitempty"`
	// What became of every stock level sent, per receiving ERP: each one
	// was applied (StockSynced), superseded by a newer level of the same
	// item at the same location (counted, not sent), failed, or was still
	// waiting when the report was written. StockReceivers is how many ERPs
	// receive each level: the four add up to UpdatesSent × StockReceivers.
	StockSuperseded int `json:"stock_superseded,omitempty"`
	StockFailed     int `json:"stock_failed,omitempty"`
	StockWaiting    int `json:"stock_waiting,omitempty"`
	StockReceivers  int `json:"stock_receivers,omitempty"`
	// Webhook accepted → sync succeeded, in milliseconds.
	OrderE2EP50Ms float64 `json:"order_e2e_p50_ms,omitempty"`
	OrderE2EP99Ms float64 `json:"order_e2e_p99_ms,omitempty"`
	StockE2EP50Ms float64 `json:"stock_e2e_p50_ms,omitempty"`
	StockE2EP99Ms float64 `json:"stock_e2e_p99_ms,omitempty"`
	// Shopify's cost bucket as its answers reported it during the run: the
	// points spent (sum of actualQueryCost), the lowest currentlyAvailable
	// seen, of maximumAvailable, and the throttled answers.
	ShopifyCalls     int     `json:"shopify_calls,omitempty"`
	ShopifyCost      float64 `json:"shopify_cost,omitempty"`
	ShopifyLowest    float64 `json:"shopify_lowest,omitempty"`
	ShopifyMax       float64 `json:"shopify_max,omitempty"`
	ShopifyThrottled int     `json:"shopify_throttled,omitempty"`
	OdooCalls        int     `json:"odoo_calls,omitempty"`
	OdooFailed       int     `json:"odoo_failed,omitempty"`
}

// LagSample is the queue lag at one moment of a rehearsal.
type LagSample struct {
	AtSec   float64 `json:"at"`      // seconds since the start
	LagSec  float64 `json:"lag"`     // age of the oldest sync still waiting
	Waiting int     `json:"waiting"` // syncs still waiting
}

// NewRehearsal is what an admin asks for.
type NewRehearsal struct {
	ConnectionID    int64
	Profile         string
	Multiple        float64
	OrdersPerMin    float64
	DurationSeconds int
	UpdatesPerOrder int
}

// Validate checks the numbers; the connection is checked by CreateRehearsal.
func (in NewRehearsal) Validate() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	if in.Profile != RehearsalBestHour && in.Profile != RehearsalRate {
		fe["profile"] = "Choose a multiple of your busiest hour or a rate of orders per minute."
	}
	if in.Profile == RehearsalBestHour && (in.Multiple <= 0 || in.Multiple > 100) {
		fe["multiple"] = "Enter a multiple between 0.1 and 100 (for example 3 for three times your busiest hour)."
	}
	if in.OrdersPerMin <= 0 || in.OrdersPerMin > 100000 {
		fe["orders_per_min"] = "Enter between 1 and 100,000 orders a minute."
	}
	if in.DurationSeconds < 1 || in.DurationSeconds > 7200 {
		fe["duration"] = "A rehearsal lasts between 1 second and 2 hours."
	}
	if in.UpdatesPerOrder < 0 || in.UpdatesPerOrder > 50 {
		fe["updates_per_order"] = "Enter between 0 and 50 inventory updates per order."
	}
	if in.ConnectionID <= 0 {
		fe["connection"] = "Choose the test Shopify store to rehearse against."
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

const rehearsalColumns = `r.id, r.created_at, r.created_by, r.created_by_label, r.connection_id, c.name AS connection_name,
r.profile, r.multiple, r.orders_per_min, r.duration_seconds, r.updates_per_order, r.state, r.started_at, r.finished_at,
r.report, r.verdict, r.error`

// CreateRehearsal records a rehearsal, refusing anything but an enabled
// test-environment Shopify connection. Call it on the Tx that queues its job.
func (tx *Tx) CreateRehearsal(ctx context.Context, a Actor, in NewRehearsal) (Rehearsal, error) {
	if fe := in.Validate(); fe != nil {
		return Rehearsal{}, fe
	}
	c, err := tx.ConnectionByID(ctx, in.ConnectionID)
	if err != nil {
		if err == ErrNotFound {
			return Rehearsal{}, vocab.FieldErrors{"connection": "This connection no longer exists: choose another one."}
		}
		return Rehearsal{}, err
	}
	switch {
	case c.Kind != vocab.KindShopify:
		return Rehearsal{}, vocab.FieldErrors{"connection": fmt.Sprintf("%q is not a Shopify store: a rehearsal sends Shopify webhooks.", c.Name)}
	case c.IsProduction():
		return Rehearsal{}, vocab.FieldErrors{"connection": fmt.Sprintf("%q is a production store. A rehearsal floods its connection with made-up orders, so it only runs against test-environment connections (the sandbox twins).", c.Name)}
	case !c.Enabled:
		return Rehearsal{}, vocab.FieldErrors{"connection": fmt.Sprintf("%q is disabled, so it would turn every webhook away: enable it first.", c.Name)}
	}
	var id int64
	var by *int64
	if a.UserID != 0 {
		by = &a.UserID
	}
	if err := sqlxGet(ctx, tx.q, &id, `INSERT INTO rehearsals (created_by, created_by_label, connection_id, profile, multiple,
orders_per_min, duration_seconds, updates_per_order) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		by, a.Label, c.ID, in.Profile, in.Multiple, in.OrdersPerMin, in.DurationSeconds, in.UpdatesPerOrder); err != nil {
		return Rehearsal{}, fmt.Errorf("store: insert rehearsal: %w", err)
	}
	r, err := tx.Rehearsal(ctx, id)
	if err != nil {
		return r, err
	}
	return r, tx.Audit(ctx, a, Change{Action: "rehearsal.started", ObjectType: "rehearsal", ObjectID: strconv.FormatInt(id, 10),
		Summary: fmt.Sprintf("Started a peak rehearsal of %.0f orders a minute for %s against %q", in.OrdersPerMin, time.Duration(in.DurationSeconds)*time.Second, c.Name),
		After:   in})
}

// Rehearsal reads one rehearsal.
func (q q) Rehearsal(ctx context.Context, id int64) (Rehearsal, error) {
	var r Rehearsal
	err := sqlxGet(ctx, q, &r, `SELECT `+rehearsalColumns+` FROM rehearsals r JOIN connections c ON c.id = r.connection_id WHERE r.id = $1`, id)
	return r, notFound(err)
}

// ListRehearsals returns the latest rehearsals, newest first.
func (q q) ListRehearsals(ctx context.Context, limit int) ([]Rehearsal, error) {
	var rs []Rehearsal
	err := sqlxSelect(ctx, q, &rs, `SELECT `+rehearsalColumns+` FROM rehearsals r JOIN connections c ON c.id = r.connection_id
ORDER BY r.created_at DESC, r.id DESC LIMIT $1`, limit)
	return rs, err
}

// StartRehearsalRun marks a queued rehearsal running; false when it was
// cancelled (or already ran) meanwhile.
func (q q) StartRehearsalRun(ctx context.Context, id int64) (bool, error) {
	res, err := q.ext.ExecContext(ctx, `UPDATE rehearsals SET state = 'running', started_at = now() WHERE id = $1 AND state = 'queued'`, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RehearsalCancelRequested reports whether someone asked the run to stop.
func (q q) RehearsalCancelRequested(ctx context.Context, id int64) (bool, error) {
	var state string
	if err := sqlxGet(ctx, q, &state, `SELECT state FROM rehearsals WHERE id = $1`, id); err != nil {
		return false, notFound(err)
	}
	return state == RehearsalCancelling || state == RehearsalCancelled, nil
}

// FinishRehearsal stores the report and the verdict. state is finished,
// cancelled or failed.
func (q q) FinishRehearsal(ctx context.Context, id int64, state string, rep RehearsalReport, verdict, errText string) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = q.ext.ExecContext(ctx, `UPDATE rehearsals SET state = $2, report = $3, verdict = $4, error = $5, finished_at = now()
WHERE id = $1`, id, state, b, verdict, errText)
	return err
}

// CancelRehearsal asks a queued or running rehearsal to stop. A queued one is
// cancelled at once; a running one stops within a second and keeps the report
// of what it did. ErrConflict when it already ended.
func (s *Store) CancelRehearsal(ctx context.Context, a Actor, id int64) (Rehearsal, error) {
	var r Rehearsal
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if r, err = tx.Rehearsal(ctx, id); err != nil {
			return err
		}
		next := ""
		switch r.State {
		case RehearsalQueued:
			next = RehearsalCancelled
		case RehearsalRunning:
			next = RehearsalCancelling
		default:
			return ErrConflict
		}
		if _, err := tx.q.ext.ExecContext(ctx, `UPDATE rehearsals SET state = $2,
finished_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE finished_at END WHERE id = $1`, id, next); err != nil {
			return err
		}
		r.State = next
		return tx.Audit(ctx, a, Change{Action: "rehearsal.cancelled", ObjectType: "rehearsal", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Cancelled peak rehearsal #%d", id)})
	})
	return r, err
}

// RehearsalSyncCounts counts the syncs a rehearsal's connection had created
// since since, by status, by the failures' class, and by flow then status
// (what became of the stock levels, say).
func (q q) RehearsalSyncCounts(ctx context.Context, connID int64, since time.Time) (byStatus, failedByClass map[string]int, byFlow map[string]map[string]int, err error) {
	var rows []struct {
		Flow   string  `db:"flow"`
		Status string  `db:"status"`
		Class  *string `db:"error_class"`
		N      int     `db:"n"`
	}
	if err = sqlxSelect(ctx, q, &rows, `SELECT flow, status, error_class, count(*) AS n FROM syncs
WHERE created_at >= $2 AND (source_connection_id = $1 OR target_connection_id = $1) GROUP BY 1, 2, 3`, connID, since); err != nil {
		return nil, nil, nil, fmt.Errorf("store: rehearsal sync counts: %w", err)
	}
	byStatus, failedByClass, byFlow = map[string]int{}, map[string]int{}, map[string]map[string]int{}
	for _, r := range rows {
		byStatus[r.Status] += r.N
		if byFlow[r.Flow] == nil {
			byFlow[r.Flow] = map[string]int{}
		}
		byFlow[r.Flow][r.Status] += r.N
		if r.Status == "failed" || r.Status == "rejected" || r.Status == "retrying" {
			cl := "unclassified"
			if r.Class != nil {
				cl = *r.Class
			}
			failedByClass[cl] += r.N
		}
	}
	return byStatus, failedByClass, byFlow, nil
}

// RehearsalLag returns how long the oldest piece of work of the rehearsal's
// connection created since since has waited — a webhook event not yet turned
// into syncs, or a sync still pending, running or retrying, counted from when
// its webhook was accepted — and how many such pieces wait.
func (q q) RehearsalLag(ctx context.Context, connID int64, since, now time.Time) (lag time.Duration, waiting int, err error) {
	var row struct {
		Oldest *time.Time `db:"oldest"`
		N      int        `db:"n"`
	}
	if err = sqlxGet(ctx, q, &row, `SELECT min(t) AS oldest, COALESCE(sum(n), 0) AS n FROM (
  SELECT min(COALESCE(w.received_at, s.created_at)) AS t, count(*) AS n FROM syncs s
  LEFT JOIN webhook_events w ON w.id = s.webhook_event_id
  WHERE s.created_at >= $2 AND s.status IN ('pending', 'running', 'retrying') AND (s.source_connection_id = $1 OR s.target_connection_id = $1)
  UNION ALL
  SELECT min(received_at), count(*) FROM webhook_events WHERE connection_id = $1 AND received_at >= $2 AND processed_at IS NULL) x`,
		connID, since); err != nil {
		return 0, 0, err
	}
	if row.Oldest != nil {
		lag = max(now.Sub(*row.Oldest), 0)
	}
	return lag, row.N, nil
}

// FamilyLatency is how long a rehearsal's succeeded syncs of one family took
// from their webhook being accepted to their success.
type FamilyLatency struct {
	Family       string    `db:"family"`
	Succeeded    int       `db:"n"`
	P50Ms        float64   `db:"p50_ms"`
	P99Ms        float64   `db:"p99_ms"`
	LastFinished time.Time `db:"last_finished"`
}

// RehearsalLatency measures, per family, the succeeded syncs that came from
// the connection's webhooks accepted since since: webhook accepted → sync
// succeeded.
func (q q) RehearsalLatency(ctx context.Context, connID int64, since time.Time) (map[string]FamilyLatency, error) {
	var rows []FamilyLatency
	if err := sqlxSelect(ctx, q, &rows, `SELECT s.family, count(*) AS n,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - w.received_at)) * 1000 AS p50_ms,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - w.received_at)) * 1000 AS p99_ms,
  max(s.finished_at) AS last_finished
FROM syncs s JOIN webhook_events w ON w.id = s.webhook_event_id
WHERE s.source_connection_id = $1 AND s.created_at >= $2 AND w.received_at >= $2 AND s.status = 'succeeded' AND s.finished_at IS NOT NULL
GROUP BY s.family`, connID, since); err != nil {
		return nil, fmt.Errorf("store: rehearsal latency: %w", err)
	}
	out := make(map[string]FamilyLatency, len(rows))
	for _, r := range rows {
		out[r.Family] = r
	}
	return out, nil
}

// MappedRef is a current reference of one system whose entity is also
// mapped in the other systems asked about.
type MappedRef struct {
	ExternalID string `db:"external_id"`
	SKU        string `db:"sku"`
	Name       string `db:"name"`
}

// MappedRefs lists up to limit current references of entityType in from
// whose entity has a current reference in every one of to, oldest first:
// the variants (or locations) a rehearsal can use, since every ERP it writes
// to knows them.
func (q q) MappedRefs(ctx context.Context, from int64, to []int64, entityType string, limit int) ([]MappedRef, error) {
	var refs []MappedRef
	if err := sqlxSelect(ctx, q, &refs, `SELECT a.external_id, a.sku, a.name FROM mapping_refs a
WHERE a.connection_id = $1 AND a.entity_type = $2 AND a.valid_to IS NULL
  AND (SELECT count(DISTINCT b.connection_id) FROM mapping_refs b
       WHERE b.entity_id = a.entity_id AND b.connection_id = ANY($3) AND b.valid_to IS NULL) = cardinality($3::bigint[])
ORDER BY a.id LIMIT $4`, from, entityType, pq.Array(to), limit); err != nil {
		return nil, fmt.Errorf("store: mapped refs: %w", err)
	}
	return refs, nil
}

// RehearsalWebhooks counts the webhook events the connection stored since
// since and how many of them the engine has not yet turned into syncs.
func (q q) RehearsalWebhooks(ctx context.Context, connID int64, since time.Time) (stored, unprocessed int, err error) {
	var row struct {
		N int `db:"n"`
		U int `db:"u"`
	}
	err = sqlxGet(ctx, q, &row, `SELECT count(*) AS n, count(*) FILTER (WHERE processed_at IS NULL) AS u FROM webhook_events
WHERE connection_id = $1 AND received_at >= $2`, connID, since)
	return row.N, row.U, err
}

// BusiestOrderHour returns the most order syncs created in one hour since
// since, and that hour, leaving out the syncs rehearsals made (a rehearsal
// must not raise the bar of the next one). Zero when there were none.
func (q q) BusiestOrderHour(ctx context.Context, since time.Time) (int, time.Time, error) {
	var rows []struct {
		Hour time.Time `db:"hour"`
		N    int       `db:"n"`
	}
	err := sqlxSelect(ctx, q, &rows, `SELECT date_trunc('hour', s.created_at) AS hour, count(*) AS n FROM syncs s
WHERE s.family = 'orders' AND s.created_at >= $1
  AND NOT EXISTS (SELECT 1 FROM rehearsals r WHERE r.connection_id = s.source_connection_id AND r.started_at IS NOT NULL
                  AND s.created_at >= r.started_at AND s.created_at <= COALESCE(r.finished_at, 'infinity'))
GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT 1`, since)
	if err != nil || len(rows) == 0 {
		return 0, time.Time{}, err
	}
	return rows[0].N, rows[0].Hour, nil
}
