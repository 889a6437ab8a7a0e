package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// Two proposed changes move two variants onto the same Odoo product. The
// one approved second is refused by the check — with words about what
// conflicts now and the way out, and a changeset.blocked audit row — not by
// the unique index after the fact, and nothing of it is applied.
func TestSecondRemapToTheSameProductIsRefusedByTheCheck(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t, set("variant", e.odoo.ID, "RED", "o-red", "RED"), set("variant", e.odoo.ID, "BLUE", "o-blue", "BLUE"))

	first := e.propose(t, set("variant", e.odoo.ID, "RED", "o-new", ""))
	second := e.propose(t, set("variant", e.odoo.ID, "BLUE", "o-new", ""))
	issues, err := e.st.ChangeSetIssues(ctx, second.ID, 0)
	require.NoError(t, err)
	require.Len(t, issues, 1)
	require.Equal(t, store.IssuePending, issues[0].Kind)
	require.Contains(t, issues[0].Resolution, fmt.Sprintf("Decide proposed change #%d first", first.ID))

	_, err = e.st.ApproveChangeSet(ctx, e.admin1, first.ID, "")
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, e.admin2, second.ID, "")
	require.ErrorAs(t, err, new(store.ConflictsError), "refused by the check, not by the unique index: %v", err)
	require.NotErrorIs(t, err, store.ErrConflict)

	issues, err = e.st.ChangeSetIssues(ctx, second.ID, 0)
	require.NoError(t, err)
	require.Len(t, issues, 1, "the pending conflict with the approved change is gone; what conflicts now is said")
	require.Equal(t, store.IssueClaimed, issues[0].Kind)
	require.Equal(t, fmt.Sprintf("The Odoo id o-new is already mapped to RED (by proposed change #%d, approved since), so it cannot also be mapped to BLUE.", first.ID),
		issues[0].Message)
	require.Equal(t, "If it belongs to BLUE, re-check this proposed change so this row moves it from RED; otherwise remove this row.", issues[0].Resolution)
	require.NotContains(t, issues[0].Message+issues[0].Resolution, "change set")

	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "change_set"})
	require.NoError(t, err)
	require.Equal(t, "changeset.blocked", entries[0].Action)
	require.Equal(t, fmt.Sprint(second.ID), entries[0].ObjectID)
	require.Equal(t, fmt.Sprintf("Could not approve proposed change #%d: 1 conflict", second.ID), entries[0].Summary)

	cur, err := e.st.ChangeSetByID(ctx, second.ID)
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetPending, cur.Status, "it waits for its proposer, with its conflict stored")
	got, _, err := e.st.ResolveRefs(ctx, e.odoo.ID, e.odoo.ID, "variant", []string{"o-new", "o-blue"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"o-new": "o-new", "o-blue": "o-blue"}, got, "BLUE keeps o-blue; nothing of the refused change was applied")
	var blue string
	require.NoError(t, e.st.DB.GetContext(ctx, &blue, `SELECT e.key FROM mapping_refs r JOIN mapping_entities e ON e.id = r.entity_id
WHERE r.external_id = 'o-new' AND r.valid_to IS NULL`))
	require.Equal(t, "RED", blue)
}

// The same race, approved at once by two admins (as on two replicas):
// exactly one wins, and the other is refused by the check every time.
func TestConcurrentRemapsToTheSameProduct(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	for round := range 5 {
		a, b := fmt.Sprintf("A%d", round), fmt.Sprintf("B%d", round)
		target := fmt.Sprintf("o-shared-%d", round)
		e.apply(t, set("variant", e.odoo.ID, a, "o-"+a, ""), set("variant", e.odoo.ID, b, "o-"+b, ""))
		ids := make([]int64, 2)
		for i, key := range []string{a, b} {
			cs, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{set("variant", e.odoo.ID, key, target, "")}})
			require.NoError(t, err)
			// Submitted together: neither saw the other pending.
			_, err = e.st.DB.ExecContext(ctx, `UPDATE change_sets SET status = 'pending', submitted_at = now() WHERE id = $1`, cs.ID)
			require.NoError(t, err)
			ids[i] = cs.ID
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, who := range []store.Actor{e.admin1, e.admin2} {
			wg.Go(func() { _, errs[i] = e.st.ApproveChangeSet(context.Background(), who, ids[i], "") })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.As(err, new(store.ConflictsError)):
			default:
				t.Fatalf("round %d: refused by something else than the check: %v", round, err)
			}
		}
		require.Equal(t, 1, won, "round %d", round)
	}
}
