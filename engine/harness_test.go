package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/odoo"
	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var secretKey = []byte("0123456789abcdef0123456789abcdef")

// resolver is an in-memory mapping table (the mapping store is tested on its
// own); it translates in both directions.
type resolver struct {
	mu sync.Mutex
	m  map[string]string
}

func newResolver() *resolver { return &resolver{m: map[string]string{}} }

func rkey(from, to int64, typ, id string) string {
	return fmt.Sprintf("%d|%d|%s|%s", from, to, typ, id)
}

func (r *resolver) set(a, b int64, typ, idA, idB string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[rkey(a, b, typ, idA)] = idB
	r.m[rkey(b, a, typ, idB)] = idA
}

func (r *resolver) unset(a, b int64, typ, idA string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	idB := r.m[rkey(a, b, typ, idA)]
	delete(r.m, rkey(a, b, typ, idA))
	delete(r.m, rkey(b, a, typ, idB))
}

func (r *resolver) ResolveRefs(_ context.Context, from, to int64, typ string, ids []string) (map[string]string, []string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	var missing []string
	for _, id := range ids {
		if v, ok := r.m[rkey(from, to, typ, id)]; ok {
			out[id] = v
		} else {
			missing = append(missing, id)
		}
	}
	return out, missing, nil
}

var mappingActors atomic.Int64

// approveMappings saves items (pairs of records in two systems) as people
// do on the Mappings page: an operator proposes a change set, an admin
// approves it. The engine's default resolver then reads them from the store.
func approveMappings(t testing.TB, st *store.Store, items []store.ItemInput) {
	t.Helper()
	ctx := context.Background()
	sys := store.SystemActor("test")
	n := mappingActors.Add(1)
	op, err := st.CreateUser(ctx, sys, store.NewUser{Email: fmt.Sprintf("olga-%d@shop.test", n), Name: "Olga",
		Role: vocab.RoleOperator, Password: "correct horse battery"})
	require.NoError(t, err)
	admin, err := st.CreateUser(ctx, sys, store.NewUser{Email: fmt.Sprintf("ada-%d@shop.test", n), Name: "Ada",
		Role: vocab.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	opA, adminA := store.Actor{UserID: op.ID, Label: op.Email}, store.Actor{UserID: admin.ID, Label: admin.Email}
	cs, err := st.CreateChangeSet(ctx, opA, store.NewChangeSet{Reason: "mappings for the test", Items: items})
	require.NoError(t, err)
	_, err = st.SubmitChangeSet(ctx, opA, cs.ID)
	require.NoError(t, err)
	_, err = st.ApproveChangeSet(ctx, adminA, cs.ID, "")
	require.NoError(t, err)
}

// variantItems pairs a Shopify variant with the Odoo product of its SKU.
func (e *env) variantItems(v shopsandbox.Variant, productID int) []store.ItemInput {
	return variantItems(e.shopConn.ID, e.odooConn.ID, v, productID)
}

func variantItems(shopConn, odooConn int64, v shopsandbox.Variant, productID int) []store.ItemInput {
	return []store.ItemInput{
		{EntityType: "variant", ConnectionID: shopConn, EntityKey: v.SKU, ExternalID: v.GID(), SKU: store.Str(v.SKU)},
		{EntityType: "variant", ConnectionID: odooConn, EntityKey: v.SKU, ExternalID: strconv.Itoa(productID), SKU: store.Str(v.SKU)},
	}
}

// locationItems pairs Odoo's WH/Stock with the shop's location.
func locationItems(shopConn, odooConn int64, shopLocation string) []store.ItemInput {
	return []store.ItemInput{
		{EntityType: "location", ConnectionID: odooConn, EntityKey: "WH/Stock", ExternalID: strconv.Itoa(odoosandbox.LocationStock)},
		{EntityType: "location", ConnectionID: shopConn, EntityKey: "WH/Stock", ExternalID: shopLocation},
	}
}

// clock is a settable clock for the Odoo sandbox's write_date.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	st       *store.Store
	eng      *engine.Engine
	res      *resolver
	shop     *shopsandbox.Shop
	odoo     *odoosandbox.Server
	shopConn store.Connection
	odooConn store.Connection
	clock    *clock
	// bySKU pairs the two catalogues.
	variantBySKU map[string]shopsandbox.Variant
	productBySKU map[string]odoosandbox.Product
}

type options struct {
	seed        int
	start       bool // start the engine (false: the test drives it)
	configure   func(*engine.Config)
	transport   http.RoundTripper
	noMappings  bool
	ordersRule  *store.SourceRuleInput // nil: Shopify decides orders, Odoo receives
	inventoryOn bool
	// realMappings approves the mappings through a change set and lets the
	// engine resolve them through the store, as the server does, instead of
	// the in-memory table: benchmarks measure the real lookup.
	realMappings bool
}

// setup starts a migrated database, the two sandboxes behind HTTP servers,
// their connections, the sources of truth and an engine.
func setup(t testing.TB, o options) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	st.DB.SetMaxOpenConns(60)
	st.DB.SetMaxIdleConns(60)
	require.NoError(t, st.MigrateQueue(ctx))
	seed := o.seed
	if seed == 0 {
		seed = 10
	}
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	shop := shopsandbox.New(shopsandbox.Options{Seed: seed, Plan: "enterprise", BucketSize: 1e9, RestoreRate: 1e9})
	odoo := odoosandbox.New(odoosandbox.Options{Seed: seed, Now: clk.now})
	shopSrv, odooSrv := httptest.NewServer(shop), httptest.NewServer(odoo)
	t.Cleanup(shopSrv.Close)
	t.Cleanup(odooSrv.Close)

	box, err := secretbox.New(secretKey)
	require.NoError(t, err)
	a := store.SystemActor("test")
	shopConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
		Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": shop.Domain(), "api_base_url": shopSrv.URL},
		Secrets: map[string]string{"access_token": shop.AccessToken(), "api_secret": "whsec"}})
	require.NoError(t, err)
	db, _, _, key := odoo.Credentials()
	odooConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo,
		Environment: vocab.EnvTest, Settings: map[string]string{"url": odooSrv.URL, "database": db, "protocol": "json2"},
		Secrets: map[string]string{"api_key": key}})
	require.NoError(t, err)

	orders := store.SourceRuleInput{Family: vocab.Orders, Master: shopConn.ID, Receivers: []int64{odooConn.ID},
		Trigger: rules.Realtime, SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins}
	if o.ordersRule != nil {
		orders = *o.ordersRule
	}
	_, err = st.SaveSourceRule(ctx, a, orders)
	require.NoError(t, err)
	_, err = st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Inventory, Master: odooConn.ID,
		Receivers: []int64{shopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)

	e := &env{st: st, res: newResolver(), shop: shop, odoo: odoo, shopConn: shopConn, odooConn: odooConn, clock: clk,
		variantBySKU: map[string]shopsandbox.Variant{}, productBySKU: map[string]odoosandbox.Product{}}
	for _, v := range shop.Variants() {
		e.variantBySKU[v.SKU] = v
	}
	for _, p := range odoo.Products() {
		e.productBySKU[p.DefaultCode] = p
	}
	switch {
	case o.noMappings:
	case o.realMappings:
		var items []store.ItemInput
		for sku, v := range e.variantBySKU {
			if p, ok := e.productBySKU[sku]; ok {
				items = append(items, e.variantItems(v, p.ID)...)
			}
		}
		items = append(items, locationItems(shopConn.ID, odooConn.ID, shop.Locations()[0].GID())...)
		approveMappings(t, st, items)
	default:
		for sku, v := range e.variantBySKU {
			if p, ok := e.productBySKU[sku]; ok {
				e.res.set(shopConn.ID, odooConn.ID, "variant", v.GID(), strconv.Itoa(p.ID))
			}
		}
		e.res.set(odooConn.ID, shopConn.ID, "location", strconv.Itoa(odoosandbox.LocationStock), shop.Locations()[0].GID())
	}

	hc := &http.Client{Timeout: 10 * time.Second, Transport: o.transport}
	cfg := engine.Config{Store: st, SecretKey: secretKey, Resolver: e.res, HTTPClient: hc,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		RetryBase: 20 * time.Millisecond, IntakeInterval: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		FetchCooldown: 5 * time.Millisecond, BreakerCooldown: 50 * time.Millisecond, BreakerThreshold: 50, RulesTTL: time.Millisecond,
		ManualSweepsOnly: true, ManualAlertsOnly: true}
	if o.realMappings {
		// No in-memory table to fall back on: the engine resolves through
		// the store (its default Resolver).
		e.res, cfg.Resolver = nil, nil
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	e.eng, err = engine.New(cfg)
	require.NoError(t, err)
	if o.start {
		e.start(t)
	}
	return e
}

func (e *env) start(t testing.TB) {
	t.Helper()
	require.NoError(t, e.eng.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.eng.Stop(ctx)
	})
}

// order places an order in the Shopify sandbox and stores its orders/create
// webhook as ingest does; it returns the order and the event id.
func (e *env) order(t testing.TB, lines ...shopsandbox.NewLine) (shopsandbox.Order, []byte) {
	t.Helper()
	if len(lines) == 0 {
		v := e.shop.Variants()[0]
		lines = []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 2}}
	}
	o, err := e.shop.AddOrder(shopsandbox.NewOrder{Lines: lines})
	require.NoError(t, err)
	payload, err := e.shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)
	return o, payload
}

var deliveries sync.Map

func (e *env) deliver(t testing.TB, topic string, payload []byte) int64 {
	t.Helper()
	n, _ := deliveries.LoadOrStore(t.Name(), new(int64))
	p := n.(*int64)
	*p++
	id, inserted, err := e.st.InsertWebhookEvent(context.Background(), store.NewWebhookEvent{ConnectionID: e.shopConn.ID,
		WebhookID: fmt.Sprintf("wh-%d-%d", time.Now().UnixNano(), *p), EventID: "evt", Topic: topic,
		ShopDomain: e.shop.Domain(), APIVersion: "2026-04", Payload: payload})
	require.NoError(t, err)
	require.True(t, inserted)
	return id
}

// waitDeadline is when a wait for an outcome gives up: shortly before the
// test binary's own deadline (go test -timeout), or in 5 minutes without
// one. A busy machine makes the engine slower, not wrong, and a short limit
// would fail the test for it.
func waitDeadline(t testing.TB) time.Time {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, set := d.Deadline(); set {
			return end.Add(-5 * time.Second)
		}
	}
	return time.Now().Add(5 * time.Minute)
}

// wait polls until cond holds, or fails the test at waitDeadline.
func wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := waitDeadline(t)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncsOf returns the syncs of a webhook event once they have all ended.
func (e *env) endedSyncs(t testing.TB, eventID int64) []store.Sync {
	t.Helper()
	var out []store.Sync
	wait(t, fmt.Sprintf("the syncs of event %d to end", eventID), func() bool {
		ss, err := e.st.SyncsOfWebhookEvent(context.Background(), eventID)
		require.NoError(t, err)
		for _, s := range ss {
			if s.FinishedAt == nil {
				return false
			}
		}
		out = ss
		return len(ss) > 0
	})
	return out
}

func (e *env) sync(t testing.TB, id int64) store.Sync {
	t.Helper()
	s, err := e.st.SyncByID(context.Background(), id)
	require.NoError(t, err)
	return s
}

func (e *env) ended(t testing.TB, id int64) store.Sync {
	t.Helper()
	var s store.Sync
	wait(t, fmt.Sprintf("sync %d to end", id), func() bool {
		s = e.sync(t, id)
		return s.FinishedAt != nil
	})
	return s
}

// available is what Odoo can still sell of a product at a location: on hand
// minus reserved, what the engine sends as Shopify's "available".
func (e *env) available(t testing.TB, productID, locationID int) int {
	t.Helper()
	db, _, _, key := e.odoo.Credentials()
	cl, err := odoo.NewClient(odoo.Config{URL: e.odooConn.Settings["url"], Database: db, Secret: key, Protocol: odoo.ProtocolJSON2})
	require.NoError(t, err)
	qs, err := cl.Quants(context.Background(), []int{locationID}, []int{productID})
	require.NoError(t, err)
	total := 0.0
	for _, q := range qs {
		total += q.Available()
	}
	return int(total)
}

func (e *env) saleOrdersWithRef(ref string) []odoosandbox.SaleOrder {
	var out []odoosandbox.SaleOrder
	for _, so := range e.odoo.SaleOrders() {
		if so.ClientOrderRef == ref {
			out = append(out, so)
		}
	}
	return out
}

// The benchmarks' mappings are approved through a change set and read by
// the engine from the store, as on the server: none is in an in-memory table
// that would skip the real lookup.
func TestRealMappingsResolveThroughTheStore(t *testing.T) {
	t.Parallel()
	e := setup(t, options{realMappings: true, start: true})
	ctx := context.Background()
	require.Nil(t, e.res, "no in-memory table to fall back on")
	want := map[string]string{}
	var gids []string
	for sku, v := range e.variantBySKU {
		if p, ok := e.productBySKU[sku]; ok {
			want[v.GID()] = strconv.Itoa(p.ID)
			gids = append(gids, v.GID())
		}
	}
	require.NotEmpty(t, gids)
	got, unmapped, err := e.st.ResolveRefs(ctx, e.shopConn.ID, e.odooConn.ID, "variant", gids)
	require.NoError(t, err)
	require.Empty(t, unmapped)
	require.Equal(t, want, got)
	locs, _, err := e.st.ResolveRefs(ctx, e.odooConn.ID, e.shopConn.ID, "location", []string{strconv.Itoa(odoosandbox.LocationStock)})
	require.NoError(t, err)
	require.Equal(t, e.shop.Locations()[0].GID(), locs[strconv.Itoa(odoosandbox.LocationStock)])

	// An order goes through with those mappings alone.
	o, payload := e.order(t)
	ss := e.endedSyncs(t, e.deliver(t, "orders/create", payload))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1)
}
