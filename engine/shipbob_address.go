package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/shipbob"
	"crossdock/store"
	"crossdock/vocab"
)

// addressRequest is what an address edit sent to ShipBob, as recorded: the
// next edit compares its address with it before calling ShipBob.
type addressRequest struct {
	Recipient shipbob.Recipient `json:"recipient"`
	Shipments []int64           `json:"shipment_ids"`
}

// updateShipBobAddress sends a Shopify order's shipping address, changed
// after the order went to ShipBob, to each of its ShipBob shipments that has
// not shipped (ShipBob changes addresses per shipment: PUT
// /shipment/{id}:updateAddress). Shopify says orders/updated for any change
// of an order, so the address is first compared with the last one Crossdock
// sent there: an unchanged one costs no call to ShipBob. Once every parcel
// has shipped, the new address cannot reach it, and the sync says so.
func (e *Engine) updateShipBobAddress(ctx context.Context, cl *shipbob.Client, conn store.Connection, o warehouseOrderIn) result {
	var res result
	label := o.label()
	if o.Cancelled {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s is cancelled in Shopify; its address was not sent to %s.", label, conn.Name)
		return res
	}
	last, sent, err := e.lastSentToWarehouse(ctx, conn.ID, o.ID, nil)
	if err != nil {
		res.err = err
		return res
	}
	if !sent {
		return e.notSentYet(ctx, conn, o)
	}
	rc, ok := o.recipient()
	if !ok {
		res.err = noAddress(label, conn.Name)
		return res
	}
	if prev, ok, err := e.sentRecipient(ctx, last.ID); err != nil {
		res.err = err
		return res
	} else if ok && shipbob.SameAddress(prev, rc) {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s was changed in Shopify, but not its shipping address: %s has it already, so nothing was sent.", label, conn.Name)
		return res
	}
	found, ok, err := cl.OrderByReference(ctx, o.ID)
	if err != nil {
		res.err = err
		return res
	}
	if !ok {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s is not in %s, so there is no address to change there.", label, conn.Name)
		return res
	}
	req := addressRequest{Recipient: rc}
	res.request, res.targetRef = req, strconv.FormatInt(found.ID, 10)
	var shipped []time.Time
	already := 0
	for _, sh := range found.Shipments {
		switch {
		case sh.Status == "Cancelled":
			continue
		case sh.Status == "Completed" || sh.Status == "LabeledCreated" || sh.ActualFulfillmentDate != nil:
			shipped = append(shipped, shippedOn(sh))
			continue
		case sh.Recipient != nil && shipbob.SameAddress(*sh.Recipient, rc):
			already++
			continue
		}
		if err := cl.UpdateShipmentAddress(ctx, sh.ID, shipbob.AddressUpdateOf(rc)); err != nil {
			res.err = err
			return res
		}
		req.Shipments = append(req.Shipments, sh.ID)
		res.request = req
	}
	res.response = found
	where := strings.Join(nonEmpty(rc.Address.Address1, rc.Address.City), ", ")
	switch {
	case len(req.Shipments) == 0 && already == 0 && len(shipped) > 0:
		res.err = fail(vocab.ClassConflict, fmt.Sprintf("ShipBob already shipped order %s on %s; the new address could not reach it. Ask the carrier to redirect the parcel, or the customer to forward it.",
			cmpStr(o.Name, gidTail(o.ID)), shipped[0].Format("2 January 2006")), nil)
		return res
	case len(req.Shipments) == 0:
		res.status = vocab.SyncSucceeded
		res.message = fmt.Sprintf("%s: %s already had the new shipping address (%s); nothing was changed.", label, conn.Name, where)
	default:
		res.status = vocab.SyncSucceeded
		res.message = fmt.Sprintf("%s: the new shipping address (%s) was sent to %s before it shipped (ShipBob order %d).", label, where, conn.Name, found.ID)
	}
	if len(shipped) > 0 {
		res.message += fmt.Sprintf(" %s of it had already shipped on %s and still goes to the old address.", parcels(len(shipped)), shipped[0].Format("2 January 2006"))
	}
	return res
}

// addressEditKey is the key of an address edit's sync: the order's id and
// the version of the order that carried the address.
func addressEditKey(o warehouseOrderIn) string {
	return o.ID + "#address@" + o.UpdatedAt.UTC().Format(time.RFC3339Nano)
}

// shippedOn is when a shipment left the warehouse, as near as ShipBob says.
func shippedOn(sh shipbob.Shipment) time.Time {
	switch {
	case sh.ActualFulfillmentDate != nil:
		return *sh.ActualFulfillmentDate
	case sh.LastUpdateAt != nil:
		return *sh.LastUpdateAt
	}
	return sh.CreatedDate
}

// sentRecipient reads the address a sync sent to ShipBob: the order's
// recipient when it created it, or the one an address edit sent.
func (e *Engine) sentRecipient(ctx context.Context, syncID int64) (shipbob.Recipient, bool, error) {
	s, err := e.st.SyncByID(ctx, syncID)
	if err != nil {
		return shipbob.Recipient{}, false, err
	}
	var req struct {
		Order *struct {
			Recipient shipbob.Recipient `json:"recipient"`
		} `json:"order"`
		Recipient *shipbob.Recipient `json:"recipient"`
	}
	if len(s.Request) == 0 || json.Unmarshal(s.Request, &req) != nil {
		return shipbob.Recipient{}, false, nil
	}
	switch {
	case req.Recipient != nil:
		return *req.Recipient, true, nil
	case req.Order != nil && req.Order.Recipient.Address.Address1 != "":
		return req.Order.Recipient, true, nil
	}
	return shipbob.Recipient{}, false, nil
}

// notSentYet answers an address edit of an order ShipBob does not have from
// Crossdock: it waits while the order itself is on its way there, and is
// skipped when it never goes (another location, a test order, a failure).
func (e *Engine) notSentYet(ctx context.Context, conn store.Connection, o warehouseOrderIn) result {
	ss, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Orders, TargetConnectionID: conn.ID, Search: o.ID, Limit: 50})
	if err != nil {
		return result{err: err}
	}
	for _, s := range ss {
		if s.Flow == flowShipBobOrders && s.EntityRef == o.ID && s.IdempotencyKey == o.ID && (s.Status == vocab.SyncPending || s.Status == vocab.SyncRunning || s.Status == vocab.SyncRetrying) {
			// Taken by the same lease, the order's own sync may still be
			// waiting for its turn: its address goes after it.
			return result{err: waitFor(fmt.Sprintf("%s's new shipping address waits for the order itself to reach %s.", o.label(), conn.Name))}
		}
	}
	return result{status: vocab.SyncSkipped,
		message: fmt.Sprintf("%s was changed in Shopify, but it was never sent to %s, so there is no address to change there.", o.label(), conn.Name)}
}
