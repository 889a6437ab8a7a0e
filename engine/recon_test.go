package engine_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// mapInDB writes the pairs the in-memory resolver knows into the mapping
// tables, as an approved change set would: reconciliation translates ids
// in SQL, through mapping_refs.
func (e *env) mapInDB(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var cs int64
	require.NoError(t, e.st.DB.GetContext(ctx, &cs, `INSERT INTO change_sets (title, status, source, version) VALUES ('test', 'approved', 'import', 1) RETURNING id`))
	_, err := e.st.DB.ExecContext(ctx, `INSERT INTO mapping_versions (version, change_set_id) VALUES (1, $1)`, cs)
	require.NoError(t, err)
	ref := func(entity int64, conn int64, typ, ext, sku string) {
		_, err := e.st.DB.ExecContext(ctx, `INSERT INTO mapping_refs (entity_id, connection_id, entity_type, external_id, sku, one_per_connection, valid_from, created_change_set)
VALUES ($1, $2, $3, $4, $5, true, 1, $6)`, entity, conn, typ, ext, sku, cs)
		require.NoError(t, err)
	}
	entity := func(typ, key string) int64 {
		var id int64
		require.NoError(t, e.st.DB.GetContext(ctx, &id, `INSERT INTO mapping_entities (entity_type, key) VALUES ($1, $2) RETURNING id`, typ, key))
		return id
	}
	for sku, v := range e.variantBySKU {
		if p, ok := e.productBySKU[sku]; ok && sku != "" {
			id := entity("variant", sku)
			ref(id, e.shopConn.ID, "variant", v.GID(), sku)
			ref(id, e.odooConn.ID, "variant", strconv.Itoa(p.ID), sku)
		}
	}
	loc := entity("location", "WH/Stock")
	ref(loc, e.odooConn.ID, "location", strconv.Itoa(odoosandbox.LocationStock), "")
	ref(loc, e.shopConn.ID, "location", e.shop.Locations()[0].GID(), "")
}

func (e *env) reconcile(t testing.TB, family string) store.ReconRun {
	t.Helper()
	ctx := context.Background()
	run, err := e.eng.RequestReconciliation(ctx, family, "manual", "test")
	require.NoError(t, err)
	// A started engine's worker may claim the run first: either way, wait for its end.
	_, err = e.eng.Reconcile(ctx, run.ID)
	require.NoError(t, err)
	wait(t, "the run to end", func() bool {
		run, err = e.st.ReconRunByID(ctx, run.ID)
		require.NoError(t, err)
		return run.Ended()
	})
	return run
}

func (e *env) discrepancies(t testing.TB, f store.DiscFilter) []store.Discrepancy {
	t.Helper()
	f.Limit = 200
	ds, _, err := e.st.ListDiscrepancies(context.Background(), f)
	require.NoError(t, err)
	return ds
}

func TestReconcileInventoryFindsClosesAndKeepsOnFailure(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.mapInDB(t)
	loc := e.shop.Locations()[0]

	// The seeded catalogues differ; the chosen product agrees to start with.
	sku := e.mappedSKUs(t, 1)[0]
	v, p := e.variant(t, sku), e.productBySKU[sku]
	itemGID := "gid://shopify/InventoryItem/" + strconv.FormatInt(v.InventoryItemID, 10)
	odooAvail := e.available(t, p.ID, odoosandbox.LocationStock)
	require.NoError(t, e.shop.SetInventoryDirect(itemGID, loc.GID(), odooAvail))

	// First run: whatever differs in the seeded data is the baseline.
	base := e.reconcile(t, store.ReconInventory)
	require.Equal(t, store.RunSucceeded, base.Status, base.Message)
	require.Positive(t, base.Compared)
	baseDs := e.discrepancies(t, store.DiscFilter{Family: store.ReconInventory, Status: store.DiscOpen})
	baseline := len(baseDs)

	for _, d := range baseDs {
		require.False(t, strings.HasPrefix(d.Label, sku+" "), "the chosen product agrees")
	}
	// Someone edits its stock level by hand in Shopify.
	require.NoError(t, e.shop.SetInventoryDirect(itemGID, loc.GID(), odooAvail+7))

	run := e.reconcile(t, store.ReconInventory)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	open := e.discrepancies(t, store.DiscFilter{Family: store.ReconInventory, Status: store.DiscOpen})
	require.Len(t, open, baseline+1)
	var d store.Discrepancy
	for _, x := range open {
		if x.FirstRunID == run.ID {
			d = x
		}
	}
	require.Equal(t, "stock", d.Kind)
	require.Equal(t, strconv.Itoa(odooAvail), d.MasterValue)
	require.Equal(t, strconv.Itoa(odooAvail+7), d.OtherValue)
	require.InDelta(t, 7, d.Size, 0.001)
	require.Contains(t, d.Label, sku)
	require.Equal(t, int64(1), run.Opened)

	// A failed run (Odoo down) closes nothing and says why.
	e.odoo.FailNext(1, odoosandbox.Status500)
	failed := e.reconcile(t, store.ReconInventory)
	require.Equal(t, store.RunFailed, failed.Status)
	require.NotEmpty(t, failed.Problems())
	require.Contains(t, failed.Message, "open discrepancies stay as they were")
	require.NoError(t, e.shop.SetInventoryDirect(itemGID, loc.GID(), odooAvail))
	got, err := e.st.DiscrepancyByID(context.Background(), d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DiscOpen, got.Status)

	// The difference is gone: the next successful run closes it with a note.
	again := e.reconcile(t, store.ReconInventory)
	require.Equal(t, store.RunSucceeded, again.Status, again.Message)
	require.Equal(t, int64(1), again.Closed)
	got, err = e.st.DiscrepancyByID(context.Background(), d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DiscResolved, got.Status)
	require.Contains(t, got.Note, "Closed automatically")
}

// pricesSetup maps the sandboxes' catalogues and makes Odoo the master of
// prices and costs, the Shopify store their receiver.
func pricesSetup(t *testing.T) *env {
	t.Helper()
	e := setup(t, options{})
	e.mapInDB(t)
	e.priceRule(t, vocab.Prices, e.odooConn.ID, e.shopConn.ID)
	e.priceRule(t, vocab.Costs, e.odooConn.ID, e.shopConn.ID)
	return e
}

func TestReconcilePricesAndPushMaster(t *testing.T) {
	t.Parallel()
	e := pricesSetup(t)
	ctx := context.Background()

	base := e.reconcile(t, store.ReconPrices)
	require.Equal(t, store.RunSucceeded, base.Status, base.Message)

	skus := e.mappedSKUs(t, 2)
	changed, zero := skus[0], skus[1]
	p := e.productBySKU[changed]
	require.NoError(t, e.shop.SetPriceDirect(e.variant(t, changed).GID(), "1.23"))
	// Odoo has a zero price for another: not comparable, never a discrepancy.
	require.True(t, e.odoo.SetPricesDirect(e.productBySKU[zero].ID, 0, 5))

	run := e.reconcile(t, store.ReconPrices)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	var d *store.Discrepancy
	for _, x := range e.discrepancies(t, store.DiscFilter{Family: store.ReconPrices, Status: store.DiscOpen}) {
		if x.Kind == "price" {
			require.NotEqual(t, zero, x.Label, "a zero price must not become a discrepancy")
		}
		if x.Kind == "price" && x.Label == changed {
			d = &x
		}
	}
	require.NotNil(t, d, "the changed price is a discrepancy")
	// The run computed the finance review once; the changed price is flagged there.
	th, err := e.st.FinanceThresholds(ctx)
	require.NoError(t, err)
	totals, err := e.st.FinanceReviewTotals(ctx, th)
	require.NoError(t, err)
	require.Equal(t, run.ID, totals.RunID)
	require.Positive(t, totals.Variants)
	flagged, _, err := e.st.FinanceReview(ctx, th, store.FinanceFilter{Flag: store.FlagPriceDiffers, Limit: 200})
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(flagged, func(r store.FinanceRow) bool { return r.SKU == changed }), "%+v", flagged)
	var older int
	require.NoError(t, e.st.DB.GetContext(ctx, &older, `SELECT count(*) FROM finance_rows WHERE run_id <> $1`, run.ID))
	require.Zero(t, older, "the previous run's review is dropped once this one is built")
	// The store's collections came with the prices (product.collections in the bulk export).
	cs, err := e.st.FinanceCollections(ctx)
	require.NoError(t, err)
	titles := map[string]int64{}
	for _, c := range cs {
		titles[c.Title] = c.Variants
	}
	require.Positive(t, titles["Home & living"], "%+v", cs)
	require.Positive(t, titles["Sale"], "%+v", cs)
	// A run that fails (Odoo down) leaves this review in place.
	e.odoo.FailNext(1, odoosandbox.Status500)
	failedRun := e.reconcile(t, store.ReconPrices)
	require.Equal(t, store.RunFailed, failedRun.Status)
	after, err := e.st.FinanceReviewTotals(ctx, th)
	require.NoError(t, err)
	require.Equal(t, run.ID, after.RunID)
	require.Equal(t, totals.Variants, after.Variants)
	require.Equal(t, "1.23", d.OtherValue)
	require.Equal(t, strconv.FormatFloat(p.ListPrice, 'f', -1, 64), d.MasterValue)
	var zeroNoted bool
	for _, pr := range run.Problems() {
		if pr.What == "prices that are missing, zero or negative" && pr.Count >= 1 {
			zeroNoted = true
		}
	}
	require.True(t, zeroNoted, "the run says what it could not compare: %+v", run.Problems())

	// Resolve by pushing Odoo's price: a sync through the prices flow.
	e.start(t)
	admin := store.Actor{Label: "ana@shop.test"}
	syncID, err := e.eng.PushMaster(ctx, admin, d.ID)
	require.NoError(t, err)
	s := e.ended(t, syncID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, store.TriggerManual, s.Trigger)
	require.NotEmpty(t, s.IdempotencyKey)
	require.Equal(t, strconv.FormatFloat(p.ListPrice, 'f', 2, 64), e.variant(t, changed).Price)
	got, err := e.st.DiscrepancyByID(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DiscResolved, got.Status)
	require.Equal(t, syncID, *got.SyncID)
	var audits int
	require.NoError(t, e.st.DB.GetContext(ctx, &audits, `SELECT count(*) FROM audit_log WHERE action = 'discrepancy.resolved' AND object_id = $1`, strconv.FormatInt(d.ID, 10)))
	require.Equal(t, 1, audits)
	// Pushing twice is refused.
	_, err = e.eng.PushMaster(ctx, admin, d.ID)
	require.ErrorIs(t, err, store.ErrDiscrepancyClosed)
}

func TestReconcileOrdersMissingInOdoo(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, configure: func(c *engine.Config) { c.ReconGrace = 1 }})
	synced, _ := e.placed(t)
	lost, _ := e.order(t) // its webhook never arrived
	run := e.reconcile(t, store.ReconOrders)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	ds := e.discrepancies(t, store.DiscFilter{Family: store.ReconOrders})
	var kinds = map[string]string{}
	for _, d := range ds {
		var det struct {
			Order string `json:"order"`
		}
		require.NoError(t, json.Unmarshal(d.Detail, &det))
		kinds[det.Order] = d.Kind
	}
	require.Equal(t, "order_missing", kinds[lost.GID()])
	require.NotContains(t, kinds, synced.GID())
}

func TestReconcileMappingsToGoneRecords(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.mapInDB(t)
	ctx := context.Background()
	var cs, ent int64
	require.NoError(t, e.st.DB.GetContext(ctx, &cs, `SELECT id FROM change_sets LIMIT 1`))
	require.NoError(t, e.st.DB.GetContext(ctx, &ent, `INSERT INTO mapping_entities (entity_type, key) VALUES ('variant', 'GONE-1') RETURNING id`))
	_, err := e.st.DB.ExecContext(ctx, `INSERT INTO mapping_refs (entity_id, connection_id, entity_type, external_id, sku, one_per_connection, valid_from, created_change_set)
VALUES ($1, $2, 'variant', 'gid://shopify/ProductVariant/999999999', 'GONE-1', true, 1, $3)`, ent, e.shopConn.ID, cs)
	require.NoError(t, err)
	run := e.reconcile(t, store.ReconMappings)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	ds := e.discrepancies(t, store.DiscFilter{Family: store.ReconMappings})
	require.Len(t, ds, 1, "only the reference to the deleted variant")
	require.Equal(t, "mapping_gone", ds[0].Kind)
	require.Contains(t, ds[0].Label, "GONE-1")
}

func TestReconciliationOneLiveRunPerFamily(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	first, err := e.eng.RequestReconciliation(ctx, store.ReconInventory, "manual", "a")
	require.NoError(t, err)
	second, err := e.eng.RequestReconciliation(ctx, store.ReconInventory, "manual", "b")
	require.ErrorIs(t, err, store.ErrRunLive)
	require.Equal(t, first.ID, second.ID)
	_, err = e.eng.RequestReconciliation(ctx, store.ReconPrices, "manual", "a")
	require.NoError(t, err)
}

func TestReconcileRefundsWithoutCreditNotes(t *testing.T) {
	t.Parallel()
	e := setup(t, options{configure: func(c *engine.Config) { c.ReconGrace = 1 }})
	e.refundsRule(t, e.shopConn.ID, e.odooConn.ID)
	run := e.reconcile(t, store.ReconRefunds)
	// The sandbox's seeded orders carry refunds that never reached Odoo.
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	require.Positive(t, run.Compared)
	ds := e.discrepancies(t, store.DiscFilter{Family: store.ReconRefunds})
	require.Len(t, ds, int(run.Differing))
	require.NotEmpty(t, ds)
	for _, d := range ds {
		require.Equal(t, "refund_no_credit_note", d.Kind)
		var det struct{ Refund, Order string }
		require.NoError(t, json.Unmarshal(d.Detail, &det))
		require.True(t, strings.HasPrefix(det.Refund, "gid://shopify/Refund/"), det.Refund)
		require.True(t, strings.HasPrefix(det.Order, "gid://shopify/Order/"), det.Order)
	}
}

// Odoo in EUR, the store in USD: no price is compared across currencies,
// the run says so and the finance review computes no margin.
func TestReconcilePricesInTwoCurrencies(t *testing.T) {
	t.Parallel()
	e := pricesSetup(t)
	ctx := context.Background()
	require.True(t, e.odoo.SetCurrencyDirect("EUR"))
	changed := e.mappedSKUs(t, 1)[0]
	require.NoError(t, e.shop.SetPriceDirect(e.variant(t, changed).GID(), "1.23"))

	run := e.reconcile(t, store.ReconPrices)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	for _, x := range e.discrepancies(t, store.DiscFilter{Family: store.ReconPrices}) {
		require.NotEqual(t, "price", x.Kind, "no price difference across currencies: %+v", x)
	}
	var said bool
	for _, pr := range run.Problems() {
		if pr.What == "prices and costs in different currencies" && pr.Count > 0 {
			said = true
		}
	}
	require.True(t, said, "the run says what it could not compare: %+v", run.Problems())

	th, err := e.st.FinanceThresholds(ctx)
	require.NoError(t, err)
	totals, err := e.st.FinanceReviewTotals(ctx, th)
	require.NoError(t, err)
	require.Positive(t, totals.Variants)
	require.Equal(t, totals.Variants, totals.Currencies)
	require.Zero(t, totals.PriceDiffers)
	rows, _, err := e.st.FinanceReview(ctx, th, store.FinanceFilter{Flag: store.FlagCurrencies, Limit: 5})
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	require.Equal(t, "EUR", rows[0].OdooCurrency)
	require.Equal(t, "USD", rows[0].Currency)
	require.Nil(t, rows[0].Margin)
	require.Empty(t, rows[0].Level)
}
