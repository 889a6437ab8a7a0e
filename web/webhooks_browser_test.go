package web_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
	"crossdock/web/browsertest"
	"crossdock/web/webtest"
)

func TestBrowserOperatorReadsAReceivedWebhook(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	fx := loadOrdersCreate(t)
	c := shopifyConnection(t, env, testSecret)
	s := sandbox.Sender{URL: fmt.Sprintf("%s/webhooks/shopify/%d", env.URL, c.ID), Secret: testSecret, ShopDomain: "crossdock-test.myshopify.com"}
	status, err := s.Send(t.Context(), "orders/create", fx.body, sandbox.SendOptions{WebhookID: "delivery-1"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	bad := sandbox.Sender{URL: s.URL, Secret: "an old secret", ShopDomain: s.ShopDomain}
	status, err = bad.Send(t.Context(), "orders/create", fx.body, sandbox.SendOptions{})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, status)

	ctx := browsertest.Tab(t)
	signIn(t, ctx, env, "operator@shop.test")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/connections/%d", env.URL, c.ID)),
		chromedp.Click(chromedp.CSS(`a[href$="/webhooks"]`)),
		chromedp.WaitVisible(chromedp.CSS("#webhook-events")),
	))
	browsertest.Screenshot(t, ctx, "webhooks")
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#webhook-events")))
	require.NoError(t, err)
	require.Contains(t, list, "orders/create")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#webhook-events tbody a`)),
		chromedp.WaitVisible(chromedp.CSS("#webhook-payload")),
	))
	payload, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#webhook-payload")))
	require.NoError(t, err)
	require.Contains(t, payload, `"admin_graphql_api_id": "gid://shopify/Order/820982911946154508"`, "the stored payload, pretty-printed")
	browsertest.Screenshot(t, ctx, "webhook-detail")
}
