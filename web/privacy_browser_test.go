package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

// privacyWebhook stores a privacy webhook for the demo store as the
// endpoint does after checking its signature, and lets intake take it.
func privacyWebhook(t *testing.T, env *webtest.Env, shop int64, domain, topic, body string) {
	t.Helper()
	_, inserted, err := env.Store.InsertWebhookEvent(t.Context(), store.NewWebhookEvent{ConnectionID: shop, WebhookID: "privacy-" + topic,
		EventID: "privacy-" + topic, Topic: topic, ShopDomain: domain, APIVersion: "2026-04", Payload: []byte(body)})
	require.NoError(t, err)
	require.True(t, inserted)
	_, err = env.Engine.IntakeOnce(t.Context())
	require.NoError(t, err)
}

// TestBrowserPrivacyRequests walks the privacy requests on the demo
// workspace as an admin: a customer of the demo store asks for their data —
// the request is listed with its due date, its page leads to the data held
// (their orders, with what was sent to Odoo), which is marked answered —
// then asks for their erasure, which Crossdock carries out and reports.
func TestBrowserPrivacyRequests(t *testing.T) {
	t.Parallel()
	env := webtest.StartDemo(t)
	ctx := t.Context()
	shop := mustConn(t, env, "Demo Shopify store")
	var domain string
	require.NoError(t, env.Store.DB.GetContext(ctx, &domain, `SELECT settings->>'shop_domain' FROM connections WHERE id = $1`, shop))
	// A customer of the demo whose order reached Odoo.
	var customer struct {
		GID   string `db:"gid"`
		Email string `db:"email"`
		Order string `db:"entity_key"`
	}
	require.NoError(t, env.Store.DB.GetContext(ctx, &customer, `SELECT payload->'customer'->>'id' AS gid, payload->>'email' AS email, entity_key
FROM syncs WHERE entity_type = 'order' AND status = 'succeeded' AND payload->'customer'->>'id' <> '' ORDER BY id LIMIT 1`))
	id := customer.GID[strings.LastIndexByte(customer.GID, '/')+1:]
	body := func(orders string) string {
		return fmt.Sprintf(`{"shop_id":1,"shop_domain":%q,%s:[],"customer":{"id":%s,"email":%q,"phone":null},"data_request":{"id":77}}`, domain, orders, id, customer.Email)
	}
	privacyWebhook(t, env, shop, domain, "customers/data_request", body(`"orders_requested"`))

	tab := browsertest.Tab(t)
	signIn(t, tab, env, env.Users[vocab.RoleAdmin].Email)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(env.URL+"/privacy"), chromedp.WaitVisible(chromedp.CSS("#privacy-requests table"))))
	look(t, tab, "privacy-01-requests")
	text := pageText(t, tab)
	require.Contains(t, text, "Data request")
	require.Contains(t, text, "Due in 30 days")
	require.Contains(t, text, "1 request open, none past its due date")

	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`#privacy-requests tbody a`)), chromedp.WaitVisible(chromedp.CSS("#privacy-due"))))
	look(t, tab, "privacy-02-request")
	require.Contains(t, pageText(t, tab), customer.Email)

	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`a[href$="/export"]`)), chromedp.WaitVisible(chromedp.CSS("#x-syncs-h"))))
	look(t, tab, "privacy-03-data-held")
	text = pageText(t, tab)
	require.Contains(t, text, "Data held about")
	require.Contains(t, text, customer.Order, "their order is in it")
	require.Contains(t, text, "What Crossdock sent to Demo Odoo")
	require.Contains(t, text, "Demo Odoo", "and the system that holds a copy")

	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`a[href^="/privacy/"]:not([href$="download"])`)), chromedp.WaitVisible(chromedp.CSS("#privacy-answer"))))
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`#privacy-answer button`)), chromedp.WaitVisible(chromedp.CSS("#privacy-due .badge-success"))))
	require.Contains(t, pageText(t, tab), "The data held was sent to the customer by Ada Admin.")

	// The same customer asks for their erasure.
	privacyWebhook(t, env, shop, domain, "customers/redact", body(`"orders_to_redact"`))
	for {
		did, err := env.Engine.EraseOnce(context.Background())
		require.NoError(t, err)
		if !did {
			break
		}
	}
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(env.URL+"/privacy"), chromedp.WaitVisible(chromedp.CSS("#privacy-requests table"))))
	look(t, tab, "privacy-04-erased")
	text = pageText(t, tab)
	require.Contains(t, text, "Erase a customer")
	require.Contains(t, text, "Every privacy request is answered.")
	require.Contains(t, text, "Erased from Crossdock")
	require.NotContains(t, text, customer.Email, "the erased e-mail is gone from the list too")
}
