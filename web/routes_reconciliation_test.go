package web_test

// The reconciliation pages' access rows. In TestRouteAccessByRole ":id<int>"
// is a finished run and an open discrepancy of the role's own;
// reconciliation_test.go checks what the actions do.
func init() {
	addRoutes(
		routeRow{"GET", "/reconciliation", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"POST", "/reconciliation/runs", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/reconciliation/schedule", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/reconciliation/warehouse", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/reconciliation/runs/:id<int>", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/reconciliation/discrepancies", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/reconciliation/discrepancies.csv", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/reconciliation/discrepancies/:id<int>", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/assign", expect{anon: forbidden, "operator": 303, "finance": 303, "admin": 303}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/acknowledge", expect{anon: forbidden, "operator": 303, "finance": 303, "admin": 303}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/ignore", expect{anon: forbidden, "operator": 303, "finance": 303, "admin": 303}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/reopen", expect{anon: forbidden, "operator": 303, "finance": 303, "admin": 303}},
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/push", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		// No price fix from finance on the role's discrepancy: answered in
		// words on its page; finance_workspace_test.go answers real ones.
		routeRow{"POST", "/reconciliation/discrepancies/:id<int>/answer", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
	)
	// Without a note, the form is refused before the discrepancy is looked up.
}
