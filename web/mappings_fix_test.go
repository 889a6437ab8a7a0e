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
	"crossdock/web/webtest"
)

var fixHrefRe = regexp.MustCompile(`href="(/mappings/fix\?[^"]+)"`)

// fixTarget follows a fix link and returns where it lands.
func fixTarget(t *testing.T, get func(string) (*http.Response, string), href string) url.Values {
	t.Helper()
	res, _ := get(href)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, href)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "/mappings/unmapped", loc.Path, "a fix link lands on the unmapped records")
	return loc.Query()
}

// Every fix link on an unmapped failure lands on the record it misses, in
// that record's own type: a location failure on locations (never variants),
// filtered to that location; a variant on variants; a customer on customers.
// "See its mappings" searches the record itself.
func TestFixLinksLandOnTheExactRecord(t *testing.T) {
	t.Parallel()
	type want struct {
		from, to  func(e syncsEnv) int64
		typ, id   string
		search    string // the q of "See its mappings"
		searchTyp string
	}
	shop := func(e syncsEnv) int64 { return e.shop.ID }
	odoo := func(e syncsEnv) int64 { return e.odoo.ID }
	cases := []struct {
		name     string
		sync     func(e syncsEnv) store.NewSync
		response string
		want     want
	}{
		{"an Odoo stock location", func(e syncsEnv) store.NewSync {
			s := e.stock("location:7")
			s.EntityType, s.EntityKey = "inventory_level", "3 items at WH/Stock"
			s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, vocab.ClassUnmapped, "The Odoo location WH/Stock is not mapped to a Shopify location yet."
			return s
		}, "", want{odoo, shop, "location", "7", "7", "location"}},
		{"a Shopify stock location", func(e syncsEnv) store.NewSync {
			s := e.stock("55@9")
			s.SourceConnectionID, s.TargetConnectionID, s.Direction = e.shop.ID, e.odoo.ID, "shopify_to_odoo"
			s.EntityType = "inventory_level"
			s.Status, s.ErrorClass, s.Message = vocab.SyncFailed, vocab.ClassUnmapped, "The Shopify location 9 is not mapped to an Odoo location yet."
			return s
		}, "", want{shop, odoo, "location", "gid://shopify/Location/9", "gid://shopify/Location/9", "location"}},
		{"a variant on an order", func(e syncsEnv) store.NewSync {
			return e.failure("gid://shopify/Order/1001", vocab.ClassUnmapped, "#1001 cannot be sent to Odoo: SKU-RED is not mapped.", "#1001")
		}, `{"unmapped": {"entity_type": "variant", "external_ids": ["gid://shopify/ProductVariant/31"]}}`,
			want{shop, odoo, "variant", "gid://shopify/ProductVariant/31", "gid://shopify/Order/1001", "order"}},
		{"a customer", func(e syncsEnv) store.NewSync {
			s := e.failure("gid://shopify/Customer/5", vocab.ClassUnmapped, "Ada Lovelace is not mapped to an Odoo contact yet.")
			s.Family, s.EntityType, s.Flow = "customers", "customer", "customers.shopify_odoo"
			return s
		}, `{"unmapped": {"entity_type": "customer", "external_ids": ["gid://shopify/Customer/5"]}}`,
			want{shop, odoo, "customer", "gid://shopify/Customer/5", "gid://shopify/Customer/5", "customer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := syncsSetup(t)
			ids := e.insert(t, tc.sync(e))
			if tc.response != "" {
				_, err := e.env.Store.DB.ExecContext(t.Context(), `UPDATE syncs SET response = $2 WHERE id = $1`, ids[0], tc.response)
				require.NoError(t, err)
			}
			// A larger, unrelated cause: its records must not be where the
			// first cause's links land.
			var decoys []store.NewSync
			for _, ref := range []string{"gid://shopify/Refund/1", "gid://shopify/Refund/2"} {
				d := e.failure(ref, vocab.ClassUnmapped, "The refund cannot be sent to Odoo: DECOY-1 is not mapped.")
				d.Family, d.EntityType, d.Flow, d.IdempotencyKey = "refunds", "refund", "refunds.shopify_odoo", "decoy-"+ref
				decoys = append(decoys, d)
			}
			for _, id := range e.insert(t, decoys...) {
				_, err := e.env.Store.DB.ExecContext(t.Context(), `UPDATE syncs SET response = $2 WHERE id = $1`, id,
					`{"unmapped": {"entity_type": "variant", "external_ids": ["gid://shopify/ProductVariant/99"]}}`)
				require.NoError(t, err)
			}
			op := e.env.SignIn(t, vocab.RoleOperator)
			check := func(q url.Values, where string) {
				t.Helper()
				require.Equal(t, tc.want.typ, q.Get("type"), where)
				require.Equal(t, fmt.Sprint(tc.want.from(e)), q.Get("from"), where)
				require.Equal(t, fmt.Sprint(tc.want.to(e)), q.Get("to"), where)
				require.Equal(t, []string{tc.want.id}, q["id"], where+": filtered to that record")
			}

			// "Map it" on each cause lands on that cause's own records.
			_, body := op.Get("/failed")
			links := fixHrefRe.FindAllStringSubmatch(body, -1)
			require.Len(t, links, 2, "each cause links to its fix")
			var group string
			landed := map[string]bool{}
			for _, l := range links {
				href := html.UnescapeString(l[1])
				q := fixTarget(t, op.Get, href)
				landed[strings.Join(q["id"], ",")] = true
				if q.Get("type") == tc.want.typ && strings.Join(q["id"], ",") == tc.want.id {
					check(q, "the cause's Map it")
					group = strings.TrimPrefix(href, "/mappings/fix?")
				}
			}
			require.Equal(t, map[string]bool{tc.want.id: true, "gid://shopify/ProductVariant/99": true}, landed, "each cause on its own records")

			// "Map it" and "See its mappings" on the failure.
			_, body = op.Get(fmt.Sprintf("/syncs/%d?from=failed", ids[0]))
			require.Contains(t, body, fmt.Sprintf(`href="/mappings/fix?sync=%d"`, ids[0]))
			check(fixTarget(t, op.Get, fmt.Sprintf("/mappings/fix?sync=%d", ids[0])), "the failure's Map it")
			see := regexp.MustCompile(`href="(/mappings\?[^"]+)">See its mappings`).FindStringSubmatch(body)
			require.NotNil(t, see, "See its mappings is offered")
			su, err := url.Parse(html.UnescapeString(see[1]))
			require.NoError(t, err)
			require.Equal(t, tc.want.search, su.Query().Get("q"))
			require.Equal(t, tc.want.searchTyp, su.Query().Get("type"))

			// "Propose the missing mappings": nothing matches by itself, so
			// the person is sent to exactly those records to pick them.
			res, _ := op.PostFormBody("/failed/propose-mappings", url.Values{"filter": {group}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			loc, err := url.Parse(res.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "/mappings/unmapped", loc.Path)
			check(loc.Query(), "Propose the missing mappings")
		})
	}
}

// pickEnv: an Odoo location not mapped to Shopify, Shopify locations to
// pick from, and variants on both sides.
func pickEnv(t *testing.T) (syncsEnv, string) {
	t.Helper()
	e := syncsSetup(t)
	ctx := t.Context()
	_, err := e.env.Store.UpsertExternalRecords(ctx, e.odoo.ID, "location", []store.ExternalRecord{{ExternalID: "7", Name: "WH/Stock"}, {ExternalID: "9", Name: "WH/Returns"}})
	require.NoError(t, err)
	_, err = e.env.Store.UpsertExternalRecords(ctx, e.shop.ID, "location", []store.ExternalRecord{
		{ExternalID: "gid://shopify/Location/1", Name: "Main warehouse"}, {ExternalID: "gid://shopify/Location/2", Name: "Pop-up shop"}})
	require.NoError(t, err)
	_, err = e.env.Store.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{{ExternalID: "gid://shopify/ProductVariant/1", SKU: "OAK-1", Name: "Oak chair"}})
	require.NoError(t, err)
	_, err = e.env.Store.UpsertExternalRecords(ctx, e.odoo.ID, "variant", []store.ExternalRecord{
		{ExternalID: "41", SKU: "CHAIR-OAK", Name: "Chair in oak"}, {ExternalID: "42", SKU: "LAMP-1", Name: "Desk lamp"}})
	require.NoError(t, err)
	return e, fmt.Sprintf("/mappings/unmapped?from=%d&to=%d&type=location&id=7", e.odoo.ID, e.shop.ID)
}

// "Map to…": a drop-down of the other system's locations; picking one adds
// the match to the person's draft, hides the row and says where it waits.
// A pick that names nothing, another system's record, a NUL or the wrong
// role is refused in words, and nothing is proposed.
func TestMapToPickerForLocations(t *testing.T) {
	t.Parallel()
	e, page := pickEnv(t)
	op := e.env.SignIn(t, vocab.RoleOperator)
	res, body := op.Get(page)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "WH/Stock")
	require.NotContains(t, body, "WH/Returns", "filtered to the record the failures miss")
	require.Contains(t, body, `<option value="gid://shopify/Location/1">Main warehouse</option>`)
	require.Contains(t, body, "Showing only the location records the failed syncs are missing")
	require.Regexp(t, `<details class="tech"><summary>Technical detail</summary><div><code>7</code>`, body, "the raw id one click down")

	pick := func(c interface {
		PostFormBody(string, url.Values) (*http.Response, string)
	}, id, match string) *http.Response {
		res, _ := c.PostFormBody("/mappings/unmapped/pick", url.Values{"from": {fmt.Sprint(e.odoo.ID)}, "to": {fmt.Sprint(e.shop.ID)},
			"type": {"location"}, "id": {id}, "match": {match}, "back": {page}})
		return res
	}
	refused := []struct{ name, id, match, says string }{
		{"a record that vanished", "7", "gid://shopify/Location/999", "The record you picked is not in Main store"},
		{"a record of the other system", "7", "9", "The record you picked is not in Main store"},
		{"no choice", "7", "", "Choose the record to map it to."},
		{"an id that names nothing", "12345", "gid://shopify/Location/1", "That record is no longer in Odoo"},
	}
	for _, r := range refused {
		res := pick(op, r.id, r.match)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, r.name)
		require.Equal(t, page, res.Header.Get("Location"), r.name)
		_, body := op.Get(page)
		require.Contains(t, body, r.says, r.name)
		require.Contains(t, body, "Nothing was proposed.", r.name)
	}
	// A NUL is refused before the handler, in words (web's refuseNUL).
	res = pick(op, "7\x00", "gid://shopify/Location/1")
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	sets, _, err := e.env.Store.ListChangeSets(t.Context(), store.ChangeSetFilter{})
	require.NoError(t, err)
	require.Empty(t, sets, "nothing half-applied")
	res, _ = e.env.SignIn(t, vocab.RoleFinance).PostFormBody("/mappings/unmapped/pick", url.Values{"id": {"7"}})
	require.Equal(t, http.StatusForbidden, res.StatusCode, "finance does not map")

	res = pick(op, "7", "gid://shopify/Location/1")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get(page)
	require.Regexp(t, `Added to your draft proposed change #\d+ \(1 match\)`, body)
	require.Contains(t, body, "Nothing left to map here", "the picked row waits in the draft, not in the list")
	require.Regexp(t, `1 is waiting in proposed change #\d+ \(draft\)`, body)
	sets, _, err = e.env.Store.ListChangeSets(t.Context(), store.ChangeSetFilter{})
	require.NoError(t, err)
	require.Len(t, sets, 1)
	require.Equal(t, store.SourcePicker, sets[0].Source)
	require.Equal(t, 2, sets[0].NAdd, "WH/Stock and Main warehouse form one record")

	// A second pick adds to the same draft.
	res = pick(op, "9", "gid://shopify/Location/2")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get(page)
	require.Regexp(t, `Added to your draft proposed change #\d+ \(2 matches\)`, body)
	// Picking a location already picked elsewhere is refused: it is no
	// longer a choice, and the store says so for a crafted post.
	res = pick(op, "9", "gid://shopify/Location/2")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get(page)
	require.Contains(t, body, "Nothing was proposed.")
	_, body = op.Get(fmt.Sprintf("/mappings/change-sets/%d", sets[0].ID))
	require.Contains(t, body, "Submit 2 matches for approval")
	require.Contains(t, body, "Main warehouse")
}

// The variant picker is a search: a few letters of a name or SKU bring
// suggestions, each a button that picks it.
func TestMapToPickerSearchesVariants(t *testing.T) {
	t.Parallel()
	e, _ := pickEnv(t)
	op := e.env.SignIn(t, vocab.RoleOperator)
	page := fmt.Sprintf("/mappings/unmapped?from=%d&to=%d&type=variant", e.shop.ID, e.odoo.ID)
	_, body := op.Get(page)
	require.Contains(t, body, "Oak chair · OAK-1")
	require.Contains(t, body, `placeholder="Map to… (name or SKU)"`)
	require.Contains(t, body, `hx-get="/mappings/candidates?`)

	cands := fmt.Sprintf("/mappings/candidates?from=%d&to=%d&type=variant&row=0&q=", e.shop.ID, e.odoo.ID)
	res, body := op.Get(cands + "oak")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, `form="pick-0" name="match" value="41">Chair in oak · CHAIR-OAK</button>`)
	require.NotContains(t, body, "Desk lamp")
	require.NotContains(t, body, "<html", "a partial")
	_, body = op.Get(cands + "lamp")
	require.Contains(t, body, "Desk lamp · LAMP-1", "by name")
	_, body = op.Get(cands + "chair-")
	require.Contains(t, body, "CHAIR-OAK", "by the start of a SKU")
	_, body = op.Get(cands + "o")
	require.Contains(t, body, "Type at least two letters")
	_, body = op.Get(cands + "zzz")
	require.Contains(t, body, "Nothing in that system matches")
	res, _ = op.Get(fmt.Sprintf("/mappings/candidates?from=%d&to=%d&type=variant&row=x&q=oak", e.shop.ID, e.odoo.ID))
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = e.env.SignIn(t, vocab.RoleFinance).Get(cands + "oak")
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	res, _ = op.PostFormBody("/mappings/unmapped/pick", url.Values{"from": {fmt.Sprint(e.shop.ID)}, "to": {fmt.Sprint(e.odoo.ID)},
		"type": {"variant"}, "id": {"gid://shopify/ProductVariant/1"}, "match": {"41"}, "back": {page}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = op.Get(page)
	require.Contains(t, body, "(1 match)")
	require.NotContains(t, body, "Oak chair · OAK-1", "hidden while it waits in the draft")
}

// Accepting suggestions counts matches (pairs), not rows; two open proposed
// changes with the same records both say so, and approving one makes the
// other say what is left.
func TestMappingReviewSpeaksInMatches(t *testing.T) {
	t.Parallel()
	e := syncsSetup(t)
	ctx := t.Context()
	var shopRecs, odooRecs []store.ExternalRecord
	for i := 1; i <= 3; i++ {
		shopRecs = append(shopRecs, store.ExternalRecord{ExternalID: fmt.Sprintf("gid://shopify/ProductVariant/%d", i), SKU: fmt.Sprintf("SKU-%d", i), Name: fmt.Sprintf("Chair %d", i)})
		odooRecs = append(odooRecs, store.ExternalRecord{ExternalID: fmt.Sprint(40 + i), SKU: fmt.Sprintf("SKU-%d", i), Name: fmt.Sprintf("Chair %d", i)})
	}
	_, err := e.env.Store.UpsertExternalRecords(ctx, e.shop.ID, "variant", shopRecs)
	require.NoError(t, err)
	_, err = e.env.Store.UpsertExternalRecords(ctx, e.odoo.ID, "variant", odooRecs)
	require.NoError(t, err)
	op := e.env.SignIn(t, vocab.RoleOperator)
	page := fmt.Sprintf("/mappings/unmapped?from=%d&to=%d&type=variant", e.shop.ID, e.odoo.ID)

	res := op.PostForm("/mappings/unmapped/accept", url.Values{"from": {fmt.Sprint(e.shop.ID)}, "to": {fmt.Sprint(e.odoo.ID)}, "type": {"variant"}, "all": {"1"}})
	id := created(t, res)
	cs := fmt.Sprintf("/mappings/change-sets/%d", id)
	_, body := op.Get(cs)
	require.Contains(t, body, "Draft proposed change with 3 matches created from the suggestions")
	require.Contains(t, body, "Submit 3 matches for approval")
	require.NotContains(t, body, "6 changes")
	_, body = op.Get(page)
	require.Contains(t, body, fmt.Sprintf("3 are waiting in proposed change #%d (draft)", id))
	require.NotContains(t, body, "Chair 1", "rows in a draft are hidden")

	// Someone else proposes two of the same matches by hand.
	admin := e.env.SignIn(t, vocab.RoleAdmin)
	other, err := e.env.Store.CreateChangeSet(ctx, store.Actor{UserID: adminID(t, e), Label: "admin@shop.test"}, store.NewChangeSet{Items: []store.ItemInput{
		{Op: store.OpSet, EntityType: "variant", ConnectionID: e.shop.ID, EntityKey: "SKU-1", ExternalID: "gid://shopify/ProductVariant/1"},
		{Op: store.OpSet, EntityType: "variant", ConnectionID: e.odoo.ID, EntityKey: "SKU-1", ExternalID: "41"},
	}})
	require.NoError(t, err)
	_, body = op.Get(cs)
	require.Contains(t, body, fmt.Sprintf("2 of these rows are also in proposed change #%d (a draft, by Ada Admin).", other.ID))
	_, body = admin.Get(fmt.Sprintf("/mappings/change-sets/%d", other.ID))
	require.Contains(t, body, fmt.Sprintf("2 of these rows are also in proposed change #%d (a draft, by Operator User).", id), "both show it, with the proposer's name")

	// The first is approved: the other says what blocks it, and once
	// checked again, what is left.
	require.Equal(t, http.StatusSeeOther, op.PostForm(cs+"/submit", nil).StatusCode)
	res, _ = admin.PostFormBody(cs+"/approve", url.Values{"comment": {"ok"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get(cs)
	require.Contains(t, body, "Approved: 3 matches applied as mapping version 1.")
	_, body = admin.Get(fmt.Sprintf("/mappings/change-sets/%d", other.ID))
	require.NotContains(t, body, "also in proposed change", "the approved one is no longer open")
	require.Contains(t, body, "2 of its rows are already mapped this way now and change nothing; what is left: 0 changes.",
		"a draft is checked again by the approval of the other")
	require.NotContains(t, body, "conflict(s)")
}

func adminID(t *testing.T, e syncsEnv) int64 {
	t.Helper()
	u, err := e.env.Store.UserByEmail(t.Context(), "admin@shop.test")
	require.NoError(t, err)
	return u.ID
}

// An import whose every row is already mapped that way leaves no draft.
func TestCSVImportThatChangesNothingLeavesNoDraft(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := mappingConns(t, env)
	op := env.SignIn(t, vocab.RoleOperator)
	admin := env.SignIn(t, vocab.RoleAdmin)
	csv := fmt.Sprintf("type,connection,external_id,entity_key\nvariant,%s,gid://shopify/ProductVariant/1,SKU-1\nvariant,%s,41,SKU-1\n", shop.Name, odoo.Name)
	res, _ := uploadCSV(t, op, env, "first.csv", csv)
	id := created(t, res)
	require.Equal(t, http.StatusSeeOther, op.PostForm(fmt.Sprintf("/mappings/change-sets/%d/submit", id), nil).StatusCode)
	res, _ = admin.PostFormBody(fmt.Sprintf("/mappings/change-sets/%d/approve", id), nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	res, body := uploadCSV(t, op, env, "again.csv", csv)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Nothing to change: all 2 rows are already mapped this way. No proposed change was made.")
	sets, _, err := env.Store.ListChangeSets(t.Context(), store.ChangeSetFilter{})
	require.NoError(t, err)
	require.Len(t, sets, 1, "no empty draft")
}
