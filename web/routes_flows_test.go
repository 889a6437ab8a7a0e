package web_test

// The Overview's flows fragment: every signed-in role may refresh it; only
// admins pause and resume flows.
func init() {
	addRoutes(
		routeRow{"GET", "/overview/flows", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		// The table sends ":family" literally: an admin gets 404 (no such family);
		// web/flows_test.go pauses and resumes a real one.
		routeRow{"POST", "/flows/:family/pause", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 404}},
		routeRow{"POST", "/flows/:family/resume", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 404}},
	)
}
