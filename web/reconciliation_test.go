package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

type reconEnv struct {
	env        *webtest.Env
	shop, odoo store.Connection
	run        int64
}

// reconSetup starts a console with two systems, the inventory rule, one
// finished run and the discrepancies it found (as a run would write them).
func reconSetup(t *testing.T) reconEnv {
	t.Helper()
	env := webtest.Start(t)
	shop, odoo := sourceSystems(t, env)
	_, err := env.Store.SaveSourceRule(t.Context(), store.SystemActor("test"), store.SourceRuleInput{Family: vocab.Inventory,
		Master: odoo.ID, Receivers: []int64{shop.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)
	e := reconEnv{env: env, shop: shop, odoo: odoo}
	db := env.Store.DB
	for i, differ := range []int{4, 2} {
		require.NoError(t, db.Get(&e.run, `INSERT INTO recon_runs (family, trigger, requested_by, status, started_at, finished_at, compared, differing)
VALUES ('inventory', 'manual', 'test', 'succeeded', now() - interval '1 minute', now(), 1000, $1) RETURNING id`, differ))
		_ = i
	}
	_, err = db.Exec(`INSERT INTO discrepancies (family, kind, key, master_connection_id, other_connection_id, label, master_value, other_value, size, detail, first_run_id, last_run_id)
VALUES ('inventory', 'stock', 'k1', $1, $2, 'CHAIR-RED at WH/Stock', '12', '5', 7,
  '{"sku": "CHAIR-RED", "location": "WH/Stock", "odoo_product_id": "42", "odoo_location_id": "5", "on_hand": 14, "available": 12}', $3, $3),
  ('inventory', 'stock', 'k2', $1, $2, '=HYPERLINK("x") at WH/Stock', '3', '4', 1, '{}', $3, $3)`, odoo.ID, shop.ID, e.run)
	require.NoError(t, err)
	return e
}

func (e reconEnv) disc(t *testing.T, key string) store.Discrepancy {
	t.Helper()
	var id int64
	require.NoError(t, e.env.Store.DB.Get(&id, `SELECT id FROM discrepancies WHERE key = $1`, key))
	d, err := e.env.Store.DiscrepancyByID(t.Context(), id)
	require.NoError(t, err)
	return d
}

func TestReconciliationPagesListFilterAndExport(t *testing.T) {
	t.Parallel()
	e := reconSetup(t)
	c := e.env.SignIn(t, vocab.RoleFinance)

	res, body := c.Get("/reconciliation")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Stock levels")
	require.NotContains(t, body, "Compare stock levels now", "finance does not start runs")

	res, body = c.Get(fmt.Sprintf("/reconciliation/runs/%d", e.run))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, `class="trend-chart"`)
	require.Contains(t, body, "Differences in the last 2 runs: from 4 to 2.")

	res, body = c.Get("/reconciliation/discrepancies?family=inventory&min=5")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "CHAIR-RED at WH/Stock")
	require.NotContains(t, body, "HYPERLINK", "the size filter leaves out the smaller one")
	_, body = c.Get("/reconciliation/discrepancies?status=resolved")
	require.NotContains(t, body, "CHAIR-RED")
	require.Contains(t, body, "No discrepancy matches these filters")
	_, body = c.Get("/reconciliation/discrepancies?status=nonsense")
	require.Contains(t, body, "Some filters were not understood")

	res, csv := c.Get("/reconciliation/discrepancies.csv?family=inventory&status=open")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Disposition"), `discrepancies_family-inventory_status-open.csv`)
	require.Contains(t, csv, "CHAIR-RED at WH/Stock")
	require.Contains(t, csv, `'=HYPERLINK`, "a formula is defused")
	require.Equal(t, 3, strings.Count(strings.TrimSpace(csv), "\n")+1, "a header and two rows")
}

func TestReconciliationActionsAreAuditedAndChecked(t *testing.T) {
	t.Parallel()
	e := reconSetup(t)
	d := e.disc(t, "k1")
	fin := e.env.SignIn(t, vocab.RoleFinance)
	path := fmt.Sprintf("/reconciliation/discrepancies/%d", d.ID)

	// Acknowledging needs a note; nothing changes without one.
	res := fin.PostForm(path+"/acknowledge", url.Values{"note": {"  "}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := fin.Get(path)
	require.Contains(t, body, "Say what you found")
	require.Equal(t, store.DiscOpen, e.disc(t, "k1").Status)

	res = fin.PostForm(path+"/acknowledge", url.Values{"note": {"Stock count on Monday"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got := e.disc(t, "k1")
	require.Equal(t, store.DiscAcknowledged, got.Status)
	require.Contains(t, got.Note, "Stock count on Monday")

	res = fin.PostForm(path+"/assign", url.Values{"assignee": {fmt.Sprint(e.env.Users[vocab.RoleOperator].ID)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, e.env.Users[vocab.RoleOperator].ID, *e.disc(t, "k1").AssigneeID)

	// Finance may not push values into a system.
	res = fin.PostForm(path+"/push", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	// An operator sends Odoo's value: a manual inventory sync, and the discrepancy is resolved.
	op := e.env.SignIn(t, vocab.RoleOperator)
	_, body = op.Get(path)
	require.Contains(t, body, "Send 12 to Main store")
	res = op.PostForm(path+"/push", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got = e.disc(t, "k1")
	require.Equal(t, store.DiscResolved, got.Status)
	require.NotNil(t, got.SyncID)
	s, err := e.env.Store.SyncByID(t.Context(), *got.SyncID)
	require.NoError(t, err)
	require.Equal(t, vocab.Inventory, s.Family)
	require.Equal(t, store.TriggerManual, s.Trigger)
	require.Equal(t, e.odoo.ID, s.SourceConnectionID)
	require.Equal(t, e.shop.ID, s.TargetConnectionID)
	require.Contains(t, string(s.Payload), `"quantity": 14, "reserved": 2`)
	// A second push is refused with a sentence; nothing else is queued.
	res = op.PostForm(path+"/push", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get(path)
	require.Contains(t, body, "already closed")

	// Ignoring needs a reason.
	d2 := e.disc(t, "k2")
	res = fin.PostForm(fmt.Sprintf("/reconciliation/discrepancies/%d/ignore", d2.ID), url.Values{"note": {"Display units"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, store.DiscIgnored, e.disc(t, "k2").Status)

	var actions []string
	require.NoError(t, e.env.Store.DB.Select(&actions, `SELECT action FROM audit_log WHERE object_type = 'discrepancy' ORDER BY id`))
	require.Equal(t, []string{"discrepancy.acknowledge", "discrepancy.assign", "discrepancy.resolved", "discrepancy.ignore"}, actions)
}
