package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

const (
	flowShipBobStock = "inventory.shipbob_shopify"
	// entityWarehouseItem is a ShipBob inventory item by SKU; its watermark
	// digest is the quantity last queued.
	entityWarehouseItem = "shipbob_item"
	cursorShipBobStock  = "shipbob_stock"
)

// shipbobStockFlow sends the warehouse's sellable stock into Shopify when
// ShipBob is the source of stock: each fulfilment centre's at the Shopify
// location it is mapped to (the location mapping type; several centres
// mapped to one location add up), or, for an account with a single centre
// not mapped, at the location the ShipBob connection ships for.
func shipbobStockFlow() Flow {
	return Flow{Name: flowShipBobStock, Family: vocab.Inventory, From: vocab.KindShipBob, To: vocab.KindShopify,
		Sweep: &flowSweep{job: sweepJobStock, run: (*Engine).SweepShipBobStock}, Lease: leaseOn("inventory"),
		Run: runWith(runSpec[warehouseStockIn, *shopify.Client]{record: "stock levels", connect: (*Engine).shopify, body: (*Engine).runShipBobStock})}
}

// warehouseStockIn is a batch of ShipBob stock levels for one Shopify
// location, as ShipBob had them.
type warehouseStockIn struct {
	Location string               `json:"shopify_location"` // GID
	Items    []warehouseStockItem `json:"items"`
	// Centres names the fulfilment centres whose stock it is.
	Centres []string `json:"centres,omitempty"`
}

type warehouseStockItem struct {
	SKU         string `json:"sku"`
	Name        string `json:"name,omitempty"`
	InventoryID int64  `json:"inventory_id"`
	// Sellable is what ShipBob can ship now (fulfillable): Shopify's available.
	Sellable int `json:"sellable"`
	OnHand   int `json:"on_hand"`
}

// SweepShipBobStock reads the warehouse's stock per fulfilment centre (every
// page) and queues, per Shopify store and location, the levels that
// changed since they were last queued, 250 a sync.
func (e *Engine) SweepShipBobStock(ctx context.Context, trigger string, force bool) (int, error) {
	rs, master, tgts, err := e.warehouseSource(ctx, vocab.Inventory)
	if err != nil || len(tgts) == 0 {
		return 0, err
	}
	if _, due, err := e.st.ClaimSweep(ctx, master.ID, cursorShipBobStock, e.every(rs, vocab.Inventory, force)); err != nil || !due {
		return 0, err
	}
	cl, conn, err := e.shipbob(ctx, master.ID)
	if err != nil {
		return 0, err
	}
	centres, err := cl.FulfillmentCenters(ctx)
	if err != nil {
		return 0, fmt.Errorf("engine: stock check of %s: %w", conn.Name, err)
	}
	levels, err := cl.InventoryByCentre(ctx)
	if err != nil {
		return 0, fmt.Errorf("engine: stock check of %s: %w", conn.Name, err)
	}
	fallback := shipbob.FallbackLocation(conn.Settings, centres)
	queued := 0
	for _, t := range tgts {
		byLoc, err := e.stockByLocation(ctx, master.ID, t, centres, levels, fallback)
		if err != nil {
			return queued, fmt.Errorf("engine: stock check of %s: %w", conn.Name, err)
		}
		for _, b := range byLoc {
			for start := 0; start < len(b.Items); start += maxBatch {
				page := warehouseStockIn{Location: b.Location, Centres: b.Centres, Items: b.Items[start:min(start+maxBatch, len(b.Items))]}
				n, err := e.queueWarehouseStock(ctx, rs, master.ID, t, trigger, page)
				queued += n
				if err != nil {
					return queued, err
				}
			}
		}
	}
	return queued, nil
}

// stockByLocation groups the warehouse's levels by the Shopify location of
// tgt their centre is mapped to (fallback for a centre not mapped), one
// batch per location in the order of ShipBob's centres. A centre with no
// location is left out and logged: the stock comparison names it.
func (e *Engine) stockByLocation(ctx context.Context, src, tgt int64, centres []shipbob.FulfillmentCenter, levels []shipbob.CentreLevels, fallback string) ([]warehouseStockIn, error) {
	ids := make([]string, len(centres))
	for i, fc := range centres {
		ids[i] = strconv.FormatInt(fc.ID, 10)
	}
	mapped, unmapped, err := e.st.ResolveRefs(ctx, src, tgt, entityLocation, ids)
	if err != nil {
		return nil, err
	}
	var out []warehouseStockIn
	at := map[int64]int{} // centre id: index in out
	for i, fc := range centres {
		loc := cmpStr(mapped[ids[i]], fallback)
		if loc == "" {
			continue
		}
		k := slices.IndexFunc(out, func(b warehouseStockIn) bool { return b.Location == loc })
		if k < 0 {
			out, k = append(out, warehouseStockIn{Location: loc}), len(out)
		}
		out[k].Centres = append(out[k].Centres, fc.Name)
		at[fc.ID] = k
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no fulfilment centre is mapped to a Shopify location: map them on the Mappings page, or set the connection's Shopify location when ShipBob ships from one centre")
	}
	if len(unmapped) > 0 && fallback == "" {
		e.log.Warn("shipbob stock: fulfilment centres not mapped to a Shopify location are left out", "connection_id", src, "centres", unmapped)
	}
	// Per batch, an item's index by SKU: centres mapped to one location add up.
	index := make([]map[string]int, len(out))
	for i := range index {
		index[i] = map[string]int{}
	}
	for _, lv := range levels {
		sku := strings.TrimSpace(lv.SKU)
		if sku == "" {
			continue
		}
		for _, l := range lv.Locations {
			k, ok := at[l.LocationID]
			if !ok {
				continue
			}
			j, ok := index[k][sku]
			if !ok {
				j = len(out[k].Items)
				index[k][sku] = j
				out[k].Items = append(out[k].Items, warehouseStockItem{SKU: sku, Name: lv.Name, InventoryID: lv.InventoryID})
			}
			out[k].Items[j].Sellable += max(l.Fulfillable, 0)
			out[k].Items[j].OnHand += l.OnHand
		}
	}
	return out, nil
}

// queueWarehouseStock queues the changed levels of one batch for one
// Shopify store, and raises their marks (per SKU and location), in one
// transaction.
func (e *Engine) queueWarehouseStock(ctx context.Context, rs rules.Rules, src, tgt int64, trigger string, in warehouseStockIn) (int, error) {
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		marks := make([]store.Watermark, 0, len(in.Items))
		for _, it := range in.Items {
			// One version for all: the quantity (the digest) says whether it changed.
			marks = append(marks, store.Watermark{ConnectionID: src, EntityType: entityWarehouseItem, ExternalID: it.SKU + "@" + in.Location,
				Version: time.Unix(0, 0).UTC(), Digest: strconv.Itoa(it.Sellable)})
		}
		accepted, err := tx.AdvanceWatermarksOrEqual(ctx, marks)
		if err != nil {
			return err
		}
		b := warehouseStockIn{Location: in.Location, Centres: in.Centres}
		for i, ok := range accepted {
			if ok {
				b.Items = append(b.Items, in.Items[i])
			}
		}
		if len(b.Items) == 0 {
			return nil
		}
		now := time.Now().UTC()
		label := fmt.Sprintf("%s from %s", stockLevels(len(b.Items)), rs.Name(src))
		keys := make([]string, 0, len(b.Items)+len(b.Centres))
		for _, it := range b.Items {
			keys = append(keys, it.SKU)
		}
		keys = append(keys, b.Centres...)
		s := store.NewSync{Family: vocab.Inventory, Direction: vocab.ShipBobToShopify, Flow: flowShipBobStock, SourceConnectionID: src,
			TargetConnectionID: tgt, Trigger: trigger, EntityType: entityLevel, EntityRef: "shipbob:" + gidTail(in.Location), EntityKey: label,
			SearchKeys: keys, SourceVersion: now, Payload: b, MaxAttempts: e.cfg.MaxAttempts,
			IdempotencyKey: fmt.Sprintf("shipbob-%d-stock-%d-%s-%s", src, tgt, gidTail(in.Location), now.Format(time.RFC3339Nano))}
		if d := rs.Decide(vocab.Inventory, src, tgt, nil); !d.Allowed {
			s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
		} else {
			s.Message = capital(label) + " are waiting to be sent to " + rs.Name(tgt) + "."
		}
		_, err = e.insertSyncs(ctx, tx, []queued{{sync: s, lease: e.flows().lease(flowShipBobStock, tgt, s.EntityRef)}})
		n = 1
		return err
	})
	return n, err
}

// runShipBobStock sets the warehouse's sellable stock as Shopify's
// available quantity at the location, by SKU, compare-and-set: each
// quantity is set from what Shopify showed just before, so a sale in
// between is not overwritten blindly — Shopify refuses the write, and the
// levels are read again and set once more.
func (e *Engine) runShipBobStock(ctx context.Context, s store.Sync, b warehouseStockIn, cl *shopify.Client, conn store.Connection, _ verdict) result {
	var res result
	for try := 0; ; try++ {
		levels, err := levelsAt(ctx, cl, b.Location)
		if err != nil {
			res.err = err
			return res
		}
		current := map[string]shopify.InventoryLevel{}
		for _, lv := range levels {
			if lv.SKU != "" {
				current[strings.ToUpper(lv.SKU)] = lv
			}
		}
		in := shopify.SetQuantitiesInput{Name: e.cfg.InventoryQuantity, Reason: "correction",
			ReferenceDocumentURI: fmt.Sprintf("gid://crossdock/Sync/%d", s.ID)}
		var missing []string
		unchanged := 0
		for _, it := range b.Items {
			lv, ok := current[strings.ToUpper(it.SKU)]
			if !ok {
				missing = append(missing, it.SKU)
				continue
			}
			if lv.Available == it.Sellable {
				unchanged++
				continue
			}
			from := lv.Available
			in.Quantities = append(in.Quantities, shopify.QuantityInput{InventoryItemID: lv.ItemID, LocationID: b.Location, Quantity: it.Sellable, ChangeFromQuantity: &from})
		}
		var parts []string
		if n := len(in.Quantities); n > 0 {
			parts = append(parts, fmt.Sprintf("%s sent to %s.", capital(stockLevels(n)), conn.Name))
		}
		if unchanged > 0 {
			parts = append(parts, fmt.Sprintf("%d already matched.", unchanged))
		}
		if len(missing) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s not stocked at that location in %s (no item with the SKU there): stock it there in Shopify, or give it the same SKU as in ShipBob.",
				names3(missing), map[bool]string{true: "is", false: "are"}[len(missing) == 1], conn.Name))
		}
		if len(in.Quantities) == 0 {
			res.request = b
			if len(missing) == len(b.Items) {
				res.err = fail(vocab.ClassOnlyInOne, strings.Join(parts, " "), nil)
				return res
			}
			res.status, res.message = vocab.SyncSkipped, "Nothing to send. "+strings.Join(parts, " ")
			return res
		}
		if res, stale := setCompared(ctx, cl, s, try, in, strings.Join(parts, " ")); !stale {
			return res
		}
		// Sold in between: read again, set again.
	}
}

// setCompared makes one compare-and-set write of stock levels (the try-th
// of a sync, each with a key of its own). stale reports that a level changed
// in Shopify since it was read, up to the third try: the caller reads the
// levels again and sets them once more.
func setCompared(ctx context.Context, cl *shopify.Client, s store.Sync, try int, in shopify.SetQuantitiesInput, message string) (res result, stale bool) {
	key := shopifyKey(fmt.Sprintf("%s-%d", s.IdempotencyKey, try), in)
	res.request = map[string]any{"mutation": "inventorySetQuantities", "idempotency_key": key, "input": in}
	groups, err := cl.SetInventoryQuantities(ctx, in, key)
	var se *shopify.Error
	if errors.As(err, &se) && se.Kind == shopify.KindConflict && try < 2 {
		return res, true
	}
	if err != nil {
		res.err = err
		return res, false
	}
	res.status, res.response, res.message = vocab.SyncSucceeded, groups, message
	if len(groups) > 0 {
		res.targetRef = groups[0].ID
	}
	return res, false
}

// levelsAt reads every stock level at a Shopify location, a page of 250 at
// a time: what a compare-and-set write compares with.
func levelsAt(ctx context.Context, cl *shopify.Client, loc string) ([]shopify.InventoryLevel, error) {
	var out []shopify.InventoryLevel
	for after := ""; ; {
		page, err := cl.InventoryLevels(ctx, loc, after, 250)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Levels...)
		if !page.PageInfo.HasNextPage {
			return out, nil
		}
		after = page.PageInfo.EndCursor
	}
}
