package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
)

// updated is an orders/updated body of an order, later by minutes, with
// the address given (nil: the same address).
func updated(t *testing.T, payload []byte, minutes int, address map[string]any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	m["updated_at"] = time.Now().Add(time.Duration(minutes) * time.Minute).UTC().Format(time.RFC3339)
	if address != nil {
		m["shipping_address"] = address
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

var newAddress = map[string]any{"name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace", "address1": "9 New Road",
	"city": "Evanston", "province_code": "IL", "zip": "60201", "country_code": "US", "phone": "+1 312 555 0100"}

func (w *warehouseEnv) addressUpdates() int {
	n := 0
	for _, wr := range w.sb.Writes() {
		if strings.HasSuffix(wr.Path, ":updateAddress") {
			n++
		}
	}
	return n
}

// A new shipping address given in Shopify before ShipBob ships reaches the
// shipment; an update of something else sends nothing.
func TestShipBobNewAddressReachesTheShipmentBeforeItShips(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	o, payload := w.placeShipped(t)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)

	s := w.warehouseSync(t, w.deliver(t, "orders/updated", updated(t, payload, 1, newAddress)))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "Order "+o.Name+": the new shipping address (9 New Road, Evanston) was sent to Warehouse before it shipped")
	sbo, _ := w.sb.OrderByReference(o.GID())
	sh, _ := w.sb.Shipment(sbo.Shipments[0].ID)
	require.Equal(t, "9 New Road", sh.Recipient.Address.Address1)
	require.Equal(t, "Evanston", sh.Recipient.Address.City)
	require.Equal(t, "60201", sh.Recipient.Address.ZipCode)
	require.Equal(t, 1, w.addressUpdates())

	// Paid, tagged, fulfilled...: Shopify says orders/updated for any change.
	s = w.warehouseSync(t, w.deliver(t, "orders/updated", updated(t, payload, 2, newAddress)))
	require.Equal(t, vocab.SyncSkipped, s.Status, s.Message)
	require.Contains(t, s.Message, "but not its shipping address: Warehouse has it already, so nothing was sent")
	require.Equal(t, 1, w.addressUpdates(), "no call to ShipBob for an unchanged address")
	require.Len(t, w.sb.Orders(), 1, "the order was never cancelled and made again")
}

// Once ShipBob has shipped, the new address fails on its own, saying when
// it shipped.
func TestShipBobNewAddressAfterShipmentFailsInWords(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	o, payload := w.placeShipped(t)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
	sbo, _ := w.sb.OrderByReference(o.GID())
	require.NoError(t, w.sb.Ship(sbo.Shipments[0].ID, true))
	sh, _ := w.sb.Shipment(sbo.Shipments[0].ID)

	s := w.warehouseSync(t, w.deliver(t, "orders/updated", updated(t, payload, 1, newAddress)))
	require.Equal(t, vocab.SyncFailed, s.Status, s.Message)
	require.Equal(t, vocab.ClassConflict, s.Class())
	require.Contains(t, s.Message, "ShipBob already shipped order "+o.Name+" on "+sh.ActualFulfillmentDate.Format("2 January 2006")+
		"; the new address could not reach it.")
	require.Zero(t, w.addressUpdates())
	got, _ := w.sb.Shipment(sh.ID)
	require.Equal(t, "12 Analytical Row", got.Recipient.Address.Address1, "the parcel's address is ShipBob's as it shipped")
}

// An order that never went to ShipBob has no address to change there.
func TestShipBobNewAddressOfAnOrderNotSentIsSkipped(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{location: "gid://shopify/Location/999"})
	_, payload := w.placeShipped(t)
	require.Equal(t, vocab.SyncSkipped, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
	s := w.warehouseSync(t, w.deliver(t, "orders/updated", updated(t, payload, 1, newAddress)))
	require.Equal(t, vocab.SyncSkipped, s.Status, s.Message)
	require.Contains(t, s.Message, "it was never sent to Warehouse, so there is no address to change there")
	require.Zero(t, w.addressUpdates())
}
