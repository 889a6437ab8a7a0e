package web_test

// The webhook routes' access rows. In TestRouteAccessByRole ":id<int>" is an
// existing Shopify connection; ":event", ":rejection" and ":connection" stay
// literal, so allowed roles meet a 404 (no such delivery), while the
// role check still answers first for everyone else.
func init() {
	addRoutes(
		// Shopify is anonymous: the HMAC, not a session, authenticates a delivery.
		routeRow{"POST", "/webhooks/shopify/:connection", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/webhooks/shipbob/:connection", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/webhooks/quickbooks/:connection", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"GET", "/connections/:id<int>/webhooks", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
		routeRow{"GET", "/connections/:id<int>/webhooks/:event", expect{anon: forbidden, "operator": 404, "finance": forbidden, "admin": 404}},
		routeRow{"GET", "/connections/:id<int>/webhooks/rejected/:rejection", expect{anon: forbidden, "operator": 404, "finance": forbidden, "admin": 404}},
	)
}
