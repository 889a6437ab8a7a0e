package web_test

// The Overview's flows fragment: every signed-in role may refresh it.
func init() {
	addRoutes(
		routeRow{"GET", "/overview/flows", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
	)
}
