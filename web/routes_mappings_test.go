package web_test

// Identifier mapping's access contract. ":id" is sent as it is: it
// reaches the route as an id no entity or change set has, so the roles
// allowed in get 404.
// Empty posts answer 422 (form errors) where no id is involved.
func init() {
	ops := func(status int) expect {
		return expect{anon: forbidden, "operator": status, "finance": forbidden, "admin": status}
	}
	adm := func(status int) expect {
		return expect{anon: forbidden, "operator": forbidden, "finance": forbidden, "admin": status}
	}
	addRoutes(
		routeRow{"GET", "/mappings", ops(200)},
		routeRow{"GET", "/mappings/export.csv", ops(200)},
		routeRow{"GET", "/mappings/new", ops(200)},
		routeRow{"GET", "/mappings/entities/:id", ops(404)},
		routeRow{"GET", "/mappings/history", ops(200)},
		routeRow{"GET", "/mappings/unmapped", ops(200)},
		routeRow{"POST", "/mappings/unmapped/accept", ops(422)},
		// A pick refused is said on the unmapped list it came from (303);
		// a search without its row is not understood (422); a fix link
		// naming no failure still lands on the unmapped records (303).
		routeRow{"POST", "/mappings/unmapped/pick", ops(303)},
		routeRow{"GET", "/mappings/candidates", ops(422)},
		routeRow{"GET", "/mappings/fix", ops(303)},
		routeRow{"GET", "/mappings/import", ops(200)},
		routeRow{"POST", "/mappings/import", ops(422)},
		routeRow{"GET", "/mappings/import/template.csv", ops(200)},
		routeRow{"GET", "/mappings/change-sets", ops(200)},
		routeRow{"POST", "/mappings/change-sets", ops(422)},
		routeRow{"GET", "/mappings/change-sets/:id", ops(404)},
		routeRow{"POST", "/mappings/change-sets/:id/rows", ops(404)},
		routeRow{"POST", "/mappings/change-sets/:id/remove-row", ops(404)},
		routeRow{"POST", "/mappings/change-sets/:id/submit", ops(404)},
		routeRow{"POST", "/mappings/change-sets/:id/withdraw", ops(404)},
		routeRow{"POST", "/mappings/change-sets/:id/recheck", ops(404)},
		routeRow{"POST", "/mappings/change-sets/:id/revert", ops(404)},
		routeRow{"POST", "/mappings/change-sets/:id/comments", ops(404)},
		routeRow{"GET", "/mappings/approvals", adm(200)},
		routeRow{"POST", "/mappings/change-sets/:id/approve", adm(404)},
		routeRow{"POST", "/mappings/change-sets/:id/reject", adm(404)},
	)
}
