package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// A seed is the system's, whole or not at all, and never moves a mapping
// someone made.
func TestSeedMappingsIsTheSystemsAllOrNothing(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	seed := store.Actor{Label: "Demo workspace"}
	items := []store.ItemInput{set("variant", e.shop.ID, "SKU-1", "gid://v/1", "SKU-1"), set("variant", e.odoo.ID, "SKU-1", "11", "SKU-1")}

	_, err := e.st.SeedMappings(ctx, e.admin1, store.NewChangeSet{Items: items})
	require.Error(t, err, "a person proposes a change set; only the system seeds")

	cs, err := e.st.SeedMappings(ctx, seed, store.NewChangeSet{Title: "seed", Items: items})
	require.NoError(t, err)
	require.Equal(t, store.SourceSeed, cs.Source)
	require.Equal(t, store.ChangeSetApproved, cs.Status)
	require.Nil(t, cs.ProposedBy)
	require.Nil(t, cs.DecidedBy)
	got, _, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "variant", []string{"gid://v/1"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"gid://v/1": "11"}, got)

	_, err = e.st.SeedMappings(ctx, seed, store.NewChangeSet{Items: items})
	require.ErrorIs(t, err, store.ErrNothingToChange, "seeding again adds nothing and leaves no empty version")

	// A seed that would move an existing mapping is refused whole: the new
	// row with it is not applied either.
	_, err = e.st.SeedMappings(ctx, seed, store.NewChangeSet{Items: []store.ItemInput{
		set("variant", e.shop.ID, "SKU-2", "gid://v/2", "SKU-2"), set("variant", e.odoo.ID, "SKU-2", "11", "SKU-2")}})
	require.ErrorIs(t, err, store.ErrSeedConflicts)
	got, missing, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "variant", []string{"gid://v/1", "gid://v/2"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"gid://v/1": "11"}, got)
	require.Equal(t, []string{"gid://v/2"}, missing)
	v, err := e.st.CurrentVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), v, "one version: the refused seeds left none")
}
