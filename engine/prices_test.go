package engine_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// priceRule saves the source of truth of prices or costs.
func (e *env) priceRule(t *testing.T, f vocab.Family, master int64, receivers ...int64) {
	t.Helper()
	_, err := e.st.SaveSourceRule(context.Background(), store.SystemActor("test"), store.SourceRuleInput{Family: f,
		Master: master, Receivers: receivers, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15,
		Policy: rules.MasterWins, Version: e.ruleVersion(t, f)})
	require.NoError(t, err)
}

func (e *env) ruleVersion(t *testing.T, f vocab.Family) int64 {
	rs, err := e.st.SourceRules(context.Background())
	require.NoError(t, err)
	return rs.Rule(f).Version
}

// priceSweep runs a prices sweep now and waits for every sync it queued (and
// what they split off) to end; it returns the syncs created by it.
func (e *env) priceSweep(t *testing.T) []store.Sync {
	t.Helper()
	ctx := context.Background()
	before, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Limit: 1})
	require.NoError(t, err)
	var after int64
	if len(before) > 0 {
		after = before[0].ID
	}
	_, err = e.eng.SweepPrices(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	var out []store.Sync
	wait(t, "the prices sweep's syncs to end", func() bool {
		out = out[:0]
		for _, fam := range []vocab.Family{"prices", "costs"} {
			all, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: fam, Limit: 200})
			require.NoError(t, err)
			for _, s := range all {
				if s.ID <= after {
					continue
				}
				if s.FinishedAt == nil && s.Status != vocab.SyncRejected {
					return false
				}
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// mappedSKUs returns SKUs both catalogues have, in a stable order.
func (e *env) mappedSKUs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for _, v := range e.shop.Variants() {
		if _, ok := e.productBySKU[v.SKU]; ok {
			out = append(out, v.SKU)
		}
	}
	require.GreaterOrEqual(t, len(out), n)
	return out[:n]
}

func (e *env) variant(t *testing.T, sku string) shopsandbox.Variant {
	t.Helper()
	for _, v := range e.shop.Variants() {
		if v.SKU == sku {
			return v
		}
	}
	t.Fatalf("no variant %s", sku)
	return shopsandbox.Variant{}
}

func batchOf(ss []store.Sync, family vocab.Family) *store.Sync {
	for i := range ss {
		if ss[i].Family == family && ss[i].ParentID == nil && ss[i].Status != vocab.SyncRejected {
			return &ss[i]
		}
	}
	return nil
}

func bySKUKey(ss []store.Sync, productID int) *store.Sync {
	return byRef(ss, "product:"+strconv.Itoa(productID))
}

type bulkInput struct {
	ProductID string           `json:"productId"`
	Variants  []map[string]any `json:"variants"`
}

func lastBulk(t *testing.T, w shopsandbox.Write) bulkInput {
	t.Helper()
	require.Equal(t, "productVariantsBulkUpdate", w.Op)
	var in bulkInput
	require.NoError(t, json.Unmarshal(w.Input, &in))
	return in
}

func TestPricesSweepSetsShopifyPrice(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.priceRule(t, vocab.Prices, e.odooConn.ID, e.shopConn.ID)

	// The first sweep brings every mapped price in line.
	first := e.priceSweep(t)
	require.NotEmpty(t, first)
	for sku, v := range e.variantBySKU {
		if p, ok := e.productBySKU[sku]; ok && p.ListPrice > 0 {
			got, err := strconv.ParseFloat(e.variant(t, v.SKU).Price, 64)
			require.NoError(t, err)
			require.InDelta(t, p.ListPrice, got, 0.001, sku)
		}
	}
	// Odoo products Shopify does not have are split off, naming the SKU.
	for _, s := range first {
		if s.ParentID != nil && s.Class() == vocab.ClassUnmapped {
			require.Regexp(t, `^SKU-\d{6}-[A-Z]{3} is not mapped to a Shopify variant yet\.`, s.Message)
		}
	}
	before := len(e.shop.Writes())

	// One price changes in Odoo: one write, with that price.
	sku := e.mappedSKUs(t, 1)[0]
	p, v := e.productBySKU[sku], e.variant(t, sku)
	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(p.ID, 123.45, p.StandardPrice))
	ss := e.priceSweep(t)
	batch := batchOf(ss, "prices")
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSucceeded, batch.Status, batch.Message)
	require.Contains(t, batch.Message, "Prices of 1 variant sent to Main store.")
	writes := e.shop.Writes()
	require.Len(t, writes, before+1)
	in := lastBulk(t, writes[len(writes)-1])
	require.Equal(t, v.ProductGID(), in.ProductID)
	require.Len(t, in.Variants, 1)
	require.Equal(t, v.GID(), in.Variants[0]["id"])
	require.Equal(t, "123.45", in.Variants[0]["price"])
	require.NotContains(t, in.Variants[0], "inventoryItem", "costs do not flow")
	require.Equal(t, "123.45", e.variant(t, sku).Price)

	// Nothing changed in Odoo: the next sweep queues and writes nothing.
	require.Empty(t, e.priceSweep(t))
	require.Len(t, e.shop.Writes(), before+1)

	// Written again in Odoo at the same price (another field changed): queued,
	// but nothing is written.
	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(p.ID, 123.45, p.StandardPrice+1))
	ss = e.priceSweep(t)
	batch = batchOf(ss, "prices")
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSkipped, batch.Status, batch.Message)
	require.Contains(t, batch.Message, "1 already matched")
	require.Len(t, e.shop.Writes(), before+1)
}

func TestPricesCostsOnlyWhenCostsFlow(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.priceRule(t, vocab.Prices, e.odooConn.ID, e.shopConn.ID)
	e.priceSweep(t)
	sku := e.mappedSKUs(t, 1)[0]
	p := e.productBySKU[sku]
	costBefore := e.variant(t, sku).Cost

	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(p.ID, 50, 21.5))
	batch := batchOf(e.priceSweep(t), "prices")
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSucceeded, batch.Status, batch.Message)
	require.Equal(t, "50.00", e.variant(t, sku).Price)
	require.Equal(t, costBefore, e.variant(t, sku).Cost, "costs do not flow: the cost is left alone")

	// Odoo decides costs too, and Shopify receives them.
	e.priceRule(t, vocab.Costs, e.odooConn.ID, e.shopConn.ID)
	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(p.ID, 50, 22.75))
	ss := e.priceSweep(t)
	batch = batchOf(ss, "prices")
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSucceeded, batch.Status, batch.Message)
	require.Contains(t, batch.Message, "Prices and costs of 1 variant sent")
	require.Equal(t, "22.75", e.variant(t, sku).Cost)
	require.Equal(t, "50.00", e.variant(t, sku).Price)
	writes := e.shop.Writes()
	in := lastBulk(t, writes[len(writes)-1])
	require.Equal(t, map[string]any{"cost": "22.75"}, in.Variants[0]["inventoryItem"])
	require.NotContains(t, in.Variants[0], "price", "the price already matched")
}

func TestPricesOwnershipRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	// Shopify decides prices; Odoo decides costs and Shopify receives them.
	e.priceRule(t, vocab.Prices, e.shopConn.ID, e.odooConn.ID)
	e.priceRule(t, vocab.Costs, e.odooConn.ID, e.shopConn.ID)
	e.priceSweep(t)
	sku := e.mappedSKUs(t, 1)[0]
	p := e.productBySKU[sku]
	priceBefore := e.variant(t, sku).Price
	writesBefore := len(e.shop.Writes())

	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(p.ID, 999.99, 12.34))
	ss := e.priceSweep(t)
	costs := batchOf(ss, "costs")
	require.NotNil(t, costs)
	require.Equal(t, vocab.SyncSucceeded, costs.Status, costs.Message)
	require.Equal(t, "12.34", e.variant(t, sku).Cost)
	require.Equal(t, priceBefore, e.variant(t, sku).Price, "Shopify decides prices: Odoo's is not written")
	writes := e.shop.Writes()
	require.Len(t, writes, writesBefore+1)
	require.NotContains(t, lastBulk(t, writes[len(writes)-1]).Variants[0], "price")

	var rejected *store.Sync
	for i := range ss {
		if ss[i].Family == "prices" && ss[i].Status == vocab.SyncRejected {
			rejected = &ss[i]
		}
	}
	require.NotNil(t, rejected, "the refused price change is recorded")
	require.Equal(t, vocab.ClassOwnership, rejected.Class())
	require.Contains(t, rejected.Message, "Main store decides prices")
}

func TestPricesBadItemsAreSplitOff(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.priceRule(t, vocab.Prices, e.odooConn.ID, e.shopConn.ID)
	e.priceSweep(t)
	skus := e.mappedSKUs(t, 3)
	good, zero, unmapped := e.productBySKU[skus[0]], e.productBySKU[skus[1]], e.productBySKU[skus[2]]
	zeroBefore := e.variant(t, skus[1]).Price
	e.res.unset(e.odooConn.ID, e.shopConn.ID, "variant", strconv.Itoa(unmapped.ID))
	writesBefore := len(e.shop.Writes())

	e.clock.add(time.Minute)
	require.True(t, e.odoo.SetPricesDirect(good.ID, 77.5, good.StandardPrice))
	require.True(t, e.odoo.SetPricesDirect(zero.ID, 0, zero.StandardPrice))
	require.True(t, e.odoo.SetPricesDirect(unmapped.ID, 88, unmapped.StandardPrice))
	ss := e.priceSweep(t)
	batch := batchOf(ss, "prices")
	require.NotNil(t, batch)
	require.Equal(t, vocab.SyncSucceeded, batch.Status, batch.Message)
	require.Contains(t, batch.Message, "2 could not be sent")
	require.Equal(t, "77.50", e.variant(t, skus[0]).Price)
	require.Equal(t, zeroBefore, e.variant(t, skus[1]).Price)
	require.Len(t, e.shop.Writes(), writesBefore+1)

	z := bySKUKey(ss, zero.ID)
	require.NotNil(t, z)
	require.Equal(t, vocab.SyncFailed, z.Status)
	require.Equal(t, vocab.ClassValidation, z.Class())
	require.Equal(t, skus[1]+" has a price of 0.00 in Odoo; Shopify would sell it for free. Fix the price in Odoo.", z.Message)
	require.Equal(t, batch.ID, *z.ParentID)

	u := bySKUKey(ss, unmapped.ID)
	require.NotNil(t, u)
	require.Equal(t, vocab.SyncFailed, u.Status)
	require.Equal(t, vocab.ClassUnmapped, u.Class())
	require.Equal(t, skus[2]+" is not mapped to a Shopify variant yet. Map it on the Mappings page, then try this sync again.", u.Message)

	// Mapped again and replayed: the item goes through on its own.
	v := e.variant(t, skus[2])
	e.res.set(e.shopConn.ID, e.odooConn.ID, "variant", v.GID(), strconv.Itoa(unmapped.ID))
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), u.ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Equal(t, "88.00", e.variant(t, skus[2]).Price)
}

func TestRequestSweepRunsPrices(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	e.priceRule(t, vocab.Prices, e.odooConn.ID, e.shopConn.ID)
	require.NoError(t, e.eng.RequestSweep(context.Background(), store.SystemActor("test")))
	wait(t, "a prices sync from the requested sweep", func() bool {
		ss, _, err := e.st.ListSyncs(context.Background(), store.SyncFilter{Family: "prices", Limit: 1})
		require.NoError(t, err)
		return len(ss) > 0
	})
}
