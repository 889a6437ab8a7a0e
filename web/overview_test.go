package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// openCount reads the Overview's headline count of open failed syncs.
func openCount(t *testing.T, body string) int {
	t.Helper()
	m := regexp.MustCompile(`id="open-failures" data-count="(\d+)"`).FindStringSubmatch(body)
	require.NotNil(t, m, "no open failures count on the Overview")
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// failedPageCount reads the count the Failed syncs page lists.
func failedPageCount(t *testing.T, body string) int {
	t.Helper()
	if strings.Contains(body, "1 failure matches.") {
		return 1
	}
	m := regexp.MustCompile(`([\d,]+) failures match\.`).FindStringSubmatch(body)
	require.NotNil(t, m, "no count on the Failed syncs page")
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	require.NoError(t, err)
	return n
}

func saveRule(t *testing.T, e syncsEnv, f vocab.Family, master, receiver store.Connection) {
	t.Helper()
	_, err := e.env.Store.SaveSourceRule(t.Context(), store.SystemActor("test"), store.SourceRuleInput{Family: f, Master: master.ID,
		Receivers: []int64{receiver.ID}, Trigger: rules.Realtime, SweepMinutes: 5, FreshnessMinutes: 2, Policy: rules.MasterWins})
	require.NoError(t, err)
}

func (e syncsEnv) succeed(t *testing.T, ids []int64) {
	t.Helper()
	_, err := e.env.Store.DB.ExecContext(t.Context(), `UPDATE syncs SET status = 'succeeded', updated_at = now() WHERE id = ANY($1)`, pq.Array(ids))
	require.NoError(t, err)
}

// The Overview counts open failures — exactly what the Failed syncs page
// lists as open — not attempts: resolved failures, successes and failures
// long gone do not count; retrying and refused ones do, whatever the family.
func TestOverviewCountsWhatFailedSyncsLists(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	saveRule(t, e, vocab.Orders, e.shop, e.odoo)
	saveRule(t, e, vocab.Inventory, e.odoo, e.shop)

	var ns []store.NewSync
	for i := range 7 {
		f := e.order(fmt.Sprintf("#%d", 5000+i))
		f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassValidation, "Refused."
		ns = append(ns, f)
	}
	for i := range 4 {
		f := e.stock(fmt.Sprintf("SKU-R%d", i))
		f.Status, f.ErrorClass, f.Message = vocab.SyncRetrying, vocab.ClassTransient, "Shopify did not answer."
		ns = append(ns, f)
	}
	for i := range 5 {
		ns = append(ns, e.stock(fmt.Sprintf("SKU-OK%d", i)))
	}
	ids := e.insert(t, ns...)
	e.succeed(t, ids[11:])
	// Two orders are dealt with: they are no longer open.
	_, err := e.env.Store.ResolveFailures(ctx, store.SystemActor("test"), ids[:2], store.ResolutionResolved, "fixed in Odoo")
	require.NoError(t, err)
	// A failure of a family nobody decides any more still is open on Failed syncs.
	c := e.order("#6000")
	c.Family, c.Status, c.ErrorClass, c.Message = "customers", vocab.SyncFailed, vocab.ClassValidation, "Refused."
	c.IdempotencyKey = "customer-6000"
	e.insert(t, c)

	op := e.env.SignIn(t, vocab.RoleOperator)
	_, overview := op.Get("/")
	_, failed := op.Get("/failed")
	require.Equal(t, 5+4+1, openCount(t, overview))
	require.Equal(t, failedPageCount(t, failed), openCount(t, overview), "one truth: the Overview and Failed syncs agree")
	require.Contains(t, overview, "See the 10 open failed syncs, grouped by cause")

	// Per kind of data too: each card's open failures are its Failed syncs list.
	for _, fam := range []string{"orders", "inventory"} {
		card := flowCard(t, overview, fam)
		m := regexp.MustCompile(`data-open-failures="(\d+)"`).FindStringSubmatch(card)
		require.NotNil(t, m, fam)
		_, list := op.Get("/failed?family=" + fam)
		require.Equal(t, strconv.Itoa(failedPageCount(t, list)), m[1], fam)
	}
	// Attempts are labelled as attempts.
	require.Contains(t, flowCard(t, overview, "inventory"), "<dt>Attempts, last 24 hours</dt><dd>9 attempts, 0 failed (0%)</dd>")
	require.NotContains(t, overview, "syncs failed in the last hour")

	// Finance, who may not open Failed syncs, sees the same number, pointing to Syncs → Problems.
	_, body := e.env.SignIn(t, vocab.RoleFinance).Get("/")
	require.Equal(t, 10, openCount(t, body))
	require.Contains(t, body, `href="/syncs?problems=1"`)
}

// Numbers are written one way: thousands with a comma, shares in whole percents.
func TestOverviewWritesNumbersOneWay(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	saveRule(t, e, vocab.Inventory, e.odoo, e.shop)
	var ns []store.NewSync
	for i := range 1234 {
		f := e.stock(fmt.Sprintf("SKU-%05d", i))
		f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassUnmapped, "Not mapped yet."
		ns = append(ns, f)
	}
	for i := range 1100 {
		ns = append(ns, e.stock(fmt.Sprintf("SKU-OK-%05d", i)))
	}
	ids := e.insert(t, ns...)
	e.succeed(t, ids[1234:])

	_, body := e.env.SignIn(t, vocab.RoleOperator).Get("/")
	require.Equal(t, 1234, openCount(t, body))
	require.Contains(t, body, `<p class="big-number">1,234</p>`)
	require.Contains(t, body, "See the 1,234 open failed syncs")
	card := flowCard(t, body, "inventory")
	require.Contains(t, card, "2,334 attempts, 1,234 failed (53%)")
	require.Contains(t, card, ">1,234 open failures</a>")
	require.Contains(t, card, "Most syncs fail: 1,234 of 2,334 attempts in the last 24 hours (53%). 1,234 failures are open in Failed syncs.")
	require.NotContains(t, card, "Healthy", "53 % failed is not healthy")
	require.NotRegexp(t, `\d{4}`, regexp.MustCompile(`\d{4}-\d\d-\d\d|\d\d:\d\d|#[0-9a-f]{6}|\b\d{4}\b UTC`).ReplaceAllString(stripTags(card), ""),
		"no number of four digits or more without its comma")
}

// stripTags keeps a fragment's text.
func stripTags(s string) string { return regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, " ") }

// Each badge rule, as the Overview shows it: the badge never contradicts the
// numbers beside it.
func TestOverviewBadgesFollowTheNumbers(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	saveRule(t, e, vocab.Orders, e.shop, e.odoo)       // no syncs at all
	saveRule(t, e, vocab.Inventory, e.odoo, e.shop)    // 53 % failed, a success 5 minutes ago
	saveRule(t, e, vocab.Fulfillments, e.odoo, e.shop) // all good
	saveRule(t, e, vocab.Refunds, e.shop, e.odoo)      // 1 in 10 failed, open

	var ns []store.NewSync
	for i := range 53 {
		f := e.stock(fmt.Sprintf("SKU-F%d", i))
		f.Status, f.ErrorClass, f.Message = vocab.SyncFailed, vocab.ClassUnmapped, "Not mapped yet."
		ns = append(ns, f)
	}
	var okStock []store.NewSync
	for i := range 47 {
		okStock = append(okStock, e.stock(fmt.Sprintf("SKU-OK%d", i)))
	}
	e.insert(t, ns...)
	e.succeed(t, e.insert(t, okStock...))
	// The latest success is 5 minutes ago, the latest failure 1 minute ago.
	_, err := e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET updated_at = now() - interval '5 minutes' WHERE status = 'succeeded'`)
	require.NoError(t, err)
	_, err = e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET updated_at = now() - interval '1 minute' WHERE status = 'failed'`)
	require.NoError(t, err)

	ful := func(ref string) store.NewSync {
		s := e.stock(ref)
		s.Family, s.Flow, s.EntityType, s.IdempotencyKey = "fulfillments", "fulfillments.odoo_shopify", "fulfillment", "ful-"+ref
		return s
	}
	e.succeed(t, e.insert(t, ful("F1"), ful("F2")))
	ref := func(r string) store.NewSync {
		s := e.order(r)
		s.Family, s.Flow, s.EntityType, s.IdempotencyKey = "refunds", "refunds.shopify_odoo", "refund", "refund-"+r
		return s
	}
	var refunds []store.NewSync
	for i := range 9 {
		refunds = append(refunds, ref(fmt.Sprintf("R%d", i)))
	}
	e.succeed(t, e.insert(t, refunds...))
	bad := ref("R-bad")
	bad.Status, bad.ErrorClass, bad.Message = vocab.SyncFailed, vocab.ClassValidation, "Refused."
	e.insert(t, bad)

	_, body := e.env.SignIn(t, vocab.RoleOperator).Get("/")
	badge := func(card string) string {
		m := regexp.MustCompile(`<span class="badge badge-(\w+)">([^<]+)</span>`).FindAllStringSubmatch(card, -1)
		require.NotEmpty(t, m)
		last := m[len(m)-1] // the environment badges come first on connection cards; a flow card has one
		return last[1] + ": " + last[2]
	}

	orders := flowCard(t, body, "orders")
	require.Equal(t, "neutral: No syncs yet", badge(orders), "no syncs is not healthy")
	require.Contains(t, orders, "No attempts")

	stock := flowCard(t, body, "inventory")
	require.Equal(t, "critical: Failing", badge(stock), "53 % failed")
	require.Contains(t, stock, "100 attempts, 53 failed (53%)")
	require.Contains(t, stock, "5 minutes ago")
	require.NotContains(t, stock, "none succeeded since", "never beside a recent success")

	require.Equal(t, "success: Healthy", badge(flowCard(t, body, "fulfillments")))

	refundsCard := flowCard(t, body, "refunds")
	require.Equal(t, "warning: Some failing", badge(refundsCard), "10 % failed")
	require.Contains(t, refundsCard, "Some syncs fail: 1 of 10 attempts in the last 24 hours (10%). 1 failure is open in Failed syncs.")
}

// The demo's "what to try" list shows on the Overview and hides once the
// person dismisses it (for that person only).
func TestOverviewTryListDismissed(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	admin := e.env.SignIn(t, vocab.RoleAdmin)
	_, body := admin.Get("/")
	require.NotContains(t, body, `id="try-list"`, "no demo, no list")

	require.Equal(t, http.StatusSeeOther, admin.PostForm("/demo", url.Values{}).StatusCode)
	_, body = admin.Get("/")
	require.Contains(t, body, `id="try-list"`)
	require.Contains(t, body, `href="/failed"`)
	require.Contains(t, body, "Map the stock location that is not mapped")
	require.Contains(t, body, `href="/mappings/unmapped?from=`)
	require.Contains(t, body, "type=location")
	require.Contains(t, body, `href="/failed?class=only_in_one"`)
	require.Contains(t, body, `href="/finance"`)

	op := e.env.SignIn(t, vocab.RoleOperator)
	_, body = op.Get("/")
	require.Contains(t, body, `id="try-list"`)
	require.NotContains(t, body, `href="/finance"`, "operators do not open the finance review")
	_, body = e.env.SignIn(t, vocab.RoleFinance).Get("/")
	require.Contains(t, body, `href="/finance"`)
	require.NotContains(t, body, `href="/failed"`)

	res := admin.PostForm("/overview/try/dismiss", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get("/")
	require.NotContains(t, body, `id="try-list"`)
	require.Equal(t, http.StatusSeeOther, admin.PostForm("/overview/try/dismiss", url.Values{}).StatusCode, "twice is once")
	_, body = op.Get("/")
	require.Contains(t, body, `id="try-list"`, "dismissed for the admin only")
}

// Connection health comes from the engine's real calls: a sandbox store the
// engine read says "Working — last answered just now" once the calls are
// flushed, not "Not tested yet".
func TestOverviewConnectionHealthFromRealCalls(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	conn := env.SandboxShopify(t, "Demo shop")
	op := env.SignIn(t, vocab.RoleOperator)
	_, body := op.Get("/")
	card := connectionCard(t, body, conn.ID)
	require.Contains(t, card, "Not used yet")
	require.NotContains(t, card, "Working")

	// The engine reads the store's catalogue: real calls to the sandbox.
	res := op.PostForm(fmt.Sprintf("/connections/%d/catalogue", conn.ID), url.Values{})
	require.Less(t, res.StatusCode, 400)
	require.NoError(t, env.Engine.FlushConnectionHealth(t.Context()))

	_, body = op.Get("/")
	card = connectionCard(t, body, conn.ID)
	require.Contains(t, card, "Working — last answered just now")
	require.NotContains(t, card, "Not used yet")
	_, list := op.Get("/connections")
	require.Contains(t, list, `badge badge-success">Working<`)
	require.NotContains(t, list, "Not used yet")
}

// connectionCard cuts one connection's card out of the Overview.
func connectionCard(t *testing.T, body string, id int64) string {
	t.Helper()
	i := strings.Index(body, fmt.Sprintf(`data-connection="%d"`, id))
	require.GreaterOrEqual(t, i, 0, "no card for connection %d", id)
	card := body[i:]
	if j := strings.Index(card, "</div></div>"); j >= 0 {
		card = card[:j]
	}
	return card
}

// On an http base URL Shopify can never deliver webhooks: the admin reads
// what to set, on the Overview and on the connection's page.
func TestOverviewSaysToSetAnHTTPSBaseURL(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t) // its base URL is http://127.0.0.1:…
	conn := env.SandboxShopify(t, "Demo shop")
	_, body := env.SignIn(t, vocab.RoleAdmin).Get("/")
	require.Contains(t, body, `id="base-url-problem"`)
	require.Contains(t, body, "Set CROSSDOCK_BASE_URL to the https address")
	_, body = env.SignIn(t, vocab.RoleOperator).Get("/")
	require.NotContains(t, body, `id="base-url-problem"`, "operators cannot set it")
	_, panel := env.SignIn(t, vocab.RoleAdmin).Get(fmt.Sprintf("/connections/%d/subscriptions", conn.ID))
	require.Contains(t, panel, "Set CROSSDOCK_BASE_URL to the https address")
}

// Operators see what finance sent them: a badge in the navigation, a filter
// on the discrepancies, a count on the Overview.
func TestOperatorsSeeWhatFinanceSent(t *testing.T) {
	t.Parallel()
	env := financeSetup(t)
	db := env.Store.DB
	var run, odoo, shop int64
	require.NoError(t, db.Get(&run, `SELECT id FROM recon_runs WHERE family = 'prices'`))
	require.NoError(t, db.Get(&odoo, `SELECT id FROM connections WHERE kind = 'odoo'`))
	require.NoError(t, db.Get(&shop, `SELECT id FROM connections WHERE kind = 'shopify'`))
	_, err := env.Store.ComparePrices(t.Context(), run, odoo, shop)
	require.NoError(t, err)
	// Another open discrepancy finance did not send.
	_, err = db.Exec(`INSERT INTO discrepancies (family, kind, key, label, first_run_id, last_run_id) VALUES ('inventory', 'stock', 'x', 'OTHER-9', $1, $1)`, run)
	require.NoError(t, err)

	op := env.SignIn(t, vocab.RoleOperator)
	_, body := op.Get("/")
	require.NotContains(t, body, "data-sent-to-operators", "nothing sent yet: no badge")
	require.Contains(t, body, `id="sent-to-operators" data-count="0"`)

	fin := env.SignIn(t, vocab.RoleFinance)
	require.Equal(t, http.StatusSeeOther, fin.PostForm("/finance/variants/2/send", url.Values{"note": {"Odoo is right"}}).StatusCode)

	for _, role := range []vocab.Role{vocab.RoleOperator, vocab.RoleAdmin} {
		c := env.SignIn(t, role)
		_, body = c.Get("/")
		require.Contains(t, body, `data-sent-to-operators title="Price fixes finance sent to the operators">1<`, role)
		require.Contains(t, body, `id="sent-to-operators" data-count="1"`, role)
		require.Contains(t, body, "See the 1 price fix finance asked for", role)
		_, list := c.Get("/reconciliation/discrepancies?sent=operators")
		require.Contains(t, list, "DIFF-2", role)
		require.NotContains(t, list, "OTHER-9", "only what finance sent")
		require.Contains(t, list, `<option value="operators" selected>Sent to the operators</option>`)
		_, list = c.Get("/reconciliation/discrepancies")
		require.Contains(t, list, "OTHER-9")
	}
	// Nobody chosen: the price fix went to the default assignee, the only operator.
	_, body = env.SignIn(t, vocab.RoleOperator).Get("/")
	require.Contains(t, body, `data-sent-to-me="1">1 is assigned to you<`)
	_, body = env.SignIn(t, vocab.RoleAdmin).Get("/")
	require.NotContains(t, body, "data-sent-to-me", "not the admin's")
	_, body = fin.Get("/")
	require.NotContains(t, body, "data-sent-to-operators", "finance sent it; the badge is the operators'")
	require.Contains(t, body, `id="sent-to-operators" data-count="1"`, "finance counts what it sent")
	require.Contains(t, body, "Open; 0 answers from the operators in the last 30 days.")
	require.Contains(t, body, `href="/finance?review=sent"`)

	// A filter that names nothing is said, and ignored.
	_, list := op.Get("/reconciliation/discrepancies?sent=nobody")
	require.Contains(t, list, "Some filters were not understood and are ignored (sent by finance)")
	require.Contains(t, list, "OTHER-9")
	res, list := op.Get("/reconciliation/discrepancies?sent=operators%00")
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, list, "A character in the request cannot be searched for")

	// Once the discrepancy is dealt with, the count goes.
	_, err = db.Exec(`UPDATE discrepancies SET status = 'resolved' WHERE label = 'DIFF-2'`)
	require.NoError(t, err)
	_, body = op.Get("/")
	require.NotContains(t, body, "data-sent-to-operators")
	require.Contains(t, body, `id="sent-to-operators" data-count="0"`)
}
