package engine_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// BenchmarkReplayByFilter replays every failure matching a filter: n orders
// that failed because a variant was not mapped, replayed once the mapping is
// fixed. It reports the time until every failure is queued (the batch's job
// lists them in one statement), until every replay is made (each failure
// claimed, its replay and queue job written, chunks of 1,000 in a
// transaction each, while the first replays run), until every replay ran
// against the Odoo sandbox, and the duplicate sale orders (must be 0).
//
//	CROSSDOCK_BENCH_REPLAYS=100000 go test -run '^$' -bench ReplayByFilter -benchtime 1x -timeout 60m ./engine/
//	CROSSDOCK_BENCH_REPLAYS=100000 CROSSDOCK_BENCH_PROCESS_MINUTES=5 go test ...  # enqueue, and the rate over 5 minutes
func BenchmarkReplayByFilter(b *testing.B) {
	n := envInt("CROSSDOCK_BENCH_REPLAYS", 2000)
	// CROSSDOCK_BENCH_PROCESS_MINUTES bounds the wait for the replays to run
	// [60]; past it, the rate so far is reported.
	processFor := time.Duration(envInt("CROSSDOCK_BENCH_PROCESS_MINUTES", 60)) * time.Minute
	for b.Loop() {
		e := setup(b, options{seed: 200, start: true, realMappings: true, configure: func(c *engine.Config) {
			c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			c.FetchCooldown, c.FetchPollInterval = 2*time.Millisecond, 50*time.Millisecond
		}})
		ctx := context.Background()
		v := e.shop.Variants()[0]
		// The variant's mapping removed through a change set, as a person
		// would: its orders fail as unmapped.
		approveMappings(b, e.st, []store.ItemInput{{Op: store.OpRemove, EntityType: "variant", ConnectionID: e.shopConn.ID, ExternalID: v.GID()}})
		_, payload := e.order(b, shopsandbox.NewLine{VariantID: v.GID(), Quantity: 1})
		e.deliverB(b, payload, "bench-replay")
		var first store.Sync
		wait(b, "the order to fail", func() bool {
			l, _, err := e.st.ListFailed(ctx, store.FailedFilter{})
			require.NoError(b, err)
			if len(l) == 1 {
				first = e.sync(b, l[0].ID)
			}
			return len(l) == 1
		})
		require.Equal(b, vocab.ClassUnmapped, first.Class())
		// n-1 more failed orders like it, each its own order, set-based.
		_, err := e.st.DB.ExecContext(ctx, `INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id,
  target_connection_id, trigger, entity_type, entity_ref, entity_key, search_keys, source_version, status, error_class, message,
  payload, idempotency_key, attempts, max_attempts, finished_at)
SELECT s.created_at, s.updated_at, s.family, s.direction, s.flow, s.source_connection_id, s.target_connection_id, s.trigger,
  s.entity_type, s.entity_ref || '-' || g, s.entity_key || '-' || g, s.search_keys, s.source_version, s.status, s.error_class,
  s.message, jsonb_set(jsonb_set(s.payload, '{id}', to_jsonb(s.entity_ref || '-' || g)), '{name}', to_jsonb(s.entity_key || '-' || g)),
  s.idempotency_key || '-' || g, s.attempts, s.max_attempts, s.finished_at
FROM syncs s, generate_series(2, $2::int) g WHERE s.id = $1`, first.ID, n)
		require.NoError(b, err)
		_, err = e.st.DB.ExecContext(ctx, `ANALYZE syncs`)
		require.NoError(b, err)
		approveMappings(b, e.st, e.variantItems(v, e.productBySKU[v.SKU].ID))

		t0 := time.Now()
		batch, err := e.eng.StartReplayBatch(ctx, store.SystemActor("bench"), store.NewReplayBatch{
			Filter: store.FailedFilter{ErrorClass: vocab.ClassUnmapped}, Description: "bench"})
		require.NoError(b, err)
		var queued time.Duration
		for batch.Status != store.BatchDone {
			time.Sleep(10 * time.Millisecond)
			batch, err = e.st.ReplayBatchByID(ctx, batch.ID)
			require.NoError(b, err)
			require.NotEqual(b, store.BatchFailed, batch.Status)
			if queued == 0 && batch.Taken != nil {
				queued = time.Since(t0)
				// Said at once: the wait for processing may be cut short by the bound.
				b.Logf("%d failures queued for replay in %s", *batch.Taken, queued.Round(time.Millisecond))
			}
		}
		made := time.Since(t0)
		if queued == 0 { // queued and made between two looks
			queued = made
		}
		b.Logf("every replay made (each failure claimed, its replay and queue job written) in %s", made.Round(time.Millisecond))
		require.Equal(b, n, *batch.Taken)
		require.Equal(b, n, batch.Enqueued)
		deadline := time.Now().Add(processFor)
		var p store.BatchProgress
		for {
			p, err = e.st.ReplayBatchProgress(ctx, batch.ID)
			require.NoError(b, err)
			if p.Finished() >= n || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		processed := time.Since(t0)
		refs := map[string]int{}
		for _, so := range e.odoo.SaleOrders() {
			refs[so.ClientOrderRef]++
		}
		dups := 0
		for _, c := range refs {
			dups += c - 1
		}
		if p.Finished() < n {
			// Stopped waiting: the rate so far, and no duplicate among them.
			require.Zero(b, dups, "duplicate sale orders")
			b.ReportMetric(queued.Seconds(), "s_to_queue")
			b.ReportMetric(made.Seconds(), "s_to_make")
			b.ReportMetric(float64(p.Finished())/processed.Seconds(), "replays/s")
			b.ReportMetric(float64(dups), "duplicates")
			b.Logf("%d failures replayed by filter: all queued in %s, made in %s; stopped waiting after %s with %d processed (%.0f/s), %d duplicates",
				n, queued.Round(time.Millisecond), made.Round(time.Millisecond), processed.Round(time.Millisecond), p.Finished(),
				float64(p.Finished())/processed.Seconds(), dups)
			continue
		}
		require.Zero(b, dups, "duplicate sale orders")
		require.Equal(b, n, p.Succeeded, "every replay succeeded")
		require.Len(b, refs, n, "one sale order per failed order")
		b.ReportMetric(queued.Seconds(), "s_to_queue")
		b.ReportMetric(made.Seconds(), "s_to_make")
		b.ReportMetric(processed.Seconds(), "s_to_process")
		b.ReportMetric(float64(n)/processed.Seconds(), "replays/s")
		b.ReportMetric(float64(dups), "duplicates")
		b.Logf("%d failures replayed by filter: all queued in %s, made in %s, all processed in %s (%.0f/s), %d duplicates",
			n, queued.Round(time.Millisecond), made.Round(time.Millisecond), processed.Round(time.Millisecond), float64(n)/processed.Seconds(), dups)
	}
}
