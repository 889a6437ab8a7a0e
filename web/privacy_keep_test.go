package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// The settings of personal data: admins only.
func init() {
	writesNowhere["POST /privacy/settings"] = "how long personal data is kept and which roles see it"
	addRoutes(
		routeRow{"GET", "/privacy/settings", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/privacy/settings", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	)
}

// personalFixture stores, on the demo workspace, a failed customer sync
// naming Jane Doe and her e-mail (payload, request, sentence) and an order
// discrepancy carrying her (its detail) whose note names her, and returns the
// sync's id.
func personalFixture(t *testing.T, env *webtest.Env) int64 {
	t.Helper()
	ctx := context.Background()
	var shopID, odooID, syncID int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &shopID, `SELECT id FROM connections WHERE kind = 'shopify' ORDER BY id LIMIT 1`))
	require.NoError(t, env.Store.DB.GetContext(ctx, &odooID, `SELECT id FROM connections WHERE kind = 'odoo' ORDER BY id LIMIT 1`))
	require.NoError(t, env.Store.DB.GetContext(ctx, &syncID, `INSERT INTO syncs (family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, entity_key, search_keys, status, error_class, message, payload, request, idempotency_key, attempts, max_attempts, finished_at)
VALUES ('customers', 'shopify_to_odoo', 'customers.shopify_odoo', $1, $2, 'webhook', 'customer', 'gid://shopify/Customer/880001',
  'jane.doe@example.com', ARRAY['jane.doe@example.com'], 'failed', 'validation',
  'Odoo refused Customer Jane Doe (jane.doe@example.com): the phone number is not valid.',
  '{"id": "gid://shopify/Customer/880001", "email": "jane.doe@example.com", "first_name": "Jane", "last_name": "Doe", "phone": "+44 20 7946 0000", "street": "4 Privet Drive"}',
  '{"partner": {"Name": "Jane Doe", "Email": "jane.doe@example.com"}}', 'mask-jane', 1, 8, now()) RETURNING id`, shopID, odooID))
	_, err := env.Store.DB.ExecContext(ctx, `INSERT INTO discrepancies (family, kind, key, master_connection_id, other_connection_id, label,
  master_value, other_value, size, note, detail, first_run_id, last_run_id)
VALUES ('orders', 'order', 'mask-jane', $1, $2, 'Order #7001', '120.00', '', 120, 'Jane Doe (jane.doe@example.com) says it was paid',
  '{"order": "#7001", "customer": {"name": "Jane Doe", "email": "jane.doe@example.com"}}', 0, 0)`, shopID, odooID)
	require.NoError(t, err)
	return syncID
}

// A finance user sees customers' e-mails and names masked on the sync
// pages (the list, a failed sync's page with its data) and in the
// discrepancies' CSV; an admin sees them whole. Operators see them until an
// admin says they do not, then the failed syncs' list masks them too.
func TestPersonalDataMaskedByRole(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	id := personalFixture(t, env)
	syncPage := "/syncs/" + strconv.FormatInt(id, 10)
	pages := []string{"/syncs", syncPage, "/reconciliation/discrepancies.csv"}

	finance := env.SignIn(t, vocab.RoleFinance)
	for _, p := range pages {
		resp, body := finance.Get(p)
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		require.NotContains(t, body, "jane.doe@example.com", p)
		require.NotContains(t, body, "Jane Doe", p)
		require.Contains(t, body, "j•••@example.com", p)
	}
	_, body := finance.Get(syncPage)
	require.Contains(t, body, "J••• D•••", "names are masked in the sentence and the data")
	require.NotContains(t, body, "Privet Drive", "the address is masked")
	require.NotContains(t, body, "7946 0000", "the phone is masked")
	require.Contains(t, body, "gid://shopify/Customer/880001", "ids are kept")
	_, csv := finance.Get("/reconciliation/discrepancies.csv")
	require.Contains(t, csv, "J••• D••• (j•••@example.com) says it was paid")
	require.Contains(t, csv, "120.00", "amounts are kept")

	admin := env.SignIn(t, vocab.RoleAdmin)
	for _, p := range pages {
		_, body := admin.Get(p)
		require.Contains(t, body, "jane.doe@example.com", p)
		require.NotContains(t, body, "j•••@example.com", p)
	}
	_, body = admin.Get(syncPage)
	require.Contains(t, body, "Privet Drive")

	operator := env.SignIn(t, vocab.RoleOperator)
	_, body = operator.Get("/failed")
	require.Contains(t, body, "jane.doe@example.com", "operators see personal data by default")

	admin.RefreshCSRF("/privacy/settings")
	resp := admin.PostForm("/privacy/settings", url.Values{"retention_days": {"90"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, p := range []string{"/failed", syncPage} {
		_, body = operator.Get(p)
		// Links too: a cause holding an e-mail is named by its key.
		require.NotContains(t, body, "jane.doe@example.com", p)
		require.NotContains(t, body, "jane.doe%40example.com", p)
		require.Contains(t, body, "j•••@example.com", p)
	}
	// The cause's link, followed, lists its failures, still masked.
	_, body = operator.Get("/failed")
	link := regexp.MustCompile(`href="(/failed\?[^"]*cause_key=[0-9a-f]{32}[^"]*)"`).FindStringSubmatch(body)
	require.NotNil(t, link, "the cause's link names it by its key")
	_, body = operator.Get(html.UnescapeString(link[1]))
	require.NotContains(t, body, "No failures match", "the key finds the cause's failures")
	require.Contains(t, body, "j•••@example.com", "the group's failures are listed")
	require.NotContains(t, body, "jane.doe@example.com")
	require.NotContains(t, body, "jane.doe%40example.com")
	_, body = admin.Get("/failed")
	require.Contains(t, body, "jane.doe@example.com", "admins always see it")
}

// The settings page: an admin sets how long personal data is kept and who
// sees it; a bad number is refused next to the field, in words, and nothing
// changes; the save is in the audit log.
func TestPrivacySettingsPage(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	resp, body := admin.Get("/privacy/settings")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "is kept 90 days after the sync ended")
	require.Contains(t, body, "it has not been pruned yet")
	require.Regexp(t, `id="p-operators"[^>]*checked`, body, "operators see it by default")
	require.NotRegexp(t, `id="p-finance"[^>]*checked`, body, "finance does not by default")

	admin.RefreshCSRF("/privacy/settings")
	for _, bad := range []string{"", "abc", "0", "3651", "-4", strings.Repeat("9", 40)} {
		resp, body := admin.PostFormBody("/privacy/settings", url.Values{"retention_days": {bad}, "finance_sees": {"1"}})
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, bad)
		require.Contains(t, body, "from 1 to 3,650", bad)
	}
	resp = admin.PostForm("/privacy/settings", url.Values{"retention_days": {"bad\x00"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a NUL is refused")
	set, err := env.Store.PrivacySettings(context.Background())
	require.NoError(t, err)
	require.Equal(t, store.DefaultPrivacySettings, set, "nothing changed")

	resp = admin.PostForm("/privacy/settings", url.Values{"retention_days": {"30"}, "operators_see": {"1"}, "finance_sees": {"1"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = admin.Get("/privacy/settings")
	require.Contains(t, body, "Saved: personal data is kept 30 days after a sync ended; operators and finance see it.")
	set, err = env.Store.PrivacySettings(context.Background())
	require.NoError(t, err)
	require.Equal(t, store.PrivacySettings{RetentionDays: 30, OperatorsSee: true, FinanceSees: true}, set)
	_, body = admin.Get("/audit")
	require.Contains(t, body, "Personal data: kept 30 days after a sync ended; operators see it, finance see it")

	_, body = admin.Get("/privacy")
	require.Contains(t, body, "is kept 30 days after the sync ended")
	require.Contains(t, body, `href="/privacy/settings"`)
}

// The map counts the people held per route — the different customers in
// the route's syncs of the retention period, by e-mail (or a customer's id)
// — as the hourly pruning job last counted them, and says when. Syncs of
// the last minutes wait for the next count; syncs past the retention period
// are not counted.
func TestPrivacyMapCountsPeople(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 150})
	admin := env.SignIn(t, vocab.RoleAdmin)
	_, body := admin.Get("/privacy/map")
	require.Contains(t, body, "Not counted yet")

	ctx := context.Background()
	var shopID, odooID int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &shopID, `SELECT id FROM connections WHERE kind = 'shopify' ORDER BY id LIMIT 1`))
	require.NoError(t, env.Store.DB.GetContext(ctx, &odooID, `SELECT id FROM connections WHERE kind = 'odoo' ORDER BY id LIMIT 1`))
	for i, s := range []struct {
		flow, family, entity, key string
		ago                       string
	}{
		{"orders.shopify_odoo", "orders", "order", "ada@example.com", "1 hour"},
		{"orders.shopify_odoo", "orders", "order", "ADA@example.com", "2 hours"}, // the same person
		{"orders.shopify_odoo", "orders", "order", "grace@example.com", "3 hours"},
		{"orders.shopify_odoo", "orders", "order", "old@example.com", "100 days"}, // past the retention period
		{"orders.shopify_odoo", "orders", "order", "new@example.com", "1 second"}, // counted next time
		{"customers.shopify_odoo", "customers", "customer", "edsger@example.com", "1 hour"},
	} {
		_, err := env.Store.DB.ExecContext(ctx, `INSERT INTO syncs (created_at, family, direction, flow, source_connection_id, target_connection_id,
  trigger, entity_type, entity_ref, entity_key, search_keys, status, payload, idempotency_key, attempts, max_attempts, finished_at)
VALUES (now() - $7::interval, $2, 'shopify_to_odoo', $1, $4, $5, 'webhook', $3, 'ref-' || $8, $6, ARRAY['#' || $8, lower($6)], 'succeeded', '{}',
  'count-' || $8, 1, 1, now() - $7::interval)`, s.flow, s.family, s.entity, shopID, odooID, s.key, s.ago, strconv.Itoa(i))
		require.NoError(t, err)
	}
	_, err := env.Engine.PrunePersonal(ctx)
	require.NoError(t, err)
	_, body = admin.Get("/privacy/map")
	tags := regexp.MustCompile(`<[^>]+>`)
	text := tags.ReplaceAllString(body, "|")
	require.Contains(t, text, "|Orders||from Demo Shopify store to Demo Odoo||name, email, phone and address||2 people|")
	require.Contains(t, text, "|Customers||from Demo Shopify store to Demo Odoo||name, email, phone and address||1 person|")
	require.Contains(t, body, "counted at")
	require.NotContains(t, body, "Not counted yet")
}

func peopleIn(n int, system string) string {
	return views.Count(n, "person", "people") + " in " + system
}

// A customer's mapping names them (their e-mail is its key, their name is
// on every system's record): once an admin says operators do not see
// personal data, an operator sees it masked on the mappings list, the
// customer's page and the mappings CSV; an admin sees it whole.
func TestCustomerMappingsMaskedByRole(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t, webtest.Options{DemoSeed: 151})
	ctx := context.Background()
	var shopID int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &shopID, `SELECT id FROM connections WHERE kind = 'shopify' ORDER BY id LIMIT 1`))
	_, err := env.Store.SeedMappings(ctx, store.SystemActor("test"), store.NewChangeSet{Items: []store.ItemInput{{
		EntityType: "customer", ConnectionID: shopID, EntityKey: "grace.hopper@example.com", ExternalID: "gid://shopify/Customer/770001",
		Email: store.Str("grace.hopper@example.com"), Name: store.Str("Grace Hopper")}}})
	require.NoError(t, err)
	var entity, odooID int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &entity, `SELECT id FROM mapping_entities WHERE key = 'grace.hopper@example.com'`))
	require.NoError(t, env.Store.DB.GetContext(ctx, &odooID, `SELECT id FROM connections WHERE kind = 'odoo' ORDER BY id LIMIT 1`))
	// A Shopify customer not mapped to Odoo yet: the "not mapped yet" page
	// lists it, with its name and e-mail.
	_, err = env.Store.UpsertExternalRecords(ctx, shopID, "customer", []store.ExternalRecord{{ExternalID: "gid://shopify/Customer/770002",
		Name: "Grace Hopper", Email: "grace.hopper@example.com"}})
	require.NoError(t, err)
	unmapped := fmt.Sprintf("/mappings/unmapped?from=%d&to=%d&type=customer", shopID, odooID)
	pages := []string{"/mappings?type=customer", "/mappings/entities/" + strconv.FormatInt(entity, 10), "/mappings/export.csv?type=customer", unmapped}

	operator := env.SignIn(t, vocab.RoleOperator)
	_, body := operator.Get(pages[0])
	require.Contains(t, body, "grace.hopper@example.com", "operators see personal data by default")

	admin := env.SignIn(t, vocab.RoleAdmin)
	admin.RefreshCSRF("/privacy/settings")
	resp := admin.PostForm("/privacy/settings", url.Values{"retention_days": {"90"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, p := range pages {
		resp, body := operator.Get(p)
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		body = regexp.MustCompile(`href="[^"]*"|value="[^"]*"`).ReplaceAllString(body, "")
		require.NotContains(t, body, "grace.hopper@example.com", p)
		require.NotContains(t, body, "Grace Hopper", p)
		require.Contains(t, body, "g•••@example.com", p)
	}
	_, body = operator.Get(unmapped)
	require.Contains(t, body, "G••• H•••", "the unmapped customer is named, masked")
	_, csv := operator.Get("/mappings/export.csv?type=customer")
	require.Contains(t, csv, "G••• H•••", "the name is masked in the export")
	require.Contains(t, csv, "gid://shopify/Customer/770001", "ids are kept")

	for _, p := range pages {
		_, body := admin.Get(p)
		require.Contains(t, body, "grace.hopper@example.com", p)
		require.NotContains(t, body, "g•••@example.com", p)
	}
}
