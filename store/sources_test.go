package store_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// sourcesSetup is a store with a Shopify and an Odoo connection.
func sourcesSetup(t *testing.T) (*store.Store, store.Connection, store.Connection) {
	t.Helper()
	st := storetest.New(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	a := store.SystemActor("test")
	shop, err := st.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify, Environment: vocab.EnvProduction,
		Settings: map[string]string{"shop_domain": "main.myshopify.com"}})
	require.NoError(t, err)
	odoo, err := st.CreateConnection(t.Context(), a, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo, Environment: vocab.EnvProduction})
	require.NoError(t, err)
	return st, shop, odoo
}

func inventoryInput(master, receiver int64) store.SourceRuleInput {
	return store.SourceRuleInput{Family: vocab.Inventory, Master: master, Receivers: []int64{receiver}, Trigger: rules.Realtime,
		SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins}
}

func TestSaveSourceRuleVersionsAndAudits(t *testing.T) {
	t.Parallel()
	st, shop, odoo := sourcesSetup(t)
	ctx := t.Context()
	ada := store.Actor{Label: "ada@shop.test"}

	rs, err := st.SourceRules(ctx)
	require.NoError(t, err)
	require.Zero(t, rs.Version)
	require.False(t, rs.Rule(vocab.Inventory).Set)
	require.Len(t, rs.Connections, 2)
	require.Equal(t, "Nobody decides stock levels yet — choose a master.", rs.Explain(vocab.Inventory))

	in := inventoryInput(odoo.ID, shop.ID)
	in.EditedByHand = []int64{shop.ID, odoo.ID} // odoo receives nothing: its tick is dropped
	rs, err = st.SaveSourceRule(ctx, ada, in)
	require.NoError(t, err)
	require.Equal(t, int64(1), rs.Version)
	inv := rs.Rule(vocab.Inventory)
	require.True(t, inv.Set)
	require.Equal(t, odoo.ID, inv.Master)
	require.Equal(t, []rules.Receiver{{ConnectionID: shop.ID, EditedByHand: true}}, inv.Receivers)
	require.Equal(t, int64(1), inv.Version)
	require.Equal(t, "ada@shop.test", inv.UpdatedBy)
	require.Equal(t, "Odoo decides stock levels; Main store is updated within 2 minutes.", rs.Explain(vocab.Inventory))

	// What the engine loads decides the same way.
	loaded, err := st.SourceRules(ctx)
	require.NoError(t, err)
	require.Equal(t, rs.Version, loaded.Version)
	require.True(t, loaded.Decide(vocab.Inventory, odoo.ID, shop.ID, nil).Allowed)
	d := loaded.Decide(vocab.Inventory, shop.ID, odoo.ID, nil)
	require.False(t, d.Allowed)
	require.Equal(t, vocab.ClassOwnership, d.Class)
	require.Equal(t, int64(1), d.RulesVersion)

	// Products with field ownership: SKU and barcode from Odoo.
	rs, err = st.SaveSourceRule(ctx, ada, store.SourceRuleInput{Family: vocab.Products, Master: shop.ID, Receivers: []int64{odoo.ID},
		Trigger: rules.Scheduled, SweepMinutes: 60, FreshnessMinutes: 120, Policy: rules.Hold,
		FieldOwners: map[string]int64{"sku": odoo.ID, "barcode": odoo.ID, "title": 0}})
	require.NoError(t, err)
	require.Equal(t, int64(2), rs.Version)
	require.Equal(t, map[string]int64{"sku": odoo.ID, "barcode": odoo.ID}, rs.FieldOwners)
	require.Equal(t, int64(1), rs.Rule(vocab.Inventory).Version, "other families keep their version")
	require.Contains(t, rs.Explain(vocab.Products), "Odoo decides SKU and Barcode.")

	// A second change to inventory: the audit log keeps before and after.
	in = inventoryInput(odoo.ID, shop.ID)
	in.Version = 1
	in.FreshnessMinutes = 10
	_, err = st.SaveSourceRule(ctx, ada, in)
	require.NoError(t, err)
	entries, _, err := st.ListAudit(ctx, store.AuditFilter{ObjectType: "source_rule"})
	require.NoError(t, err)
	require.Len(t, entries, 3)
	latest := entries[0]
	require.Equal(t, "source_rule.updated", latest.Action)
	require.Equal(t, "inventory", latest.ObjectID)
	require.Equal(t, "Changed the source of truth for inventory: Odoo decides stock levels; Main store is updated within 10 minutes.", latest.Summary)
	var before, after map[string]any
	require.NoError(t, json.Unmarshal(*latest.Before, &before))
	require.NoError(t, json.Unmarshal(*latest.After, &after))
	require.EqualValues(t, 2, before["freshness_minutes"])
	require.EqualValues(t, 10, after["freshness_minutes"])
	require.Equal(t, "Odoo", after["master"].(map[string]any)["name"])
	require.Nil(t, entries[2].Before, "the first save of a family has no before")

	// The rules in force at version 1 are still there for failed syncs to show.
	v1, err := st.SourceRulesAt(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, int64(1), v1.Version)
	require.Equal(t, 2, v1.Rule(vocab.Inventory).FreshnessMinutes)
	require.False(t, v1.Rule(vocab.Products).Set)
	_, err = st.SourceRulesAt(ctx, 99)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestSaveSourceRuleRefusesAStaleForm(t *testing.T) {
	t.Parallel()
	st, shop, odoo := sourcesSetup(t)
	ctx := t.Context()
	_, err := st.SaveSourceRule(ctx, store.SystemActor("a"), inventoryInput(odoo.ID, shop.ID))
	require.NoError(t, err)
	// A second admin's form was opened before the first save (version 0).
	_, err = st.SaveSourceRule(ctx, store.SystemActor("b"), inventoryInput(shop.ID, odoo.ID))
	require.ErrorIs(t, err, store.ErrRuleChanged)
	rs, err := st.SourceRules(ctx)
	require.NoError(t, err)
	require.Equal(t, odoo.ID, rs.Rule(vocab.Inventory).Master, "the first admin's choice stands")
	require.Equal(t, int64(1), rs.Version)
}

func TestSaveSourceRuleValidation(t *testing.T) {
	t.Parallel()
	st, shop, odoo := sourcesSetup(t)
	ctx := t.Context()
	tests := []struct {
		name   string
		change func(in *store.SourceRuleInput)
		field  string
		msg    string
	}{
		{"receiver is the master", func(in *store.SourceRuleInput) { in.Receivers = append(in.Receivers, in.Master) }, "receivers", "cannot also receive them"},
		{"master not connected", func(in *store.SourceRuleInput) { in.Master = 424242 }, "master", "not connected"},
		{"receiver not connected", func(in *store.SourceRuleInput) { in.Receivers = []int64{424242} }, "receivers", "not connected"},
		{"sweep too short", func(in *store.SourceRuleInput) { in.SweepMinutes = 0 }, "sweep_minutes", "from 1 to 1440"},
		{"sweep too long", func(in *store.SourceRuleInput) { in.SweepMinutes = 1441 }, "sweep_minutes", "from 1 to 1440"},
		{"freshness too short", func(in *store.SourceRuleInput) { in.FreshnessMinutes = 0 }, "freshness_minutes", "from 1 to 10080"},
		{"freshness too long", func(in *store.SourceRuleInput) { in.FreshnessMinutes = 10081 }, "freshness_minutes", "from 1 to 10080"},
		{"unknown policy", func(in *store.SourceRuleInput) { in.Policy = "newest_wins" }, "policy", "the master wins, or the change is held for review"},
		{"unknown trigger", func(in *store.SourceRuleInput) { in.Trigger = "hourly" }, "trigger", "real time or a schedule"},
		{"unknown family", func(in *store.SourceRuleInput) { in.Family = "taxes" }, "family", "kinds of data"},
		{"field owners outside products", func(in *store.SourceRuleInput) { in.FieldOwners = map[string]int64{"sku": odoo.ID} }, "form", "Only products"},
		{"unknown product field", func(in *store.SourceRuleInput) {
			in.Family = vocab.Products
			in.FieldOwners = map[string]int64{"colour": odoo.ID}
		}, "form", `product field "colour"`},
		{"field owner not connected", func(in *store.SourceRuleInput) {
			in.Family = vocab.Products
			in.FieldOwners = map[string]int64{"sku": 424242}
		}, "owner_sku", "not connected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := inventoryInput(odoo.ID, shop.ID)
			tc.change(&in)
			_, err := st.SaveSourceRule(ctx, store.SystemActor("test"), in)
			var fe vocab.FieldErrors
			require.ErrorAs(t, err, &fe)
			require.Contains(t, fe[tc.field], tc.msg, "%v", fe)
		})
	}
	rs, err := st.SourceRules(ctx)
	require.NoError(t, err)
	require.Zero(t, rs.Version, "nothing was saved")
	require.Empty(t, rs.Families)
	entries, _, err := st.ListAudit(ctx, store.AuditFilter{ObjectType: "source_rule"})
	require.NoError(t, err)
	require.Empty(t, entries)
}
