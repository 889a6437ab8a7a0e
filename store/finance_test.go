package store_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestThresholdsValidateSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	require.Nil(t, store.Thresholds{Critical: 0, High: 10, Medium: 10}.Validate())
	cases := map[store.Thresholds]string{
		{Critical: 50, High: 40, Medium: 60}:        "the critical threshold (50 %) cannot be above the low one (40 %)",
		{Critical: 5, High: 40, Medium: 30}:         "the low threshold (40 %) cannot be above the below-target one (30 %)",
		{Critical: -150, High: 10, Medium: 20}:      "The critical threshold must be a percent between -100 and 100; -150 is not.",
		{Critical: 5, High: 10, Medium: 120}:        "The below target threshold must be a percent between -100 and 100",
		{Critical: 5, High: math.NaN(), Medium: 20}: "The low threshold must be a percent",
	}
	for in, want := range cases {
		fe := in.Validate()
		require.NotNil(t, fe, "%+v", in)
		require.Contains(t, fe["thresholds"], want)
	}
}

func TestCollectionThresholdsValidate(t *testing.T) {
	t.Parallel()
	require.Nil(t, store.Thresholds{Critical: 0, High: 10, Medium: 100}.ValidateCollection())
	cases := []struct {
		name  string
		in    store.Thresholds
		field string
		want  string
	}{
		{"below zero", store.Thresholds{Critical: -1, High: 10, Medium: 20}, "critical", "from 0 to 100"},
		{"above 100", store.Thresholds{Critical: 5, High: 10, Medium: 101}, "medium", "from 0 to 100"},
		{"equal is not going up", store.Thresholds{Critical: 10, High: 10, Medium: 20}, "high", "above the critical one (10 %)"},
		{"medium under high", store.Thresholds{Critical: 5, High: 30, Medium: 20}, "medium", "above the low one (30 %)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fe := tc.in.ValidateCollection()
			require.Contains(t, fe[tc.field], tc.want)
		})
	}
}

// Three variants at a 25 % margin: one in Clearance and Sale, one in Sale,
// one in no collection. A collection's thresholds apply to its variants, the
// strictest when several have their own; the rest keep the global ones.
func TestFinanceCollectionThresholds(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	var run int64
	require.NoError(t, st.DB.GetContext(ctx, &run, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at)
VALUES ('prices', 'manual', 'succeeded', now(), now()) RETURNING id`))
	_, err := st.DB.ExecContext(ctx, `INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, product_ref, label, price, cost, currency) VALUES
  ($1, 1, '1', 1, '', 'BOTH-1', 100, 75, 'EUR'), ($1, 2, 'gid://shopify/ProductVariant/1', 1, 'gid://shopify/Product/1', 'BOTH-1', 100, NULL, 'EUR'),
  ($1, 1, '2', 2, '', 'SALE-2', 100, 75, 'EUR'), ($1, 2, 'gid://shopify/ProductVariant/2', 2, 'gid://shopify/Product/2', 'SALE-2', 100, NULL, 'EUR'),
  ($1, 1, '3', 3, '', 'NONE-3', 100, 75, 'EUR'), ($1, 2, 'gid://shopify/ProductVariant/3', 3, 'gid://shopify/Product/3', 'NONE-3', 100, NULL, 'EUR')`, run)
	require.NoError(t, err)
	clearance, sale := "gid://shopify/Collection/1", "gid://shopify/Collection/2"
	require.NoError(t, st.AddCollectionSnapshot(ctx, run, 2, []store.CollectionRow{
		{ProductRef: "gid://shopify/Product/1", CollectionRef: clearance, Title: "Clearance"},
		{ProductRef: "gid://shopify/Product/1", CollectionRef: sale, Title: "Sale"},
		{ProductRef: "gid://shopify/Product/2", CollectionRef: sale, Title: "Sale"},
	}))
	n, err := st.BuildFinanceReview(ctx, run, 1, 2)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)

	global, err := st.FinanceThresholds(ctx) // 10, 20, 30: all three are below target
	require.NoError(t, err)
	levels := func() map[string]string {
		t.Helper()
		rows, _, err := st.FinanceReview(ctx, global, store.FinanceFilter{})
		require.NoError(t, err)
		out := map[string]string{}
		for _, r := range rows {
			out[r.SKU] = r.Level
		}
		return out
	}
	flagged := func(flag string) []string {
		t.Helper()
		rows, _, err := st.FinanceReview(ctx, global, store.FinanceFilter{Flag: flag})
		require.NoError(t, err)
		var skus []string
		for _, r := range rows {
			skus = append(skus, r.SKU)
		}
		return skus
	}
	require.Equal(t, map[string]string{"BOTH-1": "medium", "SALE-2": "medium", "NONE-3": "medium"}, levels())

	cs, err := st.FinanceCollections(ctx)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.Equal(t, "Clearance", cs[0].Title)
	require.EqualValues(t, 1, cs[0].Variants)
	require.Equal(t, "Sale", cs[1].Title)
	require.EqualValues(t, 2, cs[1].Variants)
	require.False(t, cs[1].Own())

	admin := store.Actor{Label: "ana@shop.test"}
	require.NoError(t, st.SetCollectionThresholds(ctx, admin, sale, "Sale", store.Thresholds{Critical: 5, High: 10, Medium: 15}))
	require.Equal(t, map[string]string{"BOTH-1": "", "SALE-2": "", "NONE-3": "medium"}, levels(), "Sale's lower thresholds apply to its variants")
	require.NoError(t, st.SetCollectionThresholds(ctx, admin, clearance, "Clearance", store.Thresholds{Critical: 30, High: 40, Medium: 50}))
	require.Equal(t, map[string]string{"BOTH-1": "critical", "SALE-2": "", "NONE-3": "medium"}, levels(), "in both, the strictest wins")
	require.Equal(t, []string{"BOTH-1"}, flagged(store.FlagCritical))
	require.Equal(t, []string{"NONE-3"}, flagged(store.FlagMedium))
	rows, _, err := st.FinanceReview(ctx, global, store.FinanceFilter{Flag: store.FlagCritical})
	require.NoError(t, err)
	require.True(t, rows[0].CollectionLimits)
	require.Equal(t, 30.0, rows[0].Critical)

	totals, err := st.FinanceReviewTotals(ctx, global)
	require.NoError(t, err)
	require.EqualValues(t, 1, totals.Critical)
	require.EqualValues(t, 0, totals.High)
	require.EqualValues(t, 1, totals.Medium)
	require.EqualValues(t, 2, totals.Flagged)
	require.EqualValues(t, 2, totals.CollectionThresholds)

	require.NoError(t, st.ClearCollectionThresholds(ctx, admin, clearance))
	require.ErrorIs(t, st.ClearCollectionThresholds(ctx, admin, clearance), store.ErrNotFound)
	require.Equal(t, map[string]string{"BOTH-1": "", "SALE-2": "", "NONE-3": "medium"}, levels())
	totals, err = st.FinanceReviewTotals(ctx, global)
	require.NoError(t, err)
	require.EqualValues(t, 0, totals.Critical)
	require.EqualValues(t, 1, totals.Medium)

	var audits []string
	require.NoError(t, st.DB.SelectContext(ctx, &audits, `SELECT action FROM audit_log WHERE object_type = 'collection' ORDER BY id`))
	require.Equal(t, []string{"finance.collection_thresholds", "finance.collection_thresholds", "finance.collection_thresholds_cleared"}, audits)

	fe := st.SetCollectionThresholds(ctx, admin, sale, "Sale", store.Thresholds{Critical: 20, High: 10, Medium: 30})
	var ferr vocab.FieldErrors
	require.ErrorAs(t, fe, &ferr)
	require.Contains(t, ferr["high"], "above the critical one")
}
