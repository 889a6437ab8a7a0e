package recon

import (
	"context"
	"fmt"
	"time"

	"crossdock/store"
	"crossdock/vocab"
)

// compareWarehouse lists, for each enabled ShipBob connection, the orders
// it was sent more than the late-after days ago (an admin's setting,
// 3 days until changed) that have not shipped. It pulls no snapshot: the
// orders and shipments flows' syncs say what was sent and what came back,
// so the comparison is one statement per warehouse. An order that ships is
// no longer found, so the next comparison resolves its discrepancy.
func (s *Service) compareWarehouse(ctx context.Context, run store.ReconRun) store.RunOutcome {
	conns, err := s.st.ListConnections(ctx)
	if err != nil {
		return failed(err, "the connections could not be read")
	}
	set, err := s.st.WarehouseSettings(ctx)
	if err != nil {
		return failed(err, "the warehouse settings could not be read")
	}
	late := time.Duration(set.LateAfterDays) * 24 * time.Hour
	now := time.Now()
	var res store.CompareResult
	var fails []pairFailure
	var closePairs []int64
	n := 0
	for _, c := range conns {
		if !c.Enabled || c.Kind != vocab.KindShipBob {
			continue
		}
		n++
		r, err := s.st.CompareWarehouse(ctx, run.ID, c.ID, c.Name, late, now)
		if err != nil {
			fails = append(fails, pairFailure{c.ID, fmt.Errorf("the orders sent to %s could not be checked: %w", c.Name, err)})
			continue
		}
		res.Compared += r.Compared
		res.Differing += r.Differing
		res.Opened += r.Opened
		closePairs = append(closePairs, c.ID)
	}
	if n == 0 {
		return store.RunOutcome{Status: store.RunSucceeded, Message: "No warehouse (ShipBob) is connected and enabled, so there were no orders to check."}
	}
	out := outcome(res, fails, closePairs, n)
	if out.Status == store.RunSucceeded {
		orders := "orders"
		if res.Compared == 1 {
			orders = "order"
		}
		out.Message = fmt.Sprintf("%d %s sent more than %d days ago checked, %d not shipped.", res.Compared, orders, set.LateAfterDays, res.Differing)
	}
	return out
}
