package demo

import (
	"context"
	"fmt"
	"strings"

	"crossdock/connectors"
	"crossdock/connectors/quickbooks"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/store/number"
	"crossdock/store/rules"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// The Shopify + QuickBooks demo: the sandbox store and the demo QuickBooks
// Online company only, signed in already. Shopify decides orders, refunds,
// customers and payouts, which QuickBooks receives; the store's products
// are mapped to the company's by SKU, the store's sales tax to a QuickBooks
// tax code, and its payment gateways to payment methods and the accounts
// their sales receipts are deposited to. A few orders are placed: all but
// one become sales receipts, the last carries a city tax nobody mapped yet,
// to practise "Map it" on.

// Taxes and gateways of the Shopify + QuickBooks demo.
const (
	BooksStateTax = "CA State Tax"     // mapped to the company's CA Sales Tax
	BooksCityTax  = "SF City Tax"      // not mapped: its order waits for it
	booksTaxRate  = 0.0725             // the state tax's rate
	booksCityRate = 0.0125             // the city tax's
	booksGateway  = "shopify_payments" // Credit Card, into Undeposited Funds
	booksPayPal   = "paypal"           // PayPal, into PayPal Bank
	booksOrders   = 6
)

// BooksLoaded is what LoadWithQuickBooks created.
type BooksLoaded struct {
	ShopifyConnectionID, QuickBooksConnectionID int64
	Mapped, Orders                              int
}

// LoadWithQuickBooks creates the Shopify + QuickBooks demo: its
// configuration, the store's and the company's connections, their sources
// of truth and mappings, and a few orders on their way. Audited as one
// change.
func LoadWithQuickBooks(ctx context.Context, st *store.Store, box *secretbox.Box, a store.Actor, baseURL string, h *Holder, seed int) (_ BooksLoaded, err error) {
	cfg := newConfig(seed)
	cfg.Books = true
	if err := notLoaded(ctx, st); err != nil {
		return BooksLoaded{}, err
	}
	w, _ := New(baseURL, cfg)
	shop, err := createShop(ctx, st, box, a, cfg, strings.TrimRight(baseURL, "/")+PathPrefix)
	if err != nil {
		return BooksLoaded{}, err
	}
	books, err := createBooks(ctx, st, box, a, baseURL, w, true)
	if err != nil {
		return BooksLoaded{}, err
	}
	h.p.Store(w)
	defer func() {
		if err != nil {
			h.p.CompareAndSwap(w, nil)
		}
	}()
	sys := store.Actor{Label: Actor, RequestID: a.RequestID, IP: a.IP}
	for _, f := range []vocab.Family{vocab.Orders, vocab.Refunds, vocab.Customers, vocab.Payouts} {
		in := store.SourceRuleInput{Family: f, Master: shop.ID, Receivers: []int64{books.ID}, Trigger: rules.Realtime, SweepMinutes: 15,
			FreshnessMinutes: 60, Policy: rules.MasterWins}
		if f == vocab.Payouts {
			in.Trigger, in.SweepMinutes = rules.Scheduled, 60
		}
		if _, err := st.SaveSourceRule(ctx, sys, in); err != nil {
			return BooksLoaded{}, fmt.Errorf("demo: %s: %w", f.Label(), err)
		}
	}
	items, err := w.booksMappings(shop.ID, books.ID)
	if err != nil {
		return BooksLoaded{}, err
	}
	if _, err := st.SeedMappings(ctx, sys, store.NewChangeSet{Title: "Demo workspace: the store mapped to QuickBooks",
		Reason: "Written by Crossdock when the Shopify + QuickBooks demo was loaded: every product whose SKU both have, " +
			"the store's state sales tax, and its two payment gateways. The city tax is left unmapped on purpose, to practise on.",
		Items: items}); err != nil {
		return BooksLoaded{}, fmt.Errorf("demo: mappings: %w", err)
	}
	out := BooksLoaded{ShopifyConnectionID: shop.ID, QuickBooksConnectionID: books.ID}
	for _, it := range items {
		if it.EntityType == connectors.EntityVariant && it.ConnectionID == books.ID {
			out.Mapped++
		}
	}
	if out.Orders, err = w.placeBooksOrders(ctx, st, shop.ID); err != nil {
		return BooksLoaded{}, fmt.Errorf("demo: orders: %w", err)
	}
	err = markLoaded(ctx, st, box, a, cfg, fmt.Sprintf("Loaded the Shopify + QuickBooks demo: %s products mapped, the state tax and 2 payment gateways mapped, %s orders",
		number.Thousands(out.Mapped), number.Thousands(out.Orders)))
	if err != nil {
		return BooksLoaded{}, err
	}
	return out, nil
}

// booksMappings are the demo's mappings between the store and the
// company: products by SKU, the state tax, the payment gateways.
func (w *Workspace) booksMappings(shop, books int64) ([]store.ItemInput, error) {
	var items []store.ItemInput
	for _, it := range w.booksItems(books) {
		items = append(items, store.ItemInput{EntityType: connectors.EntityVariant, ConnectionID: shop, EntityKey: it.EntityKey,
			ExternalID: w.variantBySKU(it.EntityKey), SKU: it.SKU}, it)
	}
	id := func(entity, name string) (string, error) {
		if id, ok := w.Books.NamedID(entity, name); ok {
			return id, nil
		}
		return "", fmt.Errorf("demo: the QuickBooks company has no %s %q", entity, name)
	}
	state := BooksStateTax + " 7.25%"
	ca, err := id("TaxCode", "CA Sales Tax")
	if err != nil {
		return nil, err
	}
	items = append(items,
		store.ItemInput{EntityType: connectors.EntityTaxCode, ConnectionID: shop, EntityKey: BooksStateTax, ExternalID: state, Name: store.Str(state)},
		store.ItemInput{EntityType: connectors.EntityTaxCode, ConnectionID: books, EntityKey: BooksStateTax, ExternalID: ca, Name: store.Str("CA Sales Tax")})
	for _, g := range []struct{ gateway, key, method, account string }{
		{booksGateway, "Shopify Payments", "Credit Card", "Undeposited Funds"},
		{booksPayPal, "PayPal", "PayPal", "PayPal Bank"},
	} {
		m, err := id("PaymentMethod", g.method)
		if err != nil {
			return nil, err
		}
		acct, ok := w.Books.AccountID(g.account)
		if !ok {
			return nil, fmt.Errorf("demo: the QuickBooks company has no account %q", g.account)
		}
		items = append(items,
			store.ItemInput{EntityType: connectors.EntityPaymentMethod, ConnectionID: shop, EntityKey: g.key, ExternalID: g.gateway, Name: store.Str(g.gateway)},
			store.ItemInput{EntityType: connectors.EntityPaymentMethod, ConnectionID: books, EntityKey: g.key, ExternalID: m, Name: store.Str(g.method)},
			store.ItemInput{EntityType: connectors.EntityPaymentMethod, ConnectionID: books, EntityKey: g.key,
				ExternalID: quickbooks.AccountRefPrefix + acct, Name: store.Str(g.account + " (account)")})
	}
	return items, nil
}

func (w *Workspace) variantBySKU(sku string) string {
	for _, p := range w.plan.mapped {
		if p.v.SKU == sku {
			return p.v.GID()
		}
	}
	return ""
}

// placeBooksOrders places the demo's orders in the store, taxed and paid
// through its gateways, and records their orders/create webhooks as
// Crossdock's intake does. The last one is charged the city tax too.
func (w *Workspace) placeBooksOrders(ctx context.Context, st *store.Store, shop int64) (int, error) {
	if len(w.plan.fine) == 0 {
		return 0, nil
	}
	customers := w.Shop.ShopCustomers()
	n := 0
	for i := range booksOrders {
		p := w.plan.fine[(i*5)%len(w.plan.fine)]
		in := shopsandbox.NewOrder{Lines: []shopsandbox.NewLine{{VariantID: p.v.GID(), Quantity: 1 + i%3}},
			Tax: &shopsandbox.Tax{Title: BooksStateTax, Rate: booksTaxRate}, Gateway: booksGateway}
		if i%2 == 1 {
			in.Gateway = booksPayPal
		}
		if i == booksOrders-1 {
			in.Tax = &shopsandbox.Tax{Title: BooksCityTax, Rate: booksCityRate}
		}
		if len(customers) > 0 {
			in.CustomerID = customers[i%len(customers)].GID()
		}
		o, err := w.Shop.AddOrder(in)
		if err != nil {
			return n, err
		}
		payload, err := w.Shop.OrderCreatePayload(o.GID())
		if err != nil {
			return n, err
		}
		key := fmt.Sprintf("demo-books-order-%d", i+1)
		if _, _, err := st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: shop, WebhookID: key, EventID: key,
			Topic: "orders/create", ShopDomain: w.Config.ShopDomain, APIVersion: "2026-04", Payload: payload}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// keepBooksSignedIn lets the company's twin, rebuilt after a restart,
// accept the refresh token the demo QuickBooks connection holds, so the
// connection stays signed in.
func (w *Workspace) keepBooksSignedIn(ctx context.Context, st *store.Store, box *secretbox.Box) error {
	conns, err := st.ListConnections(ctx)
	if err != nil {
		return err
	}
	for _, c := range conns {
		if c.Name != QuickBooksName || c.Kind != vocab.KindQuickBooks {
			continue
		}
		sec, err := store.ConnectionSecrets(box, c)
		if err != nil {
			return nil // the admin signs in again
		}
		t := connectors.StoredToken(sec)
		w.Books.AcceptRefreshToken(t.Token)
		w.Books.AcceptRefreshToken(t.Previous)
	}
	return nil
}

// Summary says what the Shopify + QuickBooks demo holds.
func (b BooksLoaded) Summary() string {
	return fmt.Sprintf("The demo workspace is ready: a sandbox Shopify store and a sandbox QuickBooks Online company, connected as test systems. "+
		"Shopify decides orders, refunds, customers and payouts, and QuickBooks receives them; %s products are mapped by SKU, "+
		"the store's %s to QuickBooks' tax code CA Sales Tax, and Shopify Payments and PayPal to their payment methods and accounts. "+
		"%s orders are on their way to QuickBooks as sales receipts; the last one carries the %s, not mapped yet, to practise on.",
		number.Thousands(b.Mapped), BooksStateTax, number.Thousands(b.Orders), BooksCityTax)
}
