package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/shipbob"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
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
			Fee: c.TransactionFee, Amount: c.Signed(), Currency: c.CurrencyCode, ChargedOn: day})
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

// takeWarehouseCharges records, in the intake transaction that marks them,
// the claimed events of ShipBob's billing topics as warehouse charges, and
// returns the other events for planning as syncs.
//
// A billing event is not a flow: a Flow moves a record from one system into
// another through syncs, and a charge is sent nowhere — it is recorded for
// the margin per order, as Shopify's privacy requests are recorded
// (takePrivacyRequests). Taken here, an event and its charge exist together
// or not at all, and a charge whose shipment's order Crossdock already knows
// (a shipment webhook or the tracking check saw it, or an earlier charge of
// it) is matched without a call to ShipBob. Any other charge is kept
// unmatched, and the hourly billing read matches it as it does its own
// (sweepShipBobCharges); that read stays the safety net for a webhook
// ShipBob never sends.
//
// Charges are keyed by transaction id, so a delivery repeated or coming
// after a later one changes nothing twice. A body that is not a billing
// transaction fails alone, in words, where failed webhooks are shown.
//
// The shipments the batch's shipment webhooks name are noted first, so that
// a charge delivered with its shipment's webhook is matched at once, and
// charges that came before it are matched by the note.
func (e *Engine) takeWarehouseCharges(ctx context.Context, tx *store.Tx, rs rules.Rules, evs []store.WebhookEvent) ([]store.WebhookEvent, error) {
	warehouse := func(ev store.WebhookEvent) bool {
		c, ok := rs.Conn(ev.ConnectionID)
		return ok && c.Kind == vocab.KindShipBob
	}
	links := map[int64]map[string]string{}
	for _, ev := range evs {
		if !warehouse(ev) || !shipmentTopics[ev.Topic] {
			continue
		}
		if sev, err := shipbob.DecodeShipmentEvent(ev.Payload); err == nil && sev.ShipmentID != 0 && sev.ReferenceID != "" {
			if links[ev.ConnectionID] == nil {
				links[ev.ConnectionID] = map[string]string{}
			}
			links[ev.ConnectionID][strconv.FormatInt(sev.ShipmentID, 10)] = sev.ReferenceID
		}
	}
	for conn, l := range links {
		if err := tx.NoteWarehouseShipments(ctx, conn, l); err != nil {
			return nil, err
		}
	}
	rest := make([]store.WebhookEvent, 0, len(evs))
	var outs []store.WebhookOutcome
	for _, ev := range evs {
		if !warehouse(ev) || !shipbob.IsBillingTopic(ev.Topic) {
			rest = append(rest, ev)
			continue
		}
		out := store.WebhookOutcome{ID: ev.ID, Status: store.WebhookProcessed}
		row, problem, ignored := warehouseCharge(ev)
		switch {
		case problem != "":
			out.Status, out.Error = store.WebhookFailed, problem
		case ignored != "":
			out.Status, out.Error = store.WebhookIgnored, ignored
		default:
			known, err := tx.ChargeOrders(ctx, ev.ConnectionID, []string{row.ShipmentRef})
			if err != nil {
				return nil, err
			}
			row.OrderRef = known[row.ShipmentRef]
			if err := tx.SaveWarehouseCharges(ctx, ev.ConnectionID, []store.WarehouseCharge{row}); err != nil {
				return nil, err
			}
		}
		outs = append(outs, out)
	}
	return rest, tx.MarkWebhookEvents(ctx, outs)
}

// shipmentTopics are the ShipBob webhooks whose body is a shipment of an
// order (the shipments flow's topics).
var shipmentTopics = map[string]bool{shipbob.TopicShipped: true, shipbob.TopicTrackingUpdated: true,
	"order.shipment.tracking_received": true, shipbob.TopicDelivered: true, shipbob.TopicCancelled: true}

// warehouseCharge reads a billing event into the charge it records. problem
// says, for the merchant, why the body cannot be one; ignored, why a
// readable transaction is not a shipment's cost.
func warehouseCharge(ev store.WebhookEvent) (row store.WarehouseCharge, problem, ignored string) {
	what := map[string]string{shipbob.TopicBillingRefund: "refund", shipbob.TopicBillingCredit: "credit"}[ev.Topic]
	what = cmpStr(what, "charge")
	be, err := shipbob.DecodeBillingEvent(ev.Topic, ev.Payload)
	if err != nil {
		return row, fmt.Sprintf("ShipBob sent a billing %s Crossdock cannot read: %s. It was not added to any order's warehouse costs; "+
			"if ShipBob billed it, the hourly read of ShipBob's billing adds it.", what, strings.TrimPrefix(err.Error(), shipbob.ErrBillingBody.Error()+": ")), ""
	}
	c := be.Charge
	switch {
	case c.ReferenceType != "" && c.ReferenceType != shipbob.ReferenceShipment:
		return row, "", fmt.Sprintf("ShipBob's %s %s is for a %s, not a shipment: the margin per order counts what shipments cost, so it is only kept here.",
			what, c.TransactionID, c.ReferenceType)
	case c.ReferenceID == "":
		return row, fmt.Sprintf("ShipBob's %s %s names no shipment, so Crossdock cannot tell which order it is for. It was not added to any order's warehouse costs.",
			what, c.TransactionID), ""
	}
	day, err := time.Parse("2006-01-02", firstN(c.ChargeDate, 10))
	if err != nil {
		day = cmp.Or(be.EventTime, ev.ReceivedAt).UTC().Truncate(24 * time.Hour)
	}
	return store.WarehouseCharge{TransactionID: c.TransactionID, ShipmentRef: c.ReferenceID, Fee: c.TransactionFee, Amount: c.Signed(),
		Currency: c.CurrencyCode, ChargedOn: day}, "", ""
}
