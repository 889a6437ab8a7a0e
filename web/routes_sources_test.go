package web_test

// The sources-of-truth routes' access rows. In TestRouteAccessByRole
// ":family" stays literal, so an admin meets a 404 (no such family) while
// every other role is refused first; sources_test.go checks a real family.
func init() {
	addRoutes(
		routeRow{"GET", "/sources", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"GET", "/sources/:family/edit", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 404}},
		routeRow{"POST", "/sources/:family", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 404}},
	)
}
