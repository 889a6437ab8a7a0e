package engine_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/store"
	"crossdock/vocab"
)

// sweep runs an inventory sweep now and waits for every sync it queued (and
// what they split off) to end; it returns the syncs created by it.
func (e *env) sweep(t *testing.T) []store.Sync {
	t.Helper()
	ctx := context.Background()
	before, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Limit: 1})
	require.NoError(t, err)
	var after int64
	if len(before) > 0 {
		after = before[0].ID
	}
	_, err = e.eng.SweepInventory(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	var out []store.Sync
	wait(t, "the sweep's syncs to end", func() bool {
		all, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: "inventory", Limit: 200})
		require.NoError(t, err)
		out = out[:0]
		for _, s := range all {
			if s.ID <= after {
				continue
			}
			if s.FinishedAt == nil {
				return false
			}
			out = append(out, s)
		}
		return true
	})
	return out
}

func byRef(ss []store.Sync, ref string) *store.Sync {
	for i := range ss {
		if ss[i].EntityRef == ref {
			return &ss[i]
		}
	}
	return nil
}

func TestInventorySweepSetsShopifyStock(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	loc := e.shop.Locations()[0].GID()
	ss := e.sweep(t)

	// Every mapped product at WH/Stock now has Odoo's quantity in Shopify.
	checked := 0
	for sku, v := range e.variantBySKU {
		p, ok := e.productBySKU[sku]
		if !ok {
			continue
		}
		want := e.available(t, p.ID, odoosandbox.LocationStock)
		got, _, ok := e.shop.InventoryLevel(v.InventoryItemGID(), loc)
		require.True(t, ok)
		require.Equal(t, want, got, sku)
		checked++
	}
	require.NotZero(t, checked)

	batch := byRef(ss, "location:"+strconv.Itoa(odoosandbox.LocationStock))
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSucceeded, batch.Status, batch.Message)
	require.Equal(t, store.TriggerManual, batch.Trigger)
	require.Contains(t, batch.Message, "sent from WH/Stock to Main store")
	full := e.sync(t, batch.ID)
	var req struct {
		Key   string `json:"idempotency_key"`
		Input struct {
			Name       string `json:"Name"`
			Quantities []any  `json:"Quantities"`
		} `json:"input"`
	}
	require.NoError(t, json.Unmarshal(full.Request, &req))
	require.Equal(t, "available", req.Input.Name)
	require.Len(t, req.Input.Quantities, checked)

	writes := e.shop.Writes()
	require.Len(t, writes, 1)
	require.Equal(t, "inventorySetQuantities", writes[0].Op)
	require.Equal(t, req.Key, writes[0].IdempotencyKey)
	require.True(t, strings.HasPrefix(writes[0].IdempotencyKey, full.IdempotencyKey+"-"))

	// Odoo products Shopify does not have are split off, one failed sync each, naming the SKU.
	items, err := e.st.SyncItems(context.Background(), batch.ID, 200)
	require.NoError(t, err)
	require.NotEmpty(t, items)
	for _, it := range items {
		require.Equal(t, vocab.SyncFailed, it.Status)
		require.Equal(t, vocab.ClassUnmapped, it.Class())
		require.Regexp(t, `^SKU-\d{6}-[A-Z]{3} is not mapped to a Shopify variant yet\.`, it.Message)
	}

	// The second warehouse has no Shopify location: the batch fails as unmapped.
	wh2 := byRef(ss, "location:"+strconv.Itoa(odoosandbox.LocationStock2))
	require.NotNil(t, wh2)
	require.Equal(t, vocab.SyncFailed, wh2.Status)
	require.Equal(t, vocab.ClassUnmapped, wh2.Class())
	require.Contains(t, wh2.Message, "The Odoo location WH2/Stock is not mapped to a Shopify location yet")

	// Nothing changed in Odoo: the next sweep queues nothing.
	require.Empty(t, e.sweep(t))
	require.Len(t, e.shop.Writes(), 1)
}

func TestInventoryBadItemsAreSplitOff(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.sweep(t)
	loc := e.shop.Locations()[0].GID()
	var skus []string
	for sku := range e.variantBySKU {
		if _, ok := e.productBySKU[sku]; ok {
			skus = append(skus, sku)
		}
	}
	require.GreaterOrEqual(t, len(skus), 3)
	good, negative, gone := e.productBySKU[skus[0]], e.productBySKU[skus[1]], e.productBySKU[skus[2]]
	e.clock.add(time.Minute)
	e.odoo.SetQuantsDirect([]odoosandbox.QuantSet{
		{ProductID: good.ID, LocationID: odoosandbox.LocationStock, Quantity: 42},
		{ProductID: negative.ID, LocationID: odoosandbox.LocationStock, Quantity: -3},
		{ProductID: gone.ID, LocationID: odoosandbox.LocationStock, Quantity: 7},
	})
	// The third is mapped to a variant Shopify does not have (deleted there).
	e.res.set(e.odooConn.ID, e.shopConn.ID, "variant", strconv.Itoa(gone.ID), "gid://shopify/ProductVariant/999999")

	ss := e.sweep(t)
	batch := byRef(ss, "location:"+strconv.Itoa(odoosandbox.LocationStock))
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSucceeded, batch.Status, batch.Message)
	require.Contains(t, batch.Message, "1 stock level sent")
	require.Contains(t, batch.Message, "2 could not be sent")
	got, _, _ := e.shop.InventoryLevel(e.variantBySKU[skus[0]].InventoryItemGID(), loc)
	require.Equal(t, e.available(t, good.ID, odoosandbox.LocationStock), got)

	neg := byRef(ss, strconv.Itoa(negative.ID)+"@"+strconv.Itoa(odoosandbox.LocationStock))
	require.NotNil(t, neg)
	require.Equal(t, vocab.ClassValidation, neg.Class())
	require.Regexp(t, `^Odoo reports -\d+ available of `+skus[1]+` at WH/Stock\. Crossdock does not send negative stock`, neg.Message)
	require.Equal(t, batch.ID, *neg.ParentID)
	missing := byRef(ss, strconv.Itoa(gone.ID)+"@"+strconv.Itoa(odoosandbox.LocationStock))
	require.NotNil(t, missing)
	require.Equal(t, vocab.ClassNotFound, missing.Class())

	// Fixed in Odoo and replayed: the item goes through on its own.
	e.clock.add(time.Minute)
	e.odoo.SetQuantDirect(negative.ID, odoosandbox.LocationStock, 5)
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), neg.ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	// The replay sends what the failed sync held (-3): still refused, and
	// superseded anyway once the sweep has seen the new count.
	require.Equal(t, vocab.SyncFailed, r.Status)
	s2 := e.sweep(t)
	require.NotNil(t, byRef(s2, "location:"+strconv.Itoa(odoosandbox.LocationStock)))
	got, _, _ = e.shop.InventoryLevel(e.variantBySKU[skus[1]].InventoryItemGID(), loc)
	require.Equal(t, e.available(t, negative.ID, odoosandbox.LocationStock), got)
	require.Positive(t, got)
}

func TestInventoryStaleNeverOverwritesNewer(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.sweep(t)
	loc := e.shop.Locations()[0].GID()
	var sku string
	for s := range e.variantBySKU {
		if _, ok := e.productBySKU[s]; ok {
			sku = s
			break
		}
	}
	p, item := e.productBySKU[sku], e.variantBySKU[sku].InventoryItemGID()

	e.clock.add(time.Minute)
	e.odoo.SetQuantDirect(p.ID, odoosandbox.LocationStock, 5)
	older := byRef(e.sweep(t), "location:"+strconv.Itoa(odoosandbox.LocationStock))
	require.Equal(t, vocab.SyncSucceeded, older.Status, older.Message)
	e.clock.add(time.Minute)
	e.odoo.SetQuantDirect(p.ID, odoosandbox.LocationStock, 9)
	newer := byRef(e.sweep(t), "location:"+strconv.Itoa(odoosandbox.LocationStock))
	require.Equal(t, vocab.SyncSucceeded, newer.Status, newer.Message)
	got, _, _ := e.shop.InventoryLevel(item, loc)
	require.Equal(t, e.available(t, p.ID, odoosandbox.LocationStock), got)
	nine := got

	// The older sync comes again (a replay, a late retry): it must not win.
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), older.ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSkipped, r.Status, r.Message)
	require.Contains(t, r.Message, "had changed again in Odoo")
	got, _, _ = e.shop.InventoryLevel(item, loc)
	require.Equal(t, nine, got)

	// Two writes within one second share Odoo's write_date: the second still goes.
	e.odoo.SetQuantDirect(p.ID, odoosandbox.LocationStock, 11)
	sameSecond := byRef(e.sweep(t), "location:"+strconv.Itoa(odoosandbox.LocationStock))
	require.NotNil(t, sameSecond)
	got, _, _ = e.shop.InventoryLevel(item, loc)
	require.Equal(t, nine+2, got)
}

func TestInventoryLostAnswerWritesOnce(t *testing.T) {
	t.Parallel()
	lost := &lostAnswers{match: func(r *http.Request, body []byte) bool {
		return strings.Contains(string(body), "inventorySetQuantities")
	}}
	lost.n.Store(1)
	e := setup(t, options{start: true, transport: lost})
	ss := e.sweep(t)
	batch := byRef(ss, "location:"+strconv.Itoa(odoosandbox.LocationStock))
	require.Equal(t, vocab.SyncSucceeded, batch.Status, batch.Message)
	require.Equal(t, 2, batch.Attempts)
	require.EqualValues(t, 1, lost.lost.Load())
	require.Len(t, e.shop.Writes(), 1, "one adjustment")
	require.Equal(t, 1, e.shop.IdempotentReplays(), "the retry was answered from the first write")
}
