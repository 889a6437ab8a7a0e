package rules_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store/rules"
	"crossdock/vocab"
)

const (
	shopify int64 = 1
	odoo    int64 = 2
	wms     int64 = 3
	other   int64 = 4 // connected, but in no rule
)

func conns() []rules.ConnInfo {
	return []rules.ConnInfo{
		{ID: shopify, Name: "Shopify", Kind: "shopify", Environment: "production", Enabled: true, SendsWebhooks: true},
		{ID: odoo, Name: "Odoo", Kind: "odoo", Environment: "production", Enabled: true},
		{ID: wms, Name: "Warehouse", Kind: "odoo", Environment: "production", Enabled: true},
		{ID: other, Name: "Spare", Kind: "odoo", Environment: "test", Enabled: true},
	}
}

func rule(f vocab.Family, master int64, receivers ...int64) rules.Rule {
	r := rules.Rule{Family: f, Set: true, Master: master, Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins}
	for _, id := range receivers {
		r.Receivers = append(r.Receivers, rules.Receiver{ConnectionID: id})
	}
	return r
}

func scheduled(r rules.Rule) rules.Rule {
	r.Trigger = rules.Scheduled
	return r
}

// shop is a typical merchant: Odoo decides stock, prices and costs; Shopify
// decides product content, except SKU and barcode, which Odoo owns.
func shop() rules.Rules {
	inv := rule(vocab.Inventory, odoo, shopify, wms)
	inv.SweepMinutes, inv.FreshnessMinutes = 1, 2
	return rules.Rules{
		Version: 7,
		Families: map[vocab.Family]rules.Rule{
			vocab.Products:  rule(vocab.Products, shopify, odoo),
			vocab.Prices:    scheduled(rule(vocab.Prices, odoo, shopify)),
			vocab.Costs:     scheduled(rule(vocab.Costs, odoo, shopify)),
			vocab.Inventory: inv,
			vocab.Orders:    rule(vocab.Orders, shopify, odoo),
		},
		FieldOwners: map[string]int64{"sku": odoo, "barcode": odoo},
		Connections: conns(),
	}
}

func TestDecideFamilies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rules    func() rules.Rules
		family   vocab.Family
		from, to int64
		allowed  bool
		reason   string
	}{
		{"master to receiver", shop, vocab.Inventory, odoo, shopify, true, "Odoo decides stock levels; the change is sent to Shopify."},
		{"master to second receiver", shop, vocab.Inventory, odoo, wms, true, "sent to Warehouse"},
		{"non-master change is not propagated", shop, vocab.Inventory, shopify, wms, false, "Odoo decides stock levels; a change from Shopify is not sent on."},
		{"never written into the master", shop, vocab.Inventory, shopify, odoo, false, "Crossdock never writes stock levels into it"},
		{"never written into the master, even from another receiver", shop, vocab.Inventory, wms, odoo, false, "never writes stock levels into it"},
		{"not a receiver", shop, vocab.Prices, odoo, wms, false, "Warehouse does not receive prices"},
		{"family nobody decides", shop, vocab.Customers, shopify, odoo, false, "Nobody decides customers yet, so a change from Shopify is not sent on."},
		{"into itself", shop, vocab.Inventory, odoo, odoo, false, "never written back into Odoo itself"},
		{"unknown family", shop, vocab.Family("taxes"), odoo, shopify, false, `does not know the kind of data "taxes"`},
		{"orders from the storefront", shop, vocab.Orders, shopify, odoo, true, "Shopify decides orders"},
		{"removed system named plainly", shop, vocab.Inventory, 99, shopify, false, "a change from a removed system (#99) is not sent on"},
		{"two masters for cost", func() rules.Rules {
			r := shop()
			r.FieldOwners["cost"] = shopify
			return r
		}, vocab.Costs, odoo, shopify, false, "Two systems are set to decide Cost: Odoo (for costs) and Shopify (for the product's cost field)"},
		{"a cost field owner that agrees is fine", func() rules.Rules {
			r := shop()
			r.FieldOwners["cost"] = odoo
			return r
		}, vocab.Costs, odoo, shopify, true, "Odoo decides costs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tc.rules().Decide(tc.family, tc.from, tc.to, nil)
			require.Equal(t, tc.allowed, d.Allowed, d.Reason)
			require.Contains(t, d.Reason, tc.reason)
			require.Equal(t, int64(7), d.RulesVersion, "the decision names the rules in force")
			if tc.allowed {
				require.Empty(t, d.Class)
			} else {
				require.Equal(t, vocab.ClassOwnership, d.Class)
			}
		})
	}
}

func TestDecideProductFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rules    func() rules.Rules
		from, to int64
		fields   []string
		allowed  bool
		sent     []string
		refused  []string
		reasons  []string
	}{
		{"content from the products master", shop, shopify, odoo, []string{"title", "description"}, true,
			[]string{"title", "description"}, nil, []string{"Shopify decides Title and Description; the change is sent to Odoo."}},
		{"an owned field is refused from the master", shop, shopify, odoo, []string{"title", "sku"}, true,
			[]string{"title"}, []string{"sku"}, []string{"Shopify decides Title", "Odoo decides SKU; a change from Shopify is not sent on."}},
		{"the field owner writes into the products master", shop, odoo, shopify, []string{"sku", "barcode"}, true,
			[]string{"sku", "barcode"}, nil, []string{"Odoo decides SKU and Barcode; the change is sent to Shopify."}},
		{"a receiver's content change is not sent on", shop, odoo, shopify, []string{"title"}, false,
			nil, []string{"title"}, []string{"Shopify decides Title; a change from Odoo is not sent on."}},
		{"every field when none are named", shop, odoo, shopify, nil, true,
			[]string{"sku", "barcode", "price", "cost"}, []string{"title", "description", "vendor", "product_type", "tags", "images", "weight"}, []string{"Odoo decides SKU, Barcode, Price and Cost"}},
		{"price follows the prices master", shop, shopify, odoo, []string{"price"}, false,
			nil, []string{"price"}, []string{"Odoo decides Price; a change from Shopify is not sent on."}},
		{"not a receiver of products", shop, shopify, wms, []string{"title"}, false,
			nil, nil, []string{"Warehouse does not receive product content"}},
		{"unknown field", shop, shopify, odoo, []string{"title", "colour"}, true,
			[]string{"title"}, []string{"colour"}, []string{`does not know the product field "colour"`}},
		{"two masters for cost", func() rules.Rules {
			r := shop()
			r.FieldOwners["cost"] = shopify
			return r
		}, shopify, odoo, []string{"cost"}, false, nil, []string{"cost"}, []string{"Two systems are set to decide Cost"}},
		{"no products master, but an owned field", func() rules.Rules {
			r := shop()
			r.Families[vocab.Products] = rule(vocab.Products, 0, shopify)
			return r
		}, odoo, shopify, []string{"sku", "title"}, true, []string{"sku"}, []string{"title"}, []string{"Nobody decides Title yet"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tc.rules().Decide(vocab.Products, tc.from, tc.to, tc.fields)
			require.Equal(t, tc.allowed, d.Allowed, d.Reason)
			require.Equal(t, tc.sent, d.Fields)
			require.Equal(t, tc.refused, d.Refused)
			for _, r := range tc.reasons {
				require.Contains(t, d.Reason, r)
			}
			if len(tc.refused) > 0 || !tc.allowed {
				require.Equal(t, vocab.ClassOwnership, d.Class, "refused fields are recorded as ownership problems")
			}
		})
	}
}

// The engine's promise, checked over every combination: nothing is ever
// allowed into the master of what is written, and nothing is allowed from a
// system that does not decide it.
func TestDecideNeverWritesIntoTheMaster(t *testing.T) {
	t.Parallel()
	r := shop()
	r.FieldOwners["weight"] = wms
	ids := []int64{shopify, odoo, wms, other}
	for _, f := range vocab.AllFamilies() {
		for _, from := range ids {
			for _, to := range ids {
				d := r.Decide(f, from, to, nil)
				if f != vocab.Products {
					if d.Allowed {
						require.Equal(t, r.Rule(f).Master, from, "%s %d→%d", f, from, to)
						require.NotEqual(t, r.Rule(f).Master, to)
					}
					continue
				}
				for _, key := range d.Fields {
					owner, conflict := r.FieldOwner(key)
					require.False(t, conflict)
					require.Equal(t, owner, from, "%s from %d", key, from)
					require.NotEqual(t, owner, to, "%s into its owner %d", key, to)
				}
			}
		}
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	r := shop()
	r.Families[vocab.Customers] = rule(vocab.Customers, shopify)
	tests := []struct {
		family vocab.Family
		want   string
	}{
		{vocab.Inventory, "Odoo decides stock levels; Shopify and Warehouse are updated within 2 minutes."},
		{vocab.Prices, "Odoo decides prices; Shopify is updated within 15 minutes."},
		{vocab.Products, "Shopify decides product content; Odoo is updated within 15 minutes. Odoo decides SKU and Barcode."},
		{vocab.Customers, "Shopify decides customers; no other system receives them yet."},
		{vocab.Refunds, "Nobody decides refunds and returns yet — choose a master."},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, r.Explain(tc.family), tc.family)
	}
	require.Equal(t, "Real time from webhooks, with a safety check every 1 minute", r.ExplainTrigger(vocab.Inventory))
	require.Equal(t, "Never more than 2 minutes out of date", r.ExplainFreshness(vocab.Inventory))
	require.Equal(t, "Odoo wins: its value replaces a change made elsewhere", r.ExplainPolicy(vocab.Inventory))
}

func TestMinutes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{1: "1 minute", 2: "2 minutes", 60: "1 hour", 90: "1 hour 30 minutes", 120: "2 hours", 1440: "1 day", 10080: "7 days", 61: "1 hour 1 minute"} {
		require.Equal(t, want, rules.Minutes(n))
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(r *rules.Rules)
		family vocab.Family
		level  rules.Level
		msg    string
		fix    string
	}{
		{"no master", func(r *rules.Rules) {}, vocab.Customers, rules.LevelWarning,
			"Nobody decides customers yet", "Choose the system that decides customers."},
		{"disabled master", func(r *rules.Rules) { r.Connections[1].Enabled = false }, vocab.Inventory, rules.LevelWarning,
			"Odoo decides stock levels but is disabled", "Enable Odoo on the Connections page, or choose another master."},
		{"missing master", func(r *rules.Rules) { r.Families[vocab.Inventory] = rule(vocab.Inventory, 42, shopify) }, vocab.Inventory, rules.LevelWarning,
			"The system that decided stock levels no longer exists", "Choose another master."},
		{"receiver that is the master", func(r *rules.Rules) { r.Families[vocab.Prices] = rule(vocab.Prices, odoo, odoo, shopify) }, vocab.Prices, rules.LevelWarning,
			"Odoo is both the master and a receiver of prices", "Untick Odoo"},
		{"edited by hand, master wins", func(r *rules.Rules) {
			inv := r.Families[vocab.Inventory]
			inv.Receivers[0].EditedByHand = true
			r.Families[vocab.Inventory] = inv
		}, vocab.Inventory, rules.LevelWarning,
			"People also edit stock levels by hand in Shopify. Odoo wins, so their edits are overwritten within 2 minutes.", "Make those edits in Odoo instead, or make Shopify the master of stock levels."},
		{"edited by hand, held", func(r *rules.Rules) {
			p := scheduled(rule(vocab.Prices, odoo, shopify))
			p.Policy = rules.Hold
			p.Receivers[0].EditedByHand = true
			r.Families[vocab.Prices] = p
		}, vocab.Prices, rules.LevelWarning, "waits for review", "Make those edits in Odoo instead"},
		{"disabled receiver", func(r *rules.Rules) { r.Connections[2].Enabled = false }, vocab.Inventory, rules.LevelWarning,
			"Warehouse receives stock levels but is disabled", "Enable Warehouse, or stop sending stock levels to it."},
		{"test into production", func(r *rules.Rules) { r.Families[vocab.Customers] = rule(vocab.Customers, other, shopify) }, vocab.Customers, rules.LevelWarning,
			"Spare is a test system, and Shopify is production", "Choose a production master"},
		{"schedule slower than the target", func(r *rules.Rules) {
			inv := r.Families[vocab.Inventory]
			inv.Trigger, inv.SweepMinutes = rules.Scheduled, 30
			r.Families[vocab.Inventory] = inv
		}, vocab.Inventory, rules.LevelWarning, "Checking every 30 minutes cannot keep stock levels within 2 minutes.", "Check at least every 2 minutes"},
		{"real time from a system without webhooks", func(r *rules.Rules) {}, vocab.Inventory, rules.LevelNote,
			"Odoo does not send webhooks, so its changes are picked up by the check every 1 minute.", ""},
		{"no receivers", func(r *rules.Rules) { r.Families[vocab.Customers] = rule(vocab.Customers, shopify) }, vocab.Customers, rules.LevelNote,
			"No system receives customers yet.", "Tick the systems that should receive customers."},
		{"two masters for one field", func(r *rules.Rules) { r.FieldOwners["cost"] = shopify }, vocab.Products, rules.LevelWarning,
			"Two systems decide cost: Odoo for costs, and Shopify for the product's cost field.", "Choose the same system for cost in both places."},
		{"two masters for one field, on the family card too", func(r *rules.Rules) { r.FieldOwners["cost"] = shopify }, vocab.Costs, rules.LevelWarning,
			"Two systems decide cost", ""},
		{"disabled field owner", func(r *rules.Rules) { r.Connections[1].Enabled = false }, vocab.Products, rules.LevelWarning,
			"Odoo decides sku but is disabled", "let sku follow the products master"},
		{"prices and costs from different masters", func(r *rules.Rules) { r.Families[vocab.Costs] = scheduled(rule(vocab.Costs, wms, shopify)) }, vocab.Prices, rules.LevelNote,
			"Prices come from Odoo and costs from Warehouse. That is fine", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := shop()
			tc.change(&r)
			var found bool
			for _, w := range r.WarningsFor(tc.family) {
				require.Equal(t, tc.family, w.Family)
				if w.Level == tc.level && contains(w.Message, tc.msg) && contains(w.Fix, tc.fix) {
					found = true
				}
			}
			require.True(t, found, "no %s %q (fix %q) in %+v", tc.level, tc.msg, tc.fix, r.WarningsFor(tc.family))
		})
	}
}

func TestNoWarningsForAGoodSetup(t *testing.T) {
	t.Parallel()
	r := shop()
	for _, f := range []vocab.Family{vocab.Orders, vocab.Prices, vocab.Costs} {
		require.Empty(t, r.WarningsFor(f), f)
	}
	// A Shopify master in real time is fresh from its webhooks, whatever the sweep.
	o := r.Families[vocab.Orders]
	o.SweepMinutes, o.FreshnessMinutes = 60, 5
	r.Families[vocab.Orders] = o
	require.Empty(t, r.WarningsFor(vocab.Orders))
	require.Len(t, r.Warnings(), 5, "customers, refunds, fulfillments and payouts have no master; inventory's master has no webhooks: %+v", r.Warnings())
}

func contains(s, sub string) bool { return sub == "" || strings.Contains(s, sub) }
