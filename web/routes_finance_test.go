package web_test

// The finance review's access rows: finance and admins.
func init() {
	addRoutes(
		routeRow{"GET", "/finance", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"GET", "/finance.csv", expect{anon: forbidden, "operator": forbidden, "finance": 200, "admin": 200}},
		routeRow{"POST", "/finance/thresholds", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	)
}
