package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/storetest"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done *atomic.Int64
	all  chan struct{}
	n    int64
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	if w.done.Add(1) == w.n {
		close(w.all)
	}
	return nil
}

// BenchmarkQueue measures jobs per second through River (database/sql driver
// on lib/pq, as the engine runs it) and through a plain batched
// FOR UPDATE SKIP LOCKED claim, in the same run on the same database, with
// the same number of workers. Jobs do nothing: this is the queue's own cost.
//
//	go test -run '^$' -bench Queue -benchtime 1x ./engine/
//	CROSSDOCK_BENCH_JOBS=50000 go test -run '^$' -bench Queue -benchtime 1x ./engine/
func BenchmarkQueue(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_JOBS", 20000)
	const workers = 32
	ctx := context.Background()
	st := storetest.New(b)
	st.DB.SetMaxOpenConns(workers + 20)
	require.NoError(b, st.MigrateQueue(ctx))
	for b.Loop() {
		// River.
		riverTime := runRiverBench(b, st.DB.DB, n, workers).elapsed
		var err error

		// Plain SKIP LOCKED: claim 100 available jobs (mark running), then
		// complete them (mark completed): two statements per batch, like a
		// queue that survives a crash between the two.
		for _, stmt := range []string{`DROP TABLE IF EXISTS bench_jobs`,
			`CREATE TABLE bench_jobs (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'available',
  args jsonb NOT NULL, attempted_at timestamptz, finalized_at timestamptz)`,
			`CREATE INDEX bench_jobs_available ON bench_jobs (id) WHERE state = 'available'`,
			fmt.Sprintf(`INSERT INTO bench_jobs (args) SELECT jsonb_build_object('n', i) FROM generate_series(1, %d) i`, n)} {
			_, err = st.DB.ExecContext(ctx, stmt)
			require.NoError(b, err)
		}
		var plainDone atomic.Int64
		t0 := time.Now()
		var wg sync.WaitGroup
		// require stops the benchmark with FailNow, which must run on its
		// own goroutine: the workers hand their errors back instead.
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for {
					ids, err := claim(ctx, st.DB.DB)
					if err != nil {
						errs <- err
						return
					}
					if len(ids) == 0 {
						return
					}
					if _, err = st.DB.ExecContext(ctx, `UPDATE bench_jobs SET state = 'completed', finalized_at = now() WHERE id = ANY($1)`, int64Array(ids)); err != nil {
						errs <- err
						return
					}
					plainDone.Add(int64(len(ids)))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(b, err)
		}
		plainTime := time.Since(t0)
		require.EqualValues(b, n, plainDone.Load())

		riverRate := float64(n) / riverTime.Seconds()
		plainRate := float64(n) / plainTime.Seconds()
		b.ReportMetric(riverRate, "river_jobs/s")
		b.ReportMetric(plainRate, "skiplocked_jobs/s")
		b.ReportMetric(plainRate/riverRate, "skiplocked/river")
		b.Logf("%d jobs, %d workers: River %.0f jobs/s (%s), plain SKIP LOCKED %.0f jobs/s (%s): ratio %.2f",
			n, workers, riverRate, riverTime.Round(time.Millisecond), plainRate, plainTime.Round(time.Millisecond), plainRate/riverRate)
	}
}

// riverRun is one timed pass of n jobs through River.
type riverRun struct {
	elapsed   time.Duration
	completed int // jobs marked completed in river_job when the clock stopped
}

// runRiverBench inserts n no-op jobs, starts a River client with workers
// workers and stops the clock once all n are marked completed in river_job,
// as the plain SKIP LOCKED loop's clock stops after its completing UPDATE.
// The nth Work call is not the end: River records completions afterwards, in
// batches, so stopping there left River's completion writes out of its time
// while the plain queue's were in.
func runRiverBench(tb testing.TB, db *sql.DB, n, workers int) riverRun {
	tb.Helper()
	ctx := context.Background()
	_, err := db.ExecContext(ctx, `DELETE FROM river_job WHERE queue = 'bench'`)
	require.NoError(tb, err)
	done := &atomic.Int64{}
	w := &noopWorker{done: done, all: make(chan struct{}), n: int64(n)}
	ws := river.NewWorkers()
	river.AddWorker(ws, w)
	client, err := river.NewClient(riverdatabasesql.New(db), &river.Config{
		Queues:  map[string]river.QueueConfig{"bench": {MaxWorkers: workers}},
		Workers: ws, FetchCooldown: time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(tb, err)
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{N: i}, InsertOpts: &river.InsertOpts{Queue: "bench"}}
	}
	for start := 0; start < n; start += 5000 {
		_, err := client.InsertManyFast(ctx, params[start:min(start+5000, n)])
		require.NoError(tb, err)
	}
	completed := func() int {
		var c int
		require.NoError(tb, db.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE queue = 'bench' AND state = 'completed'`).Scan(&c))
		return c
	}
	t0 := time.Now()
	require.NoError(tb, client.Start(ctx))
	select {
	case <-w.all:
	case <-time.After(5 * time.Minute):
		tb.Fatalf("river: %d of %d jobs done", done.Load(), n)
	}
	// Every job has run; the clock stops when River has recorded them all.
	deadline := waitDeadline(tb)
	c := completed()
	for ; c < n; c = completed() {
		if time.Now().After(deadline) {
			tb.Fatalf("river: %d of %d jobs recorded completed", c, n)
		}
		time.Sleep(time.Millisecond)
	}
	run := riverRun{elapsed: time.Since(t0), completed: c}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	require.NoError(tb, client.Stop(stopCtx))
	cancel()
	return run
}

// River's time in BenchmarkQueue ends when every job is recorded completed,
// not when the last one has run.
func TestQueueBenchRiverClockStopsAtCompletion(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	require.NoError(t, st.MigrateQueue(context.Background()))
	const n = 300
	run := runRiverBench(t, st.DB.DB, n, 8)
	require.Equal(t, n, run.completed)
}

func claim(ctx context.Context, db *sql.DB) ([]int64, error) {
	rows, err := db.QueryContext(ctx, `UPDATE bench_jobs SET state = 'running', attempted_at = now()
WHERE id IN (SELECT id FROM bench_jobs WHERE state = 'available' ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)
RETURNING id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func int64Array(ids []int64) string {
	b := []byte{'{'}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, '}'))
}

// BenchmarkOrders sends N Shopify orders/create webhook events (stored as
// ingest stores them, 5 % delivered twice) through the engine into the Odoo
// sandbox, and reports orders per second, the p99 latency from webhook
// accepted to order created, and duplicates in Odoo (must be 0).
//
//	go test -run '^$' -bench Orders -benchtime 1x ./engine/
//	CROSSDOCK_BENCH_ORDERS=10000 go test -run '^$' -bench Orders -benchtime 1x -timeout 30m ./engine/
//	CROSSDOCK_BENCH_RATE=25 go test -run '^$' -bench Orders -benchtime 1x ./engine/  # paced, a flash sale
func BenchmarkOrders(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_ORDERS", 2000)
	// CROSSDOCK_BENCH_RATE paces the webhooks (orders/s); 0 delivers them
	// all at once (a burst: latency then measures the backlog).
	rate := envInt("CROSSDOCK_BENCH_RATE", 0)
	for b.Loop() {
		e := setup(b, options{seed: 200, realMappings: true, configure: func(c *engine.Config) {
			c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			c.RetryBase = 100 * time.Millisecond
			c.FetchCooldown, c.FetchPollInterval = 2*time.Millisecond, 50*time.Millisecond
		}})
		ctx := context.Background()
		vs := e.shop.Variants()
		r := rand.New(rand.NewPCG(1, 2))
		payloads := make([][]byte, n)
		gids := make([]string, n)
		for i := range n {
			var lines []shopsandbox.NewLine
			for range 1 + r.IntN(3) {
				lines = append(lines, shopsandbox.NewLine{VariantID: vs[r.IntN(len(vs))].GID(), Quantity: 1 + r.IntN(3)})
			}
			o, p := e.order(b, lines...)
			// 500 customers, as a busy store has.
			email := fmt.Sprintf("customer-%03d@example.com", i%500)
			payloads[i] = setJSON(b, setJSON(b, p, "email", email), "customer",
				map[string]any{"first_name": "Customer", "last_name": strconv.Itoa(i % 500), "email": email})
			gids[i] = o.GID()
		}
		e.start(b)

		t0 := time.Now()
		var wg sync.WaitGroup
		next := atomic.Int64{}
		const ingesters = 8
		// Asserted after Wait, on the benchmark's goroutine.
		errs := make(chan error, ingesters)
		for range ingesters { // concurrent ingest, as the web handlers store them
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					if rate > 0 { // paced: order i arrives at i/rate seconds
						time.Sleep(time.Until(t0.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))))
					}
					err := e.storeOrderEvent(payloads[i], fmt.Sprintf("bench-%d", i))
					if err == nil && i%20 == 0 {
						err = e.storeOrderEvent(payloads[i], fmt.Sprintf("bench-%d-again", i))
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(b, err)
		}
		ingest := time.Since(t0)
		var ended int
		deadline := time.Now().Add(30 * time.Minute)
		for {
			require.NoError(b, e.st.DB.GetContext(ctx, &ended, `SELECT count(*) FROM syncs WHERE family = 'orders' AND finished_at IS NOT NULL`))
			if ended >= n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d orders synced", ended, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(t0)

		var stats struct {
			Succeeded int     `db:"succeeded"`
			Other     int     `db:"other"`
			P50       float64 `db:"p50"`
			P99       float64 `db:"p99"`
			Max       float64 `db:"max"`
			Retries   int     `db:"retries"`
		}
		require.NoError(b, e.st.DB.GetContext(ctx, &stats, `SELECT
  count(*) FILTER (WHERE s.status = 'succeeded') AS succeeded,
  count(*) FILTER (WHERE s.status <> 'succeeded') AS other,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - w.received_at)) AS p50,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM s.finished_at - w.received_at)) AS p99,
  max(extract(epoch FROM s.finished_at - w.received_at)) AS max,
  sum(s.attempts - 1) AS retries
FROM syncs s JOIN webhook_events w ON w.id = s.webhook_event_id`))
		refs := map[string]int{}
		for _, so := range e.odoo.SaleOrders() {
			refs[so.ClientOrderRef]++
		}
		dups := 0
		for _, c := range refs {
			dups += c - 1
		}
		missing := 0
		for _, g := range gids {
			if refs[g] == 0 {
				missing++
			}
		}
		var ignored int
		require.NoError(b, e.st.DB.GetContext(ctx, &ignored, `SELECT count(*) FROM webhook_events WHERE status = 'ignored'`))
		if stats.Succeeded != n {
			var rows []struct {
				Status  string `db:"status"`
				Class   string `db:"class"`
				Message string `db:"message"`
				N       int    `db:"n"`
			}
			require.NoError(b, e.st.DB.SelectContext(ctx, &rows, `SELECT status, COALESCE(error_class, '') AS class, left(message, 200) AS message, count(*) AS n
FROM syncs WHERE status <> 'succeeded' GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 10`))
			for _, r := range rows {
				b.Logf("%d × %s %s: %s", r.N, r.Status, r.Class, r.Message)
			}
		}
		require.Zero(b, dups, "duplicate sale orders")
		require.Zero(b, missing, "orders missing in Odoo")
		require.Equal(b, n, stats.Succeeded)

		perSec := float64(n) / elapsed.Seconds()
		b.ReportMetric(perSec, "orders/s")
		b.ReportMetric(stats.P99*1000, "p99_ms")
		b.ReportMetric(float64(dups), "duplicates")
		b.Logf("webhooks at %d/s (0: all at once): %d orders (+%d duplicate deliveries, all ignored: %v) in %s: %.0f orders/s; webhook accepted → order created p50 %.0f ms, p99 %.0f ms, max %.0f ms; retries %d; duplicates in Odoo %d; ingest took %s",
			rate, n, (n+19)/20, ignored == (n+19)/20, elapsed.Round(time.Millisecond), perSec, stats.P50*1000, stats.P99*1000, stats.Max*1000,
			stats.Retries, dups, ingest.Round(time.Millisecond))
	}
}

func (e *env) deliverB(b testing.TB, payload []byte, webhookID string) {
	require.NoError(b, e.storeOrderEvent(payload, webhookID))
}

// storeOrderEvent stores an orders/create webhook as ingest does. It returns
// its error rather than failing the benchmark, so goroutines may call it.
func (e *env) storeOrderEvent(payload []byte, webhookID string) error {
	_, inserted, err := e.st.InsertWebhookEvent(context.Background(), store.NewWebhookEvent{ConnectionID: e.shopConn.ID,
		WebhookID: webhookID, EventID: "evt", Topic: "orders/create", ShopDomain: e.shop.Domain(), APIVersion: "2026-04", Payload: payload})
	if err != nil {
		return err
	}
	if !inserted {
		return fmt.Errorf("webhook %s was stored already", webhookID)
	}
	return nil
}
