package engine_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/store"
	"crossdock/vocab"
)

// readShopCatalogue records the shop's variants as a catalogue refresh does.
func (e *env) readShopCatalogue(t *testing.T) {
	t.Helper()
	var recs []store.ExternalRecord
	for _, v := range e.shop.Variants() {
		recs = append(recs, store.ExternalRecord{ExternalID: v.GID(), SKU: v.SKU})
	}
	_, err := e.st.UpsertExternalRecords(context.Background(), e.shopConn.ID, "variant", recs)
	require.NoError(t, err)
}

// An Odoo product the shop has no variant of fails as "exists in only one
// system", naming the record; once excluded it is left out of the next
// batches (no new failure), and included again it fails again.
func TestPricesOnlyInOneSystemAndExcluded(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.priceRule(t, vocab.Prices, e.odooConn.ID, e.shopConn.ID)
	e.readShopCatalogue(t)

	first := e.priceSweep(t)
	var only []store.Sync
	for _, s := range first {
		if s.ParentID != nil && s.Class() == vocab.ClassOnlyInOne {
			only = append(only, s)
		}
		if s.ParentID != nil && s.Class() == vocab.ClassUnmapped {
			t.Fatalf("a product the shop has no SKU of failed as not mapped: %s", s.Message)
		}
	}
	require.NotEmpty(t, only, "the fixture has Odoo products the shop does not have")
	require.Regexp(t, `^SKU-\d{6}-[A-Z]{3} does not exist in Main store, so there is nothing to map it to\.$`, only[0].Message)
	full, err := e.st.FailedSyncByID(context.Background(), only[0].ID)
	require.NoError(t, err)
	require.Contains(t, string(full.Response), `"only_in_one"`)
	require.Contains(t, string(full.Response), `"connection_id": `+strconv.FormatInt(e.odooConn.ID, 10))

	// Exclude every one of them from prices.
	m, err := e.st.CountMatching(context.Background(), store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne}, 0)
	require.NoError(t, err)
	res, err := e.st.ExcludeFailures(context.Background(), store.SystemActor("test"), store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne}, nil, m.Newest, "Sold in Odoo only")
	require.NoError(t, err)
	require.Equal(t, len(only), res.Failures)

	// Its price changes in Odoo: nothing fails, the batch says it was left out.
	var pid int
	for _, p := range e.productBySKU {
		if _, ok := e.variantBySKU[p.DefaultCode]; !ok {
			pid = p.ID
			break
		}
	}
	require.NotZero(t, pid)
	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(pid, 55, 1))
	ss := e.priceSweep(t)
	batch := batchOf(ss, "prices")
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSkipped, batch.Status, batch.Message)
	require.Contains(t, batch.Message, "excluded from syncing")
	for _, s := range ss {
		require.NotEqual(t, vocab.SyncFailed, s.Status, "no new failure for an excluded record: %s", s.Message)
	}

	// Included again: the next change fails again, as only in one system.
	list, _, err := e.st.ListExclusions(context.Background(), store.ExclusionFilter{Limit: 500})
	require.NoError(t, err)
	for _, x := range list {
		if x.ExternalID == strconv.Itoa(pid) {
			_, err := e.st.IncludeAgain(context.Background(), store.SystemActor("test"), x.ID)
			require.NoError(t, err)
		}
	}
	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(pid, 56, 1))
	ss = e.priceSweep(t)
	failed := 0
	for _, s := range ss {
		if s.Status == vocab.SyncFailed {
			failed++
			require.Equal(t, vocab.ClassOnlyInOne, s.Class(), s.Message)
		}
	}
	require.Equal(t, 1, failed, "the record fails again, once")
}

// Stock levels of Odoo products the shop has no variant of fail as "exists
// in only one system", each with its record; excluded from stock, a new
// count of one of them is left out of the next check, without a failure.
func TestInventoryOnlyInOneSystemAndExcluded(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.readShopCatalogue(t)
	ss := e.sweep(t)
	batch := byRef(ss, "location:"+strconv.Itoa(odoosandbox.LocationStock))
	require.NotNil(t, batch)
	items, err := e.st.SyncItems(context.Background(), batch.ID, 200)
	require.NoError(t, err)
	require.NotEmpty(t, items)
	for _, it := range items {
		require.Equal(t, vocab.ClassOnlyInOne, it.Class(), it.Message)
		require.Regexp(t, `^SKU-\d{6}-[A-Z]{3} does not exist in Main store, so there is nothing to map it to\.$`, it.Message)
	}
	full, err := e.st.FailedSyncByID(context.Background(), items[0].ID)
	require.NoError(t, err)
	require.Contains(t, string(full.Response), `"only_in_one"`)

	f := store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne, Family: "inventory"}
	m, err := e.st.CountMatching(context.Background(), f, 0)
	require.NoError(t, err)
	_, err = e.st.ExcludeFailures(context.Background(), store.SystemActor("test"), f, nil, m.Newest, "Sold in Odoo only")
	require.NoError(t, err)

	var pid int
	for _, p := range e.productBySKU {
		if _, ok := e.variantBySKU[p.DefaultCode]; !ok {
			pid = p.ID
			break
		}
	}
	require.NotZero(t, pid)
	e.clock.add(time.Minute)
	e.odoo.SetQuantDirect(pid, odoosandbox.LocationStock, 7)
	ss = e.sweep(t)
	require.NotEmpty(t, ss, "the new count is read")
	said := false
	for _, s := range ss {
		said = said || strings.Contains(s.Message, "is excluded from syncing stock")
		require.NotEqual(t, vocab.SyncFailed, s.Status, "no new failure for an excluded record: %s", s.Message)
	}
	require.True(t, said, "the check says the record was left out")
	left, err := e.st.CountMatching(context.Background(), f, 0)
	require.NoError(t, err)
	require.Zero(t, left.Count)
}
