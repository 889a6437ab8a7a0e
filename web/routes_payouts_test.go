package web_test

// The payouts pages' access rows: finance and admins.
func init() {
	addRoutes(
		routeRow{"GET", "/payouts", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/payouts/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		// Queued, then shown on the comparison's page (303).
		routeRow{"POST", "/payouts/compare", expect{anon: forbidden, "operator": forbidden, "finance": 303, "admin": 303}},
	)
}
