package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
)

// A stock location of Odoo is not mapped: its stock failed to reach Shopify.
// An operator proposes the location's mapping, another admin approves it on
// its page; Crossdock tries again that location's failure only (not the
// price failure between the same systems), the new attempt succeeds, and the
// proposed change's page says "1 tried again: 1 fixed"; the cause is gone
// from Failed syncs, and the failure says one status and who did it.
//
// The web tests do not run the sync engine's workers: the follow-up and the
// bulk replay's step are run as their jobs run them, and the new attempt is
// marked succeeded as the worker would (engine tests run it for real:
// TestApprovalTriesAgainOnlyWhatItMaps).
func TestBrowserApprovalFixesTheLocationCause(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	loc := store.NewSync{Family: "inventory", Direction: "odoo_to_shopify", Flow: "inventory.odoo_shopify",
		SourceConnectionID: e.odoo.ID, TargetConnectionID: e.shop.ID, Trigger: store.TriggerSweep, EntityType: "inventory_level",
		EntityRef: "location:5", EntityKey: "30 stock levels at WH2/Stock", SearchKeys: []string{"WH2/Stock"},
		Payload: map[string]any{"odoo_location_id": 5}, IdempotencyKey: "stock-wh2", MaxAttempts: 8,
		Status: vocab.SyncFailed, ErrorClass: vocab.ClassUnmapped,
		Message:  "The Odoo location WH2/Stock is not mapped to a Shopify location yet. Map it on the Mappings page, then try this sync again.",
		Response: store.UnmappedResponse("location", []string{"5"})}
	price := store.NewSync{Family: "prices", Direction: "odoo_to_shopify", Flow: "prices.odoo_shopify",
		SourceConnectionID: e.odoo.ID, TargetConnectionID: e.shop.ID, Trigger: store.TriggerSweep, EntityType: "variant_prices",
		EntityRef: "product:77", EntityKey: "Price of SKU-000077-RED", SearchKeys: []string{"SKU-000077-RED"},
		Payload: map[string]any{"items": []any{}}, IdempotencyKey: "price-77", MaxAttempts: 8,
		Status: vocab.SyncFailed, ErrorClass: vocab.ClassUnmapped,
		Message:  "SKU-000077-RED is not mapped to a Shopify variant yet. Map it on the Mappings page, then try this sync again.",
		Response: store.UnmappedResponse("variant", []string{"77"})}
	ids := e.insert(t, loc, price)

	// The operator proposes the mapping of the location; another admin
	// approves it on its page.
	opUser := e.env.Users[vocab.RoleOperator]
	cs, err := e.env.Store.CreateChangeSet(ctx, store.Actor{UserID: opUser.ID, Label: opUser.Email}, store.NewChangeSet{
		Reason: "WH2 is the back store", Items: []store.ItemInput{
			{EntityType: "location", ConnectionID: e.odoo.ID, EntityKey: "WH2/Stock", ExternalID: "5"},
			{EntityType: "location", ConnectionID: e.shop.ID, EntityKey: "WH2/Stock", ExternalID: "gid://shopify/Location/9"}}})
	require.NoError(t, err)
	_, err = e.env.Store.SubmitChangeSet(ctx, store.Actor{UserID: opUser.ID, Label: opUser.Email}, cs.ID)
	require.NoError(t, err)
	csPath := fmt.Sprintf("/mappings/change-sets/%d", cs.ID)
	adm := browsertest.Tab(t)
	signIn(t, adm, e.env, e.env.Users[vocab.RoleAdmin].Email)
	approve := `form[action$="/approve"] button[type="submit"]`
	require.NoError(t, chromedp.Do(adm,
		chromedp.Navigate(e.env.URL+csPath),
		chromedp.WaitVisible(chromedp.CSS(approve)),
		chromedp.Click(chromedp.CSS(approve)),
		chromedp.WaitNotPresent(chromedp.CSS(approve)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))

	// The follow-up, and the bulk replay's steps, as their jobs run them.
	batches, err := e.env.Engine.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, batches, 1)
	b := batches[0]
	n, err := e.env.Store.TakeReplayFailures(ctx, b)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the location's failure only, not the price failure")
	next, err := e.env.Store.NextReplayFailures(ctx, b.ID, 1000)
	require.NoError(t, err)
	require.Equal(t, []int64{ids[0]}, next)
	admin := e.env.Users[vocab.RoleAdmin]
	reps, err := e.env.Store.ReplayFailures(ctx, store.Actor{UserID: admin.ID, Label: "Crossdock, on behalf of " + admin.Name},
		next, b.ID, 1, 1)
	require.NoError(t, err)
	require.Len(t, reps, 1)
	// The proposed change says it while the new attempt waits...
	op := browsertest.Tab(t)
	signIn(t, op, e.env, opUser.Email)
	require.NoError(t, chromedp.Do(op, chromedp.Navigate(e.env.URL+csPath), chromedp.WaitVisible(chromedp.CSS("#fix-result"))))
	result, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#fix-result")))
	require.NoError(t, err)
	require.Equal(t, "1 tried again: 0 fixed, 1 waiting for the result — follow them", strings.Join(strings.Fields(result), " "))
	// ...and once it went through.
	_, err = e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET status = 'succeeded', finished_at = now(), attempts = 1,
  message = '30 stock levels sent from WH2/Stock to Main store.' WHERE id = $1`, reps[0].ID)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(op, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#fix-result"))))
	result, err = chromedp.Run(op, chromedp.Text(chromedp.CSS("#fix-result")))
	require.NoError(t, err)
	require.Equal(t, "1 tried again: 1 fixed", strings.Join(strings.Fields(result), " "))
	browsertest.ScreenshotWidths(t, op, "approval-result")

	// The cause is gone from Failed syncs; the price failure stays.
	require.NoError(t, chromedp.Do(op, chromedp.Navigate(e.env.URL+"/failed"), chromedp.WaitVisible(chromedp.CSS("main"))))
	text := pageText(t, op)
	require.NotContains(t, text, "WH2/Stock")
	require.Contains(t, text, "SKU-000077-RED")
	browsertest.ScreenshotWidths(t, op, "approval-failed-after")

	// The failure: one status, and who tried it again.
	require.NoError(t, chromedp.Do(op, chromedp.Navigate(fmt.Sprintf("%s/syncs/%d", e.env.URL, ids[0])), chromedp.WaitVisible(chromedp.CSS("#failure"))))
	status, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#sync-status")))
	require.NoError(t, err)
	require.Equal(t, "Tried again — fixed", strings.TrimSpace(status))
	who, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#failure-resolution")))
	require.NoError(t, err)
	require.Contains(t, who, fmt.Sprintf("Tried again automatically after %s approved proposed change #%d", admin.Name, cs.ID))
	text = pageText(t, op)
	require.NotContains(t, text, "Replayed")
	require.NotContains(t, text, "Tried again by hand")
	browsertest.ScreenshotWidths(t, op, "approval-failure-detail")

	// The new attempt says who started it.
	require.NoError(t, chromedp.Do(op, chromedp.Navigate(fmt.Sprintf("%s/syncs/%d", e.env.URL, reps[0].ID)), chromedp.WaitVisible(chromedp.CSS("#failure"))))
	started, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#failure-started-by")))
	require.NoError(t, err)
	require.Contains(t, started, fmt.Sprintf("Tried again automatically after %s approved proposed change #%d", admin.Name, cs.ID))
	browsertest.ScreenshotWidths(t, op, "approval-new-attempt")
}
