package web_test

// The finance review's access rows: finance and admins.
func init() {
	addRoutes(
		routeRow{"GET", "/finance", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance.csv", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance/summary", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance/summary.csv", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		// Queues a comparison of prices (or says one is on its way).
		routeRow{"POST", "/finance/compare", expect{anon: forbidden, "operator": forbidden, "finance": 303, "admin": 303}},
		routeRow{"POST", "/finance/thresholds", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/finance/collections", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		// No collection in the form: the admin is told to choose one (422); finance_collections_test.go saves real ones.
		routeRow{"POST", "/finance/collections/thresholds", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"POST", "/finance/collections/thresholds/clear", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		// ":id<int>" is a variant of the latest price comparison, one per role;
		// empty forms are answered in words on the review (303).
		// finance_review_test.go checks what each decision does.
		routeRow{"POST", "/finance/variants/:id<int>/acknowledge", expect{anon: forbidden, "operator": forbidden, "finance": 303, "admin": 303}},
		routeRow{"POST", "/finance/variants/:id<int>/accept", expect{anon: forbidden, "operator": forbidden, "finance": 303, "admin": 303}},
		routeRow{"POST", "/finance/variants/:id<int>/send", expect{anon: forbidden, "operator": forbidden, "finance": 303, "admin": 303}},
	)
	// A variant outside the latest comparison is answered in words on the review.
	answerMissing(303, "POST /finance/variants/:id<int>/acknowledge", "POST /finance/variants/:id<int>/accept", "POST /finance/variants/:id<int>/send")
}
