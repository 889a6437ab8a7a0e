package engine

import (
	"context"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/engine/rules"
	"crossdock/store"
)

// odooSweep is a claimed sweep of one Odoo system: its client, its
// connection, and the write date reading resumes from.
type odooSweep struct {
	cl    *odoo.Client
	conn  store.Connection
	since time.Time
}

// claimOdooSweep claims the named sweep cursor of an Odoo system when it is
// due (every has passed since the last claim; 0: now) and opens its client.
// Reading resumes a little before the cursor: write_date has whole seconds.
func (e *Engine) claimOdooSweep(ctx context.Context, src int64, cursor string, every time.Duration) (odooSweep, bool, error) {
	cur, due, err := e.st.ClaimSweep(ctx, src, cursor, every)
	if err != nil || !due {
		return odooSweep{}, false, err
	}
	cl, conn, err := e.odoo(ctx, src)
	if err != nil {
		return odooSweep{}, false, err
	}
	sw := odooSweep{cl: cl, conn: conn}
	if cur.PositionAt != nil {
		sw.since = cur.PositionAt.Add(-sweepOverlap)
	}
	return sw, true, nil
}

// odooToShopify returns the enabled Odoo master of a family and its Shopify
// receivers; ok is false when the family does not flow that way.
func odooToShopify(rs rules.Rules, f rules.Family) (master rules.ConnInfo, tgts []int64, ok bool) {
	rule := rs.Rule(f)
	master, ok = rs.Conn(rule.Master)
	if !ok || master.Kind != store.KindOdoo || !master.Enabled {
		return master, nil, false
	}
	for _, rc := range rule.Receivers {
		if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == store.KindShopify {
			tgts = append(tgts, c.ID)
		}
	}
	return master, tgts, len(tgts) > 0
}

// every is how long a family's sweep waits between two passes (0 when forced).
func (e *Engine) every(rs rules.Rules, f rules.Family, force bool) time.Duration {
	if force {
		return 0
	}
	return time.Duration(rs.Rule(f).SweepMinutes) * time.Minute
}
