package web_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
)

// Orders failed because their Shopify variants are not mapped in Odoo. The
// operator proposes the missing mappings from the cause on Failed syncs,
// checks the draft and submits it; an admin approves it; once the follow-up
// has run, the change set leads to the bulk replay of the failures it fixes.
func TestBrowserFailedProposeMissingMappings(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	const blue, red, green = "gid://shopify/ProductVariant/1", "gid://shopify/ProductVariant/2", "gid://shopify/ProductVariant/3"
	missing := map[string]string{"#6001": blue, "#6002": blue, "#6003": red, "#6004": green}
	sku := map[string]string{blue: "SKU-BLUE", red: "SKU-RED", green: "SKU-GREEN"}
	var rows []store.NewSync
	for _, ref := range []string{"#6001", "#6002", "#6003", "#6004"} {
		rows = append(rows, e.failure(ref, vocab.ClassUnmapped,
			ref+" cannot be sent to Odoo: "+sku[missing[ref]]+" is not mapped to an Odoo product yet.", ref, sku[missing[ref]]))
	}
	ids := e.insert(t, rows...)
	for i, ref := range []string{"#6001", "#6002", "#6003", "#6004"} {
		_, err := e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET response = $2 WHERE id = $1`, ids[i],
			`{"unmapped": {"entity_type": "variant", "external_ids": ["`+missing[ref]+`"]}}`)
		require.NoError(t, err)
	}
	now := time.Now()
	_, err := e.env.Store.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{
		{ExternalID: blue, SKU: "SKU-BLUE", SeenAt: now}, {ExternalID: red, SKU: "SKU-RED", SeenAt: now}, {ExternalID: green, SKU: "SKU-GREEN", SeenAt: now}})
	require.NoError(t, err)
	// Odoo has counterparts for the blue and red variants, not the green one.
	_, err = e.env.Store.UpsertExternalRecords(ctx, e.odoo.ID, "variant", []store.ExternalRecord{
		{ExternalID: "41", SKU: "SKU-BLUE", SeenAt: now}, {ExternalID: "42", SKU: "SKU-RED", SeenAt: now}})
	require.NoError(t, err)

	// The cause, with its button, in the causes table.
	op := browsertest.Tab(t)
	signIn(t, op, e.env, e.env.Users[vocab.RoleOperator].Email)
	propose := `#failed-groups form[action="/failed/propose-mappings"] button`
	require.NoError(t, chromedp.Do(op,
		chromedp.Navigate(e.env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS(propose)),
	))
	browsertest.Screenshot(t, op, "failed-propose-causes")
	cause, err := chromedp.Run(op, chromedp.Text(chromedp.CSS(`#failed-groups tbody tr:has(form[action="/failed/propose-mappings"])`)))
	require.NoError(t, err)
	require.Contains(t, cause, "4 syncs of orders from Main store to Odoo failed because records are not mapped in Odoo (4 orders)")
	require.Contains(t, cause, "Propose the missing mappings")

	// A real click on it: the draft change set of the matched records.
	submit := `form[action$="/submit"] button`
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(propose)),
		chromedp.WaitVisible(chromedp.CSS(submit)),
	))
	loc, err := chromedp.Run(op, chromedp.Location())
	require.NoError(t, err)
	i := strings.Index(loc, "/mappings/change-sets/")
	require.GreaterOrEqual(t, i, 0, loc)
	csPath := loc[i:]
	csID, err := strconv.ParseInt(strings.TrimPrefix(csPath, "/mappings/change-sets/"), 10, 64)
	require.NoError(t, err, loc)
	browsertest.Screenshot(t, op, "failed-propose-draft")
	text := pageText(t, op)
	require.Contains(t, text, "Crossdock matched 2 of the 3 missing records; those without a match (1) are left out")
	require.Contains(t, text, "Once an admin approves it, the failures it fixes are tried again by themselves")
	diff, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#diff")))
	require.NoError(t, err)
	require.Contains(t, diff, "SKU-BLUE")
	require.Contains(t, diff, "SKU-RED")
	require.NotContains(t, text, "SKU-GREEN", "no counterpart in Odoo: left out")

	// Submitted with the page's own button; the proposer cannot approve it.
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS(submit)),
		// The draft page had a success banner too: wait for the page after the post.
		chromedp.WaitNotPresent(chromedp.CSS(`form[action$="/submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	text = pageText(t, op)
	require.Contains(t, text, "wait for an admin's approval")
	require.Contains(t, text, "Waiting for approval")
	require.NotContains(t, text, "Approve and apply", "the proposer is not offered approval")

	// An admin, in a browser of their own, approves it.
	adm := browsertest.Tab(t)
	signIn(t, adm, e.env, e.env.Users[vocab.RoleAdmin].Email)
	approve := `form[action$="/approve"] button[type="submit"]`
	require.NoError(t, chromedp.Do(adm,
		chromedp.Navigate(e.env.URL+csPath),
		chromedp.WaitVisible(chromedp.CSS(approve)),
		chromedp.SendKeys(chromedp.CSS("#a-comment"), "Same SKUs on both sides"),
		chromedp.Click(chromedp.CSS(approve)),
		chromedp.WaitNotPresent(chromedp.CSS(approve)),
		chromedp.WaitVisible(chromedp.CSS(".banner-success")),
	))
	require.Contains(t, pageText(t, adm), "applied as mapping version")
	noFollowUp, err := chromedp.Run(adm, chromedp.Evaluate[bool](`document.querySelector("#follow-up") === null`))
	require.NoError(t, err)
	require.True(t, noFollowUp, "nothing to say before the follow-up")

	// The tests do not start the engine's scheduler: run what its periodic
	// follow_approvals job runs.
	batches, err := e.env.Engine.FollowApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, batches, 1)
	batch := batches[0]
	require.NotNil(t, batch.ChangeSetID)
	require.Equal(t, csID, *batch.ChangeSetID)
	// And its job's first step: the batch queues the failures the change set
	// fixes (SKU-BLUE twice, SKU-RED), not SKU-GREEN's.
	queued, err := e.env.Store.TakeReplayFailures(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, 3, queued)
	// Until the batch comes to them, the failures say where they wait.
	require.NoError(t, chromedp.Do(op,
		chromedp.Navigate(e.env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS("#failed-list")),
		chromedp.ScrollIntoView(chromedp.CSS("#failed-list")),
	))
	browsertest.Screenshot(t, op, "failed-propose-queued")
	waiting, err := chromedp.Run(op, chromedp.Evaluate[int](`document.querySelectorAll("#failed-list tbody tr .hint a[href$='/failed/batches/`+fmt.Sprint(batch.ID)+`']").length`))
	require.NoError(t, err)
	require.Equal(t, 3, waiting, "the three failures it fixes, not SKU-GREEN's")

	// The operator comes back to the change set: what became of the failures,
	// and the way to their replay.
	require.NoError(t, chromedp.Do(op,
		chromedp.Navigate(e.env.URL+csPath),
		chromedp.WaitVisible(chromedp.CSS("#diff")),
	))
	browsertest.Screenshot(t, op, "failed-propose-follow-up")
	// The page is loaded: read it as it is (AtLeast(0)), so that a missing
	// part fails now instead of being waited for.
	decision, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#decision"), chromedp.AtLeast(0)))
	require.NoError(t, err)
	decidedAt, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#decision time"), chromedp.AtLeast(0)))
	require.NoError(t, err)
	require.Contains(t, decision, e.env.Users[vocab.RoleAdmin].Name+" "+decidedAt, "who decided and when, apart")
	require.Contains(t, decision, "Same SKUs on both sides", "the approver's comment")
	followUp, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#follow-up"), chromedp.AtLeast(0)))
	require.NoError(t, err)
	followedAt, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#follow-up time"), chromedp.AtLeast(0)))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("3 tried again: 0 fixed, 3 waiting for the result — follow them %s", followedAt), strings.Join(strings.Fields(followUp), " "))
	require.NoError(t, chromedp.Do(op,
		chromedp.Click(chromedp.CSS("#follow-up a")),
		chromedp.WaitVisible(chromedp.CSS("#batch-counts")),
	))
	loc, err = chromedp.Run(op, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(loc, fmt.Sprintf("/failed/batches/%d", batch.ID)), loc)
	browsertest.Screenshot(t, op, "failed-propose-batch")
	text = pageText(t, op)
	require.Contains(t, text, fmt.Sprintf("failed syncs (#%d)", batch.ID))
	require.Contains(t, text, fmt.Sprintf("Started by itself after proposed change #%d was approved.", csID))
	require.Contains(t, text, "Trying again")
	counts, err := chromedp.Run(op, chromedp.Text(chromedp.CSS("#batch-counts"), chromedp.AtLeast(0)))
	require.NoError(t, err)
	require.Regexp(t, `Failures queued\s*3\s*Waiting or running\s*3`, counts)
}
