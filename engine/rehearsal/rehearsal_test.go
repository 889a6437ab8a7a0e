package rehearsal_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/engine/rehearsal"
	"crossdock/store"
)

// The verdict of an end-to-end rehearsal weighs what reached the ERP, not
// only what the webhook endpoint took in.
func TestRehearsalVerdict(t *testing.T) {
	t.Parallel()
	r := store.Rehearsal{OrdersPerMin: 2400, DurationSeconds: 30}
	fine := store.RehearsalReport{AskedOrdersPerMin: 2400, SentOrdersPerMin: 2401, OrdersSent: 1200, WebhooksAccepted: 2400,
		AnswerP50Ms: 3, AnswerP99Ms: 17, Drained: true, MaxLagSec: 2, Variants: 250, Targets: []string{"Demo Odoo"},
		OrdersSynced: 1200, SyncedOrdersPerMin: 2380, OrderE2EP99Ms: 2011}
	cases := []struct {
		name   string
		edit   func(*store.RehearsalReport)
		keptUp bool
		want   string
	}{
		{"keeps up end to end", func(*store.RehearsalReport) {}, true,
			"Keeps up with 2400 orders a minute: webhooks were answered in 17 ms at worst for 99 in 100 (Shopify allows 5 s) and the queue never fell more than 2 s behind. 1200 orders reached Demo Odoo, within 2.0 s of Shopify sending them for 99 in 100."},
		{"Odoo falls behind", func(rep *store.RehearsalReport) { rep.SyncedOrdersPerMin = 2145 }, false,
			"Does not keep up with 2400 orders a minute: orders were created in Demo Odoo at only 2145 a minute, so over a longer peak the queue would keep falling behind."},
		{"nothing reached Odoo", func(rep *store.RehearsalReport) {
			rep.OrdersSynced, rep.SyncedOrdersPerMin, rep.FailedByClass = 0, 0, map[string]int{"unmapped": 1200}
		}, false, "Does not keep up with 2400 orders a minute: no order reached Demo Odoo (the syncs failed mostly because the products are not mapped)."},
		{"a report of intake only is judged on intake", func(rep *store.RehearsalReport) {
			rep.Variants, rep.OrdersSynced, rep.SyncedOrdersPerMin = 0, 0, 0
		}, true, "Keeps up with 2400 orders a minute"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := fine
			tc.edit(&rep)
			require.Equal(t, tc.keptUp, rehearsal.KeptUp(rep))
			require.Contains(t, rehearsal.Verdict(r, rep, 0), tc.want)
		})
	}
}

// The kept rehearsals of a store read together: the heaviest load that kept
// up, and how far the lightest heavier one fell behind.
func TestRehearsalsSummary(t *testing.T) {
	t.Parallel()
	kept := func(id, shop int64, state string, rate, synced, lag float64) store.Rehearsal {
		rep := store.RehearsalReport{AskedOrdersPerMin: rate, SentOrdersPerMin: rate, OrdersSent: 100, WebhooksAccepted: 100,
			AnswerP99Ms: 20, Drained: true, MaxLagSec: lag, Variants: 20, Targets: []string{"Demo Odoo"}, OrdersSynced: 100,
			SyncedOrdersPerMin: synced}
		b, err := json.Marshal(rep)
		require.NoError(t, err)
		return store.Rehearsal{ID: id, ConnectionID: shop, State: state, OrdersPerMin: rate, ReportJSON: b}
	}
	intakeOnly := kept(9, 1, store.RehearsalFinished, 9000, 0, 0)
	intakeOnly.ReportJSON = []byte(`{"asked_orders_per_min": 9000, "sent_orders_per_min": 9000, "orders_sent": 10, "drained": true}`)
	cases := []struct {
		name string
		rs   []store.Rehearsal
		hour int
		want string
	}{
		{"nothing kept yet", nil, 0, ""},
		{"a limit found, against the busiest hour", []store.Rehearsal{
			kept(5, 1, store.RehearsalFinished, 3000, 2100, 240), // 5×: behind
			kept(4, 1, store.RehearsalFinished, 1800, 1795, 0.5), // 3×: keeps up
			kept(3, 1, store.RehearsalFinished, 600, 600, 0),
			kept(2, 1, store.RehearsalCancelled, 2400, 2400, 0),
			kept(1, 2, store.RehearsalFinished, 2400, 2400, 1), // another store
			intakeOnly,
		}, 36000, "Keeps up with 3× your busiest hour (1800 orders a minute); at 5× your busiest hour (3000 orders a minute) the queue lagged 4 minutes behind and orders reached Demo Odoo at 2100 a minute."},
		{"no limit found yet", []store.Rehearsal{kept(2, 1, store.RehearsalFinished, 600, 600, 0), kept(1, 1, store.RehearsalFinished, 300, 300, 0)}, 0,
			"Keeps up with 600 orders a minute, the heaviest rehearsal so far: try a heavier one to find the limit."},
		{"nothing kept up", []store.Rehearsal{kept(2, 1, store.RehearsalFinished, 4800, 1000, 81), kept(1, 1, store.RehearsalFinished, 3600, 2000, 21)}, 0,
			"No rehearsal kept up yet: at 3600 orders a minute, the lightest so far, the queue lagged 21 s behind and orders reached Demo Odoo at 2000 a minute. Try a lighter load to find what it keeps up with."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, rehearsal.Summary(tc.rs, tc.hour))
		})
	}
}
