package shipbob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shipbob"
	"crossdock/connectors/shipbob/sandbox"
)

// shippedOrder creates an order in the twin and ships its shipment.
func shippedOrder(t *testing.T, sb *sandbox.Server, cl *shipbob.Client, ref string) shipbob.Shipment {
	t.Helper()
	o, _, err := cl.CreateOrder(context.Background(), newOrder(ref))
	require.NoError(t, err)
	require.NoError(t, sb.Ship(o.Shipments[0].ID, true))
	sh, err := cl.Shipment(context.Background(), o.Shipments[0].ID)
	require.NoError(t, err)
	return sh
}

// A return goes through the Returns API as its OpenAPI describes it:
// created for a shipment, read by id and by status, completed with what the
// warehouse did with each quantity.
func TestReturnsThroughTheTwin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	sh := shippedOrder(t, sb, cl, "gid://shopify/Order/1001")
	require.Equal(t, "gid://shopify/Order/1001", sh.ReferenceID, "a shipment names its order's reference")
	chair, table := sh.Products[0].InventoryItems[0].ID, sh.Products[1].InventoryItems[0].ID

	rt, err := cl.CreateReturn(ctx, shipbob.NewReturn{ReferenceID: "RMA-1", FulfillmentCenter: shipbob.Facility{ID: 11}, OriginalShipmentID: sh.ID,
		Inventory: []shipbob.ReturnInventory{{ID: chair, Quantity: 2, RequestedAction: shipbob.ActionRestock}, {ID: table, Quantity: 1, RequestedAction: shipbob.ActionDefault}}})
	require.NoError(t, err)
	require.Equal(t, shipbob.ReturnAwaitingArrival, rt.Status)
	require.Equal(t, "SKU-1", rt.Inventory[0].SKU, "items are named as the inventory is")

	got, err := cl.Return(ctx, rt.ID)
	require.NoError(t, err)
	require.Equal(t, sh.ID, got.OriginalShipmentID)
	require.Nil(t, got.CompletedDate)

	_, err = cl.Return(ctx, rt.ID+1000)
	var se *shipbob.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, shipbob.KindNotFound, se.Kind)
	require.Contains(t, se.Message, "was not found")

	done, _, err := cl.Returns(ctx, shipbob.ReturnFilter{Statuses: []string{shipbob.ReturnCompleted}})
	require.NoError(t, err)
	require.Empty(t, done)

	before := time.Now().Add(-time.Second)
	_, err = sb.CompleteReturnDirect(rt.ID, map[int64][]shipbob.ActionTaken{
		chair: {{Action: shipbob.ActionRestock, QuantityProcessed: 1}, {Action: shipbob.ActionQuarantine, ActionReason: "Scratched", QuantityProcessed: 1}}})
	require.NoError(t, err)
	done, next, err := cl.Returns(ctx, shipbob.ReturnFilter{Statuses: []string{shipbob.ReturnCompleted}, CompletedSince: before})
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, done, 1)
	c := done[0]
	require.NotNil(t, c.CompletedDate)
	require.Equal(t, 2, c.Inventory[0].Received())
	require.Equal(t, 1, c.Inventory[0].Taken(shipbob.ActionRestock))
	require.Equal(t, 1, c.Inventory[0].Taken(shipbob.ActionQuarantine))
	require.Equal(t, 1, c.Inventory[1].Taken(shipbob.ActionRestock), "Default restocks")

	later, _, err := cl.Returns(ctx, shipbob.ReturnFilter{Statuses: []string{shipbob.ReturnCompleted}, CompletedSince: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Empty(t, later, "completed before the date asked")
}

func TestReturnRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	sh := shippedOrder(t, sb, cl, "R1")
	item := sh.Products[0].InventoryItems[0].ID
	for _, tc := range []struct {
		name string
		in   shipbob.NewReturn
		want string
	}{
		{"no reference", shipbob.NewReturn{FulfillmentCenter: shipbob.Facility{ID: 11}, Inventory: []shipbob.ReturnInventory{{ID: item, Quantity: 1, RequestedAction: "Restock"}}}, "reference_id is required"},
		{"an action ShipBob does not know", shipbob.NewReturn{ReferenceID: "X", FulfillmentCenter: shipbob.Facility{ID: 11},
			Inventory: []shipbob.ReturnInventory{{ID: item, Quantity: 1, RequestedAction: "Resell"}}}, "must be one of Default, Restock, Quarantine, Dispose"},
		{"no items", shipbob.NewReturn{ReferenceID: "X", FulfillmentCenter: shipbob.Facility{ID: 11}}, "At least one inventory item"},
		{"a shipment that does not exist", shipbob.NewReturn{ReferenceID: "X", FulfillmentCenter: shipbob.Facility{ID: 11}, OriginalShipmentID: 42,
			Inventory: []shipbob.ReturnInventory{{ID: item, Quantity: 1, RequestedAction: "Restock"}}}, "Shipment 42 does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.CreateReturn(ctx, tc.in)
			var se *shipbob.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, shipbob.KindValidation, se.Kind)
			require.Equal(t, http.StatusUnprocessableEntity, se.Status)
			require.Contains(t, fmt.Sprint(se.Message, se.Fields, string(se.Body)), tc.want)
		})
	}
	require.Empty(t, sb.Returns(), "nothing refused was kept")
}

// Returns are read page by page, the next page's cursor from the answer's
// next link, until the last page.
func TestReturnsPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	sh := shippedOrder(t, sb, cl, "P1")
	item := sh.Products[0].InventoryItems[0].ID
	const n = shipbob.ReturnPageSize + 3
	for i := range n {
		rt, err := cl.CreateReturn(ctx, shipbob.NewReturn{ReferenceID: fmt.Sprintf("RMA-%d", i), FulfillmentCenter: shipbob.Facility{ID: 11},
			Inventory: []shipbob.ReturnInventory{{ID: item, Quantity: 1, RequestedAction: "Restock"}}})
		require.NoError(t, err)
		_, err = sb.CompleteReturnDirect(rt.ID, nil)
		require.NoError(t, err)
	}
	seen := map[int64]bool{}
	cursor, pages := "", 0
	for {
		items, next, err := cl.Returns(ctx, shipbob.ReturnFilter{Statuses: []string{shipbob.ReturnCompleted}, Cursor: cursor})
		require.NoError(t, err)
		pages++
		for _, r := range items {
			require.False(t, seen[r.ID], "each return once")
			seen[r.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, 2, pages)
	require.Len(t, seen, n)
}

// The twin's return webhooks are signed as ShipBob's others are, and read
// back into the return's id and status.
func TestReturnWebhooksAreSigned(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var mu sync.Mutex
	var got []shipbob.ReturnEvent
	var topics []string
	var bad []error
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := shipbob.Kind().VerifyWebhookAt(body, r.Header, []string{secret}, time.Now()); err != nil {
			bad = append(bad, err)
		}
		ev, err := shipbob.DecodeReturnEvent(body)
		if err != nil {
			bad = append(bad, err)
		}
		got, topics = append(got, ev), append(topics, r.Header.Get(shipbob.HeaderTopic))
	}))
	t.Cleanup(recv.Close)
	sb, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	sb.SubscribeDirect(recv.URL, secret, shipbob.TopicReturnCreated, shipbob.TopicReturnUpdated, shipbob.TopicReturnCompleted)
	sh := shippedOrder(t, sb, cl, "W1")
	rt, err := cl.CreateReturn(context.Background(), shipbob.NewReturn{ReferenceID: "RMA-W", FulfillmentCenter: shipbob.Facility{ID: 11},
		OriginalShipmentID: sh.ID, Inventory: []shipbob.ReturnInventory{{ID: sh.Products[0].InventoryItems[0].ID, Quantity: 1, RequestedAction: "Dispose"}}})
	require.NoError(t, err)
	sb.WaitDeliveries()
	require.NoError(t, sb.ReturnDirect(rt.ID, shipbob.ReturnArrived))
	sb.WaitDeliveries()
	_, err = sb.CompleteReturnDirect(rt.ID, nil)
	require.NoError(t, err)
	sb.WaitDeliveries()
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, bad)
	require.Equal(t, []string{"return.created", "return.updated", "return.completed"}, topics)
	for _, ev := range got {
		require.Equal(t, rt.ID, ev.ReturnID)
	}
	require.Equal(t, shipbob.ReturnCompleted, got[2].Status)
	require.NotNil(t, got[2].Completed)
}

func TestDecodeReturnEventRefusesWhatNamesNoReturn(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{`{"status":"Completed"}`: "names no return", `{"id":1.5}`: "is not a number", `[`: "unexpected end"} {
		_, err := shipbob.DecodeReturnEvent([]byte(body))
		require.ErrorContains(t, err, want, body)
	}
}

// A shipment's address changes while it waits in the warehouse; once it has
// shipped ShipBob refuses, in its own words.
func TestUpdateShipmentAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, cl := twin(t, sandbox.Options{RateLimit: -1}, shipbob.Config{})
	o, _, err := cl.CreateOrder(ctx, newOrder("A1"))
	require.NoError(t, err)
	id := o.Shipments[0].ID
	to := shipbob.Recipient{Name: "Ada Lovelace", Address: shipbob.Address{Address1: "9 New Road", City: "Evanston", State: "IL", Country: "US", ZipCode: "60201"}}
	require.NoError(t, cl.UpdateShipmentAddress(ctx, id, shipbob.AddressUpdateOf(to)))
	sh, ok := sb.Shipment(id)
	require.True(t, ok)
	require.True(t, shipbob.SameAddress(to, *sh.Recipient), "%+v", sh.Recipient)

	err = cl.UpdateShipmentAddress(ctx, id, shipbob.AddressUpdate{City: "Evanston"})
	var se *shipbob.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, shipbob.KindValidation, se.Kind)
	require.Contains(t, se.Message, "street_address1 and city are required")

	require.NoError(t, sb.Ship(id, true))
	err = cl.UpdateShipmentAddress(ctx, id, shipbob.AddressUpdateOf(to))
	require.True(t, errors.As(err, &se) && se.Kind == shipbob.KindValidation, "%v", err)
	require.Contains(t, se.Message, "can no longer be changed")
}
