package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/vocab"
)

// Every registered flow is complete, and nothing it is found by is shared
// with another: its name, or a webhook topic of the kind it reads from into
// the same kind.
func TestFlowsAreComplete(t *testing.T) {
	t.Parallel()
	families := vocab.AllFamilies()
	kinds := []vocab.Kind{vocab.KindShopify, vocab.KindOdoo, vocab.KindShipBob, vocab.KindQuickBooks}
	personal := []string{"name", "email", "phone", "address", "tracking number"}
	names := map[string]bool{}
	topics := map[[4]string]string{}
	for _, f := range Flows() {
		t.Run(f.Name, func(t *testing.T) {
			require.NotEmpty(t, f.Name)
			require.False(t, names[f.Name], "flow name %q registered twice", f.Name)
			names[f.Name] = true
			require.Contains(t, families, f.Family)
			require.Contains(t, kinds, f.From)
			require.Contains(t, kinds, f.To)
			require.NotEqual(t, f.From, f.To)
			require.NotNil(t, f.Lease, "lease function")
			require.NotNil(t, f.Run, "run function")
			require.True(t, len(f.Topics) > 0 || f.Sweep != nil, "nothing plans it: no webhook topic and no sweep")
			require.Equal(t, len(f.Topics) > 0, f.Plan != nil, "topics and their plan function go together")
			for _, topic := range f.Topics {
				// A topic may plan several flows, one per kind of target
				// and family (a QuickBooks item's stock and its prices).
				k := [4]string{string(f.From), topic, string(f.To), string(f.Family)}
				require.Empty(t, topics[k], "topic %s plans %s into the same kind too", topic, topics[k])
				topics[k] = f.Name
			}
			if f.Sweep != nil {
				require.Contains(t, []string{sweepJobStock, sweepJobContent}, f.Sweep.job)
				if f.Sweep.of != "" {
					// Planned by another flow's sweep, of the same source and job.
					of, ok := lookupFlow(f.Sweep.of)
					require.True(t, ok, f.Sweep.of)
					require.True(t, of.Sweep != nil && of.Sweep.run != nil && of.Sweep.job == f.Sweep.job && of.From == f.From && of.Family == f.Family)
					require.Nil(t, f.Sweep.run)
				} else {
					require.NotNil(t, f.Sweep.run)
				}
			}
			for _, p := range f.Personal {
				require.Contains(t, personal, p)
			}
		})
	}
	require.Len(t, names, 20)
}

// The names are stored in sync records and queued jobs: they never change,
// nor the queue (Odoo's keeps its name) or the lease of each.
func TestFlowNamesQueuesAndLeases(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		flow, queue, ref, lease string
	}{
		{"orders.shopify_odoo", "syncs_odoo", "gid://shopify/Order/1", "order:7:gid://shopify/Order/1"},
		{"refunds.shopify_odoo", "syncs_odoo", "gid://shopify/Refund/1", "refund:7:gid://shopify/Refund/1"},
		{"customers.shopify_odoo", "syncs_odoo", "gid://shopify/Customer/1", ""},
		{"products.shopify_odoo", "syncs_odoo", "gid://shopify/Product/1", "product:7:gid://shopify/Product/1"},
		{"products.odoo_shopify", "syncs", "product:12", "product:7:product:12"},
		{"inventory.shopify_odoo", "syncs_odoo", "1@2", "stock:7:1@2"},
		{"inventory.odoo_shopify", "syncs", "location:8", "inventory:7:location:8"},
		{"inventory.odoo_shopify", "syncs", "12@8", "inventory:7:location:8"},
		{"prices.odoo_shopify", "syncs", "products:1-9", "prices:7"},
		{"fulfillments.odoo_shopify", "syncs", "31", "fulfillment:7:picking:31"},
		{"payouts.shopify_odoo", "syncs_odoo", "gid://shopify/ShopifyPaymentsPayout/1", "payout:7:gid://shopify/ShopifyPaymentsPayout/1"},
		{"orders.shopify_shipbob", "syncs_shipbob", "gid://shopify/Order/1", "order:7:gid://shopify/Order/1"},
		{"shipments.shipbob_shopify", "syncs", "100000001", "fulfillment:7:100000001"},
		{"inventory.shipbob_shopify", "syncs", "shipbob:72000000001", "inventory:7:shipbob:72000000001"},
		{"returns.shipbob_shopify", "syncs", "100000007", "return:7:100000007"},
		{"orders.shopify_quickbooks", "syncs_quickbooks", "gid://shopify/Order/1", "order:7:gid://shopify/Order/1"},
		{"customers.shopify_quickbooks", "syncs_quickbooks", "gid://shopify/Customer/1", ""},
		{"refunds.shopify_quickbooks", "syncs_quickbooks", "gid://shopify/Refund/1", "refund:7:gid://shopify/Refund/1"},
		{"payouts.shopify_quickbooks", "syncs_quickbooks", "gid://shopify/ShopifyPaymentsPayout/1", "payout:7:gid://shopify/ShopifyPaymentsPayout/1"},
		{"inventory.quickbooks_shopify", "syncs", "items:1-9", "inventory:7:items:1-9"},
		{"prices.quickbooks_shopify", "syncs", "items:1-9", "prices:7"},
		{"nobody.knows", "syncs", "x", ""},
	} {
		require.Equal(t, c.queue, syncQueue(c.flow), c.flow)
		require.Equal(t, c.lease, leaseFor(c.flow, 7, c.ref), c.flow)
		e := &Engine{}
		require.Equal(t, c.queue, e.flows().queue(c.flow), c.flow)
		require.Equal(t, c.lease, e.flows().lease(c.flow, 7, c.ref), c.flow)
	}
}

// The topics the intake plans are those the flows register, and each of
// Shopify's is a topic its shape check knows.
func TestFlowTopics(t *testing.T) {
	t.Parallel()
	var got, warehouse, books []string
	for _, f := range Flows() {
		if f.From == vocab.KindShipBob {
			warehouse = append(warehouse, f.Topics...)
			continue
		}
		if f.From == vocab.KindQuickBooks {
			books = append(books, f.Topics...)
			continue
		}
		got = append(got, f.Topics...)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	require.Equal(t, []string{"customers/create", "customers/update", "inventory_levels/update", "orders/cancelled",
		"orders/create", "orders/updated", "products/create", "products/update", "refunds/create"}, got)
	require.Equal(t, []string{"order.shipped", "order.shipment.tracking.updated", "order.shipment.tracking_received", "order.shipment.delivered",
		"return.created", "return.updated", "return.completed"}, warehouse)
	// QuickBooks' topics as its connector names them ("qbo.<entity>.<operation>").
	require.Equal(t, []string{"qbo.item.create", "qbo.item.update", "qbo.item.create", "qbo.item.update"}, books)
	for _, topic := range got {
		require.NotEmpty(t, shopify.CheckTopicShape(topic, []byte(`{"line_items":[],"order_id":1,"variants":[],"inventory_item_id":1,"refund_line_items":[]}`)), topic)
	}
}

// Each periodic sweep job runs its flows' sweeps in the order it always has.
func TestSweepJobs(t *testing.T) {
	t.Parallel()
	jobs := map[string][]string{}
	for _, f := range Flows() {
		if f.Sweep != nil && f.Sweep.run != nil {
			jobs[f.Sweep.job] = append(jobs[f.Sweep.job], f.Name)
		}
	}
	require.Equal(t, map[string][]string{
		sweepJobStock: {"inventory.odoo_shopify", "prices.odoo_shopify", "fulfillments.odoo_shopify", "shipments.shipbob_shopify", "inventory.shipbob_shopify",
			"returns.shipbob_shopify", "inventory.quickbooks_shopify"},
		sweepJobContent: {"customers.shopify_odoo", "products.shopify_odoo", "products.odoo_shopify", "payouts.shopify_odoo"},
	}, jobs)
}

// runWith's opening, in its order: the payload is read (a decision that
// needs it comes next), the check, the target's client, then the body; the
// first that ends the attempt is its result, and a body's result names the
// target system.
func TestRunWithOpening(t *testing.T) {
	t.Parallel()
	type rec struct {
		N int `json:"n"`
	}
	var steps []string
	run := runWith(runSpec[rec, string]{record: "thing",
		decide: func(_ *Engine, _ context.Context, _ store.Sync, r *rec) (verdict, *result, error) {
			steps = append(steps, "decide")
			if r.N == 1 {
				return verdict{}, &result{status: vocab.SyncRejected, message: "refused"}, nil
			}
			return verdict{refused: []string{"costs refused"}}, nil, nil
		},
		check: func(_ *Engine, _ context.Context, _ store.Sync, r rec) *result {
			steps = append(steps, "check")
			if r.N == 2 {
				return &result{status: vocab.SyncSkipped}
			}
			return nil
		},
		connect: func(_ *Engine, _ context.Context, id int64) (string, store.Connection, error) {
			steps = append(steps, "connect")
			if id == 3 {
				return "", store.Connection{Name: "Down Shop"}, errors.New("down")
			}
			return "client", store.Connection{Name: "Shop"}, nil
		},
		body: func(_ *Engine, _ context.Context, _ store.Sync, r rec, cl string, _ store.Connection, v verdict) result {
			steps = append(steps, "body")
			return result{status: vocab.SyncSucceeded, message: fmt.Sprintf("%s %d, %s", cl, r.N, v.refused[0])}
		},
	})
	for _, c := range []struct {
		name, payload string
		target        int64
		steps         []string
		status        vocab.Status
		system        string
		message       string
	}{
		{"unreadable", `{"n":"x"}`, 9, nil, "", "", "The thing recorded for this sync cannot be read: "},
		{"refused", `{"n":1}`, 9, []string{"decide"}, vocab.SyncRejected, "", "refused"},
		{"checked", `{"n":2}`, 9, []string{"decide", "check"}, vocab.SyncSkipped, "", ""},
		{"target down", `{"n":5}`, 3, []string{"decide", "check", "connect"}, "", "Down Shop", "down"},
		{"sent", `{"n":5}`, 9, []string{"decide", "check", "connect", "body"}, vocab.SyncSucceeded, "Shop", "client 5, costs refused"},
	} {
		steps = nil
		res := run(&Engine{}, t.Context(), store.Sync{TargetConnectionID: c.target, Payload: json.RawMessage(c.payload)})
		require.Equal(t, c.steps, steps, c.name)
		require.Equal(t, c.status, res.status, c.name)
		require.Equal(t, c.system, res.system, c.name)
		switch f := (*failure)(nil); {
		case c.name == "unreadable":
			require.ErrorAs(t, res.err, &f, c.name)
			require.Equal(t, vocab.ClassInternal, f.class)
			require.Contains(t, f.message, c.message, c.name)
		case res.err != nil:
			require.EqualError(t, res.err, c.message, c.name)
		default:
			require.Equal(t, c.message, res.message, c.name)
		}
	}
}

// Two flows planning one event give one plan: both their syncs, the one
// watermark, and the outcome that says most.
func TestMergePlans(t *testing.T) {
	t.Parallel()
	mark := &store.Watermark{ConnectionID: 1, EntityType: "order", ExternalID: "7"}
	erp := eventPlan{outcome: store.WebhookOutcome{ID: 9, Status: store.WebhookProcessed}, mark: mark,
		syncs: []queued{{sync: store.NewSync{TargetConnectionID: 2}}}}
	none := eventPlan{outcome: store.WebhookOutcome{ID: 9, Status: store.WebhookIgnored, Error: "No warehouse receives orders."}}
	bad := eventPlan{outcome: store.WebhookOutcome{ID: 9, Status: store.WebhookFailed, Error: "The order has no lines."},
		syncs: []queued{{sync: store.NewSync{TargetConnectionID: 3}}}}

	got := mergePlans(erp, none)
	require.Equal(t, store.WebhookProcessed, got.outcome.Status)
	require.Len(t, got.syncs, 1)
	require.Same(t, mark, got.mark)

	got = mergePlans(none, bad)
	require.Equal(t, store.WebhookFailed, got.outcome.Status)
	require.Equal(t, "The order has no lines.", got.outcome.Error)
	require.Nil(t, got.mark)

	got = mergePlans(mergePlans(none, erp), bad)
	require.Equal(t, store.WebhookFailed, got.outcome.Status)
	require.Len(t, got.syncs, 2)
	require.Same(t, mark, got.mark)
}
