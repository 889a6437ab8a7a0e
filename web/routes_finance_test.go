package web_test

// The finance review's access rows: finance and admins.
func init() {
	addRoutes(
		routeRow{"GET", "/finance", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance.csv", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance/summary", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"POST", "/finance/thresholds", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/finance/collections", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		// No collection in the form: the admin is told to choose one (422); finance_collections_test.go saves real ones.
		routeRow{"POST", "/finance/collections/thresholds", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"POST", "/finance/collections/thresholds/clear", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		// ":id<int>" stays literal, which no route matches; finance_review_test.go checks real variants and roles.
		routeRow{"POST", "/finance/variants/:id<int>/acknowledge", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/finance/variants/:id<int>/accept", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/finance/variants/:id<int>/send", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
	)
}
