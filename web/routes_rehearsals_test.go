package web_test

// The peak rehearsal's access rows: admins only. In TestRouteAccessByRole
// ":id<int>" is a queued rehearsal of the role's own; rehearsals_test.go
// runs a real one.
func init() {
	addRoutes(
		routeRow{"GET", "/rehearsals", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/rehearsals", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"GET", "/rehearsals/:id<int>", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/rehearsals/:id<int>/cancel", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	)
}
