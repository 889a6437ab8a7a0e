package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shipbob"
	shipbobsandbox "crossdock/connectors/shipbob/sandbox"
	"crossdock/store"
	"crossdock/web/webtest"
)

// The twin's return webhooks, signed the Standard Webhooks way, pass the
// shared receiver and are kept once per webhook-id, with their topic and
// the body's event time.
func TestShipBobReturnWebhooksFromTheTwin(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	c := shipbobConnection(t, env, shipbobSecret)
	tw := shipbobsandbox.New(shipbobsandbox.Options{AccessToken: "pat-test", Duplicate: true})
	tw.SubscribeDirect(fmt.Sprintf("%s/webhooks/shipbob/%d", env.URL, c.ID), shipbobSecret,
		shipbob.TopicReturnCreated, shipbob.TopicReturnUpdated, shipbob.TopicReturnCompleted)
	rec := httptest.NewRecorder()
	tw.ServeHTTP(rec, shipbobOrderRequest(t, "gid://shopify/Order/1"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	o, _ := tw.OrderByReference("gid://shopify/Order/1")
	sh := o.Shipments[0]
	require.NoError(t, tw.Ship(sh.ID, true))

	b, err := json.Marshal(shipbob.NewReturn{ReferenceID: "RMA-1", FulfillmentCenter: shipbob.Facility{ID: 11}, OriginalShipmentID: sh.ID,
		Inventory: []shipbob.ReturnInventory{{ID: sh.Products[0].InventoryItems[0].ID, Quantity: 1, RequestedAction: shipbob.ActionRestock}}})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/"+shipbobsandbox.Version+"/return", bytes.NewReader(b))
	r.Header.Set("Authorization", "Bearer pat-test")
	r.Header.Set(shipbob.HeaderChannel, "100101")
	rec = httptest.NewRecorder()
	tw.ServeHTTP(rec, r)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var rt shipbob.Return
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &rt))
	tw.WaitDeliveries()
	_, err = tw.CompleteReturnDirect(rt.ID, nil)
	require.NoError(t, err)
	tw.WaitDeliveries()

	ds := tw.Deliveries()
	require.Len(t, ds, 4, "two events, each delivered twice")
	for _, d := range ds {
		require.Equal(t, http.StatusOK, d.Status, "delivery %s of %s", d.ID, d.Topic)
	}
	evs, _, err := env.Store.ListWebhookEvents(t.Context(), store.WebhookEventFilter{ConnectionID: c.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, evs, 2, "one event kept per webhook-id")
	topics := map[string]bool{}
	for _, e := range evs {
		topics[e.Topic] = true
		require.NotNil(t, e.TriggeredAt, "event_time is read from the body")
		full, err := env.Store.WebhookEventByID(t.Context(), c.ID, e.ID)
		require.NoError(t, err)
		ev, err := shipbob.DecodeReturnEvent(full.Payload)
		require.NoError(t, err)
		require.Equal(t, rt.ID, ev.ReturnID)
	}
	require.Equal(t, map[string]bool{"return.created": true, "return.completed": true}, topics)
}
