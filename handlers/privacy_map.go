package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/views"
)

// PersonalFlowLister lists the flows that carry personal data, from their
// own declarations (the engine).
type PersonalFlowLister interface {
	PersonalRoutes(rs rules.Rules) ([]engine.PersonalRoute, []engine.PersonalFlow)
}

// PrivacyMapStore is what the personal-data map reads.
type PrivacyMapStore interface {
	SourceRules(ctx context.Context) (rules.Rules, error)
	RetentionState(ctx context.Context) (store.RetentionState, error)
}

// PrivacyMap shows which personal fields flow from which system to which
// (admins only).
type PrivacyMap struct {
	Base
	Store PrivacyMapStore
	// Flows is nil when the console runs without the sync engine.
	Flows PersonalFlowLister
}

// Page is the personal-data map: per family and route set up in the sources
// of truth, and the personal fields its flows carry.
func (h PrivacyMap) Page(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p := views.PrivacyMapPage{Meta: h.Meta(c, "Personal data map", "privacy"), EngineOff: h.Flows == nil}
	rs, err := h.Store.SourceRules(ctx)
	if err != nil {
		return err
	}
	p.NoConnections = len(rs.Connections) == 0
	if p.EngineOff || p.NoConnections {
		return Render(c, views.PrivacyMap(p))
	}
	// People held: the people whose data the route's syncs keep, as the
	// hourly pruning job last counted them (nothing is counted on the
	// syncs' write path, nor here).
	st, err := h.Store.RetentionState(ctx)
	if err != nil {
		return err
	}
	people := st.People()
	p.CountedAt, p.Now = st.CountedAt, now()
	routes, unset := h.Flows.PersonalRoutes(rs)
	for _, r := range routes {
		row := views.PrivacyMapRow{Family: r.Flow.Family.Label(), From: r.From, To: r.To, Fields: rules.JoinWords(r.Flow.Fields), Counted: st.CountedAt != nil}
		row.People = people[store.Route{Family: string(r.Flow.Family), SourceID: r.FromID, TargetID: r.ToID}]
		p.Rows = append(p.Rows, row)
	}
	for _, f := range unset {
		p.Unset = append(p.Unset, views.PrivacyMapUnset{Family: f.Family.Label(), Fields: rules.JoinWords(f.Fields)})
	}
	return Render(c, views.PrivacyMap(p))
}
