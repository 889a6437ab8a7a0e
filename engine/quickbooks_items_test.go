package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

type qbItemsEnv struct {
	env *enginetest.Env
	qb  *enginetest.QuickBooks
	loc string
	v   shopsandbox.Variant // a mapped variant
	id  string              // its QuickBooks item
}

// setupQuickBooksItems connects a QuickBooks company whose items are the
// shop's variants as inventory items (25 on hand each), its stock counted at
// the shop's first location, and makes it the source of the families given.
func setupQuickBooksItems(t *testing.T, o enginetest.Options, families ...vocab.Family) qbItemsEnv {
	t.Helper()
	o.Start = true
	env := enginetest.Setup(t, o)
	loc := env.Shop.Locations()[0].GID()
	qb := env.AddQuickBooks(t, qbsandbox.Options{Items: env.InventoryItems(25)}, map[string]string{quickbooks.FieldStockLocation: loc})
	for _, f := range families {
		env.SourceRule(t, store.SourceRuleInput{Family: f, Master: qb.Conn.ID, Receivers: []int64{env.ShopConn.ID},
			Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
	}
	v := env.Shop.Variants()[0]
	id, ok := qb.ItemBySKU[v.SKU]
	require.True(t, ok)
	return qbItemsEnv{env: env, qb: qb, loc: loc, v: v, id: id}
}

func (w qbItemsEnv) available(t *testing.T, v shopsandbox.Variant) int {
	t.Helper()
	q, _, ok := w.env.Shop.InventoryLevel(v.InventoryItemGID(), w.loc)
	require.True(t, ok)
	return q
}

func (w qbItemsEnv) price(t *testing.T, v shopsandbox.Variant) string {
	t.Helper()
	for _, x := range w.env.Shop.Variants() {
		if x.GID() == v.GID() {
			return x.Price
		}
	}
	t.Fatalf("no variant %s", v.GID())
	return ""
}

// sweep runs the QuickBooks items sweep and waits for the syncs it queued
// (and those split off them) to end.
func (w qbItemsEnv) sweep(t *testing.T) []store.Sync {
	t.Helper()
	ctx := context.Background()
	before, _, err := w.env.St.ListSyncs(ctx, store.SyncFilter{SourceConnectionID: w.qb.Conn.ID, Limit: 500})
	require.NoError(t, err)
	seen := map[int64]bool{}
	for _, s := range before {
		seen[s.ID] = true
	}
	n, err := w.env.Eng.SweepQuickBooksItems(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	var out []store.Sync
	enginetest.Wait(t, "the sweep's syncs to end", func() bool {
		ss, _, err := w.env.St.ListSyncs(ctx, store.SyncFilter{SourceConnectionID: w.qb.Conn.ID, Limit: 500})
		require.NoError(t, err)
		out = out[:0]
		for _, s := range ss {
			if seen[s.ID] {
				continue
			}
			if s.FinishedAt == nil {
				return false
			}
			if s.ParentID == nil {
				out = append(out, s)
			}
		}
		return len(out) >= n
	})
	require.Len(t, out, n)
	return out
}

// An item's quantity changed in QuickBooks reaches Shopify from its webhook,
// in either format, once; a replay writes nothing again.
func TestQuickBooksStockFromWebhook(t *testing.T) {
	t.Parallel()
	w := setupQuickBooksItems(t, enginetest.Options{}, vocab.Inventory)
	want := w.available(t, w.v) + 17
	ch, ok := w.qb.Twin.EditItem(w.id, map[string]any{"QtyOnHand": float64(want)})
	require.True(t, ok)
	ev := w.qb.Deliver(t, w.env.St, qbsandbox.FormatCloudEvents, ch)
	require.Len(t, ev, 1)
	s := flowSync(t, w.env, ev[0], "inventory.quickbooks_shopify")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "1 stock level sent from Books to Main store")
	require.Equal(t, want, w.available(t, w.v))

	// Replayed: Shopify already has it; nothing is written again.
	r, err := w.env.Eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = w.env.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSkipped, r.Status, r.Message)
	require.Contains(t, r.Message, "1 already matched")

	// The legacy format plans the same.
	ch, _ = w.qb.Twin.EditItem(w.id, map[string]any{"QtyOnHand": float64(want + 1)})
	ev = w.qb.Deliver(t, w.env.St, qbsandbox.FormatLegacy, ch)
	s = flowSync(t, w.env, ev[0], "inventory.quickbooks_shopify")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, want+1, w.available(t, w.v))
}

// With another system the source of stock and prices, a QuickBooks item's
// change is refused and shown, and nothing is written into Shopify.
func TestQuickBooksItemsRefusedWhenNotTheSource(t *testing.T) {
	t.Parallel()
	w := setupQuickBooksItems(t, enginetest.Options{})
	w.env.SourceRule(t, store.SourceRuleInput{Family: vocab.Prices, Master: w.env.OdooConn.ID, Receivers: []int64{w.env.ShopConn.ID},
		Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
	before, price := w.available(t, w.v), w.price(t, w.v)
	ch, _ := w.qb.Twin.EditItem(w.id, map[string]any{"QtyOnHand": 3.0, "UnitPrice": 1.5})
	ev := w.qb.Deliver(t, w.env.St, qbsandbox.FormatCloudEvents, ch)
	for _, flow := range []string{"inventory.quickbooks_shopify", "prices.quickbooks_shopify"} {
		s := flowSync(t, w.env, ev[0], flow)
		require.Equal(t, vocab.SyncRejected, s.Status, flow)
		require.Equal(t, vocab.ClassOwnership, *s.ErrorClass)
	}
	require.Equal(t, before, w.available(t, w.v))
	require.Equal(t, price, w.price(t, w.v))
	n, err := w.env.Eng.SweepQuickBooksItems(context.Background(), store.TriggerManual, true)
	require.NoError(t, err)
	require.Zero(t, n, "no sweep of a company that decides nothing")
}

// A sale in Shopify between the read and the write makes Shopify refuse the
// compare-and-set; the level is read again and QuickBooks' quantity set.
func TestQuickBooksStockStaleCompareAndSet(t *testing.T) {
	t.Parallel()
	var w qbItemsEnv
	var sold atomic.Bool
	var lastSet atomic.Value
	transport := roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil && r.URL.Host != "" {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if bytes.Contains(b, []byte("inventorySetQuantities")) {
				lastSet.Store(b)
			}
			if bytes.Contains(b, []byte("inventorySetQuantities")) && sold.CompareAndSwap(false, true) {
				require.NoError(t, w.env.Shop.SetInventoryDirect(w.v.InventoryItemGID(), w.loc, 1)) // a sale meanwhile
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	w = setupQuickBooksItems(t, enginetest.Options{Transport: transport}, vocab.Inventory)
	want := w.available(t, w.v) + 7 // not what Shopify has
	ch, _ := w.qb.Twin.EditItem(w.id, map[string]any{"QtyOnHand": float64(want)})
	ev := w.qb.Deliver(t, w.env.St, qbsandbox.FormatCloudEvents, ch)
	s := flowSync(t, w.env, ev[0], "inventory.quickbooks_shopify")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.True(t, sold.Load())
	require.Equal(t, want, w.available(t, w.v))
	// The write that went through was set from the level read again.
	var req struct {
		Variables struct {
			Input struct {
				Quantities []struct {
					ChangeFromQuantity *int `json:"changeFromQuantity"`
				} `json:"quantities"`
			} `json:"input"`
		} `json:"variables"`
	}
	require.NoError(t, json.Unmarshal(lastSet.Load().([]byte), &req))
	require.Len(t, req.Variables.Input.Quantities, 1)
	require.Equal(t, 1, *req.Variables.Input.Quantities[0].ChangeFromQuantity)
}

// The sweep reads every item the first time, then asks change data capture:
// a change whose webhook never came is found and sent, stock and price.
func TestQuickBooksSweepFindsAChangeTheWebhookMissed(t *testing.T) {
	t.Parallel()
	w := setupQuickBooksItems(t, enginetest.Options{}, vocab.Inventory, vocab.Prices)
	first := w.sweep(t)
	flows := map[string]int{}
	for _, s := range first {
		flows[s.Flow]++
		require.Contains(t, []vocab.Status{vocab.SyncSucceeded, vocab.SyncSkipped}, s.Status, s.Message)
	}
	require.Equal(t, map[string]int{"inventory.quickbooks_shopify": 1, "prices.quickbooks_shopify": 1}, flows)
	require.Equal(t, 25, w.available(t, w.v))

	// Nothing changed: nothing is queued.
	require.Empty(t, w.sweep(t))

	// Changed in QuickBooks, no webhook.
	_, ok := w.qb.Twin.EditItem(w.id, map[string]any{"QtyOnHand": 6.0, "UnitPrice": 99.5})
	require.True(t, ok)
	again := w.sweep(t)
	require.Len(t, again, 2)
	for _, s := range again {
		require.Equal(t, vocab.SyncSucceeded, s.Status, s.Flow+": "+s.Message)
	}
	require.Equal(t, 6, w.available(t, w.v))
	require.Equal(t, "99.50", w.price(t, w.v))
}

// An item's new sales price reaches its Shopify variant from the webhook
// when QuickBooks is the source of prices; its cost stays Shopify's when
// nobody names QuickBooks the source of costs.
func TestQuickBooksPriceFromWebhook(t *testing.T) {
	t.Parallel()
	w := setupQuickBooksItems(t, enginetest.Options{}, vocab.Prices)
	ch, _ := w.qb.Twin.EditItem(w.id, map[string]any{"UnitPrice": 12.25})
	ev := w.qb.Deliver(t, w.env.St, qbsandbox.FormatLegacy, ch)
	s := flowSync(t, w.env, ev[0], "prices.quickbooks_shopify")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "Prices of 1 variant sent to Main store")
	require.Equal(t, "12.25", w.price(t, w.v))
	r, err := w.env.Eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = w.env.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSkipped, r.Status, r.Message)
	require.Contains(t, r.Message, "1 already matched")
}

// An unmapped item fails alone, in words, with the record to map; the
// others of its batch are sent.
func TestQuickBooksStockUnmappedItemFailsAlone(t *testing.T) {
	t.Parallel()
	w := setupQuickBooksItems(t, enginetest.Options{}, vocab.Inventory)
	other := w.env.Shop.Variants()[1]
	otherID := w.qb.ItemBySKU[other.SKU]
	w.env.Res.Unset(w.qb.Conn.ID, w.env.ShopConn.ID, "variant", otherID)
	w.qb.Twin.EditItem(w.id, map[string]any{"QtyOnHand": 4.0})
	w.qb.Twin.EditItem(otherID, map[string]any{"QtyOnHand": 5.0})
	w.sweep(t)
	require.Equal(t, 4, w.available(t, w.v))
	ss, _, err := w.env.St.ListSyncs(context.Background(), store.SyncFilter{Status: vocab.SyncFailed, SourceConnectionID: w.qb.Conn.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, ss, 1)
	require.Equal(t, vocab.ClassUnmapped, *ss[0].ErrorClass)
	require.Contains(t, ss[0].Message, other.SKU)
	require.Contains(t, ss[0].Message, "Map it on the Mappings page")
}

// A refund whose lines Shopify restocked puts them back on hand in
// QuickBooks: the refund receipt's lines carry the item and its quantity.
// A refund that restocks nothing leaves the quantity as it was.
func TestQuickBooksRefundRestocks(t *testing.T) {
	t.Parallel()
	w := setupQuickBooksItems(t, enginetest.Options{})
	w.env.SourceRule(t, store.SourceRuleInput{Family: vocab.Refunds, Master: w.env.ShopConn.ID, Receivers: []int64{w.qb.Conn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
	onHand := func() float64 {
		for _, it := range w.qb.Twin.Records(quickbooks.EntityItem) {
			if it["Id"] == w.id {
				return it["QtyOnHand"].(float64)
			}
		}
		t.Fatal("no item")
		return 0
	}
	o, payload := w.env.Order(t, shopsandbox.NewLine{VariantID: w.v.GID(), Quantity: 3})
	require.Equal(t, vocab.SyncSucceeded, qbSync(t, w.env, w.env.Deliver(t, "orders/create", payload)).Status)
	require.Equal(t, 22.0, onHand(), "the sale took 3 off")

	_, kept := refundPayload(t, o, 1) // not restocked
	s := flowSync(t, w.env, w.env.Deliver(t, "refunds/create", kept), "refunds.shopify_quickbooks")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 22.0, onHand(), "a refund without restock puts nothing back")

	_, back := refundPayload(t, o, 2)
	back = bytes.ReplaceAll(back, []byte(`"restock_type":"no_restock"`), []byte(`"restock_type":"return"`))
	s = flowSync(t, w.env, w.env.Deliver(t, "refunds/create", back), "refunds.shopify_quickbooks")
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 24.0, onHand(), "the 2 returned are back on hand")
	refunds := w.qb.Twin.Records(quickbooks.EntityRefundReceipt)
	require.Len(t, refunds, 2)
	line := refunds[1]["Line"].([]any)[0].(map[string]any)["SalesItemLineDetail"].(map[string]any)
	require.Equal(t, w.id, line["ItemRef"].(map[string]any)["value"])
	require.Equal(t, 2.0, line["Qty"])
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
