package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/shipbob"
	shipbobsandbox "crossdock/connectors/shipbob/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// warehouseEnv is the engine's test environment with a ShipBob twin as a
// third system: Shopify decides orders (Odoo and ShipBob receive them),
// ShipBob decides fulfillments (Shopify receives them).
type warehouseEnv struct {
	*env
	sb     *shipbobsandbox.Server
	sbConn store.Connection
}

type warehouseOptions struct {
	twin     shipbobsandbox.Options
	location string // the connection's Shopify location ("": the shop's first)
	// warehouseOnly: orders go to ShipBob alone (benchmarks measure its leg).
	warehouseOnly bool
	// configure tunes the engine (benchmarks: more workers).
	configure func(*engine.Config)
	// perMinute is the connection's requests a minute ("": ShipBob's 150).
	perMinute string
	// signIn: the connection signs in to ShipBob (OAuth) instead of using
	// a personal access token.
	signIn bool
	// wrap, when set, stands between the twin and its callers (benchmarks:
	// a warehouse that ships what it receives).
	wrap func(*shipbobsandbox.Server, http.Handler) http.Handler
	// onReturn is the connection's "When a return is received" ("": the
	// default, refund the money and the items).
	onReturn string
}

func setupWarehouse(t testing.TB, o warehouseOptions) *warehouseEnv {
	t.Helper()
	e := setup(t, options{configure: o.configure})
	ctx := context.Background()
	o.twin.AccessToken = "pat-warehouse"
	sb := shipbobsandbox.New(o.twin)
	var h http.Handler = sb
	if o.wrap != nil {
		h = o.wrap(sb, sb)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	box, err := secretbox.New(secretKey)
	require.NoError(t, err)
	loc := o.location
	if loc == "" {
		loc = e.shop.Locations()[0].GID()
	}
	a := store.SystemActor("test")
	settings := map[string]string{"environment": "sandbox", "api_base_url": srv.URL, "shipbob_channel_id": "100101", "shopify_location_id": loc,
		"requests_per_minute": o.perMinute, shipbob.SettingOnReturn: o.onReturn}
	secrets := map[string]string{"access_token": "pat-warehouse", "api_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	if o.signIn {
		maps.Copy(settings, map[string]string{shipbob.SettingAuth: shipbob.AuthSignIn, shipbob.SettingClientID: o.twin.ClientID,
			shipbob.SettingTokenURL: srv.URL + "/connect/token", shipbob.SettingScopes: strings.Join(shipbob.Scopes, " ")})
		secrets = map[string]string{shipbob.SecretClientSecret: o.twin.ClientSecret, "api_secret": secrets["api_secret"],
			connectors.SecretRefreshToken: sb.SignInDirect(strings.Join(shipbob.Scopes, " "))}
	}
	conn, err := e.st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Warehouse", Kind: vocab.KindShipBob, Environment: vocab.EnvTest,
		Settings: settings, Secrets: secrets})
	require.NoError(t, err)
	receivers := []int64{e.odooConn.ID, conn.ID}
	if o.warehouseOnly {
		receivers = []int64{conn.ID}
	}
	_, err = e.st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Orders, Master: e.shopConn.ID, Receivers: receivers,
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins, Version: 1})
	require.NoError(t, err)
	_, err = e.st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Fulfillments, Master: conn.ID, Receivers: []int64{e.shopConn.ID},
		Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)
	e.start(t)
	return &warehouseEnv{env: e, sb: sb, sbConn: conn}
}

// placeShipped places an order in the Shopify twin and returns it with its
// orders/create payload, given the shipping address a real one carries.
func (w *warehouseEnv) placeShipped(t testing.TB, lines ...shopsandbox.NewLine) (shopsandbox.Order, []byte) {
	t.Helper()
	o, payload := w.order(t, lines...)
	return o, withShippingAddress(t, payload)
}

// withShippingAddress gives an orders/create payload the shipping address
// a real one carries.
func withShippingAddress(t testing.TB, payload []byte) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	m["shipping_address"] = map[string]any{"name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace", "address1": "12 Analytical Row",
		"city": "Chicago", "province_code": "IL", "zip": "60601", "country_code": "US", "phone": "+1 312 555 0100"}
	payload, err := json.Marshal(m)
	require.NoError(t, err)
	return payload
}

// warehouseSync is the ended ShipBob sync of a webhook event.
func (w *warehouseEnv) warehouseSync(t testing.TB, eventID int64) store.Sync {
	t.Helper()
	for _, s := range w.endedSyncs(t, eventID) {
		if s.Flow == "orders.shopify_shipbob" {
			return s
		}
	}
	t.Fatal("the event planned no ShipBob sync")
	return store.Sync{}
}

// shipbobEvent stores a ShipBob webhook as the receiver does.
func (w *warehouseEnv) shipbobEvent(t *testing.T, topic string, body any) int64 {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	id, inserted, err := w.st.InsertWebhookEvent(context.Background(), store.NewWebhookEvent{ConnectionID: w.sbConn.ID,
		WebhookID: fmt.Sprintf("msg_%d", time.Now().UnixNano()), Topic: topic, Payload: b})
	require.NoError(t, err)
	require.True(t, inserted)
	return id
}

// shipmentSyncs sweeps ShipBob's shipments awaiting tracking and returns the
// ended syncs it queued.
func (w *warehouseEnv) sweepTracking(t *testing.T) []store.Sync {
	t.Helper()
	ctx := context.Background()
	n, err := w.eng.SweepShipBobTracking(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	if n == 0 {
		return nil
	}
	var out []store.Sync
	wait(t, "the shipment syncs to end", func() bool {
		ss, _, err := w.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Fulfillments, Limit: 100})
		require.NoError(t, err)
		out = out[:0]
		for _, s := range ss {
			if s.Trigger != store.TriggerManual {
				continue
			}
			if s.FinishedAt == nil {
				return false
			}
			out = append(out, s)
		}
		return len(out) >= n
	})
	return out
}

func TestShipBobOrderIsSentOnce(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	o, payload := w.placeShipped(t)
	s := w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "Order "+o.Name+" was sent to Warehouse as ShipBob order")
	require.Contains(t, s.Message, "to ship from Cicero (IL)")
	got, ok := w.sb.OrderByReference(o.GID())
	require.True(t, ok, "the reference_id is the Shopify order")
	require.Equal(t, strconv.FormatInt(got.ID, 10), s.TargetRef)
	require.Equal(t, o.Name, got.OrderNumber)
	require.Equal(t, o.LineItems[0].SKU, got.Products[0].ReferenceID)
	require.Equal(t, 2, got.Products[0].Quantity)

	// The same order again (a second delivery, a replay): ShipBob's 422 for
	// the reference is answered by the order it has; nothing is created.
	r, err := w.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = w.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "was already in Warehouse (ShipBob order "+s.TargetRef+"); nothing was created again")
	st := w.sb.Stats()
	require.Equal(t, shipbobsandbox.Stats{Created: 1, Duplicates: 1, Throttled: 0,
		Requests: map[string]int{"POST /order": 2, "GET /order": 1}}, st, "the replay's POST was refused and the first order read back by its reference")
	require.Len(t, w.sb.Orders(), 1)
}

// An order the ShipBob account already has (sent by hand, or by an attempt
// that stopped before recording its answer) is found, never doubled.
func TestShipBobDuplicateReferenceIsAnsweredByTheExistingOrder(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{twin: shipbobsandbox.Options{RateLimit: -1}})
	o, payload := w.placeShipped(t)
	cl, err := shipbob.NewClient(shipbob.Config{BaseURL: w.sbConn.Settings["api_base_url"], AccessToken: "pat-warehouse", ChannelID: 100101})
	require.NoError(t, err)
	first, created, err := cl.CreateOrder(context.Background(), shipbob.NewOrder{ReferenceID: o.GID(), Type: "DTC", ShippingMethod: "Standard",
		Recipient: shipbob.Recipient{Name: "Ada", Address: shipbob.Address{Address1: "1 Main", City: "Chicago", Country: "US"}},
		Products:  []shipbob.OrderProduct{{ReferenceID: "X", Quantity: 1}}})
	require.NoError(t, err)
	require.True(t, created)
	s := w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, fmt.Sprintf("already in Warehouse (ShipBob order %d)", first.ID))
	require.Len(t, w.sb.Orders(), 1)
}

func TestShipBobOrderOfAnotherLocationIsNotSent(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{location: "gid://shopify/Location/999"})
	_, payload := w.placeShipped(t)
	s := w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSkipped, s.Status, s.Message)
	require.Contains(t, s.Message, "ships from another location")
	require.Empty(t, w.sb.Orders())
}

// "Shipped" can come before the tracking: the shipment waits, and the
// scheduled check sends it once ShipBob has the tracking — once, whatever
// webhooks come after, in whatever order.
func TestShipBobTrackingAfterTheShipment(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	o, payload := w.placeShipped(t)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
	sbo, _ := w.sb.OrderByReference(o.GID())
	sh := sbo.Shipments[0]
	shippedAt := time.Now().UTC()

	require.NoError(t, w.sb.Ship(sh.ID, false))
	ss := w.endedSyncs(t, w.shipbobEvent(t, shipbob.TopicShipped, map[string]any{"event_time": shippedAt, "id": sh.ID, "order_id": sbo.ID,
		"reference_id": o.GID(), "status": "Completed"}))
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSkipped, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "shipped 1 parcel without a tracking number yet")
	require.Empty(t, w.shopOrder(t, o.GID()).Fulfillments, "nothing marked as shipped without tracking")
	require.Empty(t, w.sweepTracking(t), "the check finds no tracking yet")

	tr, err := w.sb.AddTracking(sh.ID)
	require.NoError(t, err)
	ss = w.sweepTracking(t)
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "marked as shipped in Main store with tracking "+tr.TrackingNumber+" (USPS)")
	fs := w.shopOrder(t, o.GID()).Fulfillments
	require.Len(t, fs, 1)
	require.Equal(t, tr.TrackingNumber, fs[0].Number)
	require.Equal(t, "USPS", fs[0].Company)
	require.Equal(t, tr.TrackingURL, fs[0].URL)
	wait(t, "ShipBob to be told, so the check stops listing it", func() bool {
		got, _ := w.sb.OrderByReference(o.GID())
		return got.Shipments[0].IsTrackingUploaded
	})
	require.Empty(t, w.sweepTracking(t))

	// Late and out of order: the tracking webhook, then the older shipped one again.
	later := w.endedSyncs(t, w.shipbobEvent(t, shipbob.TopicTrackingUpdated, map[string]any{"event_time": shippedAt.Add(time.Minute),
		"id": sh.ID, "order_id": sbo.ID, "reference_id": o.GID(), "tracking": map[string]any{"tracking_number": tr.TrackingNumber}}))
	require.Len(t, later, 1)
	require.Equal(t, vocab.SyncSucceeded, later[0].Status, later[0].Message)
	require.Contains(t, later[0].Message, "was already in Main store; nothing was created again")
	ev := w.shipbobEvent(t, shipbob.TopicShipped, map[string]any{"event_time": shippedAt, "id": sh.ID, "order_id": sbo.ID, "reference_id": o.GID()})
	wait(t, "the older event to be handled", func() bool {
		e, err := w.st.WebhookEventByID(context.Background(), w.sbConn.ID, ev)
		require.NoError(t, err)
		return e.Status != store.WebhookReceived
	})
	require.Len(t, w.shopOrder(t, o.GID()).Fulfillments, 1, "one fulfillment, whatever came after")
	require.Equal(t, 1, w.fulfillmentCreates())
}

// A large order ships in two parcels: each becomes its own fulfillment with
// its own tracking.
func TestShipBobSplitShipments(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{twin: shipbobsandbox.Options{SplitOver: 1}})
	vs := w.shop.Variants()
	var lines []shopsandbox.NewLine
	for _, v := range vs {
		if v.SKU != "" && len(lines) < 2 {
			lines = append(lines, shopsandbox.NewLine{VariantID: v.GID(), Quantity: 1})
		}
	}
	o, payload := w.placeShipped(t, lines...)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
	sbo, _ := w.sb.OrderByReference(o.GID())
	require.Len(t, sbo.Shipments, 2)
	for _, sh := range sbo.Shipments {
		require.NoError(t, w.sb.Ship(sh.ID, true))
	}
	ss := w.sweepTracking(t)
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	fs := w.shopOrder(t, o.GID()).Fulfillments
	require.Len(t, fs, 2)
	require.NotEqual(t, fs[0].Number, fs[1].Number)
	fos, err := w.shop.FulfillmentOrders(o.GID())
	require.NoError(t, err)
	require.Equal(t, "CLOSED", fos[0].Status, "both parcels ship the whole order")
}

// A burst of orders over ShipBob's limit: the 429s are waited out
// (x-retry-after), every order arrives once.
func TestShipBobRateLimitedOrdersAllArriveOnce(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{twin: shipbobsandbox.Options{RateLimit: 2, RateWindow: time.Second}})
	var events []int64
	var refs []string
	for range 6 {
		o, payload := w.placeShipped(t)
		refs = append(refs, o.GID())
		events = append(events, w.deliver(t, "orders/create", payload))
	}
	for _, ev := range events {
		s := w.warehouseSync(t, ev)
		require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	}
	st := w.sb.Stats()
	require.Positive(t, st.Throttled, "the burst met ShipBob's limit")
	require.Equal(t, 6, st.Created)
	for _, ref := range refs {
		_, ok := w.sb.OrderByReference(ref)
		require.True(t, ok, ref)
	}
	require.Len(t, w.sb.Orders(), 6)
}

// A cancelled Shopify order is cancelled in ShipBob before it ships; after,
// the failure says what to do.
func TestShipBobCancellation(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	cancel := func(t *testing.T, o shopsandbox.Order, payload []byte) store.Sync {
		var m map[string]any
		require.NoError(t, json.Unmarshal(payload, &m))
		m["cancelled_at"] = time.Now().UTC().Format(time.RFC3339)
		m["updated_at"] = time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return w.warehouseSync(t, w.deliver(t, "orders/cancelled", b))
	}
	o, payload := w.placeShipped(t)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
	s := cancel(t, o, payload)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "was cancelled in Warehouse")
	got, _ := w.sb.OrderByReference(o.GID())
	require.Equal(t, "Cancelled", got.Status)

	o2, payload2 := w.placeShipped(t)
	require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload2)).Status)
	got2, _ := w.sb.OrderByReference(o2.GID())
	require.NoError(t, w.sb.Ship(got2.Shipments[0].ID, true))
	s2 := cancel(t, o2, payload2)
	require.Equal(t, vocab.SyncFailed, s2.Status)
	require.True(t, strings.Contains(s2.Message, "has already shipped it"), s2.Message)
}

// A Shopify test order (test payments, a peak rehearsal's) is never sent to
// the warehouse, which would ship it; its sync says so.
func TestShipBobTestOrderIsNotSent(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	_, payload := w.placeShipped(t)
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	m["test"] = true
	payload, err := json.Marshal(m)
	require.NoError(t, err)
	s := w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSkipped, s.Status)
	require.Contains(t, s.Message, "is a test order (placed with Shopify's test payments), so it was not sent to Warehouse")
	require.Empty(t, w.sb.Orders())
}

// With ShipBob the source of stock, its sellable quantities become
// Shopify's available ones at the warehouse's location, by SKU; a level
// that did not change is not sent again.
func TestShipBobStockReachesShopify(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	ctx := context.Background()
	rs, err := w.st.SourceRules(ctx)
	require.NoError(t, err)
	_, err = w.st.SaveSourceRule(ctx, store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Inventory, Master: w.sbConn.ID,
		Receivers: []int64{w.shopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins,
		Version: rs.Rule(vocab.Inventory).Version})
	require.NoError(t, err)
	loc := w.shop.Locations()[0].GID()
	var skus []string
	for _, v := range w.shop.Variants() {
		if v.SKU != "" && len(skus) < 3 {
			skus = append(skus, v.SKU)
		}
	}
	for i, sku := range skus {
		w.sb.SetStockDirect(sku, "", 40+i, 5)
	}
	w.sb.SetStockDirect("ONLY-IN-SHIPBOB", "Spare part", 7, 0)
	sweep := func() []store.Sync {
		n, err := w.eng.SweepShipBobStock(ctx, store.TriggerManual, true)
		require.NoError(t, err)
		if n == 0 {
			return nil
		}
		var out []store.Sync
		wait(t, "the stock syncs to end", func() bool {
			ss, _, err := w.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Inventory, Limit: 50})
			require.NoError(t, err)
			out = out[:0]
			for _, s := range ss {
				if s.Flow != "inventory.shipbob_shopify" {
					continue
				}
				if s.FinishedAt == nil {
					return false
				}
				out = append(out, s)
			}
			return len(out) >= n
		})
		return out
	}
	ss := sweep()
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "3 stock levels sent to Main store")
	require.Contains(t, ss[0].Message, "ONLY-IN-SHIPBOB is not stocked at that location in Main store")
	avail := func(sku string) int {
		for _, v := range w.shop.Variants() {
			if v.SKU == sku {
				q, _, ok := w.shop.InventoryLevel(v.InventoryItemGID(), loc)
				require.True(t, ok)
				return q
			}
		}
		t.Fatalf("no variant %s", sku)
		return 0
	}
	for i, sku := range skus {
		require.Equal(t, 35+i, avail(sku), "sellable = on hand − committed")
	}
	require.Empty(t, sweep(), "nothing changed, nothing queued")
	w.sb.SetStockDirect(skus[0], "", 10, 0)
	ss = sweep()
	require.Len(t, ss, 2)
	require.Equal(t, 10, avail(skus[0]))
}

func shipbobToken(t *testing.T, w *warehouseEnv) connectors.RefreshToken {
	t.Helper()
	c, err := w.st.ConnectionByID(context.Background(), w.sbConn.ID)
	require.NoError(t, err)
	sec, err := store.ConnectionSecrets(mustBox(t), c)
	require.NoError(t, err)
	return connectors.StoredToken(sec)
}

// A connection signed in to ShipBob: each refresh rotates the refresh
// token, and the engine stores each one as it comes.
func TestShipBobSignedInRotationIsStored(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{signIn: true, twin: shipbobsandbox.Options{ClientID: "app", ClientSecret: "s3cret"}})
	first := shipbobToken(t, w)
	_, payload := w.placeShipped(t)
	s := w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	second := shipbobToken(t, w)
	require.NotEqual(t, first.Token, second.Token)
	require.False(t, w.sb.ValidRefreshToken(first.Token), "ShipBob killed the used token")
	require.True(t, w.sb.ValidRefreshToken(second.Token), "the stored token is the live one")

	w.sb.ExpireAccessTokens() // an hour passes between two orders
	_, payload = w.placeShipped(t)
	s = w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.True(t, w.sb.ValidRefreshToken(shipbobToken(t, w).Token))
	require.Len(t, w.sb.Orders(), 2)
}

// A replica refreshed and died before saving: ShipBob rotated, the stored
// token is dead. The order's sync fails saying to sign in again; once
// signed in again, its replay sends it, once.
func TestShipBobCrashBetweenRefreshAndSave(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{signIn: true, twin: shipbobsandbox.Options{ClientID: "app", ClientSecret: "s3cret"}})
	kept := shipbobToken(t, w)
	_, err := shipbob.RefreshGrant(context.Background(), http.DefaultClient, w.sbConn.Settings[shipbob.SettingTokenURL], "app", "s3cret", kept.Token)
	require.NoError(t, err, "the crashed replica's refresh")

	o, payload := w.placeShipped(t)
	s := w.warehouseSync(t, w.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncFailed, s.Status, s.Message)
	require.Equal(t, vocab.ClassAuth, s.Class())
	require.Contains(t, s.Message, "Press Connect to ShipBob on the connection and sign in again")
	require.Empty(t, w.sb.Orders())
	// ShipBob's answer is kept with its OAuth code, which the "reconnect
	// needed" alert reads.
	require.Contains(t, string(w.ended(t, s.ID).Response), `"code": "invalid_grant"`)
	refused, err := w.st.RefusedSignIns(context.Background(), vocab.KindShipBob)
	require.NoError(t, err)
	require.Contains(t, refused, w.sbConn.ID)

	// The admin signs in again (the twin's sign-in, as the console keeps it).
	_, err = w.st.AuthorizeConnection(context.Background(), store.SystemActor("test"), mustBox(t), w.sbConn.ID, nil,
		connectors.TokenSecrets(connectors.RefreshToken{Token: w.sb.SignInDirect(strings.Join(shipbob.Scopes, " "))}))
	require.NoError(t, err)
	r, err := w.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = w.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	_, ok := w.sb.OrderByReference(o.GID())
	require.True(t, ok)
	require.Len(t, w.sb.Orders(), 1)
	refused, err = w.st.RefusedSignIns(context.Background(), vocab.KindShipBob)
	require.NoError(t, err)
	require.NotContains(t, refused, w.sbConn.ID, "signed in again: the refusal from before no longer counts")
}

// The tracking check's list read holds each order's shipments: their syncs
// read nothing more from ShipBob, and the shipments are marked as uploaded
// together, in one request, not one per order.
func TestShipBobTrackingCheckReadsOnceAndMarksInOneBatch(t *testing.T) {
	t.Parallel()
	// A long linger: the check itself tells ShipBob, so the count is exact.
	w := setupWarehouse(t, warehouseOptions{configure: func(c *engine.Config) { c.TrackingUploadLinger = time.Hour }})
	var refs []string
	for range 5 {
		o, payload := w.placeShipped(t)
		require.Equal(t, vocab.SyncSucceeded, w.warehouseSync(t, w.deliver(t, "orders/create", payload)).Status)
		refs = append(refs, o.GID())
	}
	for _, o := range w.sb.Orders() {
		require.NoError(t, w.sb.Ship(o.Shipments[0].ID, true))
	}
	before := w.sb.Stats().Requests
	ss := w.sweepTracking(t)
	require.Len(t, ss, 5)
	for _, s := range ss {
		require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	}
	for _, o := range w.sb.Orders() {
		require.False(t, o.Shipments[0].IsTrackingUploaded, "waiting for the batch")
	}
	require.Empty(t, w.sweepTracking(t), "the next check tells ShipBob first, then lists nothing")
	for _, o := range w.sb.Orders() {
		require.True(t, o.Shipments[0].IsTrackingUploaded)
	}
	after := w.sb.Stats().Requests
	require.Equal(t, before["GET /order"]+2, after["GET /order"], "one page lists them all; the next check's page is empty")
	require.Equal(t, before["GET /order/{id}/shipment"], after["GET /order/{id}/shipment"], "no shipment read per order")
	require.Equal(t, before["POST /shipment:batchUpdateTrackingUpload"]+1, after["POST /shipment:batchUpdateTrackingUpload"], "one request marks them all")
	for _, ref := range refs {
		o, _ := w.sb.OrderByReference(ref)
		require.Len(t, w.shopOrder(t, ref).Fulfillments, 1)
		require.Equal(t, o.Shipments[0].TrackingNumber(), w.shopOrder(t, ref).Fulfillments[0].Number)
	}
}

// Each fulfilment centre's stock reaches the Shopify location it is mapped
// to; a centre mapped to no location is left out (an account with several
// centres has no single location to fall back on).
func TestShipBobStockPerFulfilmentCentre(t *testing.T) {
	t.Parallel()
	centres := []shipbob.FulfillmentCenter{{ID: 11, Name: "Cicero (IL)"}, {ID: 228, Name: "Moreno Valley (CA)"}, {ID: 500, Name: "Wall (NJ)"}}
	w := setupWarehouse(t, warehouseOptions{twin: shipbobsandbox.Options{FulfillmentCenters: centres}})
	ctx := context.Background()
	a := store.SystemActor("test")
	rs, err := w.st.SourceRules(ctx)
	require.NoError(t, err)
	_, err = w.st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Inventory, Master: w.sbConn.ID,
		Receivers: []int64{w.shopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins,
		Version: rs.Rule(vocab.Inventory).Version})
	require.NoError(t, err)
	locs := w.shop.Locations()
	require.GreaterOrEqual(t, len(locs), 2)
	var items []store.ItemInput
	for i, fc := range centres[:2] {
		items = append(items,
			store.ItemInput{EntityType: "location", ConnectionID: w.sbConn.ID, EntityKey: fc.Name, ExternalID: strconv.FormatInt(fc.ID, 10), Name: store.Str(fc.Name)},
			store.ItemInput{EntityType: "location", ConnectionID: w.shopConn.ID, EntityKey: fc.Name, ExternalID: locs[i].GID(), Name: store.Str(locs[i].Name)})
	}
	_, err = w.st.SeedMappings(ctx, a, store.NewChangeSet{Title: "centres", Items: items})
	require.NoError(t, err)
	var sku string
	for _, v := range w.shop.Variants() {
		if v.SKU != "" {
			sku = v.SKU
			break
		}
	}
	w.sb.SetCentreStockDirect(sku, "", 11, 30, 2)
	w.sb.SetCentreStockDirect(sku, "", 228, 12, 0)
	w.sb.SetCentreStockDirect(sku, "", 500, 99, 0)
	n, err := w.eng.SweepShipBobStock(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 2, n, "one sync per Shopify location")
	var ss []store.Sync
	wait(t, "the stock syncs to end", func() bool {
		ss, _, err = w.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Inventory, Limit: 50})
		require.NoError(t, err)
		for _, s := range ss {
			if s.Flow == "inventory.shipbob_shopify" && s.FinishedAt == nil {
				return false
			}
		}
		return len(ss) >= 2
	})
	for _, s := range ss {
		require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	}
	avail := func(loc string) int {
		for _, v := range w.shop.Variants() {
			if v.SKU == sku {
				q, _, ok := w.shop.InventoryLevel(v.InventoryItemGID(), loc)
				require.True(t, ok, "stocked at %s", loc)
				return q
			}
		}
		return -1
	}
	require.Equal(t, 28, avail(locs[0].GID()), "Cicero's fulfillable at the location it is mapped to")
	require.Equal(t, 12, avail(locs[1].GID()), "Moreno Valley's at its own")
}

// What the warehouse billed for a shipment is read with the tracking
// sweep and matched to the Shopify order through the shipment; a charge
// read again is not counted twice.
func TestShipBobChargesAreMatchedToTheirOrder(t *testing.T) {
	t.Parallel()
	w := setupWarehouse(t, warehouseOptions{})
	ctx := context.Background()
	now := time.Now()
	ship := w.sb.ShippedOrderDirect("gid://shopify/Order/7001", "#7001", []shipbob.OrderProduct{{ReferenceID: "CH-1", Quantity: 2}}, now.Add(-48*time.Hour))
	w.sb.ChargeDirect(ship, "Shipping", 7.10, now.Add(-24*time.Hour))
	w.sb.ChargeDirect(ship, "Per Pick Fee", 0.25, now.Add(-24*time.Hour))
	w.sb.ChargeDirect(999, "Shipping", 3, now) // a shipment ShipBob no longer shows: kept, not matched
	sum := func() (total float64, unmatched int) {
		require.NoError(t, w.st.DB.GetContext(ctx, &total, `SELECT coalesce(sum(amount), 0) FROM warehouse_charges WHERE order_ref = 'gid://shopify/Order/7001'`))
		require.NoError(t, w.st.DB.GetContext(ctx, &unmatched, `SELECT count(*) FROM warehouse_charges WHERE order_ref = ''`))
		return total, unmatched
	}
	for range 2 {
		_, err := w.eng.SweepShipBobTracking(ctx, store.TriggerManual, true)
		require.NoError(t, err)
		total, unmatched := sum()
		require.InDelta(t, 7.35, total, 0.001)
		require.Equal(t, 1, unmatched)
	}
}
