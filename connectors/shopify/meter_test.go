package shopify

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
)

// A cost meter adds up what the sandbox reports in extensions.cost: the
// points spent, the lowest the bucket went, its size from maximumAvailable.
// A meter sees only the answers while it runs.
func TestCostMeterAddsUpReportedCosts(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Seed: 200})
	vs := b.shop.Variants()
	ids := make([]string, 0, 50)
	for _, v := range vs[:50] {
		ids = append(ids, v.GID())
	}

	before := c.MeterCost()
	_, err := c.InventoryItemIDs(t.Context(), ids[:10])
	require.NoError(t, err)
	first := before.Stop()
	require.EqualValues(t, 1, first.Answers)

	m := c.MeterCost()
	for range 3 {
		items, err := c.InventoryItemIDs(t.Context(), ids)
		require.NoError(t, err)
		require.Len(t, items, 50)
	}
	u := m.Stop()
	require.EqualValues(t, 3, u.Answers, "one answer per query, none from before the meter")
	require.Zero(t, u.Throttled)
	require.Equal(t, 2000.0, u.Maximum, "the bucket size is the standard plan's, as reported")
	require.Positive(t, u.Spent)
	require.LessOrEqual(t, u.Spent, u.Requested, "Shopify never takes more than it asked")
	require.Less(t, u.Lowest, u.Maximum, "the bucket went down")
	require.GreaterOrEqual(t, u.Lowest, u.Maximum-u.Spent-first.Spent, "it cannot go lower than what was taken from it")

	_, err = c.InventoryItemIDs(t.Context(), ids[:1])
	require.NoError(t, err)
	require.Equal(t, u, m.Stop(), "a stopped meter counts nothing more")
}
