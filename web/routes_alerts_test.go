package web_test

// The alert pages' access rows. ":id<int>" stays literal here, which no
// route matches (404 for every role); ":kind" matches as an unknown rule
// (404 for admins). alerts_test.go acts on real alerts, rules and channels.
func init() {
	addRoutes(
		routeRow{"GET", "/alerts", expect{anon: forbidden, "operator": 200, "finance": 200, "admin": 200}},
		routeRow{"POST", "/alerts/:id<int>/acknowledge", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"GET", "/alerts/settings", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 200}},
		routeRow{"POST", "/alerts/rules/:kind", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 404}},
		routeRow{"POST", "/alerts/channels", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"POST", "/alerts/channels/:id<int>/delete", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/alerts/channels/:id<int>/test", expect{anon: 404, "operator": 404, "finance": 404, "admin": 404}},
		routeRow{"POST", "/alerts/smtp", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
		routeRow{"POST", "/alerts/smtp/test", expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": 422}},
	)
}
