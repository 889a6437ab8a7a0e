// Package demo is the demo workspace a new merchant can load on first run: a
// sandbox Shopify store and a sandbox Odoo, served inside Crossdock under
// /sandbox/, connected as two test-environment connections, and seeded with a
// few thousand products and some deliberate drift between them (prices and
// stock that differ, products that exist on one side only) for the rest of the
// product to find.
//
// The twins keep their data in memory: a restart re-seeds them from the same
// seed, so the drift is the same, but writes made to them are forgotten.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"crossdock/connectors"
	odoosandbox "crossdock/connectors/odoo/sandbox"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	"crossdock/connectors/shipbob"
	shipbobsandbox "crossdock/connectors/shipbob/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/number"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// SettingKey is where the demo's configuration is stored.
const SettingKey = "demo_workspace"

// PathPrefix is where the twins are served inside Crossdock.
const PathPrefix = "/sandbox"

// Config is what it takes to rebuild the same twins after a restart.
type Config struct {
	Seed         int
	ShopifyToken string
	OdooAPIKey   string
	ShopDomain   string
	OdooDatabase string
	OdooLogin    string
	// ShipBobToken is the ShipBob twin's personal access token (empty in a
	// demo loaded before the warehouse joined it: it has no ShipBob).
	ShipBobToken string
	// Books: the Shopify + QuickBooks demo (no Odoo, no warehouse
	// connected).
	Books bool
}

// storedConfig is Config as the demo_workspace setting holds it: the twins'
// credentials sealed like every other secret, under a context that binds them
// to this setting. Settings written before they were sealed carry them in
// plain text (shopify_token, odoo_api_key); Restore reads those and seals
// them in place.
type storedConfig struct {
	Seed         int    `json:"seed"`
	ShopDomain   string `json:"shop_domain"`
	OdooDatabase string `json:"odoo_database"`
	OdooLogin    string `json:"odoo_login"`
	Books        bool   `json:"books,omitempty"`
	Secrets      []byte `json:"secrets,omitempty"`
	// Plain-text credentials of settings written before sealing.
	ShopifyToken string `json:"shopify_token,omitempty"`
	OdooAPIKey   string `json:"odoo_api_key,omitempty"`
}

type demoSecrets struct {
	ShopifyToken string `json:"shopify_token"`
	OdooAPIKey   string `json:"odoo_api_key"`
	ShipBobToken string `json:"shipbob_token,omitempty"`
}

const sealContext = "setting:" + SettingKey

func seal(box *secretbox.Box, cfg Config) (storedConfig, error) {
	b, err := json.Marshal(demoSecrets{ShopifyToken: cfg.ShopifyToken, OdooAPIKey: cfg.OdooAPIKey, ShipBobToken: cfg.ShipBobToken})
	if err != nil {
		return storedConfig{}, err
	}
	return storedConfig{Seed: cfg.Seed, ShopDomain: cfg.ShopDomain, OdooDatabase: cfg.OdooDatabase, OdooLogin: cfg.OdooLogin,
		Books: cfg.Books, Secrets: box.Seal(b, sealContext)}, nil
}

// open returns the configuration, and whether its credentials were stored in
// plain text.
func (sc storedConfig) open(box *secretbox.Box) (cfg Config, plain bool, err error) {
	cfg = Config{Seed: sc.Seed, ShopDomain: sc.ShopDomain, OdooDatabase: sc.OdooDatabase, OdooLogin: sc.OdooLogin, Books: sc.Books}
	if len(sc.Secrets) == 0 {
		cfg.ShopifyToken, cfg.OdooAPIKey = sc.ShopifyToken, sc.OdooAPIKey
		return cfg, true, nil
	}
	b, err := box.Open(sc.Secrets, sealContext)
	if err != nil {
		return Config{}, false, fmt.Errorf("demo: credentials of the sandbox systems: %w", err)
	}
	var sec demoSecrets
	if err := json.Unmarshal(b, &sec); err != nil {
		return Config{}, false, fmt.Errorf("demo: credentials of the sandbox systems: %w", err)
	}
	cfg.ShopifyToken, cfg.OdooAPIKey, cfg.ShipBobToken = sec.ShopifyToken, sec.OdooAPIKey, sec.ShipBobToken
	return cfg, false, nil
}

// DefaultSeed gives about 3,000 Shopify variants and 4,500 Odoo products.
const DefaultSeed = 1500

// Workspace is the twins: the store, the ERP and the 3PL warehouse.
type Workspace struct {
	Shop    *shopsandbox.Shop
	Odoo    *odoosandbox.Server
	ShipBob *shipbobsandbox.Server
	Config  Config
	mux     *http.ServeMux
	plan    plan
	// Payouts is what the demo's Shopify Payments payouts show (payouts.go).
	Payouts PayoutDrift
	Books   *qbsandbox.Server // QuickBooks Online: connected when an admin adds it (AddQuickBooks)
}

// Drift counts the deliberate differences the demo starts with: drift the
// comparisons find, and problems to practise on, each counted.
type Drift struct {
	Prices, Stock, OnlyInOdoo, OnlyInShopify int
	// Mapped is how many variants are mapped (their SKU exists on both
	// sides); Unmapped how many of those were left out on purpose, so
	// "Map it" has something to do.
	Mapped, Unmapped int
	// UnmappedLocation is the Shopify location left unmapped (stock Odoo
	// keeps for it fails); MappedLocation the one mapped to WH/Stock.
	UnmappedLocation, MappedLocation string
	// RefusedProducts are restricted to another company in Odoo, so Odoo
	// refuses orders of them; RefusedOrders of the demo's orders contain one.
	RefusedProducts, Orders, RefusedOrders int
	// BelowCost variants sell under Odoo's cost; BelowThreshold have a
	// margin under the finance "low" threshold (20 %).
	BelowCost, BelowThreshold int
	// PastOrdersMissing of the shop's past orders contain a variant left
	// unmapped or refused, so they never reached Odoo, nor their
	// PastRefundsMissing refunds: the comparison of orders finds them.
	PastOrdersMissing, PastRefundsMissing int
	// WarehouseStock variants are counted differently at the warehouse's
	// fulfilment centre than in Odoo (and so, once synced, in Shopify).
	WarehouseStock int
}

// Loaded is what Load created.
type Loaded struct {
	Drift
	ShopifyConnectionID, OdooConnectionID int64
	// ShipBobConnectionID is the warehouse's connection.
	ShipBobConnectionID int64
}

// pair is a Shopify variant and its Odoo product.
type pair struct {
	v         shopsandbox.Variant
	productID int
	odooName  string
}

// plan is what the seed decided: what to map, what to leave out, which
// products Odoo refuses to sell.
type plan struct {
	mapped   []pair
	refused  []pair // mapped, but restricted to another company in Odoo
	fine     []pair // mapped, nothing wrong: the demo's orders use them
	location [2]string
}

// How many of each deliberate problem the demo has (fewer in a tiny seed).
const (
	wantUnmapped       = 8
	wantRefused        = 3
	wantBelowCost      = 4
	wantBelowThreshold = 6
	wantWarehouseStock = 3
	demoOrders         = 12
)

// New builds the twins for baseURL (Crossdock's own address) and aligns then
// drifts their data.
func New(baseURL string, cfg Config) (*Workspace, Drift) {
	base := strings.TrimRight(baseURL, "/") + PathPrefix
	w := &Workspace{Config: cfg,
		Shop: shopsandbox.New(shopsandbox.Options{Plan: "advanced", AccessToken: cfg.ShopifyToken, Seed: cfg.Seed,
			ShopDomain: cfg.ShopDomain, PublicURL: base + "/shopify", ShippingAddresses: true}),
		// ShipBob's own limit: 150 requests a minute.
		ShipBob: shipbobsandbox.New(shipbobsandbox.Options{AccessToken: cfg.ShipBobToken, Delay: 200 * time.Millisecond}),
		Odoo: odoosandbox.New(odoosandbox.Options{Database: cfg.OdooDatabase, Login: cfg.OdooLogin, APIKey: cfg.OdooAPIKey,
			Password: cfg.OdooAPIKey, Seed: cfg.Seed, Version: "19.0"}),
		mux: http.NewServeMux(),
	}
	w.mux.Handle(PathPrefix+"/shopify/", http.StripPrefix(PathPrefix+"/shopify", w.Shop))
	w.mux.Handle(PathPrefix+"/odoo/", http.StripPrefix(PathPrefix+"/odoo", w.Odoo))
	w.mux.Handle(PathPrefix+"/shipbob/", http.StripPrefix(PathPrefix+"/shipbob", w.ShipBob))
	d := w.alignAndDrift()
	w.Payouts = w.seedPayouts(time.Now())
	w.Books = newBooks(cfg, w.plan.mapped)
	w.mux.Handle(PathPrefix+"/quickbooks/", http.StripPrefix(PathPrefix+"/quickbooks", w.Books))
	return w, d
}

// alignAndDrift makes Odoo agree with Shopify on every product both have, then
// breaks a known, deterministic share of them.
func (w *Workspace) alignAndDrift() Drift {
	r := mrand.New(mrand.NewPCG(uint64(w.Config.Seed), 0xd1f7))
	// The problems to practise on draw from their own stream, so the drift
	// above stays what it was for a given seed.
	pr := mrand.New(mrand.NewPCG(uint64(w.Config.Seed), 0x9a1d))
	odooBySKU := map[string]odoosandbox.Product{}
	for _, p := range w.Odoo.Products() {
		odooBySKU[p.DefaultCode] = p
	}
	locs := w.Shop.Locations()
	var d Drift
	seen := map[string]bool{}
	var quants []odoosandbox.QuantSet
	zero := 0.0
	var both []pair
	prices := map[int][2]float64{} // Odoo product id: list price, cost
	warehouseQty := map[string]int{}
	for i, v := range w.Shop.Variants() {
		p, ok := odooBySKU[v.SKU]
		if !ok {
			d.OnlyInShopify++
			continue
		}
		seen[v.SKU] = true
		both = append(both, pair{v: v, productID: p.ID, odooName: p.Name})
		price, _ := strconv.ParseFloat(v.Price, 64)
		cost, _ := strconv.ParseFloat(v.Cost, 64)
		if i%17 == 5 {
			// Someone changed the price in Odoo and it never reached the store.
			price = float64(int(price*108)) / 100
			d.Prices++
		}
		prices[p.ID] = [2]float64{price, cost}
		// The first Shopify location is the main warehouse (WH/Stock in Odoo).
		if len(locs) > 0 {
			avail, _, _ := w.Shop.InventoryLevel(v.InventoryItemGID(), locs[0].GID())
			qty := float64(avail)
			if i%23 == 7 {
				qty += float64(1 + r.IntN(9)) // phantom stock
				d.Stock++
			}
			// Nothing reserved: what Odoo has available is what the store shows.
			quants = append(quants, odoosandbox.QuantSet{ProductID: p.ID, LocationID: odoosandbox.LocationStock, Quantity: qty, Reserved: &zero})
			// The warehouse holds what Odoo counts at WH/Stock.
			w.ShipBob.SetStockDirect(v.SKU, p.Name, int(qty), 0)
			warehouseQty[v.SKU] = int(qty)
		}
	}
	d.OnlyInOdoo = len(odooBySKU) - len(seen)

	// The problems, drawn once from the pairs in a seeded order: each pair
	// has at most one, so every count below is exact.
	order := pr.Perm(len(both))
	take := func(n int) []pair {
		n = min(n, len(order)/8) // a tiny seed keeps most of its catalogue healthy
		out := make([]pair, 0, n)
		for _, k := range order[:n] {
			out = append(out, both[k])
		}
		order = order[n:]
		return out
	}
	unmapped := take(wantUnmapped)
	w.plan.refused = take(wantRefused)
	belowCost := take(wantBelowCost)
	belowThreshold := take(wantBelowThreshold)
	left := map[int]bool{}
	for _, p := range unmapped {
		left[p.productID] = true
	}
	for _, p := range both {
		if !left[p.productID] {
			w.plan.mapped = append(w.plan.mapped, p)
		}
	}
	refused := map[int]bool{}
	for _, p := range w.plan.refused {
		refused[p.productID] = true
	}
	// A few counted at the warehouse with fewer than Odoo has: units found
	// damaged at the fulfilment centre, which nobody told Odoo about.
	damaged := take(wantWarehouseStock)
	for i, p := range damaged {
		q := warehouseQty[p.v.SKU] - 2 - i
		if q < 0 { // too few to lose any: a miscount the other way
			q = warehouseQty[p.v.SKU] + 3 + i
		}
		w.ShipBob.SetStockDirect(p.v.SKU, "", q, 0)
	}
	d.WarehouseStock = len(damaged)
	for _, k := range order {
		w.plan.fine = append(w.plan.fine, both[k])
	}
	for _, p := range belowCost {
		// Odoo's cost went up and the store's price did not follow.
		pc := prices[p.productID]
		shop, _ := strconv.ParseFloat(p.v.Price, 64)
		prices[p.productID] = [2]float64{pc[0], round2(shop * 1.12)}
	}
	for _, p := range belowThreshold {
		pc := prices[p.productID]
		shop, _ := strconv.ParseFloat(p.v.Price, 64)
		prices[p.productID] = [2]float64{pc[0], round2(shop * 0.85)} // a 15 % margin
	}
	for _, p := range both {
		pc := prices[p.productID]
		w.Odoo.SetPricesDirect(p.productID, pc[0], pc[1])
	}
	if len(w.plan.refused) > 0 {
		// A wholesale company of the same Odoo owns these products: Odoo
		// refuses them on the shop's sales orders, as it does for real.
		other := w.Odoo.AddCompanyDirect("Crossdock Demo Wholesale")
		for _, p := range w.plan.refused {
			w.Odoo.SetProductCompanyDirect(p.productID, other)
		}
	}
	w.Odoo.SetQuantsDirect(quants)
	// WH2/Stock is the shop floor: it stocks only products the shop sells
	// and Crossdock maps, so mapping the location is the whole fix of its
	// stock (products that exist only in Odoo, or variants left unmapped,
	// are problems of their own, at the main warehouse).
	floor := make(map[int]bool, len(w.plan.mapped))
	for _, p := range w.plan.mapped {
		floor[p.productID] = true
	}
	w.Odoo.KeepQuantsDirect(odoosandbox.LocationStock2, floor)

	d.Mapped, d.Unmapped = len(w.plan.mapped), len(unmapped)
	d.RefusedProducts, d.BelowCost, d.BelowThreshold = len(w.plan.refused), len(belowCost), len(belowThreshold)
	if len(locs) > 0 {
		w.plan.location[0] = locs[0].GID()
		d.MappedLocation = locs[0].Name
	}
	if len(locs) > 1 {
		// WH2/Stock in Odoo has stock for it, and nobody mapped them.
		d.UnmappedLocation = locs[1].Name
	}
	return d
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// ServeHTTP serves the twins under /sandbox/shopify/, /sandbox/odoo/ and /sandbox/shipbob/.
func (w *Workspace) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.mux.ServeHTTP(rw, r) }

// Holder serves the loaded workspace, or 404 while there is none. It lets
// the console mount the twins once and load the demo later.
type Holder struct {
	p atomic.Pointer[Workspace]
}

// Workspace returns the loaded workspace, or nil.
func (h *Holder) Workspace() *Workspace { return h.p.Load() }

func (h *Holder) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := h.p.Load()
	if w == nil {
		http.Error(rw, "no demo workspace is loaded", http.StatusNotFound)
		return
	}
	w.ServeHTTP(rw, r)
}

// ErrLoaded is returned when the demo workspace already exists.
var ErrLoaded = errors.New("the demo workspace is already loaded")

// Load creates the demo: its configuration, two test connections, and the
// running twins. It is audited as one change.
func Load(ctx context.Context, st *store.Store, box *secretbox.Box, a store.Actor, baseURL string, h *Holder, seed int) (_ Loaded, err error) {
	cfg := newConfig(seed)
	base := strings.TrimRight(baseURL, "/") + PathPrefix
	if err := notLoaded(ctx, st); err != nil {
		return Loaded{}, err
	}
	// The connections come first: their unique names stop a second, racing
	// load; the setting that makes the demo "loaded" is written last.
	shopConn, err := createShop(ctx, st, box, a, cfg, base)
	if err != nil {
		return Loaded{}, err
	}
	odooConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Demo Odoo", Kind: vocab.KindOdoo, Environment: vocab.EnvTest,
		Settings: map[string]string{"url": base + "/odoo", "database": cfg.OdooDatabase, "username": cfg.OdooLogin, "protocol": "json2"},
		Secrets:  map[string]string{"api_key": cfg.OdooAPIKey}})
	if err != nil {
		return Loaded{}, fmt.Errorf("demo: odoo connection: %w", err)
	}
	w, drift := New(baseURL, cfg)
	// The warehouse ships what Shopify assigns to the store's main location,
	// and signs its webhooks with its own secret.
	hookSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(randomHex(12)))
	sbConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Demo ShipBob warehouse", Kind: vocab.KindShipBob, Environment: vocab.EnvTest,
		Settings: map[string]string{"environment": "sandbox", "api_base_url": base + "/shipbob", "shipbob_channel_id": "100101",
			"shopify_location_id": w.Shop.Locations()[0].GID()},
		Secrets: map[string]string{"access_token": cfg.ShipBobToken, "api_secret": hookSecret}})
	if err != nil {
		return Loaded{}, fmt.Errorf("demo: shipbob connection: %w", err)
	}
	w.ShipBob.SubscribeDirect(connectors.WebhookURL(baseURL, vocab.KindShipBob, sbConn.ID), hookSecret,
		append([]string{shipbob.TopicShipped, shipbob.TopicTrackingUpdated, shipbob.TopicDelivered}, shipbob.BillingTopics...)...)
	// The twins answer before anything makes the engine call them (sources,
	// orders); the unique connection names above make this load the only
	// one, and a load that fails below takes them down again.
	h.p.Store(w)
	defer func() {
		if err != nil {
			h.p.CompareAndSwap(w, nil)
		}
	}()
	// What the demo writes itself is audited as the demo's, with the
	// request of the person who loaded it.
	sys := store.Actor{Label: Actor, RequestID: a.RequestID, IP: a.IP}
	if err := setSources(ctx, st, sys, shopConn.ID, odooConn.ID, sbConn.ID); err != nil {
		return Loaded{}, fmt.Errorf("demo: sources of truth: %w", err)
	}
	if _, err := st.SeedMappings(ctx, sys, w.mappings(shopConn.ID, odooConn.ID, sbConn.ID)); err != nil {
		return Loaded{}, fmt.Errorf("demo: mappings: %w", err)
	}
	if err = w.placeOrders(ctx, st, shopConn.ID, &drift); err != nil {
		return Loaded{}, fmt.Errorf("demo: orders: %w", err)
	}
	err = markLoaded(ctx, st, box, a, cfg, fmt.Sprintf("Loaded the demo workspace: %s Shopify variants, %s Odoo products, %s mapped, %s price and %s stock differences, "+
		"%s variants left unmapped, %s orders of which Odoo refuses %s, %s prices below cost and %s margins below threshold",
		number.Thousands(len(w.Shop.Variants())), number.Thousands(len(w.Odoo.Products())), number.Thousands(drift.Mapped), number.Thousands(drift.Prices),
		number.Thousands(drift.Stock), number.Thousands(drift.Unmapped), number.Thousands(drift.Orders), number.Thousands(drift.RefusedOrders),
		number.Thousands(drift.BelowCost), number.Thousands(drift.BelowThreshold)))
	if err != nil {
		return Loaded{}, err
	}
	return Loaded{Drift: drift, ShopifyConnectionID: shopConn.ID, OdooConnectionID: odooConn.ID, ShipBobConnectionID: sbConn.ID}, nil
}

// newConfig is a new demo's configuration: fresh credentials for its twins.
func newConfig(seed int) Config {
	return Config{Seed: seed, ShopifyToken: "shpat_demo_" + randomHex(12), OdooAPIKey: "demo-" + randomHex(16),
		ShopDomain: "crossdock-demo.myshopify.com", OdooDatabase: "demo", OdooLogin: "integration@crossdock-demo.example",
		ShipBobToken: "demo-pat-" + randomHex(16)}
}

// notLoaded returns ErrLoaded when a demo workspace exists.
func notLoaded(ctx context.Context, st *store.Store) error {
	var existing storedConfig
	if err := st.Setting(ctx, SettingKey, &existing); err == nil {
		return ErrLoaded
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// markLoaded writes the setting that makes the demo loaded, sealed, and
// audits the load, in one transaction: a second, racing load gets ErrLoaded.
func markLoaded(ctx context.Context, st *store.Store, box *secretbox.Box, a store.Actor, cfg Config, summary string) error {
	sealed, err := seal(box, cfg)
	if err != nil {
		return err
	}
	return st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertSetting(ctx, SettingKey, sealed); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrLoaded
			}
			return err
		}
		return tx.Audit(ctx, a, store.Change{Action: "demo.loaded", ObjectType: "demo", ObjectID: "1", Summary: summary})
	})
}

// createShop adds the demo store's connection.
func createShop(ctx context.Context, st *store.Store, box *secretbox.Box, a store.Actor, cfg Config, base string) (store.Connection, error) {
	c, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Demo Shopify store", Kind: vocab.KindShopify, Environment: vocab.EnvTest,
		Settings: map[string]string{"shop_domain": cfg.ShopDomain, "api_base_url": base + "/shopify"},
		Secrets:  map[string]string{"access_token": cfg.ShopifyToken, "api_secret": "demo-webhook-" + randomHex(8)}})
	if err != nil {
		return store.Connection{}, fmt.Errorf("demo: shopify connection: %w", err)
	}
	return c, nil
}

// Actor is who the demo's own changes (sources, mappings) are audited as.
const Actor = "Demo workspace"

// sourcesOf is what a typical merchant runs: the store decides what
// shoppers do (orders, refunds, customers), the ERP decides what the
// business knows (prices, costs, stock), and the warehouse that ships the
// orders (ShipBob, a 3PL) says what shipped: orders go to both the ERP and
// the warehouse, shipments come back from the warehouse. Product content —
// titles, descriptions, images — is decided in Shopify, where merchants
// write it for their storefront; Odoo keeps its own names for the
// warehouse, so nothing is written into them (no receivers). A source of
// product content in Shopify also means a record that exists only in Odoo
// is not created in the store behind the merchant's back.
func sourcesOf(shop, odoo, warehouse int64) []store.SourceRuleInput {
	rule := func(f vocab.Family, master, receiver int64, t rules.Trigger, every int) store.SourceRuleInput {
		in := store.SourceRuleInput{Family: f, Master: master, Trigger: t, SweepMinutes: every, FreshnessMinutes: 60, Policy: rules.MasterWins}
		if receiver != 0 {
			in.Receivers = []int64{receiver}
		}
		return in
	}
	orders := rule(vocab.Orders, shop, odoo, rules.Realtime, 15)
	orders.Receivers = append(orders.Receivers, warehouse)
	return []store.SourceRuleInput{
		orders,
		rule(vocab.Refunds, shop, odoo, rules.Realtime, 15),
		rule(vocab.Customers, shop, odoo, rules.Realtime, 15),
		rule(vocab.Prices, odoo, shop, rules.Scheduled, 5),
		rule(vocab.Costs, odoo, shop, rules.Scheduled, 5),
		rule(vocab.Inventory, odoo, shop, rules.Scheduled, 5),
		rule(vocab.Fulfillments, warehouse, shop, rules.Realtime, 5),
		rule(vocab.Products, shop, 0, rules.Scheduled, 60),
		rule(vocab.Payouts, shop, odoo, rules.Scheduled, 60),
	}
}

// setSources saves each family's source through the audited path admins use.
func setSources(ctx context.Context, st *store.Store, a store.Actor, shop, odoo, warehouse int64) error {
	for _, in := range sourcesOf(shop, odoo, warehouse) {
		if _, err := st.SaveSourceRule(ctx, a, in); err != nil {
			return fmt.Errorf("%s: %w", in.Family.Label(), err)
		}
	}
	return nil
}

// Families lists the data families the demo gives a source of truth.
func Families() []vocab.Family {
	var fs []vocab.Family
	for _, in := range sourcesOf(1, 2, 3) {
		fs = append(fs, in.Family)
	}
	return fs
}

// mappings is the demo's seed: every variant whose SKU exists on both sides
// (but those left out on purpose), and the main location to WH/Stock.
func (w *Workspace) mappings(shop, odoo, warehouse int64) store.NewChangeSet {
	items := make([]store.ItemInput, 0, 2*len(w.plan.mapped)+2)
	titles := map[string]string{}
	for _, p := range w.plan.mapped {
		title, ok := titles[p.v.ProductGID()]
		if !ok {
			prod, _, _ := w.Shop.ShopProduct(p.v.ProductGID())
			title = prod.Title
			titles[p.v.ProductGID()] = title
		}
		name := strings.TrimSpace(title + " – " + p.v.Title)
		items = append(items,
			store.ItemInput{EntityType: "variant", ConnectionID: shop, EntityKey: p.v.SKU, ExternalID: p.v.GID(), SKU: store.Str(p.v.SKU), Name: store.Str(name)},
			store.ItemInput{EntityType: "variant", ConnectionID: odoo, EntityKey: p.v.SKU, ExternalID: strconv.Itoa(p.productID), SKU: store.Str(p.v.SKU), Name: store.Str(p.odooName)})
	}
	if w.plan.location[0] != "" {
		items = append(items,
			store.ItemInput{EntityType: "location", ConnectionID: odoo, EntityKey: "WH/Stock", ExternalID: strconv.Itoa(odoosandbox.LocationStock), Name: store.Str("WH/Stock")},
			store.ItemInput{EntityType: "location", ConnectionID: shop, EntityKey: "WH/Stock", ExternalID: w.plan.location[0], Name: store.Str(w.Shop.Locations()[0].Name)})
		if warehouse != 0 {
			// The warehouse's fulfilment centre is that location too: its
			// stock is what the store shows there.
			fc := w.ShipBob.FulfillmentCenters()[0]
			items = append(items, store.ItemInput{EntityType: "location", ConnectionID: warehouse, EntityKey: "WH/Stock",
				ExternalID: strconv.FormatInt(fc.ID, 10), Name: store.Str(fc.Name)})
		}
	}
	return store.NewChangeSet{Title: "Demo workspace: the catalogue mapped by SKU",
		Reason: "Written by Crossdock when the demo workspace was loaded: every variant whose SKU exists in both systems, " +
			"and the main Shopify location to WH/Stock and to the warehouse's fulfilment centre. A few are left unmapped on purpose, to practise on.",
		Items: items}
}

// placeOrders places the demo's orders in the store as shoppers would, and
// records their orders/create webhooks as Crossdock's intake does, so the
// engine turns them into sales orders in Odoo. The first ones contain a
// product Odoo refuses.
func (w *Workspace) placeOrders(ctx context.Context, st *store.Store, shop int64, d *Drift) error {
	deliver := func(o shopsandbox.Order, key string) error {
		payload, err := w.Shop.OrderCreatePayload(o.GID())
		if err != nil {
			return err
		}
		_, _, err = st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: shop, WebhookID: key, EventID: key,
			Topic: "orders/create", ShopDomain: w.Config.ShopDomain, APIVersion: "2026-04", Payload: payload})
		return err
	}
	// The shop's past orders reached Odoo before: they are carried again
	// (the same orders, so nothing is duplicated), leaving out those with a
	// variant the demo keeps unmapped or refused — they stay as orders the
	// comparison finds missing in Odoo.
	clean := map[int64]bool{}
	for _, p := range w.plan.mapped {
		clean[p.v.ID] = true
	}
	for _, p := range w.plan.refused {
		clean[p.v.ID] = false
	}
	for _, o := range w.Shop.Orders() {
		ok := true
		for _, l := range o.LineItems {
			ok = ok && clean[l.VariantID]
		}
		if !ok {
			d.PastOrdersMissing++
			d.PastRefundsMissing += len(o.Refunds)
			continue
		}
		if err := deliver(o, "demo-history-"+strconv.FormatInt(o.ID, 10)); err != nil {
			return err
		}
		// Its refunds reached Odoo too, as credit notes, after the order.
		for _, r := range o.Refunds {
			payload, err := w.Shop.RefundCreatePayload(o.GID(), r.ID)
			if err != nil {
				return err
			}
			key := "demo-refund-" + strconv.FormatInt(r.ID, 10)
			if _, _, err := st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: shop, WebhookID: key, EventID: key,
				Topic: "refunds/create", ShopDomain: w.Config.ShopDomain, APIVersion: "2026-04", Payload: payload}); err != nil {
				return err
			}
		}
	}
	customers := w.Shop.ShopCustomers()
	lines := func(n int) []shopsandbox.NewLine {
		if len(w.plan.fine) == 0 {
			return nil
		}
		var ls []shopsandbox.NewLine
		for k := range 1 + n%2 {
			p := w.plan.fine[(n*3+k)%len(w.plan.fine)]
			ls = append(ls, shopsandbox.NewLine{VariantID: p.v.GID(), Quantity: 1 + (n+k)%3})
		}
		return ls
	}
	for n := range demoOrders {
		ls := lines(n)
		bad := n < len(w.plan.refused)
		if bad {
			ls = append(ls, shopsandbox.NewLine{VariantID: w.plan.refused[n].v.GID(), Quantity: 1})
		}
		if len(ls) == 0 {
			continue
		}
		in := shopsandbox.NewOrder{Lines: ls}
		if len(customers) > 0 {
			in.CustomerID = customers[n%len(customers)].GID()
		}
		o, err := w.Shop.AddOrder(in)
		if err != nil {
			return err
		}
		if err := deliver(o, "demo-order-"+strconv.Itoa(n+1)); err != nil {
			return err
		}
		d.Orders++
		if bad {
			d.RefusedOrders++
		}
	}
	return nil
}

// Restore brings back the twins of a demo loaded before a restart. Credentials
// a former version stored in plain text are sealed in place.
func Restore(ctx context.Context, st *store.Store, box *secretbox.Box, baseURL string, h *Holder) (bool, error) {
	var sc storedConfig
	err := st.Setting(ctx, SettingKey, &sc)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cfg, plain, err := sc.open(box)
	if err != nil {
		return false, err
	}
	if plain {
		sealed, err := seal(box, cfg)
		if err != nil {
			return false, err
		}
		// Replicas starting together may each seal it: any of the values opens.
		if err := st.UpdateSetting(ctx, SettingKey, sealed); err != nil {
			return false, fmt.Errorf("demo: seal the sandbox credentials: %w", err)
		}
	}
	w, _ := New(baseURL, cfg)
	if err := w.keepBooksSignedIn(ctx, st, box); err != nil {
		return false, err
	}
	h.p.Store(w)
	return true, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Summary says what the demo holds, for the page that loaded it.
func (d Drift) Summary() string {
	n := number.Thousands[int]
	var b strings.Builder
	fmt.Fprintf(&b, "The demo workspace is ready: a sandbox Shopify store and a sandbox Odoo, connected as test systems. "+
		"Shopify decides orders, refunds, customers and product content; Odoo decides prices, costs, stock and shipments; "+
		"%s variants are mapped by SKU. To practise on: %s variants not mapped, ", n(d.Mapped), n(d.Unmapped))
	if d.UnmappedLocation != "" {
		fmt.Fprintf(&b, "the Shopify location %s not mapped to Odoo's WH2/Stock, ", d.UnmappedLocation)
	}
	fmt.Fprintf(&b, "%s of %s orders that Odoo refuses, %s prices below cost, %s margins below the threshold "+
		"and %s products that exist only in Odoo. %s prices and %s stock levels differ until the first scheduled check sends Odoo's.",
		n(d.RefusedOrders), n(d.Orders), n(d.BelowCost), n(d.BelowThreshold), n(d.OnlyInOdoo), n(d.Prices), n(d.Stock))
	if d.PastOrdersMissing > 0 {
		fmt.Fprintf(&b, " %s past orders never reached Odoo: they contain one of those variants.", n(d.PastOrdersMissing))
	}
	return b.String()
}
