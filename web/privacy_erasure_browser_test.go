package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// drain runs one of the engine's erasure steps until it has nothing left.
func drain(t *testing.T, step func(context.Context) (bool, error)) {
	t.Helper()
	for range 10000 {
		did, err := step(context.Background())
		require.NoError(t, err)
		if !did {
			return
		}
	}
	t.Fatal("the erasure never ran out of work")
}

// noOverflowAtPhoneWidth checks that nothing on the page is wider than a
// phone's screen (a long e-mail address wraps), then goes back to 1280 px.
func noOverflowAtPhoneWidth(t *testing.T, tab context.Context, what string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
	// Against the phone's 390 px, not innerWidth: a mobile browser widens
	// its layout viewport to fit content that overflows.
	wide, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 391`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(tab, chromedp.EmulateViewport(1280, 900)))
	require.False(t, wide, "%s: the page is wider than a 390 px screen", what)
}

// TestBrowserPrivacyErasureReachesOdoo walks, as an admin on the demo
// workspace, the erasure of a customer in the connected systems and the
// erasure of the demo shop: the admin turns on "Send erasures to Demo Odoo"
// on the Privacy page; a customer whose order is an open quotation in Odoo
// asks for their erasure, and the request's page says Odoo kept them and
// which order keeps them; a customer known only by a long e-mail address
// reads well on a phone, the address shown once; then the shop's erasure
// waits for the admin's confirmation, which disables the shop and erases its
// data, and the page says what was erased.
func TestBrowserPrivacyErasureReachesOdoo(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t)
	ctx := t.Context()
	shop := mustConn(t, env, "Demo Shopify store")
	var domain string
	require.NoError(t, env.Store.DB.GetContext(ctx, &domain, `SELECT settings->>'shop_domain' FROM connections WHERE id = $1`, shop))
	var customer struct {
		GID   string `db:"gid"`
		Email string `db:"email"`
	}
	require.NoError(t, env.Store.DB.GetContext(ctx, &customer, `SELECT payload->'customer'->>'id' AS gid, payload->>'email' AS email
FROM syncs WHERE entity_type = 'order' AND status = 'succeeded' AND payload->'customer'->>'id' <> '' ORDER BY id LIMIT 1`))
	id := customer.GID[strings.LastIndexByte(customer.GID, '/')+1:]

	tab := browsertest.Tab(t)
	signIn(t, tab, env, env.Users[vocab.RoleAdmin].Email)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(env.URL+"/privacy"), chromedp.WaitVisible(chromedp.CSS("#privacy-erasure-settings")),
		chromedp.ScrollIntoView(chromedp.CSS("#privacy-erasure-settings"))))
	text := pageText(t, tab)
	require.Contains(t, text, "Erasures in connected systems")
	require.Contains(t, text, "Erasures not sent", "off until an admin turns it on")
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`#privacy-erasure-settings button`)),
		chromedp.WaitVisible(chromedp.CSS(`#privacy-erasure-settings .badge-success`)), chromedp.ScrollIntoView(chromedp.CSS("#privacy-erasure-settings"))))
	look(t, tab, "privacy-erasure-01-setting")
	text = pageText(t, tab)
	require.Contains(t, text, "Customers' erasures are now sent to this system.")
	require.Contains(t, text, "Stop sending erasures to Demo Odoo")
	require.Contains(t, text, "Changed by Ada Admin")

	// The customer with an order in Odoo asks for their erasure.
	privacyWebhook(t, env, shop, domain, "customers/redact",
		fmt.Sprintf(`{"shop_id":1,"shop_domain":%q,"orders_to_redact":[],"customer":{"id":%s,"email":%q,"phone":null}}`, domain, id, customer.Email))
	drain(t, env.Engine.EraseOnce)
	drain(t, env.Engine.SendErasureOnce)
	var request int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &request, `SELECT id FROM privacy_requests WHERE kind = 'customer_redact'`))
	var order string
	require.NoError(t, env.Store.DB.GetContext(ctx, &order, `SELECT detail FROM privacy_system_erasures WHERE request_id = $1 AND connection_id = $2`, request, mustConn(t, env, "Demo Odoo")))
	require.Regexp(t, `^kept: open sale orders? S\d{5}`, order)

	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(fmt.Sprintf("%s/privacy/%d", env.URL, request)), chromedp.WaitVisible(chromedp.CSS("#privacy-systems")),
		chromedp.ScrollIntoView(chromedp.CSS("#privacy-systems"))))
	look(t, tab, "privacy-erasure-02-kept")
	text = pageText(t, tab)
	require.Contains(t, text, "In the connected systems")
	require.Contains(t, text, "Demo Odoo")
	require.Contains(t, text, "Kept")
	require.Contains(t, text, "K"+order[1:], "the order that keeps the customer, by its name")
	require.Contains(t, text, "Send the erasure to Demo Odoo again")
	require.Contains(t, text, "Erased from Crossdock", "Crossdock's own erasure was not held up")
	noOverflowAtPhoneWidth(t, tab, "the erasure's page")

	// A customer Crossdock knows only by a long e-mail address.
	long := "a.very.long.customer.address.that.goes.on.and.on@subdomain.of.a.long-company-name.example.org"
	privacyWebhook(t, env, shop, domain, "customers/data_request",
		fmt.Sprintf(`{"shop_id":1,"shop_domain":%q,"orders_requested":[],"customer":{"id":990001,"email":%q,"phone":null},"data_request":{"id":78}}`, domain, long))
	var dataRequest int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &dataRequest, `SELECT id FROM privacy_requests WHERE kind = 'data_request'`))
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(fmt.Sprintf("%s/privacy/%d", env.URL, dataRequest)), chromedp.WaitVisible(chromedp.CSS("#privacy-due"))))
	look(t, tab, "privacy-erasure-03-long-email")
	who, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(".privacy-who")))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(who, long), "the e-mail once, not as a name and again as the e-mail: %q", who)
	noOverflowAtPhoneWidth(t, tab, "a request with a long e-mail")
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(fmt.Sprintf("%s/privacy/%d/export", env.URL, dataRequest)), chromedp.WaitVisible(chromedp.CSS("h1"))))
	look(t, tab, "privacy-erasure-03b-long-email-export")
	noOverflowAtPhoneWidth(t, tab, "the data held about a long e-mail")
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(env.URL+"/privacy"), chromedp.WaitVisible(chromedp.CSS("#privacy-requests table"))))
	look(t, tab, "privacy-erasure-04-list")
	noOverflowAtPhoneWidth(t, tab, "the list with a long e-mail")

	// The shop's erasure waits for the admin, who confirms it.
	privacyWebhook(t, env, shop, domain, "shop/redact", fmt.Sprintf(`{"shop_id":1,"shop_domain":%q}`, domain))
	var shopRequest int64
	require.NoError(t, env.Store.DB.GetContext(ctx, &shopRequest, `SELECT id FROM privacy_requests WHERE kind = 'shop_redact'`))
	drain(t, env.Engine.EraseShopOnce)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(fmt.Sprintf("%s/privacy/%d", env.URL, shopRequest)), chromedp.WaitVisible(chromedp.CSS("#privacy-erase-shop")),
		chromedp.ScrollIntoView(chromedp.CSS("#privacy-shop"))))
	look(t, tab, "privacy-erasure-05-confirm-shop")
	text = pageText(t, tab)
	require.Contains(t, text, "Erase the shop: Demo Shopify store")
	require.Contains(t, text, "Waiting for an admin: Demo Shopify store is still enabled")
	require.Contains(t, text, "Demo Shopify store is still enabled.")
	require.Contains(t, text, "This cannot be undone.")
	require.Contains(t, text, "catalogue records")
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`#privacy-erase-shop button`))))
	waitForText(t, tab, "Demo Shopify store is disabled and its data is being erased")
	drain(t, env.Engine.EraseShopOnce)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(fmt.Sprintf("%s/privacy/%d", env.URL, shopRequest)), chromedp.WaitVisible(chromedp.CSS("#privacy-shop"))))
	look(t, tab, "privacy-erasure-06-shop-erased")
	text = pageText(t, tab)
	require.Contains(t, text, "Erased the data of Demo Shopify store from Crossdock:")
	require.Contains(t, text, "the audit log and this request are kept")
	require.NotContains(t, text, "#privacy-erase-shop")
	var left int
	require.NoError(t, env.Store.DB.GetContext(ctx, &left, `SELECT count(*) FROM syncs WHERE source_connection_id = $1 OR target_connection_id = $1`, shop))
	require.Zero(t, left)
	require.NoError(t, env.Store.DB.GetContext(ctx, &left, `SELECT count(*) FROM mapping_refs WHERE connection_id = $1`, mustConn(t, env, "Demo Odoo")))
	require.NotZero(t, left, "Odoo's side of the mappings stays")
}
