package web_test

// /metrics is off on the console's address unless a token is configured
// (the test console has none): 404 for everyone. metrics_test.go checks the
// token and what a scrape holds.
func init() {
	addRoutes(
		routeRow{"GET", "/metrics", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
	)
}
