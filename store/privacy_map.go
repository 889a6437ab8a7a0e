package store

import (
	"context"
	"fmt"
)

// countRouteRecords reads syncs_flow_route_ref_idx only (00043).
const countRouteRecords = `SELECT count(DISTINCT entity_ref) FROM syncs
WHERE flow = $1 AND source_connection_id = $2 AND target_connection_id = $3 AND entity_ref <> ''`

// CountRouteRecords is how many distinct records (customers, orders...) of
// one flow from one system to another Crossdock keeps in its sync records.
func (s *Store) CountRouteRecords(ctx context.Context, flow string, from, to int64) (int64, error) {
	var n int64
	if err := s.DB.GetContext(ctx, &n, countRouteRecords, flow, from, to); err != nil {
		return 0, fmt.Errorf("store: count route records: %w", err)
	}
	return n, nil
}
