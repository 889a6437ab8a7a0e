package web_test

// The finance review's access rows: finance and admins.
func init() {
	addRoutes(
		routeRow{"GET", "/finance", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance.csv", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance/summary", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"POST", "/finance/thresholds", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		// ":id<int>" stays literal, which no route matches; finance_review_test.go checks real variants and roles.
		routeRow{"POST", "/finance/variants/:id<int>/acknowledge", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/finance/variants/:id<int>/accept", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/finance/variants/:id<int>/send", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
	)
}
