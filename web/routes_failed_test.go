package web_test

// The failed-syncs console's access rows: operators and admins act, finance
// has no access, edit-and-replay and the settings are admins'. In
// TestRouteAccessByRole ":id<int>" is a failed sync and a bulk replay of
// the role's own; failed_test.go and edit_replay_test.go check what the
// actions do.
func init() {
	addRoutes(
		routeRow{"GET", "/failed", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/failed/replay", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/resolve", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/ignore", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/exclude", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/failed/act", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/act", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		// ":id<int>" is an exclusion of the role's own.
		routeRow{"GET", "/exclusions", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/exclusions/:id<int>/include", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/settings", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/failed/propose-mappings", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/failed/batches/:id<int>", expect{anon: forbidden, "operator": 200, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/failed/batches/:id<int>/cancel", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/syncs/:id<int>/replay", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/syncs/:id<int>/resolve", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/syncs/:id<int>/ignore", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		// An empty form: the edit is refused in words, back on the sync's page.
		routeRow{"POST", "/syncs/:id<int>/edit-replay", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
	)
	// Without a note or corrected data, the form is refused before the sync is looked up.
	answerMissing(303, "POST /syncs/:id<int>/edit-replay")
}
