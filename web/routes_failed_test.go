package web_test

// The failed-syncs console's access rows: operators and admins act, finance
// has no access, edit-and-replay and the settings are admins'. ":id<int>"
// stays literal in TestRouteAccessByRole, which no route matches, so every
// role meets a 404 there; failed_test.go checks real failures role by role.
func init() {
	addRoutes(
		routeRow{"GET", "/failed", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/failed/replay", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/resolve", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/ignore", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/settings", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/propose-mappings", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/failed/batches/:id<int>", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/failed/batches/:id<int>/cancel", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/syncs/:id<int>/replay", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/syncs/:id<int>/resolve", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/syncs/:id<int>/ignore", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/syncs/:id<int>/edit-replay", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
	)
}
