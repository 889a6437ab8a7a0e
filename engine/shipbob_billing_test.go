package engine_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shipbob"
	shipbobsandbox "crossdock/connectors/shipbob/sandbox"
	"crossdock/store"
	"crossdock/vocab"
)

// receiveShipBob subscribes the twin's topics to a receiver that verifies
// each delivery and keeps it once per webhook-id, as the console's does.
func (w *warehouseEnv) receiveShipBob(t *testing.T, topics ...string) {
	t.Helper()
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // setupWarehouse's
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k := shipbob.Kind()
		if err := k.VerifyWebhook(body, r.Header, []string{secret}); err != nil {
			http.Error(rw, err.Error(), http.StatusUnauthorized)
			return
		}
		evs, err := k.ReadWebhook(r.Header, body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		for _, ev := range evs {
			if _, _, err := w.st.InsertWebhookEvent(r.Context(), store.NewWebhookEvent{ConnectionID: w.sbConn.ID, WebhookID: ev.DeliveryID,
				Topic: ev.Topic, TriggeredAt: ev.At, Payload: body}); err != nil {
				http.Error(rw, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	w.sb.SubscribeDirect(srv.URL, secret, topics...)
}

// charge is one stored warehouse charge.
type charge struct {
	TransactionID string  `db:"transaction_id"`
	ShipmentRef   string  `db:"shipment_ref"`
	OrderRef      string  `db:"order_ref"`
	Fee           string  `db:"fee"`
	Amount        float64 `db:"amount"`
	Currency      string  `db:"currency"`
	ChargedOn     string  `db:"charged_on"` // YYYY-MM-DD
}

func (w *warehouseEnv) charges(t *testing.T) []charge {
	t.Helper()
	var cs []charge
	require.NoError(t, w.st.DB.SelectContext(context.Background(), &cs, `SELECT transaction_id, shipment_ref, order_ref, fee, amount::float8 AS amount,
  currency, coalesce(to_char(charged_on, 'YYYY-MM-DD'), '') AS charged_on FROM warehouse_charges WHERE connection_id = $1 ORDER BY transaction_id`, w.sbConn.ID))
	return cs
}

// billingEvents waits until every stored billing event is handled and
// returns them, oldest first.
func (w *warehouseEnv) billingEvents(t *testing.T, want int) []store.WebhookEvent {
	t.Helper()
	var out []store.WebhookEvent
	wait(t, fmt.Sprintf("%d billing events to be handled", want), func() bool {
		evs, _, err := w.st.ListWebhookEvents(context.Background(), store.WebhookEventFilter{ConnectionID: w.sbConn.ID, Limit: 100})
		require.NoError(t, err)
		out = out[:0]
		for _, ev := range evs {
			if !shipbob.IsBillingTopic(ev.Topic) {
				continue
			}
			if ev.Status == store.WebhookReceived {
				return false
			}
			out = append(out, ev)
		}
		return len(out) == want
	})
	slices.SortFunc(out, func(a, b store.WebhookEvent) int { return int(a.ID - b.ID) })
	return out
}

// A shipment ShipBob bills reaches the order's warehouse costs through the
// billing webhooks, matched to its Shopify order from the shipment webhook
// Crossdock already had: nothing is asked of ShipBob's billing or
// shipments. Deliveries come twice and overtake each other; each
// transaction is counted once, refunds and credits taking their amount off.
func TestShipBobChargeWebhooksReachTheOrder(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{twin: shipbobsandbox.Options{Duplicate: true, Jitter: 30 * time.Millisecond}})
	w.receiveShipBob(t, append([]string{shipbob.TopicShipped}, shipbob.BillingTopics...)...)
	ctx := context.Background()
	o, payload := w.placeShipped(t)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
	sbo, _ := w.sb.OrderByReference(o.GID())
	sh := sbo.Shipments[0]
	ship := strconv.FormatInt(sh.ID, 10)
	require.NoError(t, w.sb.Ship(sh.ID, true))
	w.sb.WaitDeliveries()
	wait(t, "the shipped webhook to be taken", func() bool {
		var n int
		require.NoError(t, w.st.DB.GetContext(ctx, &n, `SELECT count(*) FROM warehouse_shipments WHERE connection_id = $1 AND shipment_ref = $2 AND order_ref = $3`,
			w.sbConn.ID, ship, o.GID()))
		return n == 1
	})
	before := w.sb.Stats().Requests

	now := time.Now().UTC()
	day := now.Format(time.DateOnly)
	shipping := w.sb.ChargeDirect(sh.ID, "Shipping", 7.10, now)
	pick := w.sb.ChargeDirect(sh.ID, "Per Pick Fee", 0.25, now)
	w.sb.WaitDeliveries()
	evs := w.billingEvents(t, 2)
	for _, ev := range evs {
		require.Equal(t, store.WebhookProcessed, ev.Status, ev.Error)
	}
	want := []charge{
		{TransactionID: shipping.TransactionID, ShipmentRef: ship, OrderRef: o.GID(), Fee: "Shipping", Amount: 7.10, Currency: "USD", ChargedOn: day},
		{TransactionID: pick.TransactionID, ShipmentRef: ship, OrderRef: o.GID(), Fee: "Per Pick Fee", Amount: 0.25, Currency: "USD", ChargedOn: day},
	}
	require.ElementsMatch(t, want, w.charges(t))

	refund := w.sb.RefundDirect(sh.ID, "Shipping", 2, now)
	credit := w.sb.CreditDirect(sh.ID, "Per Pick Fee", 0.25, now)
	w.sb.WaitDeliveries()
	w.billingEvents(t, 4)
	want = append(want,
		charge{TransactionID: refund.TransactionID, ShipmentRef: ship, OrderRef: o.GID(), Fee: "Shipping", Amount: -2, Currency: "USD", ChargedOn: day},
		charge{TransactionID: credit.TransactionID, ShipmentRef: ship, OrderRef: o.GID(), Fee: "Per Pick Fee", Amount: -0.25, Currency: "USD", ChargedOn: day})
	require.ElementsMatch(t, want, w.charges(t))
	var cost float64
	require.NoError(t, w.st.DB.GetContext(ctx, &cost, `SELECT sum(amount) FROM warehouse_charges WHERE order_ref = $1`, o.GID()))
	require.InDelta(t, 5.10, cost, 0.001, "the order's warehouse cost: 7.10 + 0.25 - 2 - 0.25")

	after := w.sb.Stats().Requests
	require.Zero(t, after["POST /transactions:query"], "the billing read is not asked")
	require.Equal(t, before["GET /shipment/{id}"], after["GET /shipment/{id}"], "nor is the shipment looked up")
	require.Len(t, w.sb.Deliveries(), 2+8, "the shipped webhook and four billing ones, each sent twice")

	// The hourly read, the safety net, reads the same four and changes
	// nothing: one convention of sign, one row per transaction.
	_, err := w.eng.SweepShipBobTracking(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 1, w.sb.Stats().Requests["POST /transactions:query"])
	require.ElementsMatch(t, want, w.charges(t))
}

// A transaction delivered again under another webhook-id, or after the
// refund that follows it, is stored once; a charge for a shipment
// Crossdock has not seen is kept unmatched until its shipment webhook
// comes, which matches it.
func TestShipBobBillingRedeliveredAndOutOfOrder(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	txn := func(id, typ string, amount float64) map[string]any {
		return map[string]any{"transaction_id": id, "amount": amount, "currency_code": "USD", "charge_date": "2026-12-04", "reference_id": "100000077",
			"reference_type": "Shipment", "transaction_fee": "Shipping", "transaction_type": typ, "event_time": time.Now().UTC()}
	}
	w.shipbobEvent(t, shipbob.TopicBillingRefund, txn("txn-2", "Refund", 1.5)) // the refund first
	w.shipbobEvent(t, shipbob.TopicBillingCharge, txn("txn-1", "Charge", 6))
	w.shipbobEvent(t, shipbob.TopicBillingCharge, txn("txn-1", "Charge", 6)) // the same again, another webhook-id
	for _, ev := range w.billingEvents(t, 3) {
		require.Equal(t, store.WebhookProcessed, ev.Status, ev.Error)
	}
	day := "2026-12-04"
	require.Equal(t, []charge{
		{TransactionID: "txn-1", ShipmentRef: "100000077", Fee: "Shipping", Amount: 6, Currency: "USD", ChargedOn: day},
		{TransactionID: "txn-2", ShipmentRef: "100000077", Fee: "Shipping", Amount: -1.5, Currency: "USD", ChargedOn: day},
	}, w.charges(t), "unmatched: Crossdock has not seen the shipment")

	w.shipbobEvent(t, shipbob.TopicShipped, map[string]any{"event_time": time.Now().UTC(), "id": 100000077, "order_id": 100000070,
		"reference_id": "gid://shopify/Order/8123", "status": "Completed"})
	wait(t, "the shipment webhook to match its charges", func() bool {
		cs := w.charges(t)
		return cs[0].OrderRef != "" && cs[1].OrderRef != ""
	})
	for _, c := range w.charges(t) {
		require.Equal(t, "gid://shopify/Order/8123", c.OrderRef)
	}
	require.Zero(t, w.sb.Stats().Requests["POST /transactions:query"])
}

// A billing body that is not a transaction fails alone, saying why in
// words, where failed webhooks are shown; the charge after it lands.
func TestShipBobMalformedBillingFailsAlone(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	w.shipbobEvent(t, shipbob.TopicBillingCharge, map[string]any{"amount": 3.2, "reference_id": "100000091"})
	w.shipbobEvent(t, shipbob.TopicBillingRefund, map[string]any{"transaction_id": "txn-9", "reference_id": "100000091"})
	w.shipbobEvent(t, shipbob.TopicBillingCharge, map[string]any{"transaction_id": "txn-10", "amount": 4.4, "reference_id": "100000091",
		"reference_type": "Shipment", "transaction_fee": "Shipping", "charge_date": "2026-12-01"})
	w.shipbobEvent(t, shipbob.TopicBillingCharge, map[string]any{"transaction_id": "txn-11", "amount": 90, "reference_id": "WRO-5",
		"reference_type": "WRO", "transaction_fee": "Receiving"})
	evs := w.billingEvents(t, 4)
	require.Equal(t, store.WebhookFailed, evs[0].Status)
	require.Equal(t, "ShipBob sent a billing charge Crossdock cannot read: it has no transaction id. It was not added to any order's warehouse costs; "+
		"if ShipBob billed it, the hourly read of ShipBob's billing adds it.", evs[0].Error)
	require.Equal(t, store.WebhookFailed, evs[1].Status)
	require.Equal(t, "ShipBob sent a billing refund Crossdock cannot read: transaction txn-9 has no amount. It was not added to any order's warehouse costs; "+
		"if ShipBob billed it, the hourly read of ShipBob's billing adds it.", evs[1].Error)
	require.Equal(t, store.WebhookProcessed, evs[2].Status, evs[2].Error)
	require.Equal(t, store.WebhookIgnored, evs[3].Status)
	require.Equal(t, "ShipBob's charge txn-11 is for a WRO, not a shipment: the margin per order counts what shipments cost, so it is only kept here.", evs[3].Error)
	failed, _, err := w.st.ListWebhookEvents(context.Background(), store.WebhookEventFilter{ConnectionID: w.sbConn.ID, Status: store.WebhookFailed, Limit: 10})
	require.NoError(t, err)
	require.Len(t, failed, 2, "listed with the other failed webhooks")
	require.Equal(t, []charge{{TransactionID: "txn-10", ShipmentRef: "100000091", Fee: "Shipping", Amount: 4.4, ChargedOn: "2026-12-01"}},
		w.charges(t))
}

// A shipment the tracking check listed is known too: its charge's webhook
// is matched to the order without a call.
func TestShipBobChargeOfAShipmentTheTrackingCheckListed(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	o, payload := w.placeShipped(t)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
	sbo, _ := w.sb.OrderByReference(o.GID())
	sh := sbo.Shipments[0]
	require.NoError(t, w.sb.Ship(sh.ID, true)) // no webhook subscribed: the check finds it
	require.Len(t, w.sweepTracking(t), 1)
	before := w.sb.Stats().Requests

	w.shipbobEvent(t, shipbob.TopicBillingCharge, map[string]any{"transaction_id": "txn-31", "amount": 8.15, "currency_code": "USD",
		"charge_date": "2026-12-06", "reference_id": strconv.FormatInt(sh.ID, 10), "reference_type": "Shipment", "transaction_fee": "Shipping"})
	require.Equal(t, store.WebhookProcessed, w.billingEvents(t, 1)[0].Status)
	require.Equal(t, []charge{{TransactionID: "txn-31", ShipmentRef: strconv.FormatInt(sh.ID, 10), OrderRef: o.GID(), Fee: "Shipping", Amount: 8.15,
		Currency: "USD", ChargedOn: "2026-12-06"}}, w.charges(t))
	after := w.sb.Stats().Requests
	for _, k := range []string{"POST /transactions:query", "GET /shipment/{id}", "GET /order/{id}"} {
		require.Equal(t, before[k], after[k], "nothing asked of ShipBob: %s", k)
	}
}
