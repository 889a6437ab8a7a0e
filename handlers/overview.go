package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/engine/rules"
	"crossdock/store"
	"crossdock/views"
)

// OverviewStore is what the overview reads.
type OverviewStore interface {
	ListConnections(ctx context.Context) ([]store.Connection, error)
	SourceRules(ctx context.Context) (rules.Rules, error)
	FlowStats(ctx context.Context, since time.Time) ([]store.FlowStat, error)
	FlowPauses(ctx context.Context) (map[string]store.FlowPause, error)
}

// Overview handles the landing page.
type Overview struct {
	Base
	Store OverviewStore
	// DemoLoaded reports whether the demo workspace exists.
	DemoLoaded func() bool
}

// Show displays the overview.
func (h Overview) Show(c *fiber.Ctx) error {
	u := CurrentUser(c)
	cs, err := h.Store.ListConnections(c.UserContext())
	if err != nil {
		return err
	}
	p := views.OverviewPage{Meta: h.Meta(c, "Overview", "overview"), IsAdmin: u.Role == store.RoleAdmin,
		CanSeeConns: u.Role != store.RoleFinance, DemoLoaded: h.DemoLoaded != nil && h.DemoLoaded(), Now: now()}
	for _, conn := range cs {
		p.Connections = append(p.Connections, connectionRow(conn))
	}
	if len(p.Connections) > 0 {
		if p.Flows, err = h.flowsSection(c, p.Now); err != nil {
			return err
		}
	}
	return Render(c, views.Overview(p))
}
