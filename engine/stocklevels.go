package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// Stock levels from Shopify into Odoo, when the sources of truth make Shopify
// the master of inventory: each inventory_levels/update webhook becomes one
// sync per Odoo receiver, for one item at one location.
//
// Set or adjust is chosen from the rule: a receiver marked "also edited by
// hand" (the warehouse moves stock in Odoo too) is adjusted by the difference
// Shopify reports since the level Crossdock last applied, so both sides'
// movements survive; any other receiver is set to Shopify's level (a count).
const (
	flowStockLevels = "inventory.shopify_odoo"
	entityStock     = "inventory_level" // item@location, by Shopify ids; also its watermark type
)

// stockLevelIn is an inventory_levels/update webhook, as the flow reads it.
type stockLevelIn struct {
	ItemID     string    `json:"inventory_item_id"` // GID
	LocationID string    `json:"location_id"`       // GID
	Available  int       `json:"available"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func (l stockLevelIn) ref() string { return gidTail(l.ItemID) + "@" + gidTail(l.LocationID) }

func parseStockLevel(payload []byte) (stockLevelIn, string) {
	var r struct {
		ItemID     int64  `json:"inventory_item_id"`
		LocationID int64  `json:"location_id"`
		Available  *int   `json:"available"`
		UpdatedAt  string `json:"updated_at"`
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return stockLevelIn{}, "Shopify sent a stock level Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	l := stockLevelIn{ItemID: "gid://shopify/InventoryItem/" + strconv.FormatInt(r.ItemID, 10),
		LocationID: "gid://shopify/Location/" + strconv.FormatInt(r.LocationID, 10)}
	l.UpdatedAt, _ = time.Parse(time.RFC3339, r.UpdatedAt)
	switch {
	case r.ItemID == 0 || r.LocationID == 0:
		return l, "The stock level Shopify sent names no item or no location, so Crossdock cannot tell what it is about. Nothing was sent on."
	case r.Available == nil:
		return l, "The stock level Shopify sent has no available quantity (the item is not tracked at that location). Nothing was sent on."
	case l.UpdatedAt.IsZero():
		return l, "The stock level Shopify sent has no date (updated_at), so Crossdock cannot tell it from an older one. Nothing was sent on."
	}
	l.Available = *r.Available
	return l, ""
}

// planStockLevel turns an inventory_levels/update event into a sync per Odoo
// system that could receive inventory. Its updated_at is the level's
// watermark: a late delivery of an older level becomes nothing.
func (e *Engine) planStockLevel(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	l, problem := parseStockLevel(ev.Payload)
	tgts := targets(rs, vocab.Inventory, vocab.KindOdoo)
	if len(tgts) == 0 {
		p.outcome.Status = store.WebhookIgnored
		p.outcome.Error = "No ERP is connected to receive stock levels."
		return p
	}
	key := fmt.Sprintf("Stock of item %s at location %s", gidTail(l.ItemID), gidTail(l.LocationID))
	base := store.NewSync{Family: vocab.Inventory, Direction: vocab.ShopifyToOdoo, Flow: flowStockLevels,
		SourceConnectionID: ev.ConnectionID, Trigger: store.TriggerWebhook, EntityType: entityStock, EntityRef: l.ref(),
		EntityKey: key, SearchKeys: []string{l.ItemID, gidTail(l.ItemID)}, SourceVersion: l.UpdatedAt, WebhookEventID: ev.ID,
		IdempotencyKey: fmt.Sprintf("crossdock-shopify-%d-level-%s-%s", ev.ConnectionID, l.ref(), l.UpdatedAt.UTC().Format(time.RFC3339Nano)),
		MaxAttempts:    e.cfg.MaxAttempts}
	p = fanOut(p, rs, ev, base, vocab.Inventory, tgts, problem, l, func(t int64) string {
		return fmt.Sprintf("A stock level from Shopify is waiting to be sent to %s.", rs.Name(t))
	})
	p.superseded = supersededLevel
	return p
}

// supersededLevel says why a stock level was not sent: at intake (a newer
// level of the item at that location had arrived first) or when its turn
// came (one arrived since).
const supersededLevel = "A newer stock level of this item at this location arrived from Shopify; it is sent instead of this one."

// runStockLevel applies one Shopify stock level to Odoo, by set or adjust.
func (e *Engine) runStockLevel(ctx context.Context, s store.Sync) result {
	if r, err := e.decide(ctx, s); err != nil || r != nil {
		if err != nil {
			return result{err: err}
		}
		return *r
	}
	var l stockLevelIn
	if err := json.Unmarshal(s.Payload, &l); err != nil {
		return result{err: fail(vocab.ClassInternal, "The stock level recorded for this sync cannot be read: "+err.Error(), err)}
	}
	// Superseded: a newer level of the same item was accepted since.
	marks, err := e.st.Watermarks(ctx, s.SourceConnectionID, entityStock, []string{l.ref()})
	if err != nil {
		return result{err: err}
	}
	if m, ok := marks[l.ref()]; ok && m.After(l.UpdatedAt) {
		return result{status: vocab.SyncSkipped, message: supersededLevel}
	}
	shop, shopConn, err := e.shopify(ctx, s.SourceConnectionID)
	if err != nil {
		return result{err: err, system: shopConn.Name}
	}
	cl, conn, err := e.odoo(ctx, s.TargetConnectionID)
	res := result{system: conn.Name}
	if err != nil {
		res.err = err
		return res
	}
	variant, sku, found, err := shop.InventoryItemVariant(ctx, l.ItemID)
	if err != nil {
		res.err, res.system = err, shopConn.Name
		return res
	}
	if !found {
		res.err = fail(vocab.ClassNotFound, fmt.Sprintf("Shopify reports stock of the item %s, which Shopify itself no longer knows (a deleted product?). Nothing was sent to %s.",
			gidTail(l.ItemID), conn.Name), nil)
		return res
	}
	what := cmpStr(sku, variant)
	if l.Available < 0 {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("Shopify reports %d available of %s. Crossdock does not send negative stock to %s: correct the count in Shopify and the next change is sent.",
			l.Available, what, conn.Name), nil)
		return res
	}
	locs, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityLocation, []string{l.LocationID})
	if err != nil {
		res.err = err
		return res
	}
	loc, err := strconv.Atoi(locs[l.LocationID])
	if err != nil || loc <= 0 {
		res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("The Shopify location %s is not mapped to an Odoo location yet, so the stock of %s cannot be sent. Map it on the Mappings page, then try this sync again.",
			gidTail(l.LocationID), what), nil)
		res.response = store.UnmappedResponse(entityLocation, []string{l.LocationID})
		return res
	}
	products, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, []string{variant})
	if err != nil {
		res.err = err
		return res
	}
	pid, err := strconv.Atoi(products[variant])
	if err != nil || pid <= 0 {
		res.err = fail(vocab.ClassUnmapped, notMapped([]string{what}, "an Odoo product")+". Map it on the Mappings page, then try this sync again.", nil)
		res.response = store.UnmappedResponse(entityVariant, []string{variant})
		return res
	}
	rs, err := e.Rules(ctx)
	if err != nil {
		res.err = err
		return res
	}
	adjust := false
	for _, rc := range rs.Rule(vocab.Inventory).Receivers {
		if rc.ConnectionID == s.TargetConnectionID {
			adjust = rc.EditedByHand
		}
	}
	last, err := e.st.LastInventoryLevels(ctx, s.SourceConnectionID, l.LocationID, []string{l.ItemID})
	if err != nil {
		res.err = err
		return res
	}
	prev, known := last[l.ItemID]
	record := []store.InventoryLevel{{ItemID: l.ItemID, LocationID: l.LocationID, Quantity: int64(l.Available)}}
	if adjust && known {
		delta := float64(int64(l.Available) - prev)
		req := map[string]any{"mode": "adjust", "odoo_product_id": pid, "odoo_location_id": loc, "delta": delta,
			"from": prev, "to": l.Available, "reference": s.IdempotencyKey}
		res.request = req
		if delta == 0 {
			done, err := cl.InventoryAdjusted(ctx, pid, s.IdempotencyKey)
			if err != nil {
				res.err = err
				return res
			}
			if done {
				res.status, res.targetRef = vocab.SyncSucceeded, s.IdempotencyKey
				res.message = fmt.Sprintf("The adjustment of %s was already in %s (reference %s); nothing was moved again.", what, conn.Name, s.IdempotencyKey)
				return res
			}
			res.status, res.message = vocab.SyncSkipped, fmt.Sprintf("The stock of %s did not change since the last level Crossdock sent to %s.", what, conn.Name)
			return res
		}
		onHand, applied, err := cl.AdjustInventory(ctx, pid, loc, delta, s.IdempotencyKey)
		if err != nil {
			res.err = err
			return res
		}
		if applied && onHand+delta < 0 {
			e.log.Warn("stock adjusted below zero", "sync_id", s.ID, "sku", what, "on_hand", onHand, "delta", delta)
		}
		if err := e.st.SaveInventoryLevels(ctx, s.SourceConnectionID, s.ID, record); err != nil {
			res.err = err
			return res
		}
		res.status, res.targetRef = vocab.SyncSucceeded, s.IdempotencyKey
		res.response = map[string]any{"applied": applied, "on_hand_before": onHand}
		if applied {
			res.message = fmt.Sprintf("The stock of %s in %s was adjusted by %+g (Shopify went from %d to %d available).", what, conn.Name, delta, prev, l.Available)
		} else {
			res.message = fmt.Sprintf("The adjustment of %s was already in %s (reference %s); nothing was moved again.", what, conn.Name, s.IdempotencyKey)
		}
		return res
	}
	res.request = map[string]any{"mode": "set", "odoo_product_id": pid, "odoo_location_id": loc, "quantity": l.Available}
	if err := cl.ApplyInventory(ctx, pid, loc, float64(l.Available)); err != nil {
		res.err = err
		return res
	}
	if err := e.st.SaveInventoryLevels(ctx, s.SourceConnectionID, s.ID, record); err != nil {
		res.err = err
		return res
	}
	res.status = vocab.SyncSucceeded
	res.message = fmt.Sprintf("The stock of %s in %s was set to %d, as in Shopify.", what, conn.Name, l.Available)
	if adjust {
		res.message += " (Crossdock had no earlier level of it, so this first one is counted; the next changes are adjusted.)"
	}
	return res
}
