package store_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// BenchmarkMappingUnmappedWithDrafts reads the first page of the unmapped
// list (with suggestions) while open proposed changes hold many of its
// records, which the page hides: with and without that check, and the
// "Map to…" search. CROSSDOCK_BENCH_UNMAPPED sets the records per system
// (default 100,000); a third of them wait in three open drafts.
func BenchmarkMappingUnmappedWithDrafts(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CROSSDOCK_BENCH_UNMAPPED")); err == nil && v > 0 {
		n = v
	}
	e := benchSetup(b)
	ctx := b.Context()
	start := time.Now()
	for _, conn := range []struct {
		id  int64
		ext string
	}{{e.shop.ID, `'gid://shopify/ProductVariant/' || g`}, {e.odoo.ID, `g::text`}} {
		_, err := e.st.DB.ExecContext(ctx, `INSERT INTO external_records (connection_id, entity_type, external_id, sku, name)
SELECT $1, 'variant', `+conn.ext+`, 'SKU-' || lpad(g::text, 7, '0'), 'Chair ' || g FROM generate_series(1, $2) g`, conn.id, n)
		require.NoError(b, err)
	}
	// Three drafts of matches, each a ninth of the records (both sides).
	for d := 0; d < 3; d++ {
		var cs int64
		require.NoError(b, e.st.DB.GetContext(ctx, &cs, `INSERT INTO change_sets (title, source, proposed_by, proposed_label) VALUES ('bench draft', 'suggestions', $1, 'o') RETURNING id`, e.op.UserID))
		_, err := e.st.DB.ExecContext(ctx, `INSERT INTO change_set_items (change_set_id, line, op, entity_type, connection_id, entity_key, external_id)
SELECT $1::bigint, 2 * g, 'set', 'variant', $2::bigint, 'SKU-' || lpad(g::text, 7, '0'), 'gid://shopify/ProductVariant/' || g FROM generate_series($4::int, $5::int) g
UNION ALL
SELECT $1::bigint, 2 * g + 1, 'set', 'variant', $3::bigint, 'SKU-' || lpad(g::text, 7, '0'), g::text FROM generate_series($4::int, $5::int) g`,
			cs, e.shop.ID, e.odoo.ID, 1+d*n/9, (d+1)*n/9)
		require.NoError(b, err)
	}
	_, err := e.st.DB.ExecContext(ctx, `VACUUM ANALYZE`)
	require.NoError(b, err)
	b.Logf("seeded %d records per system, %d in open drafts, in %s", n, 3*(n/9), time.Since(start).Round(time.Millisecond))

	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"first page, drafted rows hidden", func() error {
			rows, _, err := e.st.ListUnmapped(ctx, store.UnmappedFilter{From: e.shop.ID, To: e.odoo.ID, EntityType: "variant", Limit: 50})
			if err == nil && len(rows) != 50 {
				err = fmt.Errorf("got %d rows", len(rows))
			}
			return err
		}},
		{"first page, drafted rows shown", func() error {
			_, _, err := e.st.ListUnmapped(ctx, store.UnmappedFilter{From: e.shop.ID, To: e.odoo.ID, EntityType: "variant", Limit: 50, ShowDrafted: true})
			return err
		}},
		{"waiting counts", func() error {
			_, err := e.st.UnmappedWaiting(ctx, e.shop.ID, "variant")
			return err
		}},
		{"Map to… search", func() error {
			_, err := e.st.MappingCandidates(ctx, store.CandidateFilter{In: e.odoo.ID, Other: e.shop.ID, EntityType: "variant", Query: "chair 777", Limit: 8})
			return err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				for range 20 {
					t0 := time.Now()
					require.NoError(b, tc.run())
					ds = append(ds, time.Since(t0))
				}
			}
			b.ReportMetric(p95(ds), "p95-ms")
		})
	}
}
