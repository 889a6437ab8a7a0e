package web_test

// The reconciliation pages' access rows. ":id<int>" stays literal, which no
// route matches: every role meets a 404 there; reconciliation_test.go checks
// real runs and discrepancies.
func init() {
	addRoutes(
		routeRow{"GET", "/reconciliation", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"POST", "/reconciliation/runs", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/reconciliation/schedule", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/reconciliation/runs/:id<int>", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"GET", "/reconciliation/discrepancies", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/reconciliation/discrepancies.csv", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/reconciliation/discrepancies/:id<int>", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/assign", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/acknowledge", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/ignore", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/reopen", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/push", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
	)
}
