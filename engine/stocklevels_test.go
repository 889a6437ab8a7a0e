package engine_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// setupShopifyStock makes Shopify the master of inventory and Odoo its
// receiver, adjusted (edited by hand there too) or set.
func setupShopifyStock(t *testing.T, adjust bool) *env {
	t.Helper()
	e := setup(t, options{})
	in := store.SourceRuleInput{Family: vocab.Inventory, Master: e.shopConn.ID, Receivers: []int64{e.odooConn.ID},
		Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins}
	rs, err := e.st.SourceRules(context.Background())
	require.NoError(t, err)
	in.Version = rs.Rule(vocab.Inventory).Version
	if adjust {
		in.EditedByHand = []int64{e.odooConn.ID}
	}
	_, err = e.st.SaveSourceRule(context.Background(), store.SystemActor("test"), in)
	require.NoError(t, err)
	e.start(t)
	return e
}

// level renders an inventory_levels/update body for the first variant at
// the first (mapped) location.
func (e *env) level(t *testing.T, available int, at time.Time) []byte {
	t.Helper()
	v, l := e.shop.Variants()[0], e.shop.Locations()[0]
	b, err := json.Marshal(map[string]any{"inventory_item_id": v.InventoryItemID, "location_id": l.ID, "available": available,
		"updated_at": at.Format("2006-01-02T15:04:05-07:00"), "admin_graphql_api_id": "gid://shopify/InventoryLevel/" + strconv.FormatInt(l.ID, 10) + "?inventory_item_id=" + strconv.FormatInt(v.InventoryItemID, 10)})
	require.NoError(t, err)
	return b
}

func (e *env) mapShopLocation() int {
	e.res.set(e.shopConn.ID, e.odooConn.ID, "location", e.shop.Locations()[0].GID(), strconv.Itoa(odoosandbox.LocationStock))
	return odoosandbox.LocationStock
}

func TestStockFromShopifyAdjustsOdooOnceAndIgnoresOlderLevels(t *testing.T) {
	t.Parallel()
	e := setupShopifyStock(t, true)
	loc := e.mapShopLocation()
	pid := e.productBySKU[e.shop.Variants()[0].SKU].ID
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

	// The first level is counted (set): Crossdock has no earlier one.
	s := e.endedSyncs(t, e.deliver(t, "inventory_levels/update", e.level(t, 10, t0)))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, 10.0, e.odoo.Quant(pid, loc))

	// The warehouse receives 5 in Odoo; Shopify then sells 3 (10 → 7): the
	// difference is applied, both movements survive.
	e.odoo.SetQuantDirect(pid, loc, 15)
	s = e.endedSyncs(t, e.deliver(t, "inventory_levels/update", e.level(t, 7, t0.Add(time.Minute))))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "adjusted by -3")
	require.Equal(t, 12.0, e.odoo.Quant(pid, loc))

	// A replay never moves stock twice: the reference is found in Odoo.
	r, err := e.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = e.ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "nothing was moved again")
	require.Equal(t, 12.0, e.odoo.Quant(pid, loc))
	moves := 0
	for _, m := range e.odoo.InventoryMoves() {
		if m.Name == s.IdempotencyKey {
			moves++
			require.Equal(t, -3.0, m.Quantity)
		}
	}
	require.Equal(t, 1, moves)

	// A late, older level is not sent, and is counted: a skipped sync says
	// a newer level came first.
	ev := e.deliver(t, "inventory_levels/update", e.level(t, 50, t0.Add(30*time.Second)))
	ss := e.endedSyncs(t, ev)
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSkipped, ss[0].Status)
	require.Contains(t, ss[0].Message, "A newer stock level of this item at this location arrived from Shopify")
	require.Equal(t, 12.0, e.odoo.Quant(pid, loc))
}

// Every stock level delivered becomes a sync per receiver, whatever order
// the deliveries arrive in and however many one intake batch holds: a level
// older than one already accepted for the same item and location is a
// skipped sync saying it was superseded, never nothing; only the same level
// delivered again is dropped as a duplicate.
func TestStockLevelsSupersededAtIntakeAreCounted(t *testing.T) {
	t.Parallel()
	e := setup(t, options{}) // not started: the test runs the intake itself
	rs, err := e.st.SourceRules(t.Context())
	require.NoError(t, err)
	_, err = e.st.SaveSourceRule(t.Context(), store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Inventory, Master: e.shopConn.ID,
		Receivers: []int64{e.odooConn.ID}, Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins,
		Version: rs.Rule(vocab.Inventory).Version})
	require.NoError(t, err)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	intake := func() {
		t.Helper()
		for {
			n, err := e.eng.IntakeOnce(t.Context())
			require.NoError(t, err)
			if n == 0 {
				return
			}
		}
	}
	statusOf := func(ev int64) []vocab.Status {
		t.Helper()
		ss, err := e.st.SyncsOfWebhookEvent(t.Context(), ev)
		require.NoError(t, err)
		var out []vocab.Status
		for _, s := range ss {
			out = append(out, s.Status)
		}
		return out
	}

	// One batch: the newest arrives first, then two older ones and a
	// duplicate of the newest; the middle one arrives last.
	newest := e.deliver(t, "inventory_levels/update", e.level(t, 7, t0.Add(2*time.Minute)))
	oldest := e.deliver(t, "inventory_levels/update", e.level(t, 10, t0))
	dup := e.deliver(t, "inventory_levels/update", e.level(t, 7, t0.Add(2*time.Minute)))
	middle := e.deliver(t, "inventory_levels/update", e.level(t, 9, t0.Add(time.Minute)))
	intake()
	require.Equal(t, []vocab.Status{vocab.SyncPending}, statusOf(newest))
	require.Equal(t, []vocab.Status{vocab.SyncSkipped}, statusOf(oldest))
	require.Equal(t, []vocab.Status{vocab.SyncSkipped}, statusOf(middle))
	require.Empty(t, statusOf(dup), "the same level again is a duplicate, not a change")

	// A later batch: an older level arriving late is counted the same way.
	late := e.deliver(t, "inventory_levels/update", e.level(t, 8, t0.Add(90*time.Second)))
	again := e.deliver(t, "inventory_levels/update", e.level(t, 7, t0.Add(2*time.Minute)))
	intake()
	require.Equal(t, []vocab.Status{vocab.SyncSkipped}, statusOf(late))
	require.Empty(t, statusOf(again))
	for _, id := range []int64{oldest, middle, late} {
		ev, err := e.st.WebhookEventByID(t.Context(), e.shopConn.ID, id)
		require.NoError(t, err)
		require.Equal(t, store.WebhookIgnored, ev.Status)
		require.Contains(t, ev.Error, "Superseded: A newer stock level")
	}
	ev, err := e.st.WebhookEventByID(t.Context(), e.shopConn.ID, again)
	require.NoError(t, err)
	require.Contains(t, ev.Error, "Already handled")
}

func (e *env) eventDone(t *testing.T, id int64) bool {
	t.Helper()
	var status string
	require.NoError(t, e.st.DB.Get(&status, `SELECT status FROM webhook_events WHERE id = $1`, id))
	return status != "received"
}

func TestStockFromShopifySetsOdooWhenNotEditedByHand(t *testing.T) {
	t.Parallel()
	e := setupShopifyStock(t, false)
	loc := e.mapShopLocation()
	pid := e.productBySKU[e.shop.Variants()[0].SKU].ID
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	e.endedSyncs(t, e.deliver(t, "inventory_levels/update", e.level(t, 10, t0)))
	e.odoo.SetQuantDirect(pid, loc, 15)
	s := e.endedSyncs(t, e.deliver(t, "inventory_levels/update", e.level(t, 7, t0.Add(time.Minute))))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "was set to 7")
	require.Equal(t, 7.0, e.odoo.Quant(pid, loc))
}

func TestStockFromShopifyBadInput(t *testing.T) {
	t.Parallel()
	e := setupShopifyStock(t, true)
	e.mapShopLocation()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

	s := e.endedSyncs(t, e.deliver(t, "inventory_levels/update", e.level(t, -4, t0)))[0]
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassValidation, s.Class())
	require.Contains(t, s.Message, "Shopify reports -4 available of SKU-")

	unknown := []byte(`{"inventory_item_id": 999999, "location_id": ` + strconv.FormatInt(e.shop.Locations()[0].ID, 10) +
		`, "available": 3, "updated_at": "2026-03-02T10:00:00-05:00"}`)
	s = e.endedSyncs(t, e.deliver(t, "inventory_levels/update", unknown))[0]
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Equal(t, vocab.ClassNotFound, s.Class())
	require.Contains(t, s.Message, "which Shopify itself no longer knows")

	s = e.endedSyncs(t, e.deliver(t, "inventory_levels/update", []byte(`{"inventory_item_id": 1, "location_id": 2, "available": null, "updated_at": "2026-03-02T10:00:00Z"}`)))[0]
	require.Equal(t, vocab.SyncFailed, s.Status)
	require.Contains(t, s.Message, "has no available quantity")
	require.Empty(t, e.odoo.InventoryMoves())
}
