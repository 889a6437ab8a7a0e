package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"crossdock/engine"
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
	routes, unset := h.Flows.PersonalRoutes(rs)
	for _, r := range routes {
		p.Rows = append(p.Rows, views.PrivacyMapRow{Family: r.Flow.Family.Label(), From: r.From, To: r.To, Fields: rules.JoinWords(r.Flow.Fields)})
	}
	for _, f := range unset {
		p.Unset = append(p.Unset, views.PrivacyMapUnset{Family: f.Family.Label(), Fields: rules.JoinWords(f.Fields)})
	}
	return Render(c, views.PrivacyMap(p))
}
