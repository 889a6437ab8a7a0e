package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"crossdock/connectors/shipbob"
	"crossdock/store"
)

const (
	cursorShipBobCharges = "shipbob_charges"
	// chargesEvery is how often the warehouse's billing is read: ShipBob
	// bills shipments once, after they ship.
	chargesEvery = time.Hour
	// chargesLookBack is how far back each read goes: a charge dated
	// earlier was read by an earlier sweep.
	chargesLookBack = 45 * 24 * time.Hour
	// chargeLookups caps the shipments looked up per sweep (one GET each,
	// out of ShipBob's 150 requests a minute); the rest wait for the next.
	chargeLookups = 60
)

// sweepShipBobCharges reads what the warehouse billed for shipments
// (shipping, pick fees) into warehouse_charges, each matched to the Shopify
// order its shipment belongs to, for the margin per order. It runs with
// the tracking sweep, hourly on its own cursor. A shipment's order is read
// from ShipBob once (its reference_id is the Shopify order).
func (e *Engine) sweepShipBobCharges(ctx context.Context, src int64, cl *shipbob.Client, force bool) error {
	every := chargesEvery
	if force {
		every = 0
	}
	if _, due, err := e.st.ClaimSweep(ctx, src, cursorShipBobCharges, every); err != nil || !due {
		return err
	}
	now := time.Now()
	charges, err := cl.ShipmentCharges(ctx, now.Add(-chargesLookBack), now.Add(24*time.Hour))
	if err != nil {
		return err
	}
	ships := make([]string, 0, len(charges))
	for _, c := range charges {
		ships = append(ships, c.ReferenceID)
	}
	known, err := e.st.ChargeOrders(ctx, src, ships)
	if err != nil {
		return err
	}
	rows := make([]store.WarehouseCharge, 0, len(charges))
	for _, c := range charges {
		if c.TransactionID == "" || c.ReferenceType != "Shipment" {
			continue
		}
		day, _ := time.Parse("2006-01-02", firstN(c.ChargeDate, 10))
		rows = append(rows, store.WarehouseCharge{TransactionID: c.TransactionID, ShipmentRef: c.ReferenceID, OrderRef: known[c.ReferenceID],
			Fee: c.TransactionFee, Amount: c.Amount, Currency: c.CurrencyCode, ChargedOn: day})
	}
	if err := e.st.SaveWarehouseCharges(ctx, src, rows); err != nil {
		return err
	}
	open, err := e.st.UnmatchedChargeShipments(ctx, src, chargeLookups)
	if err != nil {
		return err
	}
	for _, ref := range open {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			continue // not a shipment id ShipBob would answer for
		}
		sh, err := cl.Shipment(ctx, id)
		var se *shipbob.Error
		if errors.As(err, &se) && se.Kind == shipbob.KindNotFound {
			continue // kept unmatched: its order is not in the margin
		}
		if err != nil {
			return fmt.Errorf("shipment %s of a charge: %w", ref, err)
		}
		if sh.ReferenceID == "" {
			continue
		}
		if err := e.st.MatchChargeShipment(ctx, src, ref, sh.ReferenceID); err != nil {
			return err
		}
	}
	return nil
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
