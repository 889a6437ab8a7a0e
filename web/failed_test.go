package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
)

func (e syncsEnv) failure(ref string, class vocab.ErrorClass, msg string, keys ...string) store.NewSync {
	s := e.order(ref, keys...)
	s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, class, msg
	return s
}

func TestFailedConsoleGroupsFiltersAndResolves(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ids := e.insert(t,
		e.failure("#1001", vocab.ClassUnmapped, "#1001 cannot be sent to Odoo: SKU-RED is not mapped to an Odoo product yet.", "#1001", "sku-red"),
		e.failure("#1002", vocab.ClassValidation, "Odoo refused the change: customer 41 has no country.", "#1002"),
		e.failure("#1003", vocab.ClassValidation, "Odoo refused the change: customer 42 has no country.", "#1003"),
	)
	op := e.env.SignIn(t, vocab.RoleOperator)
	res, body := op.Get("/failed")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, `href="/failed" aria-current="page"`, "the nav marks Failed syncs, ready")
	require.Contains(t, body, "2 syncs of orders from Main store to Odoo were refused: Odoo refused the change: customer … has no country.")
	require.Contains(t, body, "1 sync of orders from Main store to Odoo failed because records are not mapped in Odoo (1 order)")
	require.Contains(t, body, "3 failures match.")
	require.Contains(t, body, `hx-trigger="every 10s"`, "the list refreshes itself")
	require.Contains(t, body, "Try again all 3 matching failures")
	require.NotContains(t, body, "style=", "no inline styles (CSP)")
	require.NotContains(t, body, "Settings of failed syncs", "settings are for admins")

	// Filtered and searched; the htmx refresh returns only the list.
	_, body = op.Get("/failed?q=SKU-RED")
	require.Contains(t, body, "1 failure matches.")
	require.Contains(t, body, "#1001")
	require.NotContains(t, body, "#1002")
	_, body = op.Get("/failed?class=validation&part=list")
	require.True(t, strings.HasPrefix(strings.TrimSpace(body), `<section class="card table-wrap" id="failed-list"`), body[:min(200, len(body))])
	require.Contains(t, body, "2 failures match.")
	_, body = op.Get("/failed?class=nonsense")
	require.Contains(t, body, "Some filters were not understood and are ignored (kind of problem)")

	// Resolving needs a note; with one, it is resolved, audited and listed as such.
	res, _ = op.PostFormBody("/failed/resolve", url.Values{"id": {fmt.Sprint(ids[1])}, "note": {""}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get("/failed")
	require.Contains(t, body, "Say how these failures were resolved. Nothing was changed.")
	res, _ = op.PostFormBody("/failed/ignore", url.Values{"id": {fmt.Sprint(ids[1]), fmt.Sprint(ids[2])}, "note": {"Test orders from the warehouse"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get("/failed")
	require.Contains(t, body, "2 failures marked ignored.")
	require.Contains(t, body, "1 failure matches.")
	_, body = op.Get("/failed?status=ignored")
	require.Contains(t, body, "Test orders from the warehouse")
	require.Contains(t, body, ">Ignored<")

	// The sync's page puts the failure first, with its fix and the versions.
	res, body = op.Get(fmt.Sprintf("/syncs/%d?from=failed", ids[0]))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Orders #1001 could not be sent from Main store to Odoo, because a record in it is not mapped in Odoo yet.")
	require.Contains(t, body, `id="replay-one">Try again</button>`)
	require.Contains(t, body, "version 0 (now 0)")
	require.NotContains(t, body, "Edit the data and try again", "edit and try again is for admins")
	_, body = e.env.SignIn(t, vocab.RoleAdmin).Get(fmt.Sprintf("/syncs/%d", ids[0]))
	require.Contains(t, body, "Edit the data and try again")

	// Finance has no access to the area.
	res, _ = e.env.SignIn(t, vocab.RoleFinance).Get("/failed")
	require.Equal(t, http.StatusForbidden, res.StatusCode)
}

func TestFailedReplaySelectionStartsABulkReplay(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ids := e.insert(t, e.failure("#2001", vocab.ClassTransient, "Odoo was unavailable."))
	op := e.env.SignIn(t, vocab.RoleOperator)
	res, _ := op.PostFormBody("/failed/replay", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/failed", res.Header.Get("Location"))

	res, _ = op.PostFormBody("/failed/replay", url.Values{"id": {fmt.Sprint(ids[0])}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/failed/batches/"), loc)
	res, body := op.Get(loc)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "1 ticked failure")
	require.Contains(t, body, "Stop trying these again", "the engine is not running here, so the batch waits and can be cancelled")
	require.Contains(t, body, `hx-trigger="every 2s"`, "progress refreshes itself")
	require.Contains(t, body, "Finding them…", "its failures are not queued yet")

	// Its job's first step, as the engine would run it: the failure is
	// queued, not replayed yet.
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/failed/batches/"), 10, 64)
	require.NoError(t, err)
	b, err := e.env.Store.ReplayBatchByID(t.Context(), id)
	require.NoError(t, err)
	_, err = e.env.Store.TakeReplayFailures(t.Context(), b)
	require.NoError(t, err)
	_, body = op.Get(loc)
	require.Contains(t, body, ">Trying again<")
	require.Regexp(t, `<dt>Failures queued</dt><dd>1</dd><dt>Waiting or running</dt><dd>1</dd>`, body)
	// The failure, still open, says where it waits, in the list and on its page.
	queued := fmt.Sprintf(`Waiting to be tried again with others: <a href="%s">trying again in bulk #%d</a>`, loc, id)
	_, body = op.Get("/failed")
	require.Contains(t, body, queued)
	_, body = op.Get(fmt.Sprintf("/syncs/%d", ids[0]))
	require.Contains(t, body, queued)

	op.RefreshCSRF(loc)
	res, _ = op.PostFormBody(loc+"/cancel", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get(res.Header.Get("Location"))
	require.Contains(t, body, ">Cancelled<")
	require.Contains(t, body, "Stopped: 1 failure not tried again yet stays open.")
	require.NotContains(t, body, "Stop trying these again")
	require.Regexp(t, `<dt>Waiting or running</dt><dd>0</dd>`, body)
	s, err := e.env.Store.FailedSyncByID(t.Context(), ids[0])
	require.NoError(t, err)
	require.Nil(t, s.ResolvedAt, "the failure was never claimed and stays open")
	_, body = op.Get("/failed")
	require.NotContains(t, body, "Waiting to be tried again with others")
}

func TestBrowserFailedConsole(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	var rows []store.NewSync
	for i := range 12 {
		rows = append(rows, e.failure(fmt.Sprintf("#30%02d", i), vocab.ClassUnmapped,
			fmt.Sprintf("#30%02d cannot be sent to Odoo: SKU-%d is not mapped to an Odoo product yet. Map it on the Mappings page, then try this order again.", i, i%3)))
	}
	rows = append(rows, e.failure("#3100", vocab.ClassValidation, "Odoo refused the change: customer 7 has no country."))
	e.insert(t, rows...)
	ctx := browsertest.Tab(t)
	signIn(t, ctx, e.env, e.env.Users[vocab.RoleOperator].Email)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.env.URL+"/failed"),
		chromedp.WaitVisible(chromedp.CSS("#failed-groups")),
	))
	browsertest.Screenshot(t, ctx, "failed-console")
	text := pageText(t, ctx)
	require.Contains(t, text, "12 syncs of orders from Main store to Odoo failed because records are not mapped in Odoo (12 orders)")

	// A new failure appears without reloading: the list refreshes itself.
	e.insert(t, e.failure("#9999", vocab.ClassAuth, "Odoo refused Crossdock's access token."))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#failed-count").textContent.includes("14 failures")`,
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err)
	require.Contains(t, pageText(t, ctx), "#9999")

	// Open a failure: the plain summary comes first.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#failed-list tbody tr:last-child td:nth-child(5) a`)),
		chromedp.WaitVisible(chromedp.CSS("#failure-summary")),
	))
	browsertest.Screenshot(t, ctx, "failed-detail")
	require.Contains(t, pageText(t, ctx), "because a record in it is not mapped in Odoo yet")
}

// An admin limits an operator to test systems on the Users page; the failed
// page says so, and a replay into a production system is refused in words.
func TestFailedReplayScopeTestOnly(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ids := e.insert(t, e.failure("#4001", vocab.ClassTransient, "Odoo was unavailable."))
	op := e.env.SignIn(t, vocab.RoleOperator)
	opUser := e.env.Users[vocab.RoleOperator]
	_, body := op.Get("/failed")
	require.NotContains(t, body, "You may try again into test systems only")
	require.NotContains(t, body, "Counted from the failures matching", "no search: the running totals")
	_, body = op.Get("/failed?q=%234001")
	require.Contains(t, body, "Counted from the failures matching your search or dates")

	admin := e.env.SignIn(t, vocab.RoleAdmin)
	res, body := admin.Get(fmt.Sprintf("/users/%d", opUser.ID))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "May write into")
	admin.RefreshCSRF(fmt.Sprintf("/users/%d", opUser.ID))
	res, body = admin.PostFormBody(fmt.Sprintf("/users/%d", opUser.ID), url.Values{"name": {opUser.Name}, "role": {"operator"}, "active": {"on"}, "scope": {"prod-ish"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "Choose where this person may write")
	res, _ = admin.PostFormBody(fmt.Sprintf("/users/%d", opUser.ID), url.Values{"name": {opUser.Name}, "role": {"operator"}, "active": {"on"}, "scope": {"test"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get("/users")
	require.Contains(t, body, "Test systems only")
	_, body = admin.Get("/audit")
	require.Contains(t, body, "may write into test systems only")

	_, body = op.Get("/failed")
	require.Contains(t, body, "You may try again into test systems only.")
	op.RefreshCSRF(fmt.Sprintf("/syncs/%d", ids[0]))
	res, _ = op.PostFormBody(fmt.Sprintf("/syncs/%d/replay", ids[0]), url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get(res.Header.Get("Location"))
	require.Contains(t, body, "You may write only into test systems, and Odoo is a production system. Ask an admin. Nothing was tried again.")
	s, err := e.env.Store.FailedSyncByID(t.Context(), ids[0])
	require.NoError(t, err)
	require.Nil(t, s.ResolvedAt, "the failure stays open")
}

// "Propose the missing mappings" from an unmapped cause: a draft change set
// of the missing records matched by SKU; without a match, or without the
// missing records noted, the person is sent to the unmapped records, told why.
func TestFailedProposeMissingMappings(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	ids := e.insert(t,
		e.failure("#5001", vocab.ClassUnmapped, "#5001 cannot be sent to Odoo: SKU-BLUE is not mapped to an Odoo product yet.", "#5001"),
		e.failure("#5002", vocab.ClassUnmapped, "#5002 cannot be sent to Odoo: SKU-GREEN is not mapped to an Odoo product yet.", "#5002"),
	)
	op := e.env.SignIn(t, vocab.RoleOperator)
	_, body := op.Get("/failed")
	require.Contains(t, body, "Propose the missing mappings")
	group := url.Values{"g": {"1"}, "source": {fmt.Sprint(e.shop.ID)}, "target": {fmt.Sprint(e.odoo.ID)}, "cause": {""}, "class": {"unmapped"}}.Encode()

	// Failures that do not say which records they lack: recent ones are
	// not said to predate Crossdock noting it...
	res, _ := op.PostFormBody("/failed/propose-mappings", url.Values{"filter": {group}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/mappings/unmapped", res.Header.Get("Location"))
	_, body = op.Get("/mappings/unmapped")
	require.Contains(t, body, "These failures do not say which records are missing. Match the records")
	require.NotContains(t, body, "before Crossdock noted it")
	// ...failures from before Crossdock noted the missing records are.
	_, err := e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET created_at = '2020-01-01' WHERE id = ANY($1)`, pq.Array(ids))
	require.NoError(t, err)
	op.RefreshCSRF("/failed")
	res, _ = op.PostFormBody("/failed/propose-mappings", url.Values{"filter": {group}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get("/mappings/unmapped")
	require.Contains(t, body, "These failures do not say which records are missing (they failed before Crossdock noted it).")

	for i, gid := range []string{"gid://shopify/ProductVariant/1", "gid://shopify/ProductVariant/2"} {
		_, err := e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET response = $2 WHERE id = $1`, ids[i],
			`{"unmapped": {"entity_type": "variant", "external_ids": ["`+gid+`"]}}`)
		require.NoError(t, err)
	}
	// No counterpart known in Odoo yet.
	op.RefreshCSRF("/failed")
	res, _ = op.PostFormBody("/failed/propose-mappings", url.Values{"filter": {group}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Contains(t, res.Header.Get("Location"), "/mappings/unmapped?from=")
	_, body = op.Get(res.Header.Get("Location"))
	require.Contains(t, body, "None of the 2 missing records has a match")

	// Odoo has SKU-BLUE: the draft holds it, matched.
	now := time.Now()
	_, err = e.env.Store.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{
		{ExternalID: "gid://shopify/ProductVariant/1", SKU: "SKU-BLUE", SeenAt: now},
		{ExternalID: "gid://shopify/ProductVariant/2", SKU: "SKU-GREEN", SeenAt: now}})
	require.NoError(t, err)
	_, err = e.env.Store.UpsertExternalRecords(ctx, e.odoo.ID, "variant", []store.ExternalRecord{{ExternalID: "41", SKU: "SKU-BLUE", SeenAt: now}})
	require.NoError(t, err)
	op.RefreshCSRF("/failed")
	res, _ = op.PostFormBody("/failed/propose-mappings", url.Values{"filter": {group}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/mappings/change-sets/"), loc)
	_, body = op.Get(loc)
	require.Contains(t, body, "Draft proposed change made from the failures. Crossdock matched 1 of the 2 missing records; those without a match (1) are left out")
	require.Contains(t, body, "the failures it fixes are tried again by themselves")
	require.Contains(t, body, "SKU-BLUE")
	require.NotContains(t, body, "SKU-GREEN", "no match, left out")

	// Once approved and followed up, the change set tells whoever opens it
	// what became of the failures it fixes, with the way to the replay.
	csID, err := strconv.ParseInt(strings.TrimPrefix(loc, "/mappings/change-sets/"), 10, 64)
	require.NoError(t, err)
	proposer := store.Actor{UserID: e.env.Users[vocab.RoleOperator].ID, Label: e.env.Users[vocab.RoleOperator].Email}
	admin := store.Actor{UserID: e.env.Users[vocab.RoleAdmin].ID, Label: e.env.Users[vocab.RoleAdmin].Email}
	_, err = e.env.Store.SubmitChangeSet(ctx, proposer, csID)
	require.NoError(t, err)
	_, err = e.env.Store.ApproveChangeSet(ctx, admin, csID, "matches")
	require.NoError(t, err)
	_, body = op.Get(loc)
	require.NotContains(t, body, `id="follow-up"`, "nothing to say before the follow-up")
	batch, err := e.env.Store.CreateReplayBatch(ctx, store.SystemActor("test"), store.NewReplayBatch{IDs: ids[:1],
		Description: fmt.Sprintf("Unmapped failures that mapping change set #%d may fix", csID), ChangeSetID: csID})
	require.NoError(t, err)
	won, err := e.env.Store.FollowApproval(ctx, csID, batch.ID, fmt.Sprintf("Replayed by bulk replay #%d", batch.ID))
	require.NoError(t, err)
	require.True(t, won)
	_, body = op.Get(loc)
	require.Contains(t, body, `id="fix-result"`)
	require.Contains(t, body, "nothing tried again", "the batch has not come to its failure yet")
}
