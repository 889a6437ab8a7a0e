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
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/secretbox"
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
	Secrets      []byte `json:"secrets,omitempty"`
	// Plain-text credentials of settings written before sealing.
	ShopifyToken string `json:"shopify_token,omitempty"`
	OdooAPIKey   string `json:"odoo_api_key,omitempty"`
}

type demoSecrets struct {
	ShopifyToken string `json:"shopify_token"`
	OdooAPIKey   string `json:"odoo_api_key"`
}

const sealContext = "setting:" + SettingKey

func seal(box *secretbox.Box, cfg Config) (storedConfig, error) {
	b, err := json.Marshal(demoSecrets{ShopifyToken: cfg.ShopifyToken, OdooAPIKey: cfg.OdooAPIKey})
	if err != nil {
		return storedConfig{}, err
	}
	return storedConfig{Seed: cfg.Seed, ShopDomain: cfg.ShopDomain, OdooDatabase: cfg.OdooDatabase, OdooLogin: cfg.OdooLogin,
		Secrets: box.Seal(b, sealContext)}, nil
}

// open returns the configuration, and whether its credentials were stored in
// plain text.
func (sc storedConfig) open(box *secretbox.Box) (cfg Config, plain bool, err error) {
	cfg = Config{Seed: sc.Seed, ShopDomain: sc.ShopDomain, OdooDatabase: sc.OdooDatabase, OdooLogin: sc.OdooLogin}
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
	cfg.ShopifyToken, cfg.OdooAPIKey = sec.ShopifyToken, sec.OdooAPIKey
	return cfg, false, nil
}

// DefaultSeed gives about 3,000 Shopify variants and 4,500 Odoo products.
const DefaultSeed = 1500

// Workspace is the pair of twins.
type Workspace struct {
	Shop   *shopsandbox.Shop
	Odoo   *odoosandbox.Server
	Config Config
	mux    *http.ServeMux
}

// Drift counts the deliberate differences the demo starts with.
type Drift struct {
	Prices, Stock, OnlyInOdoo, OnlyInShopify int
}

// Loaded is what Load created.
type Loaded struct {
	Drift
	ShopifyConnectionID, OdooConnectionID int64
}

// New builds the twins for baseURL (Crossdock's own address) and aligns then
// drifts their data.
func New(baseURL string, cfg Config) (*Workspace, Drift) {
	base := strings.TrimRight(baseURL, "/") + PathPrefix
	w := &Workspace{Config: cfg,
		Shop: shopsandbox.New(shopsandbox.Options{Plan: "advanced", AccessToken: cfg.ShopifyToken, Seed: cfg.Seed,
			ShopDomain: cfg.ShopDomain, PublicURL: base + "/shopify"}),
		Odoo: odoosandbox.New(odoosandbox.Options{Database: cfg.OdooDatabase, Login: cfg.OdooLogin, APIKey: cfg.OdooAPIKey,
			Password: cfg.OdooAPIKey, Seed: cfg.Seed, Version: "19.0"}),
		mux: http.NewServeMux(),
	}
	w.mux.Handle(PathPrefix+"/shopify/", http.StripPrefix(PathPrefix+"/shopify", w.Shop))
	w.mux.Handle(PathPrefix+"/odoo/", http.StripPrefix(PathPrefix+"/odoo", w.Odoo))
	return w, w.alignAndDrift()
}

// alignAndDrift makes Odoo agree with Shopify on every product both have, then
// breaks a known, deterministic share of them.
func (w *Workspace) alignAndDrift() Drift {
	r := mrand.New(mrand.NewPCG(uint64(w.Config.Seed), 0xd1f7))
	odooBySKU := map[string]odoosandbox.Product{}
	for _, p := range w.Odoo.Products() {
		odooBySKU[p.DefaultCode] = p
	}
	locs := w.Shop.Locations()
	var d Drift
	seen := map[string]bool{}
	var quants []odoosandbox.QuantSet
	for i, v := range w.Shop.Variants() {
		p, ok := odooBySKU[v.SKU]
		if !ok {
			d.OnlyInShopify++
			continue
		}
		seen[v.SKU] = true
		price, _ := strconv.ParseFloat(v.Price, 64)
		cost, _ := strconv.ParseFloat(v.Cost, 64)
		if i%17 == 5 {
			// Someone changed the price in Odoo and it never reached the store.
			price = float64(int(price*108)) / 100
			d.Prices++
		}
		w.Odoo.SetPricesDirect(p.ID, price, cost)
		// The first Shopify location is the main warehouse (WH/Stock in Odoo).
		if len(locs) > 0 {
			avail, _, _ := w.Shop.InventoryLevel(v.InventoryItemGID(), locs[0].GID())
			qty := float64(avail)
			if i%23 == 7 {
				qty += float64(1 + r.IntN(9)) // phantom stock
				d.Stock++
			}
			quants = append(quants, odoosandbox.QuantSet{ProductID: p.ID, LocationID: odoosandbox.LocationStock, Quantity: qty})
		}
	}
	w.Odoo.SetQuantsDirect(quants)
	d.OnlyInOdoo = len(odooBySKU) - len(seen)
	return d
}

// ServeHTTP serves the twins under /sandbox/shopify/ and /sandbox/odoo/.
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
func Load(ctx context.Context, st *store.Store, box *secretbox.Box, a store.Actor, baseURL string, h *Holder, seed int) (Loaded, error) {
	cfg := Config{Seed: seed, ShopifyToken: "shpat_demo_" + randomHex(12), OdooAPIKey: "demo-" + randomHex(16),
		ShopDomain: "crossdock-demo.myshopify.com", OdooDatabase: "demo", OdooLogin: "integration@crossdock-demo.example"}
	base := strings.TrimRight(baseURL, "/") + PathPrefix
	var existing storedConfig
	if err := st.Setting(ctx, SettingKey, &existing); err == nil {
		return Loaded{}, ErrLoaded
	} else if !errors.Is(err, store.ErrNotFound) {
		return Loaded{}, err
	}
	// The connections come first: their unique names stop a second, racing
	// load; the setting that makes the demo "loaded" is written last.
	shopConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Demo Shopify store", Kind: store.KindShopify, Environment: store.EnvTest,
		Settings: map[string]string{"shop_domain": cfg.ShopDomain, "api_base_url": base + "/shopify"},
		Secrets:  map[string]string{"access_token": cfg.ShopifyToken, "api_secret": "demo-webhook-" + randomHex(8)}})
	if err != nil {
		return Loaded{}, fmt.Errorf("demo: shopify connection: %w", err)
	}
	odooConn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Demo Odoo", Kind: store.KindOdoo, Environment: store.EnvTest,
		Settings: map[string]string{"url": base + "/odoo", "database": cfg.OdooDatabase, "username": cfg.OdooLogin, "protocol": "json2"},
		Secrets:  map[string]string{"api_key": cfg.OdooAPIKey}})
	if err != nil {
		return Loaded{}, fmt.Errorf("demo: odoo connection: %w", err)
	}
	w, drift := New(baseURL, cfg)
	sealed, err := seal(box, cfg)
	if err != nil {
		return Loaded{}, err
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertSetting(ctx, SettingKey, sealed); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrLoaded
			}
			return err
		}
		return tx.Audit(ctx, a, store.Change{Action: "demo.loaded", ObjectType: "demo", ObjectID: "1",
			Summary: fmt.Sprintf("Loaded the demo workspace: %d Shopify variants, %d Odoo products, %d price and %d stock differences",
				len(w.Shop.Variants()), len(w.Odoo.Products()), drift.Prices, drift.Stock)})
	})
	if err != nil {
		return Loaded{}, err
	}
	h.p.Store(w)
	return Loaded{Drift: drift, ShopifyConnectionID: shopConn.ID, OdooConnectionID: odooConn.ID}, nil
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
	return fmt.Sprintf("The demo workspace is ready: a sandbox Shopify store and a sandbox Odoo, connected as test systems. "+
		"They disagree on purpose: %d prices and %d stock levels differ, %d products exist only in Odoo and %d only in Shopify.",
		d.Prices, d.Stock, d.OnlyInOdoo, d.OnlyInShopify)
}
