package shopify

import "math"

// CostUse is what a client spent from the shop's cost bucket while a
// CostMeter ran, as Shopify reported it in extensions.cost.
type CostUse struct {
	// Spent is the sum of actualQueryCost: the points Shopify took.
	Spent float64 `json:"spent"`
	// Requested is the sum of requestedQueryCost, throttled answers included.
	Requested float64 `json:"requested"`
	// Lowest is the lowest currentlyAvailable reported, of Maximum
	// (maximumAvailable). Both are 0 when no answer carried a cost.
	Lowest  float64 `json:"lowest"`
	Maximum float64 `json:"maximum"`
	// Answers counts the answers that carried a cost; Throttled those of
	// them that were THROTTLED (no actualQueryCost).
	Answers   int64 `json:"answers"`
	Throttled int64 `json:"throttled"`
}

// CostMeter adds up the costs Shopify reports to one client from the moment
// it is started until it is stopped. Several meters may run at once.
type CostMeter struct {
	c   *Client
	use CostUse // guarded by c.budgetMu
}

// MeterCost starts a CostMeter on the client.
func (c *Client) MeterCost() *CostMeter {
	m := &CostMeter{c: c, use: CostUse{Lowest: math.Inf(1)}}
	c.budgetMu.Lock()
	if c.meters == nil {
		c.meters = map[*CostMeter]struct{}{}
	}
	c.meters[m] = struct{}{}
	c.budgetMu.Unlock()
	return m
}

// Stop ends the meter and returns what it counted.
func (m *CostMeter) Stop() CostUse {
	m.c.budgetMu.Lock()
	defer m.c.budgetMu.Unlock()
	delete(m.c.meters, m)
	u := m.use
	if math.IsInf(u.Lowest, 1) {
		u.Lowest = 0
	}
	return u
}

// add records one answer's cost; the client holds budgetMu.
func (m *CostMeter) add(cost *Cost) {
	u := &m.use
	u.Answers++
	u.Requested += cost.RequestedQueryCost
	if cost.ActualQueryCost != nil {
		u.Spent += *cost.ActualQueryCost
	} else {
		u.Throttled++
	}
	if ts := cost.ThrottleStatus; ts.MaximumAvailable > 0 {
		u.Lowest = math.Min(u.Lowest, ts.CurrentlyAvailable)
		u.Maximum = math.Max(u.Maximum, ts.MaximumAvailable)
	}
}
