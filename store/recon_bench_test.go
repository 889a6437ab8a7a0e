package store_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Run with: go test -run '^$' -bench ReconInventory -benchtime 1x ./store/
// CROSSDOCK_BENCH_SKU_LOCATIONS sets the size (default 100,000; the figures
// in the closing note are at 1,000,000).
//
// The snapshots are "already pulled": both systems' stock levels are in
// recon_stock, translated through the mappings, one in a hundred differing.
// The benchmark times the comparison (which also writes the discrepancies)
// against a bare FULL OUTER JOIN of the same rows, in the same run, and
// reports the peak RSS of this process and of the PostgreSQL backend.
func BenchmarkReconInventory(b *testing.B) {
	n := 100_000
	if v := os.Getenv("CROSSDOCK_BENCH_SKU_LOCATIONS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	const locations = 4
	variants := n / locations
	e := benchSetup(b)
	ctx := b.Context()
	// One backend, so its memory can be read.
	e.st.DB.SetMaxOpenConns(1)
	start := time.Now()
	var cs int64
	require.NoError(b, e.st.DB.GetContext(ctx, &cs, `INSERT INTO change_sets (title, status, source, version) VALUES ('bench', 'approved', 'import', 1) RETURNING id`))
	for _, q := range []string{
		`INSERT INTO mapping_versions (version, change_set_id) VALUES (1, $1)`,
		`INSERT INTO mapping_entities (entity_type, key) SELECT 'variant', 'SKU-' || g FROM generate_series(1, $1::int) g WHERE $1 > 0`,
		`INSERT INTO mapping_entities (entity_type, key) SELECT 'location', 'LOC-' || g FROM generate_series(1, 4) g WHERE $1 > 0`,
	} {
		arg := any(cs)
		if strings.Contains(q, "generate_series") {
			arg = variants
		}
		_, err := e.st.DB.ExecContext(ctx, q, arg)
		require.NoError(b, err)
	}
	var run int64
	require.NoError(b, e.st.DB.GetContext(ctx, &run, `INSERT INTO recon_runs (family, trigger, status, started_at) VALUES ('inventory', 'manual', 'running', now()) RETURNING id`))
	// Odoo's stock (the master) and Shopify's: the same levels, but one in a
	// hundred differs; ids as each system writes them, entities as the
	// snapshot translated them.
	_, err := e.st.DB.ExecContext(ctx, `INSERT INTO recon_stock (run_id, connection_id, variant_ref, location_ref, variant_id, location_id, label, location, on_hand, available)
SELECT $1, $2, v.id::text, l.id::text, v.id, l.id, v.key, l.key, (v.id * 7 + l.id) % 40, (v.id * 7 + l.id) % 40 - (v.id % 3)
FROM mapping_entities v CROSS JOIN mapping_entities l WHERE v.entity_type = 'variant' AND l.entity_type = 'location'`, run, e.odoo.ID)
	require.NoError(b, err)
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO recon_stock (run_id, connection_id, variant_ref, location_ref, variant_id, location_id, label, location, on_hand, available)
SELECT run_id, $2, 'gid://shopify/ProductVariant/' || variant_id, 'gid://shopify/Location/' || location_id, variant_id, location_id, label, location,
  on_hand + CASE WHEN (variant_id * 4 + location_id) % 100 = 0 THEN 3 ELSE 0 END,
  available + CASE WHEN (variant_id * 4 + location_id) % 100 = 0 THEN 3 ELSE 0 END
FROM recon_stock WHERE run_id = $1 AND connection_id = $3`, run, e.shop.ID, e.odoo.ID)
	require.NoError(b, err)
	_, err = e.st.DB.ExecContext(ctx, `VACUUM ANALYZE recon_stock`)
	require.NoError(b, err)
	var rows int64
	require.NoError(b, e.st.DB.GetContext(ctx, &rows, `SELECT count(*) FROM recon_stock WHERE run_id = $1 AND connection_id = $2`, run, e.odoo.ID))
	var backend int
	require.NoError(b, e.st.DB.GetContext(ctx, &backend, `SELECT pg_backend_pid()`))
	b.Logf("seeded %d SKU-locations per system in %s", rows, time.Since(start).Round(time.Millisecond))

	bare := func() time.Duration {
		t := time.Now()
		var c int64
		require.NoError(b, e.st.DB.GetContext(ctx, &c, `SELECT count(*) FROM
  (SELECT variant_id, location_id, available FROM recon_stock WHERE run_id = $1 AND connection_id = $2) m
  FULL JOIN (SELECT variant_id, location_id, available FROM recon_stock WHERE run_id = $1 AND connection_id = $3) o
  ON m.variant_id = o.variant_id AND m.location_id = o.location_id`, run, e.odoo.ID, e.shop.ID))
		require.Equal(b, rows, c)
		return time.Since(t)
	}
	for b.Loop() {
		bare() // warm the cache
		// The machine is shared: the two are interleaved three times and the
		// best of each is compared.
		join, compare, rerun := time.Duration(1<<62), time.Duration(1<<62), time.Duration(1<<62)
		for i := range 3 {
			join = min(join, bare())
			if i > 0 {
				// Start from no discrepancies, as the first run of a day would.
				_, err := e.st.DB.ExecContext(ctx, `DELETE FROM discrepancies`)
				require.NoError(b, err)
			}
			t := time.Now()
			res, err := e.st.CompareInventory(ctx, run, e.odoo.ID, e.shop.ID, "available")
			compare = min(compare, time.Since(t))
			require.NoError(b, err)
			require.Equal(b, rows, res.Compared)
			require.Equal(b, rows/100, res.Differing, "one in a hundred differs")
			require.Equal(b, rows/100, res.Opened)
			// Again, now that every discrepancy exists: the steady state of a daily run.
			t = time.Now()
			res, err = e.st.CompareInventory(ctx, run, e.odoo.ID, e.shop.ID, "available")
			rerun = min(rerun, time.Since(t))
			require.NoError(b, err)
			require.Zero(b, res.Opened)
		}
		b.ReportMetric(compare.Seconds()*1000, "compare-ms")
		b.ReportMetric(join.Seconds()*1000, "full-join-ms")
		b.ReportMetric(compare.Seconds()/join.Seconds(), "ratio")
		b.ReportMetric(rerun.Seconds()/join.Seconds(), "ratio-rerun")
		b.ReportMetric(float64(rows)/compare.Seconds(), "sku-locations/s")
	}
	b.ReportMetric(float64(peakRSS(b, os.Getpid()))/1024, "go-peak-rss-MB")
	b.ReportMetric(float64(peakRSS(b, backend))/1024, "pg-backend-peak-rss-MB")
}

// peakRSS reads VmHWM (kB) of a process from /proc.
func peakRSS(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(b, err)
			return kb
		}
	}
	b.Fatal("no VmHWM")
	return 0
}
