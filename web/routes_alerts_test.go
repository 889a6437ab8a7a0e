package web_test

// The alert pages' access rows. In TestRouteAccessByRole ":id<int>" is an
// open alert of the role's own and one channel per action; ":kind" matches
// as an unknown rule (404 for admins). alerts_test.go acts on real alerts,
// rules and channels.
func init() {
	addRoutes(
		routeRow{"GET", "/alerts", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"POST", "/alerts/:id<int>/acknowledge", expect{anon: forbidden, "operator": 303, "finance": forbidden, "admin": 303}},
		routeRow{"GET", "/alerts/settings", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/alerts/rules/:kind", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 404}},
		routeRow{"POST", "/alerts/channels", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"POST", "/alerts/channels/:id<int>/delete", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/alerts/channels/:id<int>/test", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 303}},
		routeRow{"POST", "/alerts/smtp", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"POST", "/alerts/smtp/test", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	)
}
