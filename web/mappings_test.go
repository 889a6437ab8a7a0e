package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// mappingConns adds a Shopify and an Odoo connection (no API behind them:
// mapping pages never call out).
func mappingConns(t *testing.T, env *webtest.Env) (shop, odoo store.Connection) {
	t.Helper()
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	ctx := t.Context()
	shop, err = env.Store.CreateConnection(ctx, store.SystemActor("test"), box, store.ConnectionInput{Name: "Map shop", Kind: vocab.KindShopify, Environment: vocab.EnvTest})
	require.NoError(t, err)
	odoo, err = env.Store.CreateConnection(ctx, store.SystemActor("test"), box, store.ConnectionInput{Name: "Map ERP", Kind: vocab.KindOdoo, Environment: vocab.EnvTest})
	require.NoError(t, err)
	return shop, odoo
}

// created returns the change set id a create/import redirect points at.
func created(t *testing.T, res *http.Response) int64 {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var id int64
	_, err := fmt.Sscanf(res.Header.Get("Location"), "/mappings/change-sets/%d", &id)
	require.NoError(t, err, "redirects to the change set, got %q", res.Header.Get("Location"))
	return id
}

func TestMappingMakerCheckerOverHTTP(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := mappingConns(t, env)
	op := env.SignIn(t, vocab.RoleOperator)
	admin := env.SignIn(t, vocab.RoleAdmin)
	fin := env.SignIn(t, vocab.RoleFinance)

	// The operator maps a new variant, adds its Odoo id, and submits.
	res := op.PostForm("/mappings/change-sets", url.Values{"type": {"variant"}, "entity_key": {"FURN-0042"}, "connection": {fmt.Sprint(shop.ID)},
		"external_id": {"gid://shopify/ProductVariant/4401"}, "sku": {"FURN-0042"}, "reason": {"new chair"}})
	id := created(t, res)
	cs := fmt.Sprintf("/mappings/change-sets/%d", id)
	res = op.PostForm(cs+"/rows", url.Values{"type": {"variant"}, "entity_key": {"FURN-0042"}, "connection": {fmt.Sprint(odoo.ID)}, "external_id": {"17"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body := op.Get(cs)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "2 to add, 0 to change, 0 to remove")
	require.Contains(t, body, "Submit 2 changes for approval")
	require.NotContains(t, body, "Approve and apply", "operators never see the decision")

	// Nobody else can submit it; finance cannot even see it.
	res, _ = admin.PostFormBody(cs+"/submit", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = fin.Get(cs)
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	res = op.PostForm(cs+"/submit", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	// The operator cannot approve, even with a crafted request.
	res, _ = op.PostFormBody(cs+"/approve", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	_, body = admin.Get("/mappings/approvals")
	require.Contains(t, body, "FURN-0042")
	_, body = admin.Get(cs)
	require.Contains(t, body, "Approve and apply 2 changes")

	res, body = admin.PostFormBody(cs+"/reject", url.Values{"comment": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "Say why you reject it")

	res = admin.PostForm(cs+"/approve", url.Values{"comment": {"ok"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get(cs)
	require.Contains(t, body, "Applied as mapping version 1")
	require.Contains(t, body, "Approved: 2 changes applied as mapping version 1.")

	res, body = op.Get("/mappings?q=furn-0042")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "gid://shopify/ProductVariant/4401")
	require.Contains(t, body, "<code>17</code>", "side by side: the Odoo column")
	ent, err := env.Store.EntityByKey(t.Context(), "variant", "FURN-0042")
	require.NoError(t, err)
	res, body = op.Get(fmt.Sprintf("/mappings/entities/%d", ent.ID))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Version 1")
	require.Contains(t, body, "Added Map ERP id 17")
	res, _ = fin.Get(fmt.Sprintf("/mappings/entities/%d", ent.ID))
	require.Equal(t, http.StatusForbidden, res.StatusCode)

	res, body = op.Get("/mappings/history?q=17&version=1")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "FURN-0042")
	_, body = op.Get("/mappings/history?q=17&version=0")
	require.Contains(t, body, "Nothing mapped")

	// Revert: a new draft undoing it, which itself needs approval.
	res = op.PostForm(cs+"/revert", nil)
	revID := created(t, res)
	_, body = op.Get(fmt.Sprintf("/mappings/change-sets/%d", revID))
	require.Contains(t, body, "0 to add, 0 to change, 2 to remove")
	require.Contains(t, body, fmt.Sprintf("proposed change #%d", id))
}

func TestAdminCannotApproveOwnChangeSetEvenWithCraftedRequest(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, _ := mappingConns(t, env)
	admin := env.SignIn(t, vocab.RoleAdmin)
	res := admin.PostForm("/mappings/change-sets", url.Values{"type": {"product"}, "entity_key": {"P1"}, "connection": {fmt.Sprint(shop.ID)}, "external_id": {"1"}})
	id := created(t, res)
	cs := fmt.Sprintf("/mappings/change-sets/%d", id)
	require.Equal(t, http.StatusSeeOther, admin.PostForm(cs+"/submit", nil).StatusCode)

	_, body := admin.Get(cs)
	require.NotContains(t, body, "Approve and apply", "no approve button for your own change set")
	require.Contains(t, body, "another admin must approve")
	_, body = admin.Get("/mappings/approvals")
	require.Contains(t, body, "Nothing waits for you")

	// The crafted post is refused by the store, not only by the hidden button.
	res, body = admin.PostFormBody(cs+"/approve", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, body, "another admin must approve or reject it")
	res, _ = admin.PostFormBody(cs+"/reject", url.Values{"comment": {"mine"}})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	got, err := env.Store.ChangeSetByID(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetPending, got.Status)

	n, err := env.Store.CountPendingApprovals(t.Context(), env.Users[vocab.RoleAdmin].ID)
	require.NoError(t, err)
	require.Zero(t, n)
}

func uploadCSV(t *testing.T, c *webtest.Client, env *webtest.Env, name, content string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	require.NoError(t, w.WriteField("_csrf", c.CSRF))
	require.NoError(t, w.WriteField("reason", "spring clean"))
	fw, err := w.CreateFormFile("file", name)
	require.NoError(t, err)
	_, err = fw.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	req, err := http.NewRequest(http.MethodPost, env.URL+"/mappings/import", &buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(req)
}

func TestMappingCSVImportPreviewAndExport(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	mappingConns(t, env)
	op := env.SignIn(t, vocab.RoleOperator)

	tests := []struct {
		name, file string
		status     int
		text       string
	}{
		{"wrong header", "kind,system,id\nvariant,Map ERP,1\n", http.StatusUnprocessableEntity, `Unknown column &#34;kind&#34;`},
		{"empty file", "", http.StatusUnprocessableEntity, "The file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := uploadCSV(t, op, env, "x.csv", tc.file)
			require.Equal(t, tc.status, res.StatusCode)
			require.Contains(t, body, tc.text)
			require.Contains(t, body, "Nothing was imported.")
		})
	}
	res, body := op.PostFormBody("/mappings/import", url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "Choose a CSV file")

	file := "\ufefftype;connection;external_id;entity_key;sku\r\n" +
		"variant;Map shop;s1;A;A\r\n" +
		"variant;Map ERP;o1;A;A\r\n" +
		"spaceship;Map ERP;o2;B;B\r\n" +
		"variant;Map ERP;o1;C;C\r\n"
	res, _ = uploadCSV(t, op, env, "spring.csv", file)
	id := created(t, res)
	res, body = op.Get(fmt.Sprintf("/mappings/change-sets/%d", id))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Read 4 rows: 2 to add, 0 to change, 0 to remove, 0 unchanged.")
	require.Contains(t, body, "2 invalid row(s)")
	require.Contains(t, body, "<strong>Line 4:</strong>")
	require.Contains(t, body, "Unknown type")
	require.Contains(t, body, "<strong>Line 5:</strong>")
	require.Contains(t, body, "repeats the Map ERP id o1 of line 3")
	require.NotContains(t, body, "for approval</button>", "a file with invalid rows cannot be submitted")
	res, body = op.PostFormBody(fmt.Sprintf("/mappings/change-sets/%d/submit", id), nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "This proposed change has invalid rows")

	res, body = op.Get("/mappings/import/template.csv")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.HasPrefix(body, strings.Join(store.MappingCSVColumns, ",")))
	res, body = op.Get("/mappings/export.csv")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	require.Equal(t, strings.Join(store.MappingCSVColumns, ",")+"\n", body, "nothing approved yet: only the header")
}

func TestUnmappedSuggestionsBecomeAChangeSet(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	shop, odoo := mappingConns(t, env)
	ctx := t.Context()
	_, err := env.Store.UpsertExternalRecords(ctx, shop.ID, "variant", []store.ExternalRecord{{ExternalID: "s1", SKU: "OAK-1", Name: "Oak chair"}, {ExternalID: "s2", Name: "Lamp"}})
	require.NoError(t, err)
	_, err = env.Store.UpsertExternalRecords(ctx, odoo.ID, "variant", []store.ExternalRecord{{ExternalID: "o1", SKU: "oak-1"}})
	require.NoError(t, err)
	op := env.SignIn(t, vocab.RoleOperator)

	path := fmt.Sprintf("/mappings/unmapped?from=%d&to=%d&type=variant", shop.ID, odoo.ID)
	res, body := op.Get(path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Same SKU")
	require.Contains(t, body, "No suggestion")
	require.Contains(t, body, "Propose the ticked matches (up to 1)")

	res, body = op.PostFormBody("/mappings/unmapped/accept", url.Values{"from": {fmt.Sprint(shop.ID)}, "to": {fmt.Sprint(odoo.ID)}, "type": {"variant"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, body, "Tick at least one suggestion")

	res = op.PostForm("/mappings/unmapped/accept", url.Values{"from": {fmt.Sprint(shop.ID)}, "to": {fmt.Sprint(odoo.ID)}, "type": {"variant"}, "id": {"s1", "s2"}})
	id := created(t, res)
	cs, err := env.Store.ChangeSetByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 2, cs.NAdd, "s1 and o1 form entity OAK-1; s2 had no suggestion")
	_, body = op.Get(fmt.Sprintf("/mappings/change-sets/%d", id))
	require.Contains(t, body, "OAK-1")
}
