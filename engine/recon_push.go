package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"crossdock/store"
	"crossdock/vocab"
)

// ErrNotPushable is returned when a discrepancy has no flow that could send
// the master's value.
var ErrNotPushable = errors.New("This difference cannot be fixed by sending a value; resolve it in the system where it is, then run the comparison again.")

// pushDetail is what a comparison recorded for pushing the master's value.
type pushDetail struct {
	SKU            string   `json:"sku"`
	Location       string   `json:"location"`
	OdooProductID  string   `json:"odoo_product_id"`
	OdooLocationID string   `json:"odoo_location_id"`
	OnHand         float64  `json:"on_hand"`
	Available      float64  `json:"available"`
	Price          *float64 `json:"price"`
	Cost           *float64 `json:"cost"`
}

// PushMaster resolves a discrepancy by sending the master's value to the
// other system: it queues a sync of the usual flow (stock levels, prices or
// costs), with its own idempotency key, and marks the discrepancy resolved,
// with the audit entry, in the same transaction. The sync is manual: it
// writes even when Crossdock believes the value is already there. It returns
// the sync's id.
func (e *Engine) PushMaster(ctx context.Context, a store.Actor, id int64) (int64, error) {
	var syncID int64
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.LockDiscrepancy(ctx, id)
		if err != nil {
			return err
		}
		if !d.Live() {
			return store.ErrDiscrepancyClosed
		}
		if !d.Pushable() || d.MasterConnectionID == nil || d.OtherConnectionID == nil {
			return ErrNotPushable
		}
		var det pushDetail
		if err := json.Unmarshal(d.Detail, &det); err != nil {
			return fmt.Errorf("engine: discrepancy %d detail: %w", d.ID, err)
		}
		pid, err := strconv.Atoi(det.OdooProductID)
		if err != nil {
			return ErrNotPushable
		}
		rs, err := e.Rules(ctx)
		if err != nil {
			return err
		}
		src, tgt := *d.MasterConnectionID, *d.OtherConnectionID
		if err := tx.MayWriteInto(ctx, a, tgt); err != nil {
			return err
		}
		now := time.Now().UTC()
		s := store.NewSync{Direction: vocab.OdooToShopify, SourceConnectionID: src, TargetConnectionID: tgt, Trigger: store.TriggerManual,
			SearchKeys: []string{det.SKU}, SourceVersion: now, IdempotencyKey: newKey(), MaxAttempts: e.cfg.MaxAttempts}
		var lease, what string
		switch d.Kind {
		case "stock":
			loc, err := strconv.Atoi(det.OdooLocationID)
			if err != nil {
				return ErrNotPushable
			}
			if d := rs.Decide(vocab.Inventory, src, tgt, nil); !d.Allowed {
				return errors.New(d.Reason)
			}
			s.Family, s.Flow, s.EntityType = vocab.Inventory, flowInventory, entityLevel
			s.EntityRef, s.EntityKey = fmt.Sprintf("location:%d", loc), inventoryLabel(1, det.Location)
			s.Payload = inventoryBatch{OdooLocationID: loc, OdooLocation: det.Location, Items: []quantIn{{ProductID: pid, SKU: det.SKU,
				Quantity: det.OnHand, Reserved: det.OnHand - det.Available, Version: now}}}
			lease = leaseFor(flowInventory, tgt, s.EntityRef)
			what = fmt.Sprintf("stock level %s", d.MasterValue)
		case "price", "cost":
			if det.Price == nil || det.Cost == nil {
				return ErrNotPushable
			}
			fam := vocab.Prices
			if d.Kind == "cost" {
				fam = vocab.Costs
			}
			if d := rs.Decide(fam, src, tgt, nil); !d.Allowed {
				return errors.New(d.Reason)
			}
			b := priceBatch{Prices: d.Kind == "price", Costs: d.Kind == "cost", Items: []priceIn{{ProductID: pid, SKU: det.SKU,
				Price: *det.Price, Cost: *det.Cost, Version: now}}}
			s.Family, s.Flow, s.EntityType = fam, flowPrices, entityPrices
			s.EntityRef, s.EntityKey, s.Payload = b.Items[0].ref(), batchLabel(b, 1), b
			lease = pricesLease(tgt)
			what = fmt.Sprintf("%s %s", d.Kind, d.MasterValue)
		}
		s.Message = fmt.Sprintf("Sending %s's %s to %s, to resolve discrepancy #%d.", rs.Name(src), what, rs.Name(tgt), d.ID)
		ids, err := e.insertSyncs(ctx, tx, []queued{{sync: s, lease: lease}})
		if err != nil {
			return err
		}
		syncID = ids[0]
		return tx.ResolvePushed(ctx, a, d, syncID, fmt.Sprintf("%s sends the %s of %s (sync #%d).", a.Label, what, rs.Name(src), syncID))
	})
	return syncID, err
}
