// Package enginetest is the test harness of the engine and of the packages
// above it (engine/recon, engine/alert, engine/rehearsal): a migrated test
// database, the Shopify and Odoo sandbox twins behind HTTP servers, their
// connections, the sources of truth, and an engine on them. Only tests
// import it.
package enginetest

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

	"crossdock/connectors"
	"crossdock/connectors/odoo"
	odoosandbox "crossdock/connectors/odoo/sandbox"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shopify"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// SecretKey seals the test connections' secrets.
var SecretKey = []byte("0123456789abcdef0123456789abcdef")

// Kinds are the connector kinds the tests' engines know, as the program wires them.
func Kinds() *connectors.Registry {
	return connectors.MustRegistry(shopify.Kind(), odoo.Kind(), shipbob.Kind(), quickbooks.Kind())
}

// Resolver is an in-memory mapping table (the mapping store is tested on
// its own); it translates in both directions.
type Resolver struct {
	mu sync.Mutex
	m  map[string]string
}

// NewResolver returns an empty table.
func NewResolver() *Resolver { return &Resolver{m: map[string]string{}} }

func rkey(from, to int64, typ, id string) string {
	return fmt.Sprintf("%d|%d|%s|%s", from, to, typ, id)
}

// Set maps idA of connection a to idB of connection b, both ways.
func (r *Resolver) Set(a, b int64, typ, idA, idB string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[rkey(a, b, typ, idA)] = idB
	r.m[rkey(b, a, typ, idB)] = idA
}

// Unset forgets the mapping of idA, both ways.
func (r *Resolver) Unset(a, b int64, typ, idA string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	idB := r.m[rkey(a, b, typ, idA)]
	delete(r.m, rkey(a, b, typ, idA))
	delete(r.m, rkey(b, a, typ, idB))
}

// ResolveRefs implements engine.Resolver.
func (r *Resolver) ResolveRefs(_ context.Context, from, to int64, typ string, ids []string) (map[string]string, []string, error) {
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

// ResolveAllRefs implements engine.Resolver: the table holds one
// reference per record.
func (r *Resolver) ResolveAllRefs(ctx context.Context, from, to int64, typ string, ids []string) (map[string][]string, []string, error) {
	one, missing, err := r.ResolveRefs(ctx, from, to, typ, ids)
	out := make(map[string][]string, len(one))
	for k, v := range one {
		out[k] = []string{v}
	}
	return out, missing, err
}

var mappingActors atomic.Int64

// ApproveMappings saves items (pairs of records in two systems) as people
// do on the Mappings page: an operator proposes a change set, an admin
// approves it. The engine's default resolver then reads them from the store.
func ApproveMappings(t testing.TB, st *store.Store, items []store.ItemInput) {
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

// VariantItems pairs a Shopify variant with the Odoo product of its SKU.
func VariantItems(shopConn, odooConn int64, v shopsandbox.Variant, productID int) []store.ItemInput {
	return []store.ItemInput{
		{EntityType: "variant", ConnectionID: shopConn, EntityKey: v.SKU, ExternalID: v.GID(), SKU: store.Str(v.SKU)},
		{EntityType: "variant", ConnectionID: odooConn, EntityKey: v.SKU, ExternalID: strconv.Itoa(productID), SKU: store.Str(v.SKU)},
	}
}

// LocationItems pairs Odoo's WH/Stock with the shop's location.
func LocationItems(shopConn, odooConn int64, shopLocation string) []store.ItemInput {
	return []store.ItemInput{
		{EntityType: "location", ConnectionID: odooConn, EntityKey: "WH/Stock", ExternalID: strconv.Itoa(odoosandbox.LocationStock)},
		{EntityType: "location", ConnectionID: shopConn, EntityKey: "WH/Stock", ExternalID: shopLocation},
	}
}

// Env is a test database with the two sandboxes, their connections and an
// engine.
type Env struct {
	St       *store.Store
	Eng      *engine.Engine
	Res      *Resolver // nil with RealMappings
	Shop     *shopsandbox.Shop
	Odoo     *odoosandbox.Server
	ShopConn store.Connection
	OdooConn store.Connection
	// VariantBySKU and ProductBySKU pair the two catalogues.
	VariantBySKU map[string]shopsandbox.Variant
	ProductBySKU map[string]odoosandbox.Product
}

// Options tune Setup.
type Options struct {
	Seed      int
	Start     bool // start the engine (false: the test drives it)
	Configure func(*engine.Config)
	// Attach runs on the engine once built, before it starts: packages
	// above the core register their jobs there.
	Attach     func(*engine.Engine)
	Transport  http.RoundTripper
	NoMappings bool
	OrdersRule *store.SourceRuleInput // nil: Shopify decides orders, Odoo receives
	// RealMappings approves the mappings through a change set and lets the
	// engine resolve them through the store, as the server does, instead of
	// the in-memory table: benchmarks measure the real lookup.
	RealMappings bool
	// Now is the Odoo sandbox's clock (its write_date) [time.Now].
	Now func() time.Time
}

// Setup starts a migrated database, the two sandboxes behind HTTP servers,
// their connections, the sources of truth and an engine.
func Setup(t testing.TB, o Options) *Env {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	st.DB.SetMaxOpenConns(60)
	st.DB.SetMaxIdleConns(60)
	require.NoError(t, st.MigrateQueue(ctx))
	seed := o.Seed
	if seed == 0 {
		seed = 10
	}
	shop := shopsandbox.New(shopsandbox.Options{Seed: seed, Plan: "enterprise", BucketSize: 1e9, RestoreRate: 1e9})
	odoo := odoosandbox.New(odoosandbox.Options{Seed: seed, Now: o.Now})
	shopSrv, odooSrv := httptest.NewServer(shop), httptest.NewServer(odoo)
	t.Cleanup(shopSrv.Close)
	t.Cleanup(odooSrv.Close)

	box, err := secretbox.New(SecretKey)
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
	if o.OrdersRule != nil {
		orders = *o.OrdersRule
	}
	_, err = st.SaveSourceRule(ctx, a, orders)
	require.NoError(t, err)
	_, err = st.SaveSourceRule(ctx, a, store.SourceRuleInput{Family: vocab.Inventory, Master: odooConn.ID,
		Receivers: []int64{shopConn.ID}, Trigger: rules.Scheduled, SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
	require.NoError(t, err)

	e := &Env{St: st, Res: NewResolver(), Shop: shop, Odoo: odoo, ShopConn: shopConn, OdooConn: odooConn,
		VariantBySKU: map[string]shopsandbox.Variant{}, ProductBySKU: map[string]odoosandbox.Product{}}
	for _, v := range shop.Variants() {
		e.VariantBySKU[v.SKU] = v
	}
	for _, p := range odoo.Products() {
		e.ProductBySKU[p.DefaultCode] = p
	}
	switch {
	case o.NoMappings:
	case o.RealMappings:
		var items []store.ItemInput
		for sku, v := range e.VariantBySKU {
			if p, ok := e.ProductBySKU[sku]; ok {
				items = append(items, VariantItems(shopConn.ID, odooConn.ID, v, p.ID)...)
			}
		}
		items = append(items, LocationItems(shopConn.ID, odooConn.ID, shop.Locations()[0].GID())...)
		ApproveMappings(t, st, items)
	default:
		for sku, v := range e.VariantBySKU {
			if p, ok := e.ProductBySKU[sku]; ok {
				e.Res.Set(shopConn.ID, odooConn.ID, "variant", v.GID(), strconv.Itoa(p.ID))
			}
		}
		e.Res.Set(odooConn.ID, shopConn.ID, "location", strconv.Itoa(odoosandbox.LocationStock), shop.Locations()[0].GID())
	}

	hc := &http.Client{Timeout: 10 * time.Second, Transport: o.Transport}
	cfg := engine.Config{Store: st, Kinds: Kinds(), SecretKey: SecretKey, Resolver: e.Res, HTTPClient: hc,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		RetryBase: 20 * time.Millisecond, IntakeInterval: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		FetchCooldown: 5 * time.Millisecond, BreakerCooldown: 50 * time.Millisecond, BreakerThreshold: 50, RulesTTL: time.Millisecond,
		ManualSweepsOnly: true}
	if o.RealMappings {
		// No in-memory table to fall back on: the engine resolves through
		// the store (its default Resolver).
		e.Res, cfg.Resolver = nil, nil
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	e.Eng, err = engine.New(cfg)
	require.NoError(t, err)
	if o.Attach != nil {
		o.Attach(e.Eng)
	}
	if o.Start {
		StartEngine(t, e.Eng)
	}
	return e
}

// StartEngine starts eng and stops it when the test ends.
func StartEngine(t testing.TB, eng *engine.Engine) {
	t.Helper()
	require.NoError(t, eng.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = eng.Stop(ctx)
	})
}

// Order places an order in the Shopify sandbox and returns it with its
// orders/create webhook payload.
func (e *Env) Order(t testing.TB, lines ...shopsandbox.NewLine) (shopsandbox.Order, []byte) {
	t.Helper()
	if len(lines) == 0 {
		v := e.Shop.Variants()[0]
		lines = []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 2}}
	}
	o, err := e.Shop.AddOrder(shopsandbox.NewOrder{Lines: lines})
	require.NoError(t, err)
	payload, err := e.Shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)
	return o, payload
}

var deliveries sync.Map

// Deliver stores a webhook as ingest does; it returns the event's id.
func (e *Env) Deliver(t testing.TB, topic string, payload []byte) int64 {
	t.Helper()
	n, _ := deliveries.LoadOrStore(t.Name(), new(int64))
	p := n.(*int64)
	*p++
	id, inserted, err := e.St.InsertWebhookEvent(context.Background(), store.NewWebhookEvent{ConnectionID: e.ShopConn.ID,
		WebhookID: fmt.Sprintf("wh-%d-%d", time.Now().UnixNano(), *p), EventID: "evt", Topic: topic,
		ShopDomain: e.Shop.Domain(), APIVersion: "2026-04", Payload: payload})
	require.NoError(t, err)
	require.True(t, inserted)
	return id
}

// WaitDeadline is when a wait for an outcome gives up: shortly before the
// test binary's own deadline (go test -timeout), or in 5 minutes without
// one. A busy machine makes the engine slower, not wrong, and a short limit
// would fail the test for it.
func WaitDeadline(t testing.TB) time.Time {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, set := d.Deadline(); set {
			return end.Add(-5 * time.Second)
		}
	}
	return time.Now().Add(5 * time.Minute)
}

// Wait polls until cond holds, or fails the test at WaitDeadline.
func Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := WaitDeadline(t)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// EndedSyncs returns the syncs of a webhook event once they have all ended.
func (e *Env) EndedSyncs(t testing.TB, eventID int64) []store.Sync {
	t.Helper()
	var out []store.Sync
	Wait(t, fmt.Sprintf("the syncs of event %d to end", eventID), func() bool {
		ss, err := e.St.SyncsOfWebhookEvent(context.Background(), eventID)
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

// Sync reads a sync record.
func (e *Env) Sync(t testing.TB, id int64) store.Sync {
	t.Helper()
	s, err := e.St.SyncByID(context.Background(), id)
	require.NoError(t, err)
	return s
}

// Ended waits for a sync to end and returns it.
func (e *Env) Ended(t testing.TB, id int64) store.Sync {
	t.Helper()
	var s store.Sync
	Wait(t, fmt.Sprintf("sync %d to end", id), func() bool {
		s = e.Sync(t, id)
		return s.FinishedAt != nil
	})
	return s
}

// Available is what Odoo can still sell of a product at a location: on hand
// minus reserved, what the engine sends as Shopify's "available".
func (e *Env) Available(t testing.TB, productID, locationID int) int {
	t.Helper()
	db, _, _, key := e.Odoo.Credentials()
	cl, err := odoo.NewClient(odoo.Config{URL: e.OdooConn.Settings["url"], Database: db, Secret: key, Protocol: odoo.ProtocolJSON2})
	require.NoError(t, err)
	qs, err := cl.Quants(context.Background(), []int{locationID}, []int{productID})
	require.NoError(t, err)
	total := 0.0
	for _, q := range qs {
		total += q.Available()
	}
	return int(total)
}

// SaleOrdersWithRef lists the Odoo sale orders of a Shopify order.
func (e *Env) SaleOrdersWithRef(ref string) []odoosandbox.SaleOrder {
	var out []odoosandbox.SaleOrder
	for _, so := range e.Odoo.SaleOrders() {
		if so.ClientOrderRef == ref {
			out = append(out, so)
		}
	}
	return out
}

// SetAlertRule saves an alert rule as an admin would on Alerts → Settings.
func SetAlertRule(t testing.TB, st *store.Store, kind string, on bool, threshold float64, window, repeat int) {
	t.Helper()
	_, err := st.UpdateAlertRule(context.Background(), store.SystemActor("test"), store.AlertRuleInput{Kind: kind, Enabled: on,
		Threshold: strconv.FormatFloat(threshold, 'f', -1, 64), WindowMinutes: strconv.Itoa(window), RepeatMinutes: strconv.Itoa(repeat)})
	require.NoError(t, err)
}

// OnlyAlertRule turns every alert rule off but kind, as it was (the
// sandbox shop has no webhook subscriptions, which would fire otherwise).
func OnlyAlertRule(t testing.TB, st *store.Store, kind string) {
	t.Helper()
	rs, err := st.AlertRules(context.Background())
	require.NoError(t, err)
	for _, r := range rs {
		if r.Kind != kind {
			SetAlertRule(t, st, r.Kind, false, r.Threshold, r.WindowMinutes, r.RepeatMinutes)
		}
	}
}

// SourceRule saves a source of truth (the rule's current version is read
// first, as the page does).
func (e *Env) SourceRule(t testing.TB, in store.SourceRuleInput) {
	t.Helper()
	rs, err := e.St.SourceRules(context.Background())
	require.NoError(t, err)
	in.Version = rs.Rule(in.Family).Version
	_, err = e.St.SaveSourceRule(context.Background(), store.SystemActor("test"), in)
	require.NoError(t, err)
}

// MappedSKUs returns n SKUs both catalogues have, in a stable order.
func (e *Env) MappedSKUs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for _, v := range e.Shop.Variants() {
		if _, ok := e.ProductBySKU[v.SKU]; ok {
			out = append(out, v.SKU)
		}
	}
	require.GreaterOrEqual(t, len(out), n)
	return out[:n]
}

// Placed places an order and waits until the orders flow created it in Odoo
// (the engine must run).
func (e *Env) Placed(t testing.TB, lines ...shopsandbox.NewLine) (shopsandbox.Order, odoosandbox.SaleOrder) {
	t.Helper()
	o, payload := e.Order(t, lines...)
	s := e.EndedSyncs(t, e.Deliver(t, "orders/create", payload))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	sos := e.SaleOrdersWithRef(o.GID())
	require.Len(t, sos, 1)
	return o, sos[0]
}

// Variant reads a Shopify variant by SKU from the sandbox now.
func (e *Env) Variant(t testing.TB, sku string) shopsandbox.Variant {
	t.Helper()
	for _, v := range e.Shop.Variants() {
		if v.SKU == sku {
			return v
		}
	}
	t.Fatalf("no variant %s", sku)
	return shopsandbox.Variant{}
}

// MapInDB writes the pairs the in-memory resolver knows into the mapping
// tables, as an approved change set would: reconciliation translates ids
// in SQL, through mapping_refs.
func (e *Env) MapInDB(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var cs int64
	require.NoError(t, e.St.DB.GetContext(ctx, &cs, `INSERT INTO change_sets (title, status, source, version) VALUES ('test', 'approved', 'import', 1) RETURNING id`))
	_, err := e.St.DB.ExecContext(ctx, `INSERT INTO mapping_versions (version, change_set_id) VALUES (1, $1)`, cs)
	require.NoError(t, err)
	ref := func(entity int64, conn int64, typ, ext, sku string) {
		_, err := e.St.DB.ExecContext(ctx, `INSERT INTO mapping_refs (entity_id, connection_id, entity_type, external_id, sku, one_per_connection, valid_from, created_change_set)
VALUES ($1, $2, $3, $4, $5, true, 1, $6)`, entity, conn, typ, ext, sku, cs)
		require.NoError(t, err)
	}
	entity := func(typ, key string) int64 {
		var id int64
		require.NoError(t, e.St.DB.GetContext(ctx, &id, `INSERT INTO mapping_entities (entity_type, key) VALUES ($1, $2) RETURNING id`, typ, key))
		return id
	}
	for sku, v := range e.VariantBySKU {
		if p, ok := e.ProductBySKU[sku]; ok && sku != "" {
			id := entity("variant", sku)
			ref(id, e.ShopConn.ID, "variant", v.GID(), sku)
			ref(id, e.OdooConn.ID, "variant", strconv.Itoa(p.ID), sku)
		}
	}
	loc := entity("location", "WH/Stock")
	ref(loc, e.OdooConn.ID, "location", strconv.Itoa(odoosandbox.LocationStock), "")
	ref(loc, e.ShopConn.ID, "location", e.Shop.Locations()[0].GID(), "")
}
