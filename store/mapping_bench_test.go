package store_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// Run with: go test -run '^$' -bench Mapping -benchtime 1x ./store/
// The data sets are built with set-based SQL inside each benchmark's own database.

const benchEntities = 1_000_000

type benchEnv struct {
	st         *store.Store
	shop, odoo store.Connection
	admin, op  store.Actor
}

func benchSetup(b *testing.B) *benchEnv {
	b.Helper()
	st := storetest.New(b)
	ctx := b.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(b, err)
	sys := store.SystemActor("bench")
	shop, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Shop", Kind: vocab.KindShopify, Environment: vocab.EnvTest})
	require.NoError(b, err)
	odoo, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo, Environment: vocab.EnvTest})
	require.NoError(b, err)
	a, err := st.CreateFirstAdmin(ctx, store.NewUser{Email: "a@b.test", Name: "A", Password: "correct horse battery"})
	require.NoError(b, err)
	o, err := st.CreateUser(ctx, sys, store.NewUser{Email: "o@b.test", Name: "O", Role: vocab.RoleOperator, Password: "correct horse battery"})
	require.NoError(b, err)
	return &benchEnv{st: st, shop: shop, odoo: odoo, admin: store.Actor{UserID: a.ID, Label: a.Email}, op: store.Actor{UserID: o.ID, Label: o.Email}}
}

// seed maps n variants as version 1: every one in Shopify, nine in ten in Odoo.
func (e *benchEnv) seed(b *testing.B, n int) {
	b.Helper()
	ctx := b.Context()
	start := time.Now()
	var cs int64
	require.NoError(b, e.st.DB.GetContext(ctx, &cs, `INSERT INTO change_sets (title, status, source, version) VALUES ('bench seed', 'approved', 'import', 1) RETURNING id`))
	for _, q := range []string{
		`INSERT INTO mapping_versions (version, change_set_id) VALUES (1, $1)`,
		`UPDATE mapping_state SET current_version = 1 WHERE $1::bigint IS NOT NULL`,
	} {
		_, err := e.st.DB.ExecContext(ctx, q, cs)
		require.NoError(b, err)
	}
	_, err := e.st.DB.ExecContext(ctx, `INSERT INTO mapping_entities (entity_type, key, name)
SELECT 'variant', 'SKU-' || lpad(g::text, 7, '0'), 'Chair ' || g FROM generate_series(1, $1) g`, n)
	require.NoError(b, err)
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO mapping_refs (entity_id, connection_id, entity_type, external_id, sku, barcode, one_per_connection, valid_from, created_change_set)
SELECT e.id, $1::bigint, 'variant', 'gid://shopify/ProductVariant/' || e.id, e.key, (4000000000000 + e.id)::text, true, 1, $3::bigint FROM mapping_entities e
UNION ALL
SELECT e.id, $2::bigint, 'variant', e.id::text, e.key, '', true, 1, $3::bigint FROM mapping_entities e WHERE e.id % 10 <> 0`, e.shop.ID, e.odoo.ID, cs)
	require.NoError(b, err)
	_, err = e.st.DB.ExecContext(ctx, `VACUUM ANALYZE`)
	require.NoError(b, err)
	b.Logf("seeded %d entities and %d references in %s", n, n+n*9/10, time.Since(start).Round(time.Millisecond))
}

func p95(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)*95/100]) / float64(time.Millisecond)
}

// BenchmarkMapping1M resolves ids in batches and lists / searches 1,000,000 entities.
func BenchmarkMapping1M(b *testing.B) {
	e := benchSetup(b)
	e.seed(b, benchEntities)
	ctx := b.Context()

	b.Run("resolve", func(b *testing.B) {
		const batch = 1000
		ids := make([]string, batch)
		for b.Loop() {
			start := time.Now()
			for off := 0; off < benchEntities; off += batch {
				for i := range ids {
					ids[i] = "gid://shopify/ProductVariant/" + strconv.Itoa(off+i+1)
				}
				got, unmapped, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "variant", ids)
				require.NoError(b, err)
				require.Len(b, unmapped, batch/10, "one in ten has no Odoo counterpart")
				require.Len(b, got, batch-batch/10)
			}
			b.ReportMetric(float64(benchEntities)/time.Since(start).Seconds(), "ids/s")
		}
	})

	var deepKey string
	var deepID int64
	require.NoError(b, e.st.DB.QueryRowContext(ctx, `SELECT key, id FROM mapping_entities WHERE key = 'SKU-0990000'`).Scan(&deepKey, &deepID))
	cases := []struct {
		name string
		f    store.MappingFilter
	}{
		{"list_first_page", store.MappingFilter{}},
		{"list_deep_page", store.MappingFilter{AfterKey: deepKey, AfterID: deepID}},
		{"search_sku", store.MappingFilter{Query: "sku-0500000"}},
		{"search_barcode", store.MappingFilter{Query: "4000000777777"}},
		{"search_name_prefix", store.MappingFilter{Query: "Chair 12345"}},
		{"unmapped_in_odoo_first_page", store.MappingFilter{ConnectionID: e.odoo.ID, Status: store.MappingUnmapped}},
		{"unmapped_in_odoo_deep_page", store.MappingFilter{ConnectionID: e.odoo.ID, Status: store.MappingUnmapped, AfterKey: deepKey, AfterID: deepID}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				ds := make([]time.Duration, 0, 200)
				for range 200 {
					start := time.Now()
					rows, _, err := e.st.ListMappings(ctx, tc.f)
					ds = append(ds, time.Since(start))
					require.NoError(b, err)
					require.NotEmpty(b, rows)
				}
				b.ReportMetric(p95(ds), "p95-ms")
			}
		})
	}
}

// BenchmarkMappingImport100k imports a 100,000-row CSV into a change set,
// previews it, submits and approves it.
func BenchmarkMappingImport100k(b *testing.B) {
	e := benchSetup(b)
	ctx := b.Context()
	const n = 100_000
	var sb strings.Builder
	sb.WriteString("type,connection,external_id,entity_key,sku,barcode,name\n")
	for i := range n {
		fmt.Fprintf(&sb, "variant,Shop,gid://shopify/ProductVariant/%d,SKU-%07d,SKU-%07d,%d,\"Chair %d, oak\"\n", i, i, i, 4000000000000+i, i)
	}
	file := sb.String()
	b.Logf("CSV of %d rows, %.1f MB", n, float64(len(file))/(1<<20))
	for b.Loop() {
		start := time.Now()
		res, err := e.st.ImportMappingsCSV(ctx, e.op, strings.NewReader(file), "bench.csv", "")
		require.NoError(b, err)
		require.Equal(b, n, res.ChangeSet.NAdd)
		imported := time.Since(start)
		items, _, err := e.st.ChangeSetItems(ctx, res.ChangeSet.ID, store.ItemFilter{OnlyChanges: true, Limit: 100})
		require.NoError(b, err)
		require.Len(b, items, 100)
		_, err = e.st.SubmitChangeSet(ctx, e.op, res.ChangeSet.ID)
		require.NoError(b, err)
		submitted := time.Since(start)
		cs, err := e.st.ApproveChangeSet(ctx, e.admin, res.ChangeSet.ID, "")
		require.NoError(b, err)
		require.Equal(b, store.ChangeSetApproved, cs.Status)
		b.ReportMetric(imported.Seconds(), "import-s")
		b.ReportMetric((submitted - imported).Seconds(), "submit-s")
		b.ReportMetric(time.Since(start).Seconds(), "total-s")
	}
	if mb := peakRSSMB(); mb > 0 {
		b.ReportMetric(mb, "peak-rss-MB")
	}
}

// peakRSSMB is the Go process's peak resident set (VmHWM), in MB.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}
