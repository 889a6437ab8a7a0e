package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// onlyInOne is a stock failure of an Odoo product the shop has no variant
// of, as the engine records it.
func (e syncsEnv) onlyInOne(family vocab.Family, pid int) store.NewSync {
	sku := fmt.Sprintf("SKU-%06d-WHT", pid)
	s := e.stock(fmt.Sprintf("%d@8", pid), sku)
	s.Family, s.EntityKey, s.IdempotencyKey = family, sku+" at WH/Stock", fmt.Sprintf("%s-%d", family, pid)
	s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, vocab.ClassOnlyInOne, sku+" does not exist in Main store, so there is nothing to map it to."
	s.Response = store.OnlyInOneResponse(store.MissingRecord{ConnectionID: e.odoo.ID, EntityType: "variant", ExternalID: fmt.Sprint(pid),
		SKU: sku, Name: fmt.Sprintf("Linen shirt %d, white", pid)})
	return s
}

func (e syncsEnv) onlyInOneMany(t *testing.T, family vocab.Family, from, n int) []int64 {
	t.Helper()
	var rows []store.NewSync
	for i := range n {
		rows = append(rows, e.onlyInOne(family, from+i))
	}
	return e.insert(t, rows...)
}

var hiddenField = regexp.MustCompile(`name="(upto|seen)" value="(\d+)"`)

// confirmation reads the hidden count and bound of a confirmation page.
func confirmation(t *testing.T, body string) (upto, seen string) {
	t.Helper()
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == "upto" {
			upto = m[2]
		} else {
			seen = m[2]
		}
	}
	require.NotEmpty(t, upto, "the confirmation carries the newest failure it counted")
	return upto, seen
}

func (e syncsEnv) openOnlyInOne(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, e.env.Store.DB.GetContext(t.Context(), &n,
		`SELECT count(*) FROM syncs WHERE error_class = 'only_in_one' AND resolved_at IS NULL`))
	return n
}

// Everything matching: a count, a confirmation that counts again, the
// failures counted and no others, in one go; refused in words when
// something is missing, and nothing changed then.
func TestFailedActOnEverythingMatching(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	e.onlyInOneMany(t, "inventory", 1, 30)
	e.insert(t, e.failure("#1", vocab.ClassValidation, "Odoo refused the change: customer 1 has no country.", "#1"))
	op := e.env.SignIn(t, vocab.RoleOperator)

	// The cause is its own, worded with the record, with its ways out.
	_, body := op.Get("/failed")
	require.Contains(t, body, "30 syncs of inventory from Odoo to Main store failed because the records exist in only one system: Odoo, not Main store (30 SKUs)")
	require.Contains(t, body, "does not exist in Main store")
	require.Contains(t, body, "Exclude all 30 from syncing")
	require.Contains(t, body, "Ignore all 30")
	require.Contains(t, body, "Crossdock cannot create them in Main store: no system is the source of products.")
	_, body = op.Get("/failed?class=only_in_one")
	require.Contains(t, body, `id="tick-all"`)
	require.Contains(t, body, "Exclude the records of all 30 matching failures")

	// Trying again everything matching goes through the same confirmation.
	_, body = op.Get("/failed/act?action=replay&class=validation")
	require.Contains(t, body, "Try again the 1 matching failure")
	require.Contains(t, body, `action="/failed/replay"`)

	// Preview: 30. Then two more fail before the person confirms.
	res, body := op.Get("/failed/act?action=ignore&class=only_in_one")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, html.UnescapeString(body), "Ignore all 30 matching failures?")
	upto, seen := confirmation(t, body)
	require.Equal(t, "30", seen)
	e.onlyInOneMany(t, "inventory", 100, 2)

	post := func(action, note string) *http.Response {
		return op.PostForm("/failed/act", url.Values{"action": {action}, "filter": {"class=only_in_one"}, "upto": {upto}, "seen": {seen}, "note": {note}})
	}
	// Refused in words, nothing changed: no reason, a reason too long, a
	// confirmation not understood, a NUL, an unknown action.
	require.Equal(t, http.StatusSeeOther, post("ignore", " ").StatusCode)
	_, body = op.Get("/failed?class=only_in_one")
	require.Contains(t, body, "Say why these failures can be ignored. Nothing was changed.")
	require.Equal(t, http.StatusSeeOther, post("ignore", strings.Repeat("x", 5*store.MaxReasonLen)).StatusCode)
	_, body = op.Get("/failed?class=only_in_one")
	require.Contains(t, body, "The note is too long; nothing was changed.")
	res = op.PostForm("/failed/act", url.Values{"action": {"ignore"}, "filter": {"class=only_in_one"}, "upto": {"x"}, "seen": {seen}, "note": {"why"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get("/failed?class=only_in_one")
	require.Contains(t, body, "The confirmation was not understood; nothing was changed.")
	require.Equal(t, http.StatusBadRequest, post("ignore", "why\x00").StatusCode)
	require.Equal(t, http.StatusSeeOther, post("delete", "why").StatusCode)
	require.Equal(t, 32, e.openOnlyInOne(t), "nothing was half-applied")

	// The wrong role.
	fin := e.env.SignIn(t, vocab.RoleFinance)
	res = fin.PostForm("/failed/act", url.Values{"action": {"ignore"}, "filter": {"class=only_in_one"}, "upto": {upto}, "seen": {seen}, "note": {"why"}})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = fin.Get("/failed/act?action=ignore&class=only_in_one")
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Equal(t, 32, e.openOnlyInOne(t))

	// Confirmed: the 30 counted are ignored, the 2 that came later stay open.
	require.Equal(t, http.StatusSeeOther, post("ignore", "Sold in Odoo only").StatusCode)
	_, body = op.Get("/failed?class=only_in_one")
	require.Contains(t, body, "30 failures ignored. 2 matching failures arrived after you looked and are still open.")
	require.Equal(t, 2, e.openOnlyInOne(t))
	entries, _, err := e.env.Store.ListAudit(t.Context(), store.AuditFilter{ObjectType: "sync"})
	require.NoError(t, err)
	require.Contains(t, entries[0].Summary, "Ignored all 30 failed sync(s) matching a filter: Sold in Odoo only")
	// The same confirmation again: nothing left of what it counted.
	require.Equal(t, http.StatusSeeOther, post("ignore", "again").StatusCode)
	_, body = op.Get("/failed?class=only_in_one")
	require.Contains(t, body, "None of these failures is open any more")

	// The validation failure was never touched.
	_, body = op.Get("/failed?class=validation")
	require.Contains(t, body, "1 failure matches.")
}

// Exclude from the ticked rows and from everything matching; the Excluded
// records page lists them; including one again takes it off the list.
func TestFailedExcludeTickedAndMatching(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ids := e.onlyInOneMany(t, "inventory", 1, 3)
	other := e.insert(t, e.failure("#1", vocab.ClassValidation, "Odoo refused the change: customer 1 has no country.", "#1"))
	op := e.env.SignIn(t, vocab.RoleOperator)

	// Empty selection, and a failure of another kind: nothing excluded.
	require.Equal(t, http.StatusSeeOther, op.PostForm("/failed/exclude", url.Values{"note": {"why"}}).StatusCode)
	_, body := op.Get("/failed")
	require.Contains(t, body, "Tick at least one failure. Nothing was changed.")
	require.Equal(t, http.StatusSeeOther, op.PostForm("/failed/exclude", url.Values{"id": {fmt.Sprint(other[0])}, "note": {"why"}}).StatusCode)
	_, body = op.Get("/failed")
	require.Contains(t, body, "None of the ticked failures is about a record that exists in only one system")
	require.Equal(t, http.StatusSeeOther, op.PostForm("/failed/exclude", url.Values{"id": {"999999"}, "note": {"why"}}).StatusCode)
	require.Equal(t, 3, e.openOnlyInOne(t))

	// From the failure's own page.
	_, body = op.Get(fmt.Sprintf("/syncs/%d", ids[0]))
	require.Contains(t, body, "There is nothing to map it to.")
	require.Contains(t, body, "Exclude this record from syncing")
	res := op.PostForm("/failed/exclude", url.Values{"id": {fmt.Sprint(ids[0])}, "note": {"Sample product"}, "from": {"sync"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, fmt.Sprintf("/syncs/%d", ids[0]), res.Header.Get("Location"))
	_, body = op.Get(fmt.Sprintf("/syncs/%d", ids[0]))
	require.Contains(t, body, "1 record excluded from syncing; 1 failure closed.")
	require.Contains(t, body, "Excluded from syncing")
	require.NotContains(t, body, "Exclude this record from syncing", "dealt with")
	require.Equal(t, 2, e.openOnlyInOne(t))

	// Everything matching.
	_, body = op.Get("/failed/act?action=exclude&class=only_in_one")
	upto, seen := confirmation(t, body)
	require.Equal(t, "2", seen)
	require.Equal(t, http.StatusSeeOther, op.PostForm("/failed/act", url.Values{"action": {"exclude"}, "filter": {"class=only_in_one"},
		"upto": {upto}, "seen": {seen}, "note": {"Sold in Odoo only"}}).StatusCode)
	_, body = op.Get("/failed")
	require.Contains(t, body, "2 records excluded from syncing; 2 failures closed.")
	require.Zero(t, e.openOnlyInOne(t))

	// Excluding asks for the kind it acts on.
	_, body = op.Get("/failed/act?action=exclude&class=validation")
	require.Contains(t, body, "Nothing to do")

	_, body = op.Get("/exclusions")
	require.Contains(t, body, "3 records are excluded from syncing.")
	require.Contains(t, body, "Linen shirt 1, white")
	require.Contains(t, body, "Operator User")
	require.Contains(t, body, "Sold in Odoo only")
	require.Contains(t, body, "Technical detail")
	var first int64
	require.NoError(t, e.env.Store.DB.GetContext(t.Context(), &first, `SELECT id FROM exclusions WHERE external_id = '1'`))
	require.Equal(t, http.StatusSeeOther, op.PostForm(fmt.Sprintf("/exclusions/%d/include", first), url.Values{}).StatusCode)
	_, body = op.Get("/exclusions")
	require.Contains(t, body, "Linen shirt 1, white (Odoo) is synced again for inventory")
	require.Contains(t, body, "2 records are excluded from syncing.")
	res = op.PostForm(fmt.Sprintf("/exclusions/%d/include", first), url.Values{})
	require.Equal(t, http.StatusNotFound, res.StatusCode, "already included")

	res, _ = e.env.SignIn(t, vocab.RoleFinance).Get("/exclusions")
	require.Equal(t, http.StatusForbidden, res.StatusCode)
}
