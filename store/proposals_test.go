package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

func TestEngineProposesAMappingAnAdminApproves(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	in := store.NewChangeSet{Title: "Map SHELF-S", Reason: "created by the engine", Items: []store.ItemInput{
		set("variant", e.odoo.ID, "SHELF-S", "41", "SHELF-S"),
		set("variant", e.shop.ID, "SHELF-S", "gid://shopify/ProductVariant/9", "SHELF-S"),
	}}
	// Whatever actor the engine passes, the system proposes.
	cs, existing, err := e.st.ProposeMapping(ctx, store.Actor{UserID: e.adminUser1.ID, Label: "Sync engine"}, in)
	require.NoError(t, err)
	require.False(t, existing)
	require.Equal(t, store.ChangeSetPending, cs.Status)
	require.Equal(t, store.SourceEngine, cs.Source)
	require.Nil(t, cs.ProposedBy)
	require.Equal(t, 2, cs.NAdd)

	// A retry proposes nothing new, and the proposal is findable.
	again, existing, err := e.st.ProposeMapping(ctx, store.SystemActor("Sync engine"), in)
	require.NoError(t, err)
	require.True(t, existing)
	require.Equal(t, cs.ID, again.ID)
	ref, csID, found, err := e.st.ProposedRef(ctx, e.odoo.ID, "variant", "41", e.shop.ID)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "gid://shopify/ProductVariant/9", ref)
	require.Equal(t, cs.ID, csID)

	// Not mapped until an admin approves; any admin may (nobody proposed it).
	_, missing, err := e.st.ResolveRefs(ctx, e.odoo.ID, e.shop.ID, "variant", []string{"41"})
	require.NoError(t, err)
	require.Equal(t, []string{"41"}, missing)
	n, err := e.st.CountPendingApprovals(ctx, e.adminUser1.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = e.st.ApproveChangeSet(ctx, e.oper, cs.ID, "")
	require.ErrorIs(t, err, store.ErrNotApprover)
	_, err = e.st.ApproveChangeSet(ctx, e.admin1, cs.ID, "")
	require.NoError(t, err)
	got, _, err := e.st.ResolveRefs(ctx, e.odoo.ID, e.shop.ID, "variant", []string{"41"})
	require.NoError(t, err)
	require.Equal(t, "gid://shopify/ProductVariant/9", got["41"])
	_, _, found, err = e.st.ProposedRef(ctx, e.odoo.ID, "variant", "41", e.shop.ID)
	require.NoError(t, err)
	require.False(t, found, "an approved change set is no longer a proposal")

	// A person's draft is still theirs alone to submit.
	draft, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Reason: "x", Items: []store.ItemInput{set("variant", e.odoo.ID, "X", "42", "X")}})
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, store.SystemActor("Sync engine"), draft.ID)
	require.ErrorIs(t, err, store.ErrNotProposer)
}
