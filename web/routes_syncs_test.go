package web_test

// The sync pages' access rows. In TestRouteAccessByRole ":id<int>" stays
// literal, which no route matches, so every role meets a 404 there;
// syncs_test.go checks a real sync for every role.
func init() {
	addRoutes(
		routeRow{"GET", "/syncs", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/syncs/:id<int>", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/syncs/sweep", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
	)
}
