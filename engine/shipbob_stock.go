package engine

import (
	"context"
	"errors"
	"fmt"
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

// shipbobStockFlow sends the warehouse's sellable stock into Shopify, at the
// Shopify location the ShipBob connection ships for, when ShipBob is the
// source of stock. ShipBob's levels are totals over its fulfilment centres;
// a level per fulfilment centre and Shopify location is not mapped yet.
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
}

type warehouseStockItem struct {
	SKU         string `json:"sku"`
	Name        string `json:"name,omitempty"`
	InventoryID int64  `json:"inventory_id"`
	// Sellable is what ShipBob can ship now (fulfillable): Shopify's available.
	Sellable int `json:"sellable"`
	OnHand   int `json:"on_hand"`
}

// SweepShipBobStock reads the warehouse's inventory levels (every page) and
// queues the levels that changed since they were last queued, 250 a sync.
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
	loc := shipbob.LocationID(conn.Settings)
	if loc == "" {
		return 0, fmt.Errorf("engine: stock check of %s: no Shopify location is set on the connection", conn.Name)
	}
	levels, err := cl.InventoryLevels(ctx)
	if err != nil {
		return 0, fmt.Errorf("engine: stock check of %s: %w", conn.Name, err)
	}
	queued := 0
	for start := 0; start < len(levels); start += maxBatch {
		n, err := e.queueWarehouseStock(ctx, rs, master.ID, tgts, trigger, loc, levels[start:min(start+maxBatch, len(levels))])
		queued += n
		if err != nil {
			return queued, err
		}
	}
	return queued, nil
}

// queueWarehouseStock queues the changed levels of one page, and raises
// their marks, in one transaction.
func (e *Engine) queueWarehouseStock(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger, loc string, levels []shipbob.InventoryLevel) (int, error) {
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		var marks []store.Watermark
		var items []warehouseStockItem
		for _, lv := range levels {
			if strings.TrimSpace(lv.SKU) == "" {
				continue
			}
			it := warehouseStockItem{SKU: strings.TrimSpace(lv.SKU), Name: lv.Name, InventoryID: lv.InventoryID, Sellable: max(lv.Fulfillable, 0), OnHand: lv.OnHand}
			items = append(items, it)
			// One version for all: the quantity (the digest) says whether it changed.
			marks = append(marks, store.Watermark{ConnectionID: src, EntityType: entityWarehouseItem, ExternalID: it.SKU,
				Version: time.Unix(0, 0).UTC(), Digest: strconv.Itoa(it.Sellable)})
		}
		accepted, err := tx.AdvanceWatermarksOrEqual(ctx, marks)
		if err != nil {
			return err
		}
		b := warehouseStockIn{Location: loc}
		for i, ok := range accepted {
			if ok {
				b.Items = append(b.Items, items[i])
			}
		}
		if len(b.Items) == 0 {
			return nil
		}
		now := time.Now().UTC()
		var qs []queued
		for _, t := range tgts {
			label := fmt.Sprintf("%s from %s", stockLevels(len(b.Items)), rs.Name(src))
			keys := make([]string, 0, len(b.Items))
			for _, it := range b.Items {
				keys = append(keys, it.SKU)
			}
			s := store.NewSync{Family: vocab.Inventory, Direction: vocab.ShipBobToShopify, Flow: flowShipBobStock, SourceConnectionID: src,
				TargetConnectionID: t, Trigger: trigger, EntityType: entityLevel, EntityRef: "shipbob:" + gidTail(loc), EntityKey: label,
				SearchKeys: keys, SourceVersion: now, Payload: b, MaxAttempts: e.cfg.MaxAttempts,
				IdempotencyKey: fmt.Sprintf("shipbob-%d-stock-%s", src, now.Format(time.RFC3339Nano))}
			if d := rs.Decide(vocab.Inventory, src, t, nil); !d.Allowed {
				s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
			} else {
				s.Message = capital(label) + " are waiting to be sent to " + rs.Name(t) + "."
			}
			qs = append(qs, queued{sync: s, lease: e.flows().lease(flowShipBobStock, t, s.EntityRef)})
		}
		_, err = e.insertSyncs(ctx, tx, qs)
		n = len(qs)
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
		current := map[string]shopify.InventoryLevel{}
		after := ""
		for {
			page, err := cl.InventoryLevels(ctx, b.Location, after, 250)
			if err != nil {
				res.err = err
				return res
			}
			for _, lv := range page.Levels {
				if lv.SKU != "" {
					current[strings.ToUpper(lv.SKU)] = lv
				}
			}
			if !page.PageInfo.HasNextPage {
				break
			}
			after = page.PageInfo.EndCursor
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
		key := shopifyKey(fmt.Sprintf("%s-%d", s.IdempotencyKey, try), in)
		res.request = map[string]any{"mutation": "inventorySetQuantities", "idempotency_key": key, "input": in}
		groups, err := cl.SetInventoryQuantities(ctx, in, key)
		var se *shopify.Error
		if errors.As(err, &se) && se.Kind == shopify.KindConflict && try < 2 {
			continue // sold in between: read again, set again
		}
		if err != nil {
			res.err = err
			return res
		}
		res.status, res.response, res.message = vocab.SyncSucceeded, groups, strings.Join(parts, " ")
		if len(groups) > 0 {
			res.targetRef = groups[0].ID
		}
		return res
	}
}
