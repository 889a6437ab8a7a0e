package engine_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var secretKey = enginetest.SecretKey

// kinds are the connector kinds the tests' engines know, as the program wires them.
func kinds() *connectors.Registry { return enginetest.Kinds() }

// The harness is enginetest's, shared with the packages above the core;
// env gives the engine's own tests their short names for it.

// resolver is enginetest's in-memory mapping table.
type resolver struct{ *enginetest.Resolver }

func newResolver() *resolver { return &resolver{enginetest.NewResolver()} }

func (r *resolver) set(a, b int64, typ, idA, idB string) { r.Set(a, b, typ, idA, idB) }
func (r *resolver) unset(a, b int64, typ, idA string)    { r.Unset(a, b, typ, idA) }

func approveMappings(t testing.TB, st *store.Store, items []store.ItemInput) {
	t.Helper()
	enginetest.ApproveMappings(t, st, items)
}

// variantItems pairs a Shopify variant with the Odoo product of its SKU.
func (e *env) variantItems(v shopsandbox.Variant, productID int) []store.ItemInput {
	return variantItems(e.shopConn.ID, e.odooConn.ID, v, productID)
}

var variantItems, locationItems = enginetest.VariantItems, enginetest.LocationItems

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
	x        *enginetest.Env
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
	seed         int
	start        bool // start the engine (false: the test drives it)
	configure    func(*engine.Config)
	transport    http.RoundTripper
	noMappings   bool
	ordersRule   *store.SourceRuleInput // nil: Shopify decides orders, Odoo receives
	realMappings bool                   // see enginetest.Options
}

// setup is enginetest.Setup, with the Odoo sandbox on a settable clock.
func setup(t testing.TB, o options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	x := enginetest.Setup(t, enginetest.Options{Seed: o.seed, Start: o.start, Configure: o.configure, Transport: o.transport,
		NoMappings: o.noMappings, OrdersRule: o.ordersRule, RealMappings: o.realMappings, Now: clk.now})
	e := &env{x: x, st: x.St, eng: x.Eng, shop: x.Shop, odoo: x.Odoo, shopConn: x.ShopConn, odooConn: x.OdooConn, clock: clk,
		variantBySKU: x.VariantBySKU, productBySKU: x.ProductBySKU}
	if x.Res != nil {
		e.res = &resolver{x.Res}
	}
	return e
}

func (e *env) start(t testing.TB) { t.Helper(); enginetest.StartEngine(t, e.eng) }

func (e *env) order(t testing.TB, lines ...shopsandbox.NewLine) (shopsandbox.Order, []byte) {
	t.Helper()
	return e.x.Order(t, lines...)
}

func (e *env) deliver(t testing.TB, topic string, payload []byte) int64 {
	t.Helper()
	return e.x.Deliver(t, topic, payload)
}

var waitDeadline, wait = enginetest.WaitDeadline, enginetest.Wait

func (e *env) endedSyncs(t testing.TB, eventID int64) []store.Sync {
	t.Helper()
	return e.x.EndedSyncs(t, eventID)
}

func (e *env) sync(t testing.TB, id int64) store.Sync { t.Helper(); return e.x.Sync(t, id) }

func (e *env) ended(t testing.TB, id int64) store.Sync { t.Helper(); return e.x.Ended(t, id) }

func (e *env) available(t testing.TB, productID, locationID int) int {
	t.Helper()
	return e.x.Available(t, productID, locationID)
}

// mapInDB writes the mappings into the mapping tables (reconciliation
// reads them in SQL).
func (e *env) mapInDB(t testing.TB) { t.Helper(); e.x.MapInDB(t) }

func (e *env) saleOrdersWithRef(ref string) []odoosandbox.SaleOrder {
	return e.x.SaleOrdersWithRef(ref)
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
