package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// The environment scope contract: every route that writes into a connected
// system, or queues a write, on someone's behalf refuses a person limited to
// test systems when the system is production, in words, and writes and
// queues nothing. writeRoutes lists those routes; every other POST route is
// in writesNowhere with the reason; a POST route in neither fails
// TestEveryPostRouteSaysWhetherItWrites.

// scopeRefusal is what a person limited to test systems reads.
func scopeRefusal(system string) string {
	return "You may write only into test systems, and " + system + " is a production system. Ask an admin."
}

// writesNowhere are the POST routes that write into no connected system,
// with why.
var writesNowhere = map[string]string{
	"POST /setup":                                             "creates the first admin",
	"POST /login":                                             "signs in",
	"POST /logout":                                            "signs out",
	"POST /demo":                                              "adds sandbox twins as test systems and reads their catalogues as the admin (scope checked there)",
	"POST /settings/password":                                 "changes one's own password",
	"POST /overview/try/dismiss":                              "hides the demo's \"what to try\" list for oneself",
	"POST /users":                                             "Crossdock's own users",
	"POST /users/:id<int>":                                    "Crossdock's own users (sets the scope)",
	"POST /users/:id<int>/password":                           "Crossdock's own users",
	"POST /users/:id<int>/unlock":                             "Crossdock's own users (sign-in throttling)",
	"POST /connections":                                       "records a connection",
	"POST /connections/:id<int>":                              "edits a connection's settings in Crossdock",
	"POST /connections/:id<int>/test":                         "reads the shop or ERP's identity and limits",
	"POST /connections/:id<int>/disable":                      "stops Crossdock's syncs through it",
	"POST /connections/:id<int>/enable":                       "lets Crossdock's own syncs through it again",
	"POST /alerts/:id<int>/acknowledge":                       "Crossdock's alerts",
	"POST /alerts/rules/:kind":                                "Crossdock's alert rules",
	"POST /alerts/channels":                                   "notification channels, not connected systems",
	"POST /alerts/channels/:id<int>/delete":                   "notification channels",
	"POST /alerts/channels/:id<int>/test":                     "sends a test notification, not to a connected system",
	"POST /alerts/smtp":                                       "mail settings",
	"POST /alerts/smtp/test":                                  "sends a test e-mail",
	"POST /failed/resolve":                                    "marks failures resolved in Crossdock",
	"POST /failed/ignore":                                     "marks failures ignored in Crossdock",
	"POST /failed/exclude":                                    "adds records to Crossdock's exclusion list and closes their failures",
	"POST /failed/act":                                        "resolves, ignores or excludes failures in Crossdock (trying again goes through POST /failed/replay)",
	"POST /exclusions/:id<int>/include":                       "removes a record from Crossdock's exclusion list",
	"POST /failed/settings":                                   "retention and automatic replay settings",
	"POST /failed/propose-mappings":                           "drafts a mapping change set",
	"POST /failed/batches/:id<int>/cancel":                    "stops a bulk replay",
	"POST /syncs/:id<int>/resolve":                            "marks a failure resolved in Crossdock",
	"POST /syncs/:id<int>/ignore":                             "marks a failure ignored in Crossdock",
	"POST /finance/thresholds":                                "review thresholds",
	"POST /finance/collections/thresholds":                    "review thresholds",
	"POST /finance/collections/thresholds/clear":              "review thresholds",
	"POST /finance/variants/:id<int>/acknowledge":             "finance's review",
	"POST /finance/variants/:id<int>/accept":                  "finance's review",
	"POST /finance/variants/:id<int>/send":                    "asks the operators for a price fix on the discrepancy; the write is the push, checked in writeRoutes",
	"POST /flows/:family/pause":                               "holds Crossdock's own syncs of a family",
	"POST /flows/:family/resume":                              "lets Crossdock's own syncs of a family run again",
	"POST /mappings/unmapped/accept":                          "drafts a mapping change set",
	"POST /mappings/unmapped/pick":                            "drafts a mapping change set",
	"POST /mappings/import":                                   "drafts a mapping change set",
	"POST /mappings/change-sets":                              "drafts a mapping change set",
	"POST /mappings/change-sets/:id/rows":                     "edits a draft",
	"POST /mappings/change-sets/:id/remove-row":               "edits a draft",
	"POST /mappings/change-sets/:id/submit":                   "asks for approval",
	"POST /mappings/change-sets/:id/withdraw":                 "withdraws a proposal",
	"POST /mappings/change-sets/:id/recheck":                  "re-validates a draft",
	"POST /mappings/change-sets/:id/revert":                   "drafts the reverting change set",
	"POST /mappings/change-sets/:id/comments":                 "a comment",
	"POST /mappings/change-sets/:id/reject":                   "closes a proposal",
	"POST /reconciliation/runs":                               "compares what the systems hold: reads only",
	"POST /payouts/compare":                                   "compares payouts with the bank deposits Crossdock read: reads only",
	"POST /reconciliation/schedule":                           "comparison schedule",
	"POST /reconciliation/warehouse":                          "comparison settings",
	"POST /reconciliation/discrepancies/:id<int>/assign":      "Crossdock's discrepancy list",
	"POST /reconciliation/discrepancies/:id<int>/answer":      "Crossdock's discrepancy list (an operator's answer to finance)",
	"POST /finance/compare":                                   "queues a comparison, which only reads",
	"POST /reconciliation/discrepancies/:id<int>/acknowledge": "Crossdock's discrepancy list",
	"POST /reconciliation/discrepancies/:id<int>/ignore":      "Crossdock's discrepancy list",
	"POST /reconciliation/discrepancies/:id<int>/reopen":      "Crossdock's discrepancy list",
	"POST /rehearsals/:id<int>/cancel":                        "stops a rehearsal",
	"POST /sources/:family":                                   "sources of truth: who decides what (the writes that follow are Crossdock's own)",
	"POST /webhooks/shopify/:connection":                      "a shop's deliveries to Crossdock",
	"POST /webhooks/shipbob/:connection":                      "a warehouse's deliveries to Crossdock",
	"POST /webhooks/quickbooks/:connection":                   "QuickBooks Online's deliveries to Crossdock",
}

// scopeEnv is a console with its engine running, connected to a Shopify
// twin and an Odoo twin that are both production systems, with the admin
// and the operator limited to test systems.
type scopeEnv struct {
	env                *webtest.Env
	shop               *shopsandbox.Shop
	odoo               *odoosandbox.Server
	shopConn, odooConn store.Connection
	admin, op          *webtest.Client
}

func scopeSetup(t *testing.T) *scopeEnv {
	t.Helper()
	ctx := t.Context()
	env := webtest.Start(t)
	startEngine(t, env)
	box, err := secretbox.New([]byte(webtest.SecretKey))
	require.NoError(t, err)
	sys := store.SystemActor("test")
	e := &scopeEnv{env: env}

	e.shop = shopsandbox.New(shopsandbox.Options{Plan: "plus", AccessToken: "shpat_live", Seed: 3, ShopDomain: "live-shop.myshopify.com"})
	shopSrv := httptest.NewServer(e.shop)
	t.Cleanup(shopSrv.Close)
	e.shopConn, err = env.Store.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
		Environment: vocab.EnvProduction, Settings: map[string]string{"shop_domain": e.shop.Domain(), "api_base_url": shopSrv.URL},
		Secrets: map[string]string{"access_token": e.shop.AccessToken(), "api_secret": "live-webhook-secret"}})
	require.NoError(t, err)
	e.odoo = odoosandbox.New(odoosandbox.Options{Seed: 3})
	odooSrv := httptest.NewServer(e.odoo)
	t.Cleanup(odooSrv.Close)
	db, _, _, key := e.odoo.Credentials()
	e.odooConn, err = env.Store.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Odoo live", Kind: vocab.KindOdoo,
		Environment: vocab.EnvProduction, Settings: map[string]string{"url": odooSrv.URL, "database": db, "protocol": "json2"},
		Secrets: map[string]string{"api_key": key}})
	require.NoError(t, err)
	// Odoo decides stock, so pushing its value into the shop is allowed by
	// the sources of truth: only the scope stands in the way.
	_, err = env.Store.SaveSourceRule(ctx, sys, store.SourceRuleInput{Family: vocab.Inventory, Master: e.odooConn.ID,
		Receivers: []int64{e.shopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)

	for _, r := range []vocab.Role{vocab.RoleAdmin, vocab.RoleOperator} {
		u := env.Users[r]
		_, err := env.Store.UpdateUser(ctx, sys, u.ID, store.UserUpdate{Name: u.Name, Role: r, Active: true, Scope: vocab.ScopeTest})
		require.NoError(t, err)
	}
	e.admin, e.op = env.SignIn(t, vocab.RoleAdmin), env.SignIn(t, vocab.RoleOperator)
	return e
}

// failure records an order from the shop that failed to reach Odoo.
func (e *scopeEnv) failure(t *testing.T, ref string, class vocab.ErrorClass) int64 {
	t.Helper()
	ids, err := e.env.Store.InsertSyncs(t.Context(), []store.NewSync{syncsEnv{env: e.env, shop: e.shopConn, odoo: e.odooConn}.failure(ref, class, "Odoo did not answer.")})
	require.NoError(t, err)
	return ids[0]
}

func (e *scopeEnv) client(r vocab.Role) *webtest.Client {
	if r == vocab.RoleAdmin {
		return e.admin
	}
	return e.op
}

func (e *scopeEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.env.Store.DB.GetContext(t.Context(), &n, query, args...))
	return n
}

// flashAfter follows a redirect and returns the page it lands on.
func flashAfter(t *testing.T, c *webtest.Client, res *http.Response) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := c.Get(res.Header.Get("Location"))
	return body
}

// batchRefused waits for the bulk replay to finish and checks it refused
// every failure with the scope's words.
func (e *scopeEnv) batchRefused(t *testing.T, id int64, n int) store.ReplayBatch {
	t.Helper()
	var b store.ReplayBatch
	require.Eventually(t, func() bool {
		var err error
		b, err = e.env.Store.ReplayBatchByID(t.Context(), id)
		require.NoError(t, err)
		return !b.Open()
	}, 2*time.Minute, 50*time.Millisecond, "bulk replay #%d to end", id)
	require.Equal(t, store.BatchDone, b.Status)
	require.Zero(t, b.Enqueued)
	require.Equal(t, n, b.Refused)
	require.Equal(t, scopeRefusal("Odoo live"), b.Refusals()[0].Reason)
	return b
}

func batchOf(t *testing.T, res *http.Response) int64 {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var id int64
	_, err := fmt.Sscanf(res.Header.Get("Location"), "/failed/batches/%d", &id)
	require.NoError(t, err, res.Header.Get("Location"))
	return id
}

// writeRoute is one route that writes into a connected system, or queues a
// write, on the signed-in person's behalf.
type writeRoute struct {
	name  string
	route string // method and path as registered
	as    vocab.Role
	// post makes what the write needs, into production, posts it and
	// checks that the person was refused in words.
	post func(t *testing.T, e *scopeEnv, c *webtest.Client)
}

var writeRoutes = []writeRoute{
	{"replay one failure", "POST /syncs/:id<int>/replay", vocab.RoleOperator, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		id := e.failure(t, "#S1", vocab.ClassTransient)
		body := flashAfter(t, c, c.PostForm(fmt.Sprintf("/syncs/%d/replay", id), nil))
		require.Contains(t, body, scopeRefusal("Odoo live")+" Nothing was tried again.")
		s, err := e.env.Store.FailedSyncByID(t.Context(), id)
		require.NoError(t, err)
		require.Nil(t, s.ResolvedAt, "the failure stays open for someone else")
	}},
	{"edit and replay", "POST /syncs/:id<int>/edit-replay", vocab.RoleAdmin, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		id := e.failure(t, "#S2", vocab.ClassTransient)
		body := flashAfter(t, c, c.PostForm(fmt.Sprintf("/syncs/%d/edit-replay", id), url.Values{"payload": {`{"name": "#S2"}`}}))
		require.Contains(t, body, scopeRefusal("Odoo live")+" Nothing was tried again.")
	}},
	{"replay the ticked failures", "POST /failed/replay", vocab.RoleOperator, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		a, b := e.failure(t, "#S3", vocab.ClassTransient), e.failure(t, "#S4", vocab.ClassTransient)
		e.batchRefused(t, batchOf(t, c.PostForm("/failed/replay", url.Values{"id": {fmt.Sprint(a), fmt.Sprint(b)}})), 2)
	}},
	{"replay everything matching a filter", "POST /failed/replay", vocab.RoleOperator, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		e.failure(t, "#S5", vocab.ClassValidation)
		e.batchRefused(t, batchOf(t, c.PostForm("/failed/replay", url.Values{"all": {"1"}, "filter": {"class=validation"}})), 1)
	}},
	{"push the master's value", "POST /reconciliation/discrepancies/:id<int>/push", vocab.RoleOperator, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		var run, id int64
		db := e.env.Store.DB
		require.NoError(t, db.Get(&run, `INSERT INTO recon_runs (family, trigger, requested_by, status, started_at, finished_at, compared, differing)
VALUES ('inventory', 'manual', 'test', 'succeeded', now() - interval '1 minute', now(), 10, 1) RETURNING id`))
		require.NoError(t, db.Get(&id, `INSERT INTO discrepancies (family, kind, key, master_connection_id, other_connection_id, label, master_value, other_value, size, detail, first_run_id, last_run_id)
VALUES ('inventory', 'stock', 'scope', $1, $2, 'CHAIR-RED at WH/Stock', '12', '5', 7,
  '{"sku": "CHAIR-RED", "location": "WH/Stock", "odoo_product_id": "1", "odoo_location_id": "8", "on_hand": 14, "available": 12}', $3, $3) RETURNING id`,
			e.odooConn.ID, e.shopConn.ID, run))
		_, page := c.Get(fmt.Sprintf("/reconciliation/discrepancies/%d", id))
		require.Contains(t, page, `id="push-refused">`+scopeRefusal("Main store"), "the page says so instead of offering the button")
		require.NotContains(t, page, fmt.Sprintf(`action="/reconciliation/discrepancies/%d/push"`, id))
		res, body := c.PostFormBody(fmt.Sprintf("/reconciliation/discrepancies/%d/push", id), nil)
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Contains(t, body, scopeRefusal("Main store"))
		d, err := e.env.Store.DiscrepancyByID(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, store.DiscOpen, d.Status, "still open: nothing was sent")
	}},
	{"check all systems now", "POST /syncs/sweep", vocab.RoleOperator, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		const sweeps = `SELECT count(*) FROM river_job WHERE kind IN ('crossdock_inventory_sweep', 'crossdock_content_sweep')`
		before := e.count(t, sweeps)
		res, body := c.PostFormBody("/syncs/sweep", nil)
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Contains(t, body, scopeRefusal("Main store"), "the first production system by name")
		require.Equal(t, before, e.count(t, sweeps), "no sweep queued")
	}},
	{"refresh the catalogue", "POST /connections/:id<int>/catalogue", vocab.RoleOperator, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		res, body := c.PostFormBody(fmt.Sprintf("/connections/%d/catalogue", e.shopConn.ID), nil)
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Contains(t, body, scopeRefusal("Main store"))
	}},
	{"register webhook subscriptions", "POST /connections/:id<int>/subscriptions", vocab.RoleAdmin, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		res, body := c.PostFormBody(fmt.Sprintf("/connections/%d/subscriptions", e.shopConn.ID), nil)
		require.Equal(t, http.StatusForbidden, res.StatusCode)
		require.Contains(t, body, scopeRefusal("Main store"))
	}},
	{"start a peak rehearsal", "POST /rehearsals", vocab.RoleAdmin, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		res, body := c.PostFormBody("/rehearsals", url.Values{"connection": {fmt.Sprint(e.shopConn.ID)}, "profile": {"rate"},
			"orders_per_min": {"60"}, "minutes": {"1"}, "updates_per_order": {"0"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		require.Contains(t, body, "is a production store")
		require.Zero(t, e.count(t, `SELECT count(*) FROM rehearsals`))
	}},
	{"approve a mapping change set (its automatic replay)", "POST /mappings/change-sets/:id/approve", vocab.RoleAdmin, func(t *testing.T, e *scopeEnv, c *webtest.Client) {
		ctx := t.Context()
		id := e.failure(t, "#S6", vocab.ClassUnmapped)
		v := e.shop.Variants()[0]
		// The failure records the variant it lacks, as the orders flow does.
		_, err := e.env.Store.DB.ExecContext(ctx, `UPDATE syncs SET response = $2 WHERE id = $1`, id,
			`{"unmapped": {"entity_type": "variant", "external_ids": ["`+v.GID()+`"]}}`)
		require.NoError(t, err)
		opUser := e.env.Users[vocab.RoleOperator]
		proposer := store.Actor{UserID: opUser.ID, Label: opUser.Email}
		cs, err := e.env.Store.CreateChangeSet(ctx, proposer, store.NewChangeSet{Title: "Chair", Reason: "unmapped order #S6", Items: []store.ItemInput{
			{EntityType: "variant", ConnectionID: e.shopConn.ID, EntityKey: v.SKU, ExternalID: v.GID()},
			{EntityType: "variant", ConnectionID: e.odooConn.ID, EntityKey: v.SKU, ExternalID: "1"}}})
		require.NoError(t, err)
		_, err = e.env.Store.SubmitChangeSet(ctx, proposer, cs.ID)
		require.NoError(t, err)
		res := c.PostForm(fmt.Sprintf("/mappings/change-sets/%d/approve", cs.ID), url.Values{"comment": {"ok"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		_, err = e.env.Engine.FollowApprovals(ctx) // the running engine may have done it already
		require.NoError(t, err)
		var batch int64
		require.NoError(t, e.env.Store.DB.GetContext(ctx, &batch, `SELECT id FROM replay_batches WHERE change_set_id = $1`, cs.ID))
		b := e.batchRefused(t, batch, 1)
		admin := e.env.Users[vocab.RoleAdmin]
		require.Equal(t, admin.ID, *b.CreatedBy)
		require.Equal(t, "Crossdock, on behalf of "+admin.Name, b.CreatedLabel)
		require.Contains(t, b.Description, "tried again automatically after "+admin.Name+" approved it")
		s, err := e.env.Store.FailedSyncByID(ctx, id)
		require.NoError(t, err)
		require.Nil(t, s.ResolvedAt)
	}},
}

// TestWritePathsCheckTheScope: for every route that writes into a connected
// system, a person limited to test systems is refused in words when the
// system is production, and neither twin receives a write, no sync is
// queued.
func TestWritePathsCheckTheScope(t *testing.T) {
	t.Parallel()
	e := scopeSetup(t)
	for _, w := range writeRoutes {
		t.Run(w.name, func(t *testing.T) {
			c := e.client(w.as)
			c.RefreshCSRF("/settings")
			w.post(t, e, c)
			// The rows record failures only: any other sync is a replay or
			// a push that was queued.
			require.Zero(t, e.count(t, `SELECT count(*) FROM syncs WHERE status <> 'failed'`), "nothing queued")
			require.Empty(t, e.shop.Writes(), "nothing written into the shop")
			require.Empty(t, e.odoo.Writes(), "nothing written into Odoo")
		})
	}
}

// The same people write into test systems: the refusals above are the
// scope's, not a route that refuses everyone.
func TestWritePathsLetTestOnlyPeopleWriteIntoTestSystems(t *testing.T) {
	t.Parallel()
	e := scopeSetup(t)
	test := e.env.SandboxShopify(t, "Test shop")
	body := flashAfter(t, e.op, e.op.PostForm(fmt.Sprintf("/connections/%d/catalogue", test.ID), nil))
	require.Contains(t, body, "variants and")
	require.Contains(t, body, "from Test shop.")
	// The shop answers for itself (it wants an https address for the
	// webhooks, which a test console does not have): the call was made.
	res, body := e.admin.PostFormBody(fmt.Sprintf("/connections/%d/subscriptions", test.ID), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, "Registered")
	require.NotContains(t, body, "You may write only into test systems")
}

// TestEveryPostRouteSaysWhetherItWrites: a POST route added without saying
// whether it writes into a connected system (a row in writeRoutes, or a
// reason in writesNowhere) fails here.
func TestEveryPostRouteSaysWhetherItWrites(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	writes := map[string]bool{}
	for _, w := range writeRoutes {
		writes[w.route] = true
		require.Empty(t, writesNowhere[w.route], "%s is both in writeRoutes and in writesNowhere", w.route)
	}
	var unsaid []string
	registered := map[string]bool{}
	for _, r := range env.Server.App.GetRoutes(true) {
		if r.Method != http.MethodPost {
			continue
		}
		key := r.Method + " " + r.Path
		registered[key] = true
		if !writes[key] && writesNowhere[key] == "" && !slices.Contains(unsaid, key) {
			unsaid = append(unsaid, key)
		}
	}
	sort.Strings(unsaid)
	require.Empty(t, unsaid, "POST routes that do not say whether they write into a connected system: "+
		"add a row to writeRoutes (and check the scope with store.MayWriteInto) or a reason to writesNowhere")
	for key := range writes {
		require.True(t, registered[key], "writeRoutes lists %s, which the app does not serve", key)
	}
	for key := range writesNowhere {
		require.True(t, registered[key], "writesNowhere lists %s, which the app does not serve", key)
	}
}
