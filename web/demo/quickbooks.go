package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// The demo's QuickBooks Online company: a twin served under
// /sandbox/quickbooks/ whose products carry the SKUs the store and Odoo
// share. An admin adds it from the Connections page ("Shopify +
// QuickBooks"), then connects it by signing in as with the real one.

// QuickBooksName is the demo QuickBooks connection's name.
const QuickBooksName = "Demo QuickBooks"

// booksClientID is the demo app's client id; its secret is derived from
// the demo's sealed Odoo key, so a restart rebuilds the same app.
const booksClientID = "crossdock-demo-app"

func booksSecret(cfg Config) string { return "qb-" + cfg.OdooAPIKey }

func newBooks(cfg Config, mapped []pair) *qbsandbox.Server {
	items := make([]qbsandbox.SeedItem, 0, len(mapped))
	for _, p := range mapped {
		price, _ := strconv.ParseFloat(p.v.Price, 64)
		items = append(items, qbsandbox.SeedItem{SKU: p.v.SKU, Name: p.odooName, Price: price})
	}
	return qbsandbox.New(qbsandbox.Options{CompanyName: "Crossdock Demo Company", ClientID: booksClientID,
		ClientSecret: booksSecret(cfg), Items: items})
}

// ErrNoDemo is returned when QuickBooks is added before the demo is loaded.
var ErrNoDemo = errors.New("load the demo workspace first")

// AddQuickBooks adds the demo QuickBooks company as a connection (not
// signed in yet), makes it receive orders, refunds and customers beside
// Odoo, and maps the store's variants to its products by SKU. It returns
// the connection.
func AddQuickBooks(ctx context.Context, st *store.Store, box *secretbox.Box, a store.Actor, baseURL string, h *Holder) (store.Connection, error) {
	w := h.Workspace()
	if w == nil {
		return store.Connection{}, ErrNoDemo
	}
	conns, err := st.ListConnections(ctx)
	if err != nil {
		return store.Connection{}, err
	}
	var shop, odoo int64
	for _, c := range conns {
		switch {
		case c.Name == QuickBooksName:
			return c, nil
		case c.Kind == vocab.KindShopify && shop == 0:
			shop = c.ID
		case c.Kind == vocab.KindOdoo && odoo == 0:
			odoo = c.ID
		}
	}
	if shop == 0 {
		return store.Connection{}, ErrNoDemo
	}
	conn, err := createBooks(ctx, st, box, a, baseURL, w, false)
	if err != nil {
		return store.Connection{}, err
	}
	sys := store.Actor{Label: Actor, RequestID: a.RequestID, IP: a.IP}
	rs, err := st.SourceRules(ctx)
	if err != nil {
		return conn, err
	}
	for _, f := range []vocab.Family{vocab.Orders, vocab.Refunds, vocab.Customers} {
		r := rs.Rule(f)
		in := store.SourceRuleInput{Family: f, Master: shop, Trigger: r.Trigger, SweepMinutes: r.SweepMinutes,
			FreshnessMinutes: r.FreshnessMinutes, Policy: r.Policy, Version: r.Version}
		for _, rc := range r.Receivers {
			in.Receivers = append(in.Receivers, rc.ConnectionID)
		}
		if odoo != 0 && !slices.Contains(in.Receivers, odoo) {
			in.Receivers = append(in.Receivers, odoo)
		}
		in.Receivers = append(in.Receivers, conn.ID)
		if _, err := st.SaveSourceRule(ctx, sys, in); err != nil {
			return conn, fmt.Errorf("demo: %s: %w", f.Label(), err)
		}
	}
	items := w.booksItems(conn.ID)
	if len(items) > 0 {
		if _, err := st.SeedMappings(ctx, sys, store.NewChangeSet{Title: "Demo workspace: QuickBooks products mapped by SKU",
			Reason: "Written by Crossdock when the demo QuickBooks company was added: every product whose SKU the store has.",
			Items:  items}); err != nil {
			return conn, fmt.Errorf("demo: quickbooks mappings: %w", err)
		}
	}
	return conn, nil
}

// createBooks adds the demo QuickBooks company's connection. Signed in, it
// holds a refresh token of the twin already, as if the admin had pressed
// "Connect to QuickBooks Online" (the Shopify + QuickBooks demo); else the
// admin connects it by signing in.
func createBooks(ctx context.Context, st *store.Store, box *secretbox.Box, a store.Actor, baseURL string, w *Workspace, signedIn bool) (store.Connection, error) {
	base := strings.TrimRight(baseURL, "/") + PathPrefix + "/quickbooks"
	settings := map[string]string{quickbooks.FieldEnvironment: quickbooks.EnvSandbox, quickbooks.FieldClientID: booksClientID,
		quickbooks.FieldOrdersAs: quickbooks.OrdersAuto, quickbooks.FieldAPIBaseURL: base,
		quickbooks.FieldTokenURL: qbsandbox.TokenURL(base), quickbooks.FieldAuthorizeURL: qbsandbox.AuthorizeURL(base)}
	secrets := map[string]string{quickbooks.FieldClientSecret: booksSecret(w.Config), quickbooks.FieldVerifierToken: "demo-verifier-" + randomHex(8)}
	if signedIn {
		settings[quickbooks.FieldRealmID] = w.Books.RealmID()
		secrets[quickbooks.FieldRefreshToken] = w.Books.IssueRefreshToken()
		// Payouts are deposited to Checking, their sales taken from
		// Undeposited Funds, their fees to Bank Charges & Fees.
		for field, account := range map[string]string{quickbooks.FieldPayoutsBank: "Checking",
			quickbooks.FieldPayoutsClearing: "Undeposited Funds", quickbooks.FieldPayoutsFees: "Bank Charges & Fees"} {
			if id, ok := w.Books.AccountID(account); ok {
				settings[field] = id
			}
		}
	}
	conn, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: QuickBooksName, Kind: vocab.KindQuickBooks, Environment: vocab.EnvTest,
		Settings: settings, Secrets: secrets})
	if err != nil {
		return store.Connection{}, fmt.Errorf("demo: quickbooks connection: %w", err)
	}
	return conn, nil
}

// booksItems maps the store's variants to the QuickBooks company's
// products, by SKU (the entity key the store's mappings use too).
func (w *Workspace) booksItems(conn int64) []store.ItemInput {
	var items []store.ItemInput
	for _, p := range w.plan.mapped {
		if id, ok := w.Books.ItemBySKU(p.v.SKU); ok {
			items = append(items, store.ItemInput{EntityType: "variant", ConnectionID: conn, EntityKey: p.v.SKU, ExternalID: id,
				SKU: store.Str(p.v.SKU), Name: store.Str(p.odooName)})
		}
	}
	return items
}
