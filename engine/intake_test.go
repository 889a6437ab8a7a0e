package engine_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// event waits until intake has decided a webhook event and returns it.
func (e *env) event(t testing.TB, id int64) store.WebhookEvent {
	t.Helper()
	var ev store.WebhookEvent
	wait(t, "the event to be decided", func() bool {
		var err error
		ev, err = e.st.WebhookEventByID(context.Background(), e.shopConn.ID, id)
		require.NoError(t, err)
		return ev.Status != store.WebhookReceived
	})
	return ev
}

// Shopify signs the body, not the topic: a captured signed body sent again
// under another topic verifies. It must fail, in words, and write nothing.
func TestIntakeActsOnlyOnBodiesOfTheirTopic(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.customersFromShopify(t)
	e.refundsRule(t, e.shopConn.ID, e.odooConn.ID)
	e.start(t)
	_, order := e.order(t)
	customer, err := os.ReadFile("testdata/customers-create.2026-04.json")
	require.NoError(t, err)
	refund, err := os.ReadFile("testdata/refunds-create.2026-04.json")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, topic string
		body        []byte
		want        string
	}{
		{"an order sent as a customer change", "customers/update", order, "the body is not a customer: it has line_items"},
		{"a customer sent as an order", "orders/create", customer, "the body is not an order: it has no line_items"},
		{"a refund sent as an order", "orders/create", refund, "the body is not an order"},
		{"an order sent as a stock level", "inventory_levels/update", order, "the body is not a stock level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := e.deliver(t, tc.topic, tc.body)
			ev := e.event(t, id)
			require.Equal(t, store.WebhookFailed, ev.Status)
			require.Contains(t, ev.Error, "Shopify sent this as "+tc.topic)
			require.Contains(t, ev.Error, tc.want)
			ss, err := e.st.SyncsOfWebhookEvent(context.Background(), id)
			require.NoError(t, err)
			require.Empty(t, ss, "nothing is planned from a body of another topic")
		})
	}
	require.Zero(t, e.odooWrites("res.partner"), "no contact was created from an order")
	require.Zero(t, e.odooWrites("sale.order"))
	require.Zero(t, e.odooWrites("account.move"))
}

// A customers/update stored right after the customers rule was saved is
// decided by that rule, even while the engine holds a snapshot of the rules
// from before it (a long RulesTTL makes the race certain).
func TestIntakeReadsTheRuleSavedJustBeforeTheEvent(t *testing.T) {
	t.Parallel()
	e := setup(t, options{configure: func(c *engine.Config) { c.RulesTTL = time.Hour }})
	e.start(t)
	before, err := e.eng.Rules(context.Background()) // the snapshot: nobody decides customers
	require.NoError(t, err)
	require.Zero(t, before.Rule("customers").Master)

	e.customersFromShopify(t)
	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.org"})
	ss := e.endedSyncs(t, e.deliver(t, "customers/update", e.customerPayload(t, c.GID())))
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Len(t, e.partnersWithEmail("grace@example.org"), 1)
}

// A change refused because nobody decided customers yet is not "handled":
// once an admin saves the rule, replaying the refusal sends it, and the same
// version delivered again is sent too rather than dropped as already seen.
func TestRefusedCustomerChangeComesThroughOnceTheRuleExists(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.start(t)
	c := e.shop.AddCustomer(shopsandbox.NewCustomer{FirstName: "Ada", LastName: "Byron", Email: "ada.b@example.org"})
	payload := e.customerPayload(t, c.GID())
	ss := e.endedSyncs(t, e.deliver(t, "customers/update", payload))
	require.Len(t, ss, 1)
	refused := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncRejected, refused.Status)
	require.Contains(t, refused.Message, "Nobody decides customers yet")
	require.Empty(t, e.partnersWithEmail("ada.b@example.org"))

	e.customersFromShopify(t)
	replay, err := e.eng.Replay(context.Background(), store.SystemActor("test"), refused.ID)
	require.NoError(t, err)
	r := e.ended(t, replay.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Len(t, e.partnersWithEmail("ada.b@example.org"), 1)

	again := e.endedSyncs(t, e.deliver(t, "customers/update", payload))
	require.Len(t, again, 1, "the same version, delivered again, is not dropped as already handled")
	s := e.sync(t, again[0].ID)
	require.Contains(t, []vocab.Status{vocab.SyncSucceeded, vocab.SyncSkipped}, s.Status, s.Message)
	require.Len(t, e.partnersWithEmail("ada.b@example.org"), 1, "one contact, however many times the change came")
}

// intakeOne stores one webhook event for a connection and runs intake over
// it (the engine is not started: the test drives it), returning the event as
// decided and the syncs it became.
func intakeOne(t *testing.T, st *store.Store, eng *engine.Engine, conn int64, domain, topic string, payload []byte) (store.WebhookEvent, []store.Sync) {
	t.Helper()
	ctx := context.Background()
	id, inserted, err := st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: conn, WebhookID: "wh-" + t.Name(),
		EventID: "evt", Topic: topic, ShopDomain: domain, APIVersion: "2026-04", Payload: payload})
	require.NoError(t, err)
	require.True(t, inserted)
	n, err := eng.IntakeOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ev, err := st.WebhookEventByID(ctx, conn, id)
	require.NoError(t, err)
	ss, err := st.SyncsOfWebhookEvent(ctx, id)
	require.NoError(t, err)
	return ev, ss
}

// Events intake has no use for are kept, marked ignored with the reason in
// words, and become no sync.
func TestIntakeIgnoresWhatItDoesNotSync(t *testing.T) {
	t.Parallel()
	t.Run("a topic Crossdock does not sync", func(t *testing.T) {
		t.Parallel()
		e := setup(t, options{})
		ev, ss := intakeOne(t, e.st, e.eng, e.shopConn.ID, e.shop.Domain(), "app/uninstalled", []byte(`{"id": 1}`))
		require.Equal(t, store.WebhookIgnored, ev.Status)
		require.Equal(t, `Crossdock does not sync "app/uninstalled" events yet; the event is kept here.`, ev.Error)
		require.Empty(t, ss)
	})
	t.Run("an event of a connection that is not a Shopify store", func(t *testing.T) {
		t.Parallel()
		e := setup(t, options{})
		_, payload := e.order(t)
		ev, ss := intakeOne(t, e.st, e.eng, e.odooConn.ID, e.shop.Domain(), "orders/create", payload)
		require.Equal(t, store.WebhookIgnored, ev.Status)
		require.Equal(t, "This connection's webhooks are not synced.", ev.Error)
		require.Empty(t, ss)
		require.Zero(t, e.odooWrites("sale.order"))
	})
	t.Run("an order with no ERP connected", func(t *testing.T) {
		t.Parallel()
		// A workspace with only the Shopify store: nobody could receive orders.
		ctx := context.Background()
		st := storetest.New(t)
		require.NoError(t, st.MigrateQueue(ctx))
		shop := shopsandbox.New(shopsandbox.Options{Seed: 10, Plan: "enterprise", BucketSize: 1e9, RestoreRate: 1e9})
		srv := httptest.NewServer(shop)
		t.Cleanup(srv.Close)
		box, err := secretbox.New(secretKey)
		require.NoError(t, err)
		conn, err := st.CreateConnection(ctx, store.SystemActor("test"), box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
			Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": shop.Domain(), "api_base_url": srv.URL},
			Secrets: map[string]string{"access_token": shop.AccessToken(), "api_secret": "whsec"}})
		require.NoError(t, err)
		eng, err := engine.New(engine.Config{Store: st, SecretKey: secretKey, Resolver: newResolver(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ManualSweepsOnly: true, ManualAlertsOnly: true})
		require.NoError(t, err)
		o, err := shop.AddOrder(shopsandbox.NewOrder{Lines: []shopsandbox.NewLine{{VariantID: shop.Variants()[0].GID(), Quantity: 1}}})
		require.NoError(t, err)
		payload, err := shop.OrderCreatePayload(o.GID())
		require.NoError(t, err)

		ev, ss := intakeOne(t, st, eng, conn.ID, shop.Domain(), "orders/create", payload)
		require.Equal(t, store.WebhookIgnored, ev.Status)
		require.Equal(t, "No ERP is connected to receive orders.", ev.Error)
		require.Empty(t, ss)
	})
}
