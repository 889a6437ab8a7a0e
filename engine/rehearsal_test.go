package engine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
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
			require.Equal(t, tc.keptUp, engine.KeptUp(rep))
			require.Contains(t, engine.RehearsalVerdict(r, rep, 0), tc.want)
		})
	}
}
