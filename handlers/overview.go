package handlers

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/connectors"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// OverviewStore is what the overview reads.
type OverviewStore interface {
	ListConnections(ctx context.Context) ([]store.Connection, error)
	SourceRules(ctx context.Context) (rules.Rules, error)
	FlowStats(ctx context.Context, since time.Time) ([]store.FlowStat, error)
	FlowPauses(ctx context.Context) (map[string]store.FlowPause, error)
	// OpenFailures counts what the Failed syncs page lists as open, by kind of data.
	OpenFailures(ctx context.Context, f store.FailedFilter) (map[string]int, error)
	CountPriceFixes(ctx context.Context, userID int64) (store.PriceFixCounts, error)
	TryListDismissed(ctx context.Context, userID int64) (bool, error)
	DismissTryList(ctx context.Context, userID int64) error
}

// Overview handles the landing page.
type Overview struct {
	Base
	Store OverviewStore
	// DemoLoaded reports whether the demo workspace exists.
	DemoLoaded func() bool
	// BaseURL is where people and Shopify reach Crossdock (CROSSDOCK_BASE_URL).
	BaseURL string
	// Kinds name the connections' systems.
	Kinds *connectors.Registry
}

// Show displays the overview.
func (h Overview) Show(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := CurrentUser(c)
	cs, err := h.Store.ListConnections(ctx)
	if err != nil {
		return err
	}
	p := views.OverviewPage{Meta: h.Meta(c, "Overview", "overview"), IsAdmin: u.Role == vocab.RoleAdmin,
		CanSeeConns: u.Role != vocab.RoleFinance, DemoLoaded: h.DemoLoaded != nil && h.DemoLoaded(), Now: now()}
	for _, conn := range cs {
		p.Connections = append(p.Connections, overviewConnection(h.Kinds, conn, p.Now))
	}
	if len(p.Connections) == 0 {
		return Render(c, views.Overview(p))
	}
	// One read of the open failures serves the headline and the cards.
	open, err := h.Store.OpenFailures(ctx, store.FailedFilter{})
	if err != nil {
		return err
	}
	if p.Flows, err = h.flowsSection(c, p.Now, open); err != nil {
		return err
	}
	if p.Counts, err = h.counts(ctx, u, open); err != nil {
		return err
	}
	if p.IsAdmin {
		p.BaseURLProblem = webhookAddressProblem(h.BaseURL, cs)
	}
	if p.DemoLoaded {
		dismissed, err := h.Store.TryListDismissed(ctx, u.ID)
		if err != nil {
			return err
		}
		if !dismissed {
			p.Try = tryList(u.Role, cs)
		}
	}
	return Render(c, views.Overview(p))
}

// counts are the Overview's headline numbers: the open failures exactly as
// the Failed syncs page lists them, and what finance sent to the operators.
func (h Overview) counts(ctx context.Context, u *store.User, byFamily map[string]int) (views.OverviewCounts, error) {
	var err error
	var n views.OverviewCounts
	for _, c := range byFamily {
		n.OpenFailures += c
	}
	n.OpenText = views.Count(n.OpenFailures, "open failed sync")
	n.OpenHref = "/failed"
	if u.Role == vocab.RoleFinance {
		n.OpenHref = "/syncs?problems=1" // finance may not open Failed syncs
	}
	c, err := h.Store.CountPriceFixes(ctx, u.ID)
	if err != nil {
		return views.OverviewCounts{}, err
	}
	n.ShowSent, n.SentToOperators, n.SentToMe, n.Answered = true, c.Open, c.Mine, c.Answered
	n.SentText = views.Count(n.SentToOperators, "price fix", "price fixes")
	n.SentHref = "/reconciliation/discrepancies?sent=operators"
	n.MineHref = fmt.Sprintf("/reconciliation/discrepancies?sent=operators&assignee=%d", u.ID)
	n.ForFinance = u.Role == vocab.RoleFinance
	return n, nil
}

// webhookAddressProblem says what to set when Shopify cannot send webhooks to
// Crossdock's address: Shopify accepts https webhook addresses only, so with
// an http base URL registering subscriptions can never succeed.
func webhookAddressProblem(baseURL string, cs []store.Connection) string {
	if baseURL == "" || strings.HasPrefix(strings.ToLower(baseURL), "https://") {
		return ""
	}
	for _, c := range cs {
		if c.Kind == vocab.KindShopify && c.Enabled {
			return fmt.Sprintf("Shopify sends webhooks only to https addresses, and Crossdock's address is %s: changes reach "+
				"Crossdock only through the scheduled checks. Set CROSSDOCK_BASE_URL to the https address Shopify reaches Crossdock at "+
				"(like https://crossdock.example.com), restart Crossdock, then register the webhook subscriptions on the Shopify "+
				"connection's page.", baseURL)
		}
	}
	return ""
}

// overviewConnection is a connection's card: its health from the engine's
// real calls, in words.
func overviewConnection(kinds *connectors.Registry, conn store.Connection, at time.Time) views.OverviewConnection {
	r := connectionRow(kinds, conn, at)
	v := views.OverviewConnection{ConnectionRow: r}
	failedLast := r.LastErrorAt != nil && (r.LastSuccessAt == nil || r.LastErrorAt.After(*r.LastSuccessAt))
	switch {
	case !r.Enabled:
		v.Health, v.Tone = "Disabled: Crossdock sends it nothing", "neutral"
	case failedLast:
		v.Health, v.Tone = "Last call failed "+components.Relative(*r.LastErrorAt, at), "critical"
		if r.LastSuccessAt != nil {
			v.Detail = "Last answered " + components.Relative(*r.LastSuccessAt, at) + "."
		} else {
			v.Detail = "It has not answered yet."
		}
	case r.LastSuccessAt != nil:
		v.Health, v.Tone = "Working — last answered "+components.Relative(*r.LastSuccessAt, at), "success"
	default:
		v.Health, v.Tone = "Not used yet", "neutral"
		v.Detail = "Crossdock has not called it yet: it will once a kind of data flows through it, or test it on its page."
	}
	return v
}

// tryList is the demo's "what to try" steps for a role: each links to the
// exact place where the problem it names can be seen and fixed.
func tryList(role vocab.Role, cs []store.Connection) []views.TryStep {
	var shop, odoo, books int64
	for _, c := range cs {
		switch {
		case c.Kind == vocab.KindShopify && shop == 0:
			shop = c.ID
		case c.Kind == vocab.KindOdoo && odoo == 0:
			odoo = c.ID
		case c.Kind == vocab.KindQuickBooks && books == 0:
			books = c.ID
		}
	}
	if odoo == 0 && books != 0 {
		return tryBooks(role, shop, books)
	}
	var steps []views.TryStep
	if role != vocab.RoleFinance {
		steps = append(steps,
			views.TryStep{Title: "See what failed, grouped by cause", Href: "/failed",
				Text: "Failed syncs groups the failures by what caused them, largest first, each with what fixes it."},
			views.TryStep{Title: "Map the stock location that is not mapped", Href: "/mappings/unmapped?" + url.Values{
				"type": {"location"}, "from": {strconv.FormatInt(shop, 10)}, "to": {strconv.FormatInt(odoo, 10)}}.Encode(),
				Text: "Stock kept at one Odoo location cannot reach its Shopify location until they are mapped; an admin who did not propose it approves it."},
			views.TryStep{Title: "Deal with the records that exist in only one system", Href: "/failed?" + url.Values{"class": {"only_in_one"}}.Encode(),
				Text: "Products that exist only in Odoo have nothing to map to: exclude them from syncing, or create them in Shopify."},
		)
	}
	if role != vocab.RoleOperator { // the finance pages are finance's and admins'
		steps = append(steps, views.TryStep{Title: "Review prices and margins", Href: "/finance",
			Text: "The prices below cost or below the margin threshold, for finance to accept or to send to the operators as a price fix."})
	}
	if role != vocab.RoleFinance {
		steps = append(steps, views.TryStep{Title: "See what finance sent to the operators", Href: sentHref,
			Text: "Price fixes finance asked for wait here for an operator."})
	}
	return steps
}

// tryBooks is "what to try" in the Shopify + QuickBooks demo.
func tryBooks(role vocab.Role, shop, books int64) []views.TryStep {
	if role == vocab.RoleFinance {
		return []views.TryStep{{Title: "See the orders QuickBooks received", Href: "/syncs?" + url.Values{"family": {string(vocab.Orders)}}.Encode(),
			Text: "Each order of the store becomes a sales receipt in QuickBooks, with its tax code and the account it is deposited to."}}
	}
	return []views.TryStep{
		{Title: "See the orders become sales receipts", Href: "/syncs?" + url.Values{"family": {string(vocab.Orders)}}.Encode(),
			Text: "Each order of the store becomes a sales receipt in QuickBooks, with its tax code and the account it is deposited to."},
		{Title: "Map the tax that is not mapped", Href: "/mappings/unmapped?" + url.Values{
			"type": {"tax_code"}, "from": {strconv.FormatInt(shop, 10)}, "to": {strconv.FormatInt(books, 10)}}.Encode(),
			Text: "One order carries a city tax QuickBooks has no tax code for yet: map it, have another admin approve it, and the order goes through."},
		{Title: "See how taxes and payments are mapped", Href: "/mappings?" + url.Values{"type": {"tax_code"}}.Encode(),
			Text: "The store's sales tax is a QuickBooks tax code; Shopify Payments and PayPal are payment methods with the accounts their money goes to."},
	}
}

// sentHref lists the discrepancies finance sent to the operators.
const sentHref = "/reconciliation/discrepancies?sent=operators"

// DismissTry hides the "what to try" list for the person.
func (h Overview) DismissTry(c *fiber.Ctx) error {
	u := CurrentUser(c)
	if err := h.Store.DismissTryList(c.UserContext(), u.ID); err != nil {
		return err
	}
	if c.Get("HX-Request") == "true" {
		return c.SendString("")
	}
	return Redirect(c, "/")
}
