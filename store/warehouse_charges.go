package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
)

// WarehouseCharge is one billing transaction of a warehouse (ShipBob) for a
// shipment: shipping, pick fees, their refunds. OrderRef is the Shopify
// order the shipment belongs to, "" until it is known.
type WarehouseCharge struct {
	TransactionID string
	ShipmentRef   string
	OrderRef      string
	Fee           string
	Amount        float64
	Currency      string
	ChargedOn     time.Time
}

// SaveWarehouseCharges stores a warehouse's charges; one read again
// replaces its row, keeping the order it was matched to.
func (q q) SaveWarehouseCharges(ctx context.Context, conn int64, cs []WarehouseCharge) error {
	if len(cs) == 0 {
		return nil
	}
	ids, ships, orders, fees, currencies := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	amounts, days := make([]float64, len(cs)), make([]*time.Time, len(cs))
	for i, c := range cs {
		ids[i], ships[i], orders[i], fees[i], currencies[i], amounts[i] = c.TransactionID, c.ShipmentRef, c.OrderRef, c.Fee, c.Currency, c.Amount
		if !c.ChargedOn.IsZero() {
			d := c.ChargedOn
			days[i] = &d
		}
	}
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO warehouse_charges (connection_id, transaction_id, shipment_ref, order_ref, fee, amount, currency, charged_on)
SELECT $1, t.id, t.ship, t.ord, t.fee, t.amount, t.cur, t.day::date
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[], $8::timestamptz[]) AS t(id, ship, ord, fee, amount, cur, day)
ON CONFLICT (connection_id, transaction_id) DO UPDATE SET shipment_ref = EXCLUDED.shipment_ref, fee = EXCLUDED.fee, amount = EXCLUDED.amount,
  currency = EXCLUDED.currency, charged_on = EXCLUDED.charged_on, read_at = now(),
  order_ref = CASE WHEN EXCLUDED.order_ref <> '' THEN EXCLUDED.order_ref ELSE warehouse_charges.order_ref END`,
		conn, pq.Array(ids), pq.Array(ships), pq.Array(orders), pq.Array(fees), pq.Array(amounts), pq.Array(currencies), pq.Array(days)); err != nil {
		return fmt.Errorf("store: save warehouse charges: %w", err)
	}
	return nil
}

// ChargeOrders returns, of the given shipments of a warehouse, those whose
// Shopify order is known, with it: from a shipment Crossdock saw
// (warehouse_shipments) or an earlier charge of the shipment.
func (q q) ChargeOrders(ctx context.Context, conn int64, shipments []string) (map[string]string, error) {
	var rows []struct {
		Ship  string `db:"shipment_ref"`
		Order string `db:"order_ref"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT shipment_ref, order_ref FROM warehouse_shipments
WHERE connection_id = $1 AND shipment_ref = ANY($2)
UNION
(SELECT DISTINCT ON (shipment_ref) shipment_ref, order_ref FROM warehouse_charges
WHERE connection_id = $1 AND shipment_ref = ANY($2) AND order_ref <> '' ORDER BY shipment_ref)`, conn, pq.Array(shipments)); err != nil {
		return nil, fmt.Errorf("store: charge orders: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Ship] = r.Order
	}
	return out, nil
}

// UnmatchedChargeShipments lists up to limit shipments of a warehouse whose
// charges are not matched to an order yet.
func (q q) UnmatchedChargeShipments(ctx context.Context, conn int64, limit int) ([]string, error) {
	var out []string
	if err := sqlxSelect(ctx, q, &out, `SELECT DISTINCT shipment_ref FROM warehouse_charges
WHERE connection_id = $1 AND order_ref = '' ORDER BY shipment_ref LIMIT $2`, conn, limit); err != nil {
		return nil, fmt.Errorf("store: unmatched charges: %w", err)
	}
	return out, nil
}

// MatchChargeShipment records the Shopify order of a shipment's charges.
func (q q) MatchChargeShipment(ctx context.Context, conn int64, shipment, order string) error {
	return q.NoteWarehouseShipments(ctx, conn, map[string]string{shipment: order})
}

// NoteWarehouseShipments records the Shopify order of each shipment of a
// warehouse (shipment to order), and gives it to the shipments' charges not
// matched yet (through warehouse_charges_unresolved): a charge billed before
// Crossdock saw its shipment is matched when it does. A shipment belongs to
// one order: one seen again is left as it is.
func (q q) NoteWarehouseShipments(ctx context.Context, conn int64, links map[string]string) error {
	// In one order, so that two transactions noting the same shipments
	// (the intake, the tracking check) wait for each other, never deadlock.
	ships := make([]string, 0, len(links))
	for s, o := range links {
		if s != "" && o != "" {
			ships = append(ships, s)
		}
	}
	if len(ships) == 0 {
		return nil
	}
	slices.Sort(ships)
	orders := make([]string, len(ships))
	for i, s := range ships {
		orders[i] = links[s]
	}
	if _, err := q.ext.ExecContext(ctx, `WITH l AS (SELECT * FROM unnest($2::text[], $3::text[]) AS t(ship, ord)),
seen AS (INSERT INTO warehouse_shipments (connection_id, shipment_ref, order_ref)
  SELECT $1, ship, ord FROM l ON CONFLICT (connection_id, shipment_ref) DO NOTHING)
UPDATE warehouse_charges w SET order_ref = l.ord FROM l
WHERE w.connection_id = $1 AND w.shipment_ref = l.ship AND w.order_ref = ''`,
		conn, pq.Array(ships), pq.Array(orders)); err != nil {
		return fmt.Errorf("store: note warehouse shipments: %w", err)
	}
	return nil
}
