package shipbob_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shipbob/sandbox"
)

var twoCentres = []shipbob.FulfillmentCenter{{ID: 11, Name: "Cicero (IL)"}, {ID: 228, Name: "Moreno Valley (CA)"}}

// Stock per fulfilment centre comes from GET /inventory-level/locations,
// in the shape of the 2026-01 spec (Inventory.InventoryQuantityFcResponse),
// every page followed; the totals are the centres' sums.
func TestInventoryByCentreFollowsPages(t *testing.T) {
	t.Parallel()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1, FulfillmentCenters: twoCentres}, shipbob.Config{})
	for i := range 300 {
		sku := fmt.Sprintf("SKU-%04d", i)
		sb.SetCentreStockDirect(sku, "Chair "+sku, 11, i, 1)
		if i%2 == 0 {
			sb.SetCentreStockDirect(sku, "", 228, 5, 0)
		}
	}
	items, err := cl.InventoryByCentre(t.Context())
	require.NoError(t, err)
	require.Len(t, items, 300, "two pages of 250 read")
	byCentre := map[int64]shipbob.CentreLevel{}
	for _, l := range items[42].Locations {
		byCentre[l.LocationID] = l
	}
	require.Equal(t, "SKU-0042", items[42].SKU)
	require.Equal(t, "Chair SKU-0042", items[42].Name)
	require.Equal(t, shipbob.CentreLevel{LocationID: 11, Name: "Cicero (IL)", OnHand: 42, Committed: 1, Fulfillable: 41}, byCentre[11])
	require.Equal(t, 5, byCentre[228].Fulfillable)
	require.Len(t, items[43].Locations, 1, "an item not stocked at a centre has no line for it")

	totals, err := cl.InventoryLevels(t.Context())
	require.NoError(t, err)
	require.Equal(t, 47, totals[42].OnHand)
	require.Equal(t, 46, totals[42].Fulfillable)

	// The wire names are the spec's.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, cl.Endpoint()+"/"+sandbox.Version+"/inventory-level/locations?PageSize=1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer pat-test")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var raw struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&raw))
	require.Len(t, raw.Items, 1)
	var locs []map[string]any
	require.NoError(t, json.Unmarshal(raw.Items[0]["locations"], &locs))
	for _, k := range []string{"location_id", "name", "on_hand_quantity", "fulfillable_quantity", "committed_quantity", "awaiting_quantity", "internal_transfer_quantity"} {
		require.Contains(t, locs[0], k)
	}
}

// Billing transactions of shipments come from POST /transactions:query:
// the filter first, then the cursor of each next link alone; charges
// outside the dates are not returned.
func TestShipmentChargesFollowTheCursor(t *testing.T) {
	t.Parallel()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i := range 1500 {
		sb.ChargeDirect(int64(5000+i), "Shipping", 4.25, day)
	}
	sb.ChargeDirect(9999, "Shipping", 9, day.AddDate(0, -2, 0))
	got, err := cl.ShipmentCharges(t.Context(), day.AddDate(0, 0, -7), day.AddDate(0, 0, 1))
	require.NoError(t, err)
	require.Len(t, got, 1500, "two pages of 1,000")
	require.Equal(t, "5042", got[42].ReferenceID)
	require.Equal(t, "Shipment", got[42].ReferenceType)
	require.Equal(t, "Shipping", got[42].TransactionFee)
	require.Equal(t, "USD", got[42].CurrencyCode)
	require.InDelta(t, 4.25, got[42].Amount, 0.0001)
}

// Fulfilment centres are the locations of ShipBob's catalogue: the mapping
// pages offer them by name, to map to Shopify locations.
func TestReadCatalogueListsCentres(t *testing.T) {
	t.Parallel()
	_, cl := twin(t, sandbox.Options{FulfillmentCenters: twoCentres}, shipbob.Config{})
	var got []connectors.Record
	require.NoError(t, cl.ReadCatalogue(t.Context(), func(entity string, batch []connectors.Record) error {
		require.Equal(t, connectors.EntityLocation, entity)
		got = append(got, batch...)
		return nil
	}))
	require.Equal(t, []connectors.Record{{ExternalID: "11", Name: "Cicero (IL)"}, {ExternalID: "228", Name: "Moreno Valley (CA)"}}, got)
}
