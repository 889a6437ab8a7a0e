package recon

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// A comparison answers "do the systems agree with the source?": without a
// source there is nothing to agree with. So a comparison, and the alerts
// about it or about its data family, run only for families that have a
// source; naming one later queues its comparison at once.

// reconFamilies are the data families each comparison covers (prices
// compares costs too).
var reconFamilies = map[string][]vocab.Family{
	store.ReconInventory: {vocab.Inventory},
	store.ReconPrices:    {vocab.Prices, vocab.Costs},
	store.ReconOrders:    {vocab.Orders},
	store.ReconRefunds:   {vocab.Refunds},
	store.ReconPayouts:   {vocab.Payouts},
}

// hasSource reports whether a system decides the family.
func hasSource(rs rules.Rules, f vocab.Family) bool {
	r := rs.Rule(f)
	return r.Set && r.Master != 0
}

// reconHasSource reports whether a comparison has a source to compare with.
// The mapping check compares each system with the mappings, not with a
// source, and always has one.
func reconHasSource(rs rules.Rules, recon string) bool {
	if recon == store.ReconWarehouse {
		return warehouseReceivesOrders(rs)
	}
	if recon == store.ReconWarehouseStock {
		return len(warehouseShops(rs)) > 0
	}
	fams, ok := reconFamilies[recon]
	if !ok {
		return true
	}
	// Prices are compared against the source of prices; costs ride along.
	return hasSource(rs, fams[0])
}

// FamilyHasSource is hasSource for an alert's key: a data family, or a
// comparison's name; any other key (a connection, "all") is not a family.
func FamilyHasSource(rs rules.Rules, key string) bool {
	if _, ok := reconFamilies[key]; ok {
		return reconHasSource(rs, key)
	}
	if f := vocab.Family(key); f.Valid() {
		return hasSource(rs, f)
	}
	return true
}

// eligibleRecon lists the comparisons that have a source now.
func eligibleRecon(rs rules.Rules) []string {
	var out []string
	for _, f := range store.ReconFamilies {
		if reconHasSource(rs, f) {
			out = append(out, f)
		}
	}
	return out
}

// SourceSaved queues the comparison that covers family f, when f now has a
// source: setting a source runs its comparison then, not at the next
// scheduled check. It returns the run (a live one if one was waiting), and
// false when there is nothing to compare (no source, or no comparison of f).
func (s *Service) SourceSaved(ctx context.Context, f vocab.Family, by string) (store.ReconRun, bool, error) {
	recon := ""
	for r, fams := range reconFamilies {
		if slices.Contains(fams, f) {
			recon = r
		}
	}
	if recon == "" {
		return store.ReconRun{}, false, nil
	}
	rs, err := s.st.SourceRules(ctx)
	if err != nil {
		return store.ReconRun{}, false, err
	}
	if !reconHasSource(rs, recon) {
		return store.ReconRun{}, false, nil
	}
	run, err := s.RequestReconciliation(ctx, recon, "schedule", "Crossdock, when "+cmp.Or(by, "someone")+" set the source of "+f.Noun())
	if errors.Is(err, store.ErrRunLive) {
		return run, true, nil
	}
	if err != nil {
		return run, false, err
	}
	return run, true, s.st.MarkReconQueued(ctx, recon)
}

// warehouseReceivesOrders reports whether a warehouse (ShipBob) receives
// orders: only then can an order wait there unshipped.
func warehouseReceivesOrders(rs rules.Rules) bool {
	for _, rc := range rs.Rule(vocab.Orders).Receivers {
		if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == vocab.KindShipBob {
			return true
		}
	}
	return false
}
