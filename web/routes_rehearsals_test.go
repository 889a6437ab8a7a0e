package web_test

// The peak rehearsal's access rows: admins only. ":id<int>" stays literal
// (404 for every role); rehearsals_test.go runs a real rehearsal.
func init() {
	addRoutes(
		routeRow{"GET", "/rehearsals", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/rehearsals", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"GET", "/rehearsals/:id<int>", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/rehearsals/:id<int>/cancel", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
	)
}
