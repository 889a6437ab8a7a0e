package store_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
)

// onlyInOne is a price failure of an Odoo product that has no counterpart in
// the shop, as the engine records it.
func (e syncEnv) onlyInOne(family vocab.Family, pid int, sku string) store.NewSync {
	ref := fmt.Sprintf("product:%d", pid)
	return store.NewSync{Family: family, Direction: "odoo_to_shopify", Flow: "prices.odoo_shopify",
		SourceConnectionID: e.odoo.ID, TargetConnectionID: e.shop.ID, Trigger: store.TriggerSweep, EntityType: "price",
		EntityRef: ref, EntityKey: sku, SearchKeys: []string{sku}, Payload: map[string]any{"product": pid},
		IdempotencyKey: ref + string(family), MaxAttempts: 8, Status: vocab.SyncFailed, ErrorClass: vocab.ClassOnlyInOne,
		Message:  sku + " does not exist in Shop.",
		Response: store.OnlyInOneResponse(store.MissingRecord{ConnectionID: e.odoo.ID, EntityType: "variant", ExternalID: fmt.Sprint(pid), SKU: sku, Name: "Shirt " + sku})}
}

func TestOnlyInOneSystemIsACauseOfItsOwn(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	e.failures(t, e.onlyInOne("prices", 1, "SKU-1"), e.onlyInOne("prices", 2, "SKU-2"),
		e.failed("#1", vocab.ClassUnmapped, "SKU-9 is not mapped yet.", "sku-9"))
	groups, err := e.st.FailedGroups(ctx, store.FailedFilter{}, 10)
	require.NoError(t, err)
	require.Len(t, groups, 2)
	require.Equal(t, vocab.ClassOnlyInOne, groups[0].ErrorClass, "one cause for every record missing in the shop")
	require.Equal(t, 2, groups[0].Count)
	require.Equal(t, "", groups[0].Cause, "grouped by the systems, not by the record named in the message")

	// The shop's catalogue now has SKU-2 (created there): its failure can be
	// mapped now and leaves the cause.
	_, err = e.st.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{{ExternalID: "gid://v/2", SKU: "sku-2"}})
	require.NoError(t, err)
	n, err := e.st.RecheckOnlyInOne(ctx, e.shop.ID, []store.ExternalRecord{{ExternalID: "gid://v/2", SKU: "sku-2"}})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	only, _, err := e.st.ListFailed(ctx, store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne})
	require.NoError(t, err)
	require.Len(t, only, 1)
	require.Equal(t, "SKU-1", only[0].EntityKey)
	moved, _, err := e.st.ListFailed(ctx, store.FailedFilter{ErrorClass: vocab.ClassUnmapped, Search: "SKU-2"})
	require.NoError(t, err)
	require.Len(t, moved, 1)
	require.Contains(t, moved[0].Message, "SKU-2 now exists in Shop")

	cat, err := e.st.CatalogueOf(ctx, e.shop.ID, "variant", []string{"SKU-1", "Sku-2"})
	require.NoError(t, err)
	require.True(t, cat.Read)
	require.False(t, cat.Has("SKU-1"))
	require.True(t, cat.Has("SKU-2"))
	empty, err := e.st.CatalogueOf(ctx, e.odoo.ID, "variant", []string{"SKU-1"})
	require.NoError(t, err)
	require.False(t, empty.Read, "a catalogue never read says nothing about what is missing")
}

func TestExcludeIncludeAgain(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	a := store.SystemActor("Olga Operator")
	ids := e.failures(t, e.onlyInOne("prices", 1, "SKU-1"), e.onlyInOne("inventory", 1, "SKU-1"),
		e.onlyInOne("prices", 2, "SKU-2"), e.failed("#1", vocab.ClassValidation, "Odoo refused the change.", "x"))

	_, err := e.st.ExcludeFailures(ctx, a, store.FailedFilter{}, []int64{ids[0]}, 0, "  ")
	require.Error(t, err, "a reason is asked for")
	_, err = e.st.ExcludeFailures(ctx, a, store.FailedFilter{}, []int64{ids[3]}, 0, "not ours")
	require.ErrorIs(t, err, store.ErrNothingToExclude, "a failure of another kind has no record to exclude")
	_, err = e.st.ExcludeFailures(ctx, a, store.FailedFilter{}, []int64{}, 0, "not ours")
	require.Error(t, err, "an empty selection")

	// Ticked: SKU-1's price failure excludes SKU-1 from prices only.
	res, err := e.st.ExcludeFailures(ctx, a, store.FailedFilter{}, []int64{ids[0], ids[3]}, 0, "Sold in the shop only")
	require.NoError(t, err)
	require.Equal(t, store.ExcludeResult{Records: 1, New: 1, Failures: 1}, res)
	ex, err := e.st.ExcludedAmong(ctx, e.odoo.ID, "variant", "prices", []string{"1", "2"})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"1": true}, ex)
	ex, err = e.st.ExcludedAmong(ctx, e.odoo.ID, "variant", "inventory", []string{"1"})
	require.NoError(t, err)
	require.Empty(t, ex, "excluded for prices, not for stock")
	s, err := e.st.FailedSyncByID(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, store.ResolutionExcluded, s.HowResolved())
	s, err = e.st.FailedSyncByID(ctx, ids[3])
	require.NoError(t, err)
	require.Empty(t, s.HowResolved(), "the other failure is left as it is")

	// Everything matching the cause, up to what was counted.
	m, err := e.st.CountMatching(ctx, store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne}, 0)
	require.NoError(t, err)
	require.Equal(t, 2, m.Count)
	late := e.failures(t, e.onlyInOne("prices", 3, "SKU-3"))
	res, err = e.st.ExcludeFailures(ctx, a, store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne}, nil, m.Newest, "Sold in Odoo only")
	require.NoError(t, err)
	require.Equal(t, store.ExcludeResult{Records: 2, New: 2, Failures: 2}, res)
	open, _, err := e.st.ListFailed(ctx, store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne})
	require.NoError(t, err)
	require.Len(t, open, 1, "the failure that came after the count is left for the person to see")
	require.Equal(t, late[0], open[0].ID)

	list, _, err := e.st.ListExclusions(ctx, store.ExclusionFilter{})
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Equal(t, "Olga Operator", list[0].By())
	require.Equal(t, "Odoo", list[0].ConnectionName)
	require.NotEmpty(t, list[0].Name)

	// Include again: the engine syncs it again; the list and the audit log say so.
	back, err := e.st.IncludeAgain(ctx, a, list[0].ID)
	require.NoError(t, err)
	require.NotNil(t, back.IncludedAt)
	_, err = e.st.IncludeAgain(ctx, a, list[0].ID)
	require.ErrorIs(t, err, store.ErrNotFound, "twice: nothing to include")
	_, err = e.st.IncludeAgain(ctx, a, 999999)
	require.ErrorIs(t, err, store.ErrNotFound)
	ex, err = e.st.ExcludedAmong(ctx, e.odoo.ID, "variant", list[0].Family, []string{list[0].ExternalID})
	require.NoError(t, err)
	require.Empty(t, ex)
	n, err := e.st.CountExclusions(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "exclusion"})
	require.NoError(t, err)
	require.Len(t, entries, 3, "two exclusions and one inclusion, audited")

	// Excluding the same record again after including it works (a new row).
	_, err = e.st.ExcludeFailures(ctx, a, store.FailedFilter{}, []int64{late[0]}, 0, "again")
	require.NoError(t, err)
}

func TestResolveMatchingUpToTheCount(t *testing.T) {
	t.Parallel()
	e := syncSetup(t)
	ctx := t.Context()
	a := store.SystemActor("Olga Operator")
	var rows []store.NewSync
	for i := range 30 {
		rows = append(rows, e.onlyInOne("prices", i+1, fmt.Sprintf("SKU-%d", i+1)))
	}
	e.failures(t, rows...)
	f := store.FailedFilter{ErrorClass: vocab.ClassOnlyInOne}
	m, err := e.st.CountMatching(ctx, f, 0)
	require.NoError(t, err)
	require.Equal(t, 30, m.Count)
	_, err = e.st.ResolveMatching(ctx, a, f, m.Newest, store.ResolutionIgnored, "")
	require.Error(t, err, "a reason is asked for")
	_, err = e.st.ResolveMatching(ctx, a, f, 0, store.ResolutionIgnored, "why")
	require.Error(t, err, "no count, no action")
	e.failures(t, e.onlyInOne("prices", 99, "SKU-99"))
	n, err := e.st.ResolveMatching(ctx, a, f, m.Newest, store.ResolutionIgnored, "Not sold in the shop")
	require.NoError(t, err)
	require.Equal(t, 30, n)
	left, err := e.st.CountMatching(ctx, f, 0)
	require.NoError(t, err)
	require.Equal(t, 1, left.Count, "the failure that arrived after the count stays open")
	_, err = e.st.ResolveMatching(ctx, a, f, m.Newest, store.ResolutionIgnored, "again")
	require.ErrorIs(t, err, store.ErrNothingToResolve)
}
