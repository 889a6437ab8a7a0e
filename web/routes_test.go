package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

func TestMain(m *testing.M) {
	code := storetest.Run(m)
	browsertest.Close()
	os.Exit(code)
}

const anon = "anonymous"

var roles = []string{anon, string(vocab.RoleOperator), string(vocab.RoleFinance), string(vocab.RoleAdmin)}

// expect is the status each role gets; forbidden means 403 for a signed-in
// role and a redirect to the sign-in page for an anonymous visitor.
type expect map[string]int

type routeRow struct {
	method, path string
	want         expect
}

// addRoutes adds an area's rows to the access table (call it from init).
func addRoutes(rows ...routeRow) { allRoutes = append(allRoutes, rows...) }

func tableRows() []routeRow { return append(append([]routeRow{}, allRoutes...), logoutRoute) }

const forbidden = -1

// missingAnswers is what the roles allowed in get from a row whose id names
// nothing, where that is not 404: an empty form refused in words (303)
// before the record is looked up. Keyed by "METHOD path".
var missingAnswers = map[string]int{}

// answerMissing says rows answer status, not 404, when their id names
// nothing (call it from init).
func answerMissing(status int, rows ...string) {
	for _, r := range rows {
		missingAnswers[r] = status
	}
}

// allRoutes is the access contract of every route. A route added to the app
// without a row here fails TestEveryRouteIsInTheAccessTable.
// Posts send an empty form (with a valid CSRF token), so allowed posts
// answer 422 (form errors) or 303 (done / redirected).
// Areas add their rows from their own test files with addRoutes in an init func.
// Each ":id<int>" becomes a real record of the role's own (routeRecords),
// and every concrete path must reach its row's route: a path that matches
// none would meet a 404 for every role and check nothing.
// TestRouteAccessByRoleMissingRecords sends ids that name nothing.
var allRoutes = []routeRow{
	{"GET", "/healthz", expect{anon: 200, "operator": 200, "finance": 200, "admin": 200}},
	{"GET", "/readyz", expect{anon: 200, "operator": 200, "finance": 200, "admin": 200}},
	{"GET", "/setup", expect{anon: 303, "operator": 303, "finance": 303, "admin": 303}},
	{"POST", "/setup", expect{anon: 303, "operator": 303, "finance": 303, "admin": 303}},
	{"GET", "/login", expect{anon: 200, "operator": 303, "finance": 303, "admin": 303}},
	{"POST", "/login", expect{anon: 422, "operator": 422, "finance": 422, "admin": 422}},
	{"GET", "/", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
	{"POST", "/demo", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"POST", "/overview/try/dismiss", expect{anon: forbidden, "operator": 303, "finance": 303, "admin": 303}},
	{"GET", "/settings", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
	{"POST", "/settings/password", expect{anon: forbidden, "operator": 422, "finance": 422, "admin": 422}},
	{"GET", "/users", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"GET", "/users/new", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/users", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"GET", "/users/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/users/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"POST", "/users/:id<int>/password", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"POST", "/users/:id<int>/unlock", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"GET", "/audit", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},

	{"GET", "/connections", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
	{"GET", "/connections/new", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/connections", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"GET", "/connections/:id<int>", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
	{"GET", "/connections/:id<int>/edit", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/connections/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	{"POST", "/connections/:id<int>/test", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
	{"GET", "/connections/:id<int>/sign-in", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"GET", "/connections/signed-in", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"GET", "/connections/:id<int>/subscriptions", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
	{"POST", "/connections/:id<int>/subscriptions", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
	{"POST", "/connections/:id<int>/disable", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"POST", "/connections/:id<int>/enable", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	{"POST", "/connections/:id<int>/catalogue", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
}

// logoutRoute runs after all others: it ends the session the rows above use.
var logoutRoute = routeRow{"POST", "/logout", expect{anon: forbidden, "operator": 303, "finance": 303, "admin": 303}}

func TestEveryRouteIsInTheAccessTable(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	inTable := map[string]bool{}
	for _, r := range tableRows() {
		inTable[r.method+" "+r.path] = true
		require.Len(t, r.want, len(roles), "%s %s must say what every role gets", r.method, r.path)
	}
	var missing []string
	registered := map[string]bool{}
	for _, r := range env.Server.App.GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue // Fiber adds HEAD for every GET
		}
		key := r.Method + " " + r.Path
		registered[key] = true
		if !inTable[key] {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "routes without a row in allRoutes: add each with the status every role gets")
	for key := range inTable {
		require.True(t, registered[key], "allRoutes lists %s, which the app does not serve", key)
	}
	for key := range missingAnswers {
		require.True(t, inTable[key], "missingAnswers lists %s, which has no row", key)
	}
}

func TestRouteAccessByRole(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	// A user the admin's user actions can act on without locking anyone out,
	// and a connection to a sandbox shop.
	target, err := env.Store.CreateUser(t.Context(), store.SystemActor("test"), store.NewUser{Email: "target@shop.test", Name: "Target", Role: vocab.RoleOperator, Password: webtest.Password})
	require.NoError(t, err)
	conn := env.SandboxShopify(t, "Route shop")
	shared := routeIDs{"/users/": target.ID, "/connections/": conn.ID}
	// Every role gets records of its own, so what one role's actions change
	// (a replay, an acknowledgement) is not what another role meets.
	ids := routeRecords(t, env, shared)

	// Every row must reach its own route: a path no route matches answers
	// 404 to every role and would check nothing.
	routes := newRouteMatcher(env.Server.App)
	var astray []string
	for _, role := range roles {
		for _, r := range tableRows() {
			path := ids[role].fill(r.path)
			if got := routes.match(t, r.method, path); got != r.path {
				astray = append(astray, fmt.Sprintf("%s %s reaches %q, not %s", r.method, path, got, r.path))
			}
		}
	}
	require.Empty(t, astray, "rows whose concrete path does not reach their route: give their ids")

	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			var c *webtest.Client
			if role == anon {
				c = env.Anonymous(t)
			} else {
				c = env.SignIn(t, vocab.Role(role))
			}
			for _, r := range tableRows() {
				checkAccess(t, c, role, r.method, ids[role].fill(r.path), r.want[role])
			}
		})
	}
}

// Ids that name nothing: the roles allowed in meet a 404 (or the refusal
// of the empty form, where missingAnswers says so), the others are refused
// as with ids that exist.
func TestRouteAccessByRoleMissingRecords(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	missing := routeIDs{"/": 1 << 40}
	routes := newRouteMatcher(env.Server.App)
	for _, r := range tableRows() {
		if strings.Contains(r.path, ":id<int>") {
			require.Equal(t, r.path, routes.match(t, r.method, missing.fill(r.path)), "%s %s", r.method, r.path)
		}
	}
	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			var c *webtest.Client
			if role == anon {
				c = env.Anonymous(t)
			} else {
				c = env.SignIn(t, vocab.Role(role))
			}
			n := 0
			for _, r := range tableRows() {
				if !strings.Contains(r.path, ":id<int>") {
					continue
				}
				n++
				want := r.want[role]
				if want != forbidden {
					var ok bool
					if want, ok = missingAnswers[r.method+" "+r.path]; !ok {
						want = http.StatusNotFound
					}
				}
				checkAccess(t, c, role, r.method, missing.fill(r.path), want)
			}
			require.Positive(t, n)
		})
	}
}

// checkAccess sends the row's request (posts with an empty form) and checks
// what the role gets: want, or for forbidden a 403 (a signed-in role) or
// the sign-in page (an anonymous visitor).
func checkAccess(t *testing.T, c *webtest.Client, role, method, path string, want int) {
	t.Helper()
	var res *http.Response
	var body string
	if method == http.MethodGet {
		res, body = c.Get(path)
	} else {
		res, body = c.PostFormBody(path, url.Values{})
	}
	// assert, not require: one run lists every row a role does not get.
	switch {
	case want == forbidden && role == anon:
		assert.Equal(t, http.StatusSeeOther, res.StatusCode, "%s %s as %s", method, path, role)
		assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), "%s %s as %s goes to sign-in, got %q", method, path, role, res.Header.Get("Location"))
	case want == forbidden:
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s as %s", method, path, role)
		assert.Contains(t, body, "Not available for your role")
	default:
		assert.Equal(t, want, res.StatusCode, "%s %s as %s: %s", method, path, role, snippet(body))
	}
}

// routeRecords makes, for each role, the records the table's ids name (a
// failed sync, a bulk replay, a rehearsal, an alert and two channels, a
// reconciliation run and a discrepancy, a reviewed price) and says where
// each goes. They use systems of their own: the admin's rows disable the
// shared connection while the other roles' rows run.
func routeRecords(t *testing.T, env *webtest.Env, shared routeIDs) map[string]routeIDs {
	t.Helper()
	ctx := t.Context()
	db := env.Store.DB
	shop := env.SandboxShopify(t, "Records shop")
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	odoo, err := env.Store.CreateConnection(ctx, store.SystemActor("test"), box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo,
		Environment: vocab.EnvTest, Settings: map[string]string{"url": "https://odoo.example", "database": "shop"}})
	require.NoError(t, err)

	// One alert per role, opened together (applying conditions closes the
	// rule's alerts that are not among them).
	rs, err := env.Store.AlertRules(ctx)
	require.NoError(t, err)
	var conds []store.AlertCondition
	for _, role := range roles {
		conds = append(conds, store.AlertCondition{Kind: store.AlertFailedSyncsBurst, Key: "route-" + role,
			Title: "Orders: 12 syncs failed (" + role + ")", Message: "Fix the cause and replay them.", Value: 12})
	}
	_, err = env.Store.ApplyAlertConditions(ctx, rs[3:4], conds, time.Now())
	require.NoError(t, err)
	alerts := map[string]int64{}
	rows, err := db.QueryContext(ctx, `SELECT key, id FROM alerts WHERE key LIKE 'route-%'`)
	require.NoError(t, err)
	for rows.Next() {
		var key string
		var id int64
		require.NoError(t, rows.Scan(&key, &id))
		alerts[key] = id
	}
	require.NoError(t, rows.Err())
	rows.Close()

	// One reviewed price per role: variants 1 to 4 of the latest comparison.
	var prices int64
	require.NoError(t, db.GetContext(ctx, &prices, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at) VALUES ('prices', 'manual', 'succeeded', now(), now()) RETURNING id`))
	for i := range roles {
		_, err = db.ExecContext(ctx, `INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, label, price, compare_at, cost, currency)
VALUES ($1, $2, $4, $5, 'SKU-' || $4, 50, NULL, 30, ''), ($1, $3, 'gid://shopify/ProductVariant/' || $4, $5, 'SKU-' || $4, 45, NULL, 30, 'EUR')`,
			prices, odoo.ID, shop.ID, fmt.Sprint(i+1), i+1)
		require.NoError(t, err)
	}
	_, err = env.Store.BuildFinanceReview(ctx, prices, odoo.ID, shop.ID)
	require.NoError(t, err)

	all := map[string]routeIDs{}
	for i, role := range roles {
		ids := routeIDs{"/alerts/": alerts["route-"+role], "/finance/variants/": int64(i + 1)}
		for k, v := range shared {
			ids[k] = v
		}
		ref := "#R-" + role
		synced, err := env.Store.InsertSyncs(ctx, []store.NewSync{{Family: "orders", Direction: "shopify_to_odoo", Flow: "orders.shopify_odoo",
			SourceConnectionID: shop.ID, TargetConnectionID: odoo.ID, Trigger: store.TriggerWebhook, EntityType: "order",
			EntityRef: ref, EntityKey: ref, Payload: map[string]string{"name": ref}, IdempotencyKey: "order-" + ref, MaxAttempts: 8,
			Status: vocab.SyncFailed, ErrorClass: vocab.ClassValidation, Message: "Odoo refused the change: the customer has no country."}})
		require.NoError(t, err)
		ids["/syncs/"] = synced[0]

		var id int64
		require.NoError(t, db.GetContext(ctx, &id, `INSERT INTO replay_batches (created_label, sync_ids, description) VALUES ('test', $1, 'route table') RETURNING id`, pq.Array(synced)))
		ids["/failed/batches/"] = id
		require.NoError(t, db.GetContext(ctx, &id, `INSERT INTO exclusions (connection_id, entity_type, external_id, family, sku, reason, created_label)
VALUES ($1, 'variant', $2, 'prices', $2, 'route table', 'test') RETURNING id`, odoo.ID, "route-"+role))
		ids["/exclusions/"] = id
		require.NoError(t, db.GetContext(ctx, &id, `INSERT INTO rehearsals (connection_id, profile, orders_per_min, duration_seconds, updates_per_order) VALUES ($1, 'rate', 60, 60, 1) RETURNING id`, shop.ID))
		ids["/rehearsals/"] = id
		for _, action := range []string{"delete", "test"} {
			require.NoError(t, db.GetContext(ctx, &id, `INSERT INTO alert_channels (kind, name, target) VALUES ('email', $1, 'ops@shop.test') RETURNING id`, action+" channel"))
			ids["/alerts/channels/:id<int>/"+action] = id
		}
		require.NoError(t, db.GetContext(ctx, &id, `INSERT INTO recon_runs (family, trigger, requested_by, status, started_at, finished_at, compared, differing)
VALUES ('inventory', 'manual', 'test', 'succeeded', now(), now(), 10, 1) RETURNING id`))
		ids["/reconciliation/runs/"] = id
		require.NoError(t, db.GetContext(ctx, &id, `INSERT INTO discrepancies (family, kind, key, master_connection_id, other_connection_id, label, master_value, other_value, size, detail, first_run_id, last_run_id)
VALUES ('inventory', 'stock', $1, $2, $3, 'CHAIR-RED at WH/Stock', '12', '5', 7, '{}', $4, $4) RETURNING id`, "route-"+role, odoo.ID, shop.ID, ids["/reconciliation/runs/"]))
		ids["/reconciliation/discrepancies/"] = id
		ids["/privacy/"] = privacyRouteRecord(t, env, shop.ID, role)
		require.NoError(t, db.GetContext(ctx, &id, `INSERT INTO shop_payouts (connection_id, payout_ref, issued_at, status, net, currency)
VALUES ($1, $2, now(), 'PAID', 41.90, 'USD') RETURNING id`, shop.ID, "gid://shopify/ShopifyPaymentsPayout/route-"+role))
		ids["/payouts/"] = id
		all[role] = ids
	}
	return all
}

// routeIDs gives the id that ":id<int>" takes in a row's path, by the
// path's prefix (the longest one that matches).
type routeIDs map[string]int64

func (ids routeIDs) fill(path string) string {
	best := ""
	for prefix := range ids {
		if strings.HasPrefix(path, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best == "" {
		return path
	}
	return strings.ReplaceAll(path, ":id<int>", fmt.Sprint(ids[best]))
}

// routeMatcher says which of the app's routes a concrete path reaches, by
// Fiber's own matching: a copy of the app's route table, in the same order,
// whose handlers answer with their route's pattern.
type routeMatcher struct{ app *fiber.App }

func newRouteMatcher(app *fiber.App) routeMatcher {
	m := fiber.New(fiber.Config{DisableStartupMessage: true})
	for _, r := range app.GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue
		}
		pattern := r.Path
		m.Add(r.Method, r.Path, func(c *fiber.Ctx) error { return c.SendString(pattern) })
	}
	return routeMatcher{app: m}
}

// match returns the pattern of the route method and path reach, or "" when
// none does.
func (m routeMatcher) match(t *testing.T, method, path string) string {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	// Sent as the test client sends it: escaped ("<" as %3C), the form
	// the console's router sees.
	req.RequestURI = req.URL.RequestURI()
	res, err := m.app.Test(req, -1)
	require.NoError(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return ""
	}
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func snippet(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}
