package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// Unmapped records page in the order of their numbers, not of their text:
// …/2 before …/10 before …/100 (text order puts …/10 and …/100 before …/2),
// across pages too.
func TestUnmappedSortsNumbersAsNumbers(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	const gid = "gid://shopify/ProductVariant/"
	var recs []store.ExternalRecord
	for _, n := range []string{"100", "2", "10", "1", "11", "101", "9"} {
		recs = append(recs, store.ExternalRecord{ExternalID: gid + n, SKU: "NUM-" + n})
	}
	_, err := e.st.UpsertExternalRecords(ctx, e.shop.ID, "variant", recs)
	require.NoError(t, err)

	var got []string
	after := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "the keyset moves on")
		rows, more, err := e.st.ListUnmapped(ctx, store.UnmappedFilter{From: e.shop.ID, To: e.odoo.ID, EntityType: "variant", AfterID: after, Limit: 3})
		require.NoError(t, err)
		for _, r := range rows {
			got = append(got, r.Record.ExternalID[len(gid):])
		}
		if !more {
			break
		}
		after = rows[len(rows)-1].Record.ExternalID
	}
	require.Equal(t, []string{"1", "2", "9", "10", "11", "100", "101"}, got)
}
