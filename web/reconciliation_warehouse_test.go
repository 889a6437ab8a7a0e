package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// warehouseSetup starts a console with a shop and a warehouse, and the
// syncs of three orders sent to it: #1043 four days ago, not shipped;
// #1044 five days ago, shipped; #1045 a day ago.
func warehouseSetup(t *testing.T) (*webtest.Env, store.Connection) {
	t.Helper()
	env := webtest.Start(t)
	shop, _ := sourceSystems(t, env)
	sb := shipbobConnection(t, env, "")
	db := env.Store.DB
	day := 24 * time.Hour
	for _, o := range []struct {
		number, sbID string
		sent         time.Duration
	}{{"1043", "501", 4*day + time.Hour}, {"1044", "502", 5 * day}, {"1045", "503", day}} {
		_, err := db.Exec(`INSERT INTO syncs (created_at, updated_at, family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, entity_key, status, payload, idempotency_key, target_ref, attempts, max_attempts)
VALUES (now() - $1 * interval '1 second', now() - $1 * interval '1 second', 'orders', 'shopify_to_shipbob', 'orders.shopify_shipbob', $2, $3,
  'webhook', 'order', 'gid://shopify/Order/' || $4, '#' || $4, 'succeeded', '{}', 'o' || $4, $5, 1, 8)`,
			o.sent.Seconds(), shop.ID, sb.ID, o.number, o.sbID)
		require.NoError(t, err)
	}
	_, err := db.Exec(`INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id, trigger, entity_type,
  entity_ref, entity_key, status, idempotency_key, attempts, max_attempts)
VALUES ('fulfillments', 'shipbob_to_shopify', 'shipments.shipbob_shopify', $1, $2, 'webhook', 'shipbob_order', '502', 'Shipments of order #1044',
  'succeeded', 's502', 1, 8)`, sb.ID, shop.ID)
	require.NoError(t, err)

	return env, sb
}

// An order the warehouse has had for days without shipping it is listed on
// the reconciliation page in words, after a comparison an operator asks for;
// a shipped one and a recent one are not.
func TestReconciliationListsOrdersTheWarehouseHasNotShipped(t *testing.T) {
	t.Parallel()
	env, sb := warehouseSetup(t)
	op := env.SignIn(t, vocab.RoleOperator)
	_, body := op.Get("/reconciliation")
	require.Contains(t, body, "Orders at the warehouse")
	require.Contains(t, body, "Compare orders at the warehouse now")
	op.RefreshCSRF("/reconciliation")
	res := op.PostForm("/reconciliation/runs", url.Values{"family": {store.ReconWarehouse}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/reconciliation/runs/"), loc)
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/reconciliation/runs/"), 10, 64)
	require.NoError(t, err)
	run, err := env.Recon.Reconcile(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, store.RunSucceeded, run.Status, run.Message)
	require.EqualValues(t, 2, run.Compared)
	require.EqualValues(t, 1, run.Differing)

	fin := env.SignIn(t, vocab.RoleFinance)
	res, body = fin.Get("/reconciliation/discrepancies?family=warehouse")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Order #1043 has not shipped 4 days after it was sent to "+sb.Name)
	require.Contains(t, body, "Order not shipped by the warehouse")
	require.NotContains(t, body, "#1044")
	require.NotContains(t, body, "#1045")
	require.NotContains(t, body, "gid://")

	// An admin raises the days to 5: the next comparison resolves #1043 (4 days).
	adm := env.SignIn(t, vocab.RoleAdmin)
	_, body = adm.Get("/reconciliation")
	require.Contains(t, body, "Late after")
	require.Contains(t, body, `name="late_after_days" type="number" min="1" max="60" value="3"`)
	adm.RefreshCSRF("/reconciliation")
	// A NUL byte is refused before the handler, as every form is.
	res, _ = adm.PostFormBody("/reconciliation/warehouse", url.Values{"late_after_days": {"3\x00"}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	for _, bad := range []string{"0", "61", "abc", "2.5", strings.Repeat("9", 5000)} {
		res, _ := adm.PostFormBody("/reconciliation/warehouse", url.Values{"late_after_days": {bad}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, bad)
		_, body = adm.Get("/reconciliation")
		require.Contains(t, body, "Enter a number of days between 1 and 60.", bad)
		require.Contains(t, body, `value="3"`, bad)
	}
	res = adm.PostForm("/reconciliation/warehouse", url.Values{"late_after_days": {"5"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = adm.Get("/reconciliation")
	require.Contains(t, body, "not shipped after 5 days")
	require.Contains(t, body, `max="60" value="5"`)
	run, err = env.Recon.RequestReconciliation(t.Context(), store.ReconWarehouse, "manual", "test")
	require.NoError(t, err)
	run, err = env.Recon.Reconcile(t.Context(), run.ID)
	require.NoError(t, err)
	require.EqualValues(t, 0, run.Differing, run.Message)
	require.EqualValues(t, 1, run.Closed)
	_, body = fin.Get("/reconciliation/discrepancies?family=warehouse&status=open")
	require.NotContains(t, body, "#1043")
}

// An admin sees the warehouse card with its days, opens the late order from
// the list and acknowledges it, as with every discrepancy.
func TestBrowserReconciliationWarehouseOrder(t *testing.T) {
	t.Parallel()
	env, sb := warehouseSetup(t)
	run, err := env.Recon.RequestReconciliation(t.Context(), store.ReconWarehouse, "manual", "test")
	require.NoError(t, err)
	_, err = env.Recon.Reconcile(t.Context(), run.ID)
	require.NoError(t, err)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, "admin@shop.test")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/reconciliation"),
		chromedp.ScrollIntoView(chromedp.CSS("#recon-warehouse")),
	))
	browsertest.ScreenshotWidths(t, ctx, "recon-warehouse-card")
	text := pageText(t, ctx)
	require.Contains(t, text, "Late after")
	label := "Order #1043 has not shipped 4 days after it was sent to " + sb.Name
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/reconciliation/discrepancies?family=warehouse"),
		chromedp.WaitVisible(chromedp.CSS("#discrepancies table")),
	))
	browsertest.ScreenshotWidths(t, ctx, "recon-warehouse-list")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[text()="`+label+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#disc-actions")),
	))
	browsertest.ScreenshotWidths(t, ctx, "recon-warehouse-disc")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#ack-note"), "Asked the warehouse"),
		chromedp.Click(chromedp.Search(`//button[text()="Acknowledge"]`)),
		chromedp.WaitVisible(chromedp.CSS("#disc-note")),
	))
	text = pageText(t, ctx)
	require.Contains(t, text, "Asked the warehouse")
	require.Contains(t, text, label)
	require.NotContains(t, text, "gid://")
}
