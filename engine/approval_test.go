package engine_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// openFailures lists the open failures of a family.
func (e *env) openFailures(t *testing.T, family vocab.Family) []store.FailedSync {
	t.Helper()
	out, _, err := e.st.ListFailed(context.Background(), store.FailedFilter{Family: family, Limit: 5000})
	require.NoError(t, err)
	return out
}

// approveAs proposes items as one admin and approves them as another, as
// two people do on the Mappings page; it returns the change set's id.
func (e *env) approveAs(t *testing.T, proposer, approver store.Actor, items []store.ItemInput) int64 {
	t.Helper()
	ctx := context.Background()
	cs, err := e.st.CreateChangeSet(ctx, proposer, store.NewChangeSet{Reason: "fix the failures", Items: items})
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, proposer, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, approver, cs.ID, "ok")
	require.NoError(t, err)
	return cs.ID
}

// Mapping one stock location and approving it tries again that location's
// stock failures only: not the other location's, not the price failures, not
// the orders between the same two systems. The stock batch tried again fails
// for another reason (Odoo products Shopify does not have) and stays one
// failure, replacing the one it tried again, with the reasons inside it; the
// result counts it as still failing. A second approval, of a variant, fixes
// the order that lacked it (and tries again the price failure of its
// product, which it also fixes): "fixed".
func TestApprovalTriesAgainOnlyWhatItMaps(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true, noMappings: true, configure: func(c *engine.Config) { c.Resolver = nil }})
	ctx := context.Background()
	e.priceRule(t, vocab.Prices, e.odooConn.ID, e.shopConn.ID)
	proposer := store.Actor{UserID: mustAdmin(t, e.st, "proposer@shop.test").ID, Label: "proposer@shop.test"}
	approver := store.Actor{UserID: mustAdmin(t, e.st, "approver@shop.test").ID, Label: "approver@shop.test"}

	// Every variant both catalogues have is mapped but one; no location is.
	skus := e.mappedSKUs(t, 3)
	left := e.variant(t, skus[0])
	var items []store.ItemInput
	for sku, v := range e.variantBySKU {
		if p, ok := e.productBySKU[sku]; ok && sku != left.SKU {
			items = append(items, e.variantItems(v, p.ID)...)
		}
	}
	e.approveAs(t, proposer, approver, items)
	_, err := e.eng.FollowApprovals(ctx) // nothing failed yet
	require.NoError(t, err)

	stockBefore := e.sweep(t)
	wh := byRef(stockBefore, "location:"+strconv.Itoa(odoosandbox.LocationStock))
	wh2 := byRef(stockBefore, "location:"+strconv.Itoa(odoosandbox.LocationStock2))
	require.NotNil(t, wh)
	require.NotNil(t, wh2)
	for _, s := range []*store.Sync{wh, wh2} {
		require.Equal(t, vocab.ClassUnmapped, s.Class(), s.Message)
		require.Contains(t, s.Message, "is not mapped to a Shopify location yet")
	}
	require.JSONEq(t, `{"unmapped": {"entity_type": "location", "external_ids": ["`+strconv.Itoa(odoosandbox.LocationStock)+`"]}}`,
		string(e.sync(t, wh.ID).Response), "the failure records the record it lacks")
	e.priceSweep(t)
	prices := e.openFailures(t, "prices")
	require.NotEmpty(t, prices, "Odoo products without a Shopify variant fail for prices")
	o, payload := e.order(t, shopsandbox.NewLine{VariantID: left.GID(), Quantity: 1})
	order := e.endedSyncs(t, e.deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.ClassUnmapped, order.Class(), order.Message)
	stockOpen := len(e.openFailures(t, "inventory"))
	require.Equal(t, 2, stockOpen)

	// The location is mapped and approved by another admin.
	csLoc := e.approveAs(t, proposer, approver, locationItems(e.shopConn.ID, e.odooConn.ID, e.shop.Locations()[0].GID()))
	started, err := e.eng.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, started, 1)
	require.Equal(t, csLoc, *started[0].ChangeSetID)
	require.Contains(t, started[0].Description, "tried again automatically after")
	b := e.batchDone(t, started[0])
	require.Equal(t, 1, b.Enqueued, "only the stock failure of the location it maps")
	var replay store.Sync
	wait(t, "the stock replay to end", func() bool {
		got, err := e.st.FailedSyncByID(ctx, wh.ID)
		require.NoError(t, err)
		if got.ReplayedBy == nil {
			return false
		}
		replay = e.sync(t, *got.ReplayedBy)
		return replay.FinishedAt != nil
	})
	require.Equal(t, vocab.SyncFailed, replay.Status, replay.Message)
	require.Equal(t, vocab.ClassUnmapped, replay.Class())
	require.Contains(t, replay.Message, "could not be sent")
	require.Contains(t, replay.Message, "sent from WH/Stock to Main store", "what could be sent was sent")
	children, err := e.st.SyncItems(ctx, replay.ID, 200)
	require.NoError(t, err)
	require.Empty(t, children, "a replay failing again is not split into a failure per product")
	require.Len(t, e.openFailures(t, "inventory"), stockOpen, "one failure replaced the one tried again")
	require.Nil(t, e.sync(t, wh2.ID).ResolvedAt, "the other location's failure is left alone")
	require.Len(t, e.openFailures(t, "prices"), len(prices), "price failures are left alone")
	require.Nil(t, e.sync(t, order.ID).ResolvedAt, "the order's failure is left alone")
	res, err := e.st.FixResultOf(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, store.FixResult{TriedAgain: 1, StillFailing: 1}, res)

	// The variant the order lacked: the order and its product's price
	// failure are tried again, and fixed.
	p := e.productBySKU[left.SKU]
	pricesOfLeft := 0
	for _, f := range prices {
		if f.EntityRef == "product:"+strconv.Itoa(p.ID) {
			pricesOfLeft++
		}
	}
	require.Equal(t, 1, pricesOfLeft, "its price failure recorded the product it lacks")
	csVar := e.approveAs(t, proposer, approver, e.variantItems(left, p.ID))
	started, err = e.eng.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, started, 1)
	require.Equal(t, csVar, *started[0].ChangeSetID)
	b = e.batchDone(t, started[0])
	require.Equal(t, 1+pricesOfLeft, b.Enqueued, "the order, and the price failure of the product")
	wait(t, "the replays to end", func() bool {
		r, err := e.st.FixResultOf(ctx, b.ID)
		require.NoError(t, err)
		return r.Waiting == 0 && r.TriedAgain == b.Enqueued
	})
	res, err = e.st.FixResultOf(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, store.FixResult{TriedAgain: b.Enqueued, Fixed: b.Enqueued}, res)
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
	require.Len(t, e.openFailures(t, "inventory"), stockOpen, "stock failures are not its to try")
}
