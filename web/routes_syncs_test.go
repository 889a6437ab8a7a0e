package web_test

// The sync pages' access rows. In TestRouteAccessByRole ":id<int>" is a
// failed sync of the role's own; syncs_test.go checks what the pages show.
func init() {
	addRoutes(
		routeRow{"GET", "/syncs", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/syncs/:id<int>", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"POST", "/syncs/sweep", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
	)
}
