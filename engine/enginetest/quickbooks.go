package enginetest

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// QuickBooks is a QuickBooks Online twin behind an HTTP server and its
// connection.
type QuickBooks struct {
	Twin *qbsandbox.Server
	URL  string
	Conn store.Connection
	// ItemBySKU pairs the shop's SKUs with the twin's items.
	ItemBySKU map[string]string
}

// AddQuickBooks connects a QuickBooks twin whose items carry the shop's
// SKUs, maps the shop's variants to them (in the in-memory table, or
// through an approved change set with RealMappings), and makes it a receiver of orders beside the Odoo system.
// settings add to or replace the connection's settings.
func (e *Env) AddQuickBooks(t testing.TB, o qbsandbox.Options, settings map[string]string) *QuickBooks {
	t.Helper()
	ctx := context.Background()
	if o.Items == nil {
		for sku, v := range e.VariantBySKU {
			price, _ := strconv.ParseFloat(v.Price, 64)
			o.Items = append(o.Items, qbsandbox.SeedItem{SKU: sku, Name: v.Title + " " + sku, Price: price})
		}
	}
	twin := qbsandbox.New(o)
	srv := httptest.NewServer(twin)
	t.Cleanup(srv.Close)
	id, secret := twin.ClientCredentials()
	st := map[string]string{quickbooks.FieldEnvironment: quickbooks.EnvSandbox, quickbooks.FieldClientID: id,
		quickbooks.FieldRealmID: twin.RealmID(), quickbooks.FieldAPIBaseURL: srv.URL, quickbooks.FieldTokenURL: qbsandbox.TokenURL(srv.URL)}
	for k, v := range settings {
		st[k] = v
	}
	box, err := secretbox.New(SecretKey)
	require.NoError(t, err)
	a := store.SystemActor("test")
	conn, err := e.St.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Books", Kind: vocab.KindQuickBooks, Environment: vocab.EnvTest,
		Settings: st, Secrets: map[string]string{quickbooks.FieldClientSecret: secret, quickbooks.FieldRefreshToken: twin.IssueRefreshToken(),
			quickbooks.FieldVerifierToken: "verifier"}})
	require.NoError(t, err)
	e.SourceRule(t, store.SourceRuleInput{Family: vocab.Orders, Master: e.ShopConn.ID, Receivers: []int64{e.OdooConn.ID, conn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	q := &QuickBooks{Twin: twin, URL: srv.URL, Conn: conn, ItemBySKU: map[string]string{}}
	var items []store.ItemInput
	for sku := range e.VariantBySKU {
		if item, ok := twin.ItemBySKU(sku); ok {
			q.ItemBySKU[sku] = item
			if e.Res != nil {
				e.Res.Set(e.ShopConn.ID, conn.ID, "variant", e.VariantBySKU[sku].GID(), item)
			} else {
				items = append(items, store.ItemInput{EntityType: "variant", ConnectionID: conn.ID, EntityKey: sku, ExternalID: item, SKU: store.Str(sku)})
			}
		}
	}
	if len(items) > 0 {
		// Real mappings: the items join the variants' entities (by SKU,
		// their key).
		ApproveMappings(t, e.St, items)
	}
	return q
}

// InventoryItems seeds a QuickBooks twin whose items are inventory items
// carrying the shop's SKUs, each with qty on hand, its variant's price and
// a purchase cost of half that.
func (e *Env) InventoryItems(qty float64) []qbsandbox.SeedItem {
	var out []qbsandbox.SeedItem
	for sku, v := range e.VariantBySKU {
		price, _ := strconv.ParseFloat(v.Price, 64)
		out = append(out, qbsandbox.SeedItem{SKU: sku, Name: v.Title + " " + sku, Price: price, Cost: price / 2, Inventory: true, Qty: qty})
	}
	return out
}

// Deliver stores a QuickBooks webhook delivery as the shared receiver does
// (one event per change, read by the connector from the twin's signed body
// in a format); it returns the events' ids.
func (q *QuickBooks) Deliver(t testing.TB, st *store.Store, format string, changes ...qbsandbox.Change) []int64 {
	t.Helper()
	body, _ := q.Twin.Notification(format, "verifier", changes)
	evs, err := quickbooks.ReadWebhook(nil, body)
	require.NoError(t, err)
	var ids []int64
	for _, ev := range evs {
		id, inserted, err := st.InsertWebhookEvent(context.Background(), store.NewWebhookEvent{ConnectionID: q.Conn.ID,
			WebhookID: ev.DeliveryID, EventID: ev.EventID, Topic: ev.Topic, Payload: ev.Body})
		require.NoError(t, err)
		require.True(t, inserted)
		ids = append(ids, id)
	}
	return ids
}
