package engine

import (
	"context"
	"fmt"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// odooSweep is a claimed sweep of one Odoo system: its client, its
// connection, and the write date reading resumes from.
type odooSweep struct {
	cl     *odoo.Client
	conn   store.Connection
	cursor string
	since  time.Time
}

// sweptPage is one page of an Odoo sweep as its flow queued it.
type sweptPage struct {
	rows   int // rows read: a page shorter than the page size is the last
	queued int // syncs queued
	// The page's last row: the next page starts after it.
	lastAt time.Time
	lastID int
}

// at is the sweep's cursor moved to a row, saved with the page's syncs.
func (sw odooSweep) at(t time.Time, id int) store.SyncCursor {
	return store.SyncCursor{ConnectionID: sw.conn.ID, Name: sw.cursor, PositionAt: &t, PositionID: int64(id)}
}

// walk reads the sweep page by page from its resume point, oldest first:
// page reads and queues the rows written after (since, afterID), until a
// page shorter than size. It returns how many syncs were queued.
func (sw odooSweep) walk(what string, size int, page func(since time.Time, afterID int) (sweptPage, error)) (int, error) {
	since, afterID, queued := sw.since, 0, 0
	for {
		pg, err := page(since, afterID)
		queued += pg.queued
		if err != nil {
			return queued, fmt.Errorf("engine: %s sweep of %s: %w", what, sw.conn.Name, err)
		}
		if pg.rows < size {
			return queued, nil
		}
		since, afterID = pg.lastAt, pg.lastID
	}
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
	sw := odooSweep{cl: cl, conn: conn, cursor: cursor}
	if cur.PositionAt != nil {
		sw.since = cur.PositionAt.Add(-sweepOverlap)
	}
	return sw, true, nil
}

// odooToShopify returns the enabled Odoo master of a family and its Shopify
// receivers; ok is false when the family does not flow that way.
func odooToShopify(rs rules.Rules, f vocab.Family) (master rules.ConnInfo, tgts []int64, ok bool) {
	rule := rs.Rule(f)
	master, ok = rs.Conn(rule.Master)
	if !ok || master.Kind != vocab.KindOdoo || !master.Enabled {
		return master, nil, false
	}
	for _, rc := range rule.Receivers {
		if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == vocab.KindShopify {
			tgts = append(tgts, c.ID)
		}
	}
	return master, tgts, len(tgts) > 0
}

// every is how long a family's sweep waits between two passes (0 when forced).
func (e *Engine) every(rs rules.Rules, f vocab.Family, force bool) time.Duration {
	if force {
		return 0
	}
	return time.Duration(rs.Rule(f).SweepMinutes) * time.Minute
}
