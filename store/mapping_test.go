package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// mapEnv is a database with two systems and the people of a maker-checker flow.
type mapEnv struct {
	st                     *store.Store
	shop, odoo             store.Connection
	admin1, admin2, oper   store.Actor
	adminUser1, adminUser2 store.User
}

func setupMappings(t *testing.T) *mapEnv {
	t.Helper()
	st := storetest.New(t)
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	sys := store.SystemActor("test")
	shop, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify, Environment: vocab.EnvTest})
	require.NoError(t, err)
	odoo, err := st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Odoo", Kind: vocab.KindOdoo, Environment: vocab.EnvTest})
	require.NoError(t, err)
	a1, err := st.CreateFirstAdmin(ctx, store.NewUser{Email: "ada@shop.test", Name: "Ada", Password: "correct horse battery"})
	require.NoError(t, err)
	a2, err := st.CreateUser(ctx, sys, store.NewUser{Email: "bob@shop.test", Name: "Bob", Role: vocab.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	op, err := st.CreateUser(ctx, sys, store.NewUser{Email: "olga@shop.test", Name: "Olga", Role: vocab.RoleOperator, Password: "correct horse battery"})
	require.NoError(t, err)
	actor := func(u store.User) store.Actor { return store.Actor{UserID: u.ID, Label: u.Email} }
	return &mapEnv{st: st, shop: shop, odoo: odoo, admin1: actor(a1), admin2: actor(a2), oper: actor(op), adminUser1: a1, adminUser2: a2}
}

func set(typ string, conn int64, key, ext, sku string) store.ItemInput {
	return store.ItemInput{Op: store.OpSet, EntityType: typ, ConnectionID: conn, EntityKey: key, ExternalID: ext, SKU: store.Str(sku)}
}

func remove(typ string, conn int64, ext string) store.ItemInput {
	return store.ItemInput{Op: store.OpRemove, EntityType: typ, ConnectionID: conn, ExternalID: ext}
}

// propose creates and submits a change set as the operator.
func (e *mapEnv) propose(t *testing.T, items ...store.ItemInput) store.ChangeSet {
	t.Helper()
	cs, err := e.st.CreateChangeSet(t.Context(), e.oper, store.NewChangeSet{Reason: "test", Items: items})
	require.NoError(t, err)
	cs, err = e.st.SubmitChangeSet(t.Context(), e.oper, cs.ID)
	require.NoError(t, err)
	return cs
}

// apply proposes a change set and has an admin approve it.
func (e *mapEnv) apply(t *testing.T, items ...store.ItemInput) store.ChangeSet {
	t.Helper()
	cs := e.propose(t, items...)
	cs, err := e.st.ApproveChangeSet(t.Context(), e.admin1, cs.ID, "")
	require.NoError(t, err)
	return cs
}

func TestChangeSetLifecycleAndResolve(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()

	cs, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Reason: "first catalogue", Items: []store.ItemInput{
		set("variant", e.shop.ID, "FURN-0042", "gid://shopify/ProductVariant/4401", "FURN-0042"),
		set("variant", e.odoo.ID, "FURN-0042", "17", "FURN-0042"),
		set("variant", e.shop.ID, "FURN-0043", "gid://shopify/ProductVariant/4402", "FURN-0043"),
	}})
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetDraft, cs.Status)
	require.Equal(t, 3, cs.NAdd)
	require.Zero(t, cs.NConflicts)

	_, err = e.st.ApproveChangeSet(ctx, e.admin1, cs.ID, "")
	require.Equal(t, store.StateError{Status: store.ChangeSetDraft}, err, "a draft cannot be approved")
	_, err = e.st.SubmitChangeSet(ctx, e.admin1, cs.ID)
	require.ErrorIs(t, err, store.ErrNotProposer)
	cs, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetPending, cs.Status)

	n, err := e.st.CountPendingApprovals(ctx, e.admin1.UserID)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Maker-checker in the store: operators and the proposer cannot approve.
	_, err = e.st.ApproveChangeSet(ctx, e.oper, cs.ID, "")
	require.ErrorIs(t, err, store.ErrNotApprover)
	_, err = e.st.ApproveChangeSet(ctx, store.SystemActor("cli"), cs.ID, "")
	require.ErrorIs(t, err, store.ErrNotApprover)

	cs, err = e.st.ApproveChangeSet(ctx, e.admin1, cs.ID, "looks right")
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetApproved, cs.Status)
	require.Equal(t, int64(1), *cs.Version)
	_, err = e.st.ApproveChangeSet(ctx, e.admin2, cs.ID, "")
	require.Equal(t, store.StateError{Status: store.ChangeSetApproved}, err, "approving twice is refused")

	got, unmapped, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "variant",
		[]string{"gid://shopify/ProductVariant/4401", "gid://shopify/ProductVariant/4402", "gid://shopify/ProductVariant/9999"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"gid://shopify/ProductVariant/4401": "17"}, got)
	require.Equal(t, []string{"gid://shopify/ProductVariant/4402", "gid://shopify/ProductVariant/9999"}, unmapped,
		"4402 has no Odoo counterpart, 9999 is not mapped at all")

	entries, _, err := e.st.ListAudit(ctx, store.AuditFilter{ObjectType: "change_set"})
	require.NoError(t, err)
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	require.Equal(t, []string{"changeset.approved", "changeset.submitted", "changeset.created"}, actions)
	require.Contains(t, entries[0].Summary, "mapping version 1")
}

func TestOwnChangeSetCannotBeApprovedOrRejected(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	cs, err := e.st.CreateChangeSet(ctx, e.admin1, store.NewChangeSet{Items: []store.ItemInput{set("product", e.shop.ID, "P1", "1", "")}})
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, e.admin1, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, e.admin1, cs.ID, "")
	require.ErrorIs(t, err, store.ErrOwnChangeSet)
	_, err = e.st.RejectChangeSet(ctx, e.admin1, cs.ID, "no")
	require.ErrorIs(t, err, store.ErrOwnChangeSet)
	n, err := e.st.CountPendingApprovals(ctx, e.admin1.UserID)
	require.NoError(t, err)
	require.Zero(t, n, "your own change set is not in your inbox")
	n, err = e.st.CountPendingApprovals(ctx, e.admin2.UserID)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	_, err = e.st.RejectChangeSet(ctx, e.admin2, cs.ID, "  ")
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe["comment"], "Say why")
	cs, err = e.st.RejectChangeSet(ctx, e.admin2, cs.ID, "Wrong shop")
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetRejected, cs.Status)
	require.Equal(t, "Wrong shop", cs.DecisionComment)
	v, err := e.st.CurrentVersion(ctx)
	require.NoError(t, err)
	require.Zero(t, v, "a rejection applies nothing")
}

func TestChangesHistoryAndTimeTravel(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t, set("variant", e.shop.ID, "FURN-0042", "4401", "FURN-0042"), set("variant", e.odoo.ID, "FURN-0042", "17", "FURN-0042"))
	time.Sleep(10 * time.Millisecond)
	between := time.Now()
	time.Sleep(10 * time.Millisecond)

	// A new Odoo id for the same variant replaces its only Odoo reference;
	// the Shopify reference gets a new SKU; nothing else changes.
	cs, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{
		set("variant", e.odoo.ID, "FURN-0042", "18", "FURN-0042"),
		set("variant", e.shop.ID, "FURN-0042", "4401", "FURN-0042-BLK"),
	}})
	require.NoError(t, err)
	require.Equal(t, 2, cs.NChange)
	items, _, err := e.st.ChangeSetItems(ctx, cs.ID, store.ItemFilter{})
	require.NoError(t, err)
	require.Equal(t, "17", items[0].BeforeExternalID)
	require.Equal(t, "FURN-0042", items[1].BeforeSKU)
	require.Equal(t, "FURN-0042-BLK", items[1].AfterSKU())
	_, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, e.admin2, cs.ID, "")
	require.NoError(t, err)

	got, _, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "variant", []string{"4401"})
	require.NoError(t, err)
	require.Equal(t, "18", got["4401"])

	tests := []struct {
		name    string
		term    string
		version int64
		odoo    string
	}{
		{"by SKU in version 1", "furn-0042", 1, "17"},
		{"by SKU in version 2", "FURN-0042-BLK", 2, "18"},
		{"the new SKU did not exist in version 1", "FURN-0042-BLK", 1, ""},
		{"by Odoo id in version 1", "17", 1, "17"},
		{"the old Odoo id is gone in version 2", "17", 2, ""},
		{"nothing before the first version", "4401", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := e.st.LookupAt(ctx, tc.term, tc.version)
			require.NoError(t, err)
			if tc.odoo == "" && !strings.EqualFold(tc.term, "furn-0042") {
				for _, m := range ms {
					for _, r := range m.Refs {
						require.NotEqual(t, tc.term, r.ExternalID)
						require.NotEqual(t, tc.term, r.SKU)
					}
				}
				return
			}
			require.Len(t, ms, 1)
			var odoo string
			for _, r := range ms[0].Refs {
				if r.ConnectionID == e.odoo.ID {
					odoo = r.ExternalID
				}
			}
			require.Equal(t, tc.odoo, odoo)
		})
	}
	v, err := e.st.VersionAt(ctx, between)
	require.NoError(t, err)
	require.Equal(t, int64(1), v, "at a time between the approvals, version 1 was in force")

	ent, err := e.st.EntityByKey(ctx, "variant", "furn-0042")
	require.NoError(t, err)
	tl, err := e.st.EntityTimeline(ctx, ent.ID)
	require.NoError(t, err)
	require.Len(t, tl, 6, "version 2 ended two references and added two; version 1 added two")
	require.Equal(t, int64(2), tl[0].Version)
	require.False(t, tl[0].Added)
}

func TestRevertUndoesAnApprovedChangeSet(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t, set("variant", e.shop.ID, "A", "s1", "A"), set("variant", e.odoo.ID, "A", "o1", "A"), set("variant", e.shop.ID, "B", "s2", "B"))
	// Move s2 from B to A's neighbour C, replace A's Odoo id, remove nothing else.
	second := e.apply(t, set("variant", e.shop.ID, "C", "s2", "B"), set("variant", e.odoo.ID, "A", "o2", "A"), remove("variant", e.shop.ID, "s1"))

	rev, err := e.st.RevertChangeSet(ctx, e.oper, second.ID, "")
	require.NoError(t, err)
	require.Equal(t, store.SourceRevert, rev.Source)
	require.Equal(t, second.ID, *rev.RevertsID)
	require.Zero(t, rev.NConflicts)
	_, err = e.st.SubmitChangeSet(ctx, e.oper, rev.ID)
	require.NoError(t, err)
	rev, err = e.st.ApproveChangeSet(ctx, e.admin2, rev.ID, "")
	require.NoError(t, err, "the revert itself needs (and gets) approval")

	after, err := e.st.LookupAt(ctx, "A", *rev.Version)
	require.NoError(t, err)
	first, err := e.st.LookupAt(ctx, "A", 1)
	require.NoError(t, err)
	require.Equal(t, refsOf(first), refsOf(after), "entity A is back as in version 1")
	got, _, err := e.st.ResolveRefs(ctx, e.shop.ID, e.shop.ID, "variant", []string{"s2"})
	require.NoError(t, err)
	require.Equal(t, "s2", got["s2"])
	b, err := e.st.LookupAt(ctx, "s2", *rev.Version)
	require.NoError(t, err)
	require.Equal(t, "B", b[0].Entity.Key, "s2 is back on B")
}

func refsOf(ms []store.HistoricMatch) []string {
	var out []string
	for _, m := range ms {
		for _, r := range m.Refs {
			out = append(out, fmt.Sprintf("%s/%d/%s/%s", m.Entity.Key, r.ConnectionID, r.ExternalID, r.SKU))
		}
	}
	return out
}

func TestConflictsAreFoundAndBlock(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t, set("variant", e.shop.ID, "A", "s1", "A"), set("variant", e.odoo.ID, "A", "o1", "A"))
	_, err := e.st.UpsertExternalRecords(ctx, e.odoo.ID, "variant", []store.ExternalRecord{{ExternalID: "o1"}, {ExternalID: "o2"}, {ExternalID: "o3"}})
	require.NoError(t, err)
	_, err = e.st.DB.ExecContext(ctx, `UPDATE external_records SET seen_at = now() - interval '1 hour' WHERE external_id = 'o3'`)
	require.NoError(t, err)
	n, err := e.st.MarkMissingExternalRecords(ctx, e.odoo.ID, "variant", time.Now().Add(-time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)

	tests := []struct {
		name  string
		items []store.ItemInput
		kind  string
		text  string
	}{
		{"two references where one is allowed", []store.ItemInput{set("variant", e.odoo.ID, "B", "o2", ""), set("variant", e.odoo.ID, "B", "o9x", "")},
			store.IssueTwoRefs, "B would have 2 references in Odoo (o2, o9x)"},
		{"record deleted in the system", []store.ItemInput{set("variant", e.odoo.ID, "C", "o3", "")}, store.IssueMissing, "Odoo no longer has a variant with id o3"},
		{"record absent from the system's catalogue", []store.ItemInput{set("variant", e.odoo.ID, "C", "o404", "")}, store.IssueMissing, "no longer has a variant with id o404"},
		{"removing what is not mapped", []store.ItemInput{remove("variant", e.shop.ID, "nope")}, store.IssueNotMapped, "nothing to remove"},
		{"removing from the wrong entity", []store.ItemInput{{Op: store.OpRemove, EntityType: "variant", ConnectionID: e.shop.ID, EntityKey: "Z", ExternalID: "s1"}},
			store.IssueWrongEntity, "mapped to A, not to Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: tc.items})
			require.NoError(t, err)
			require.Positive(t, cs.NConflicts)
			issues, err := e.st.ChangeSetIssues(ctx, cs.ID, 0)
			require.NoError(t, err)
			require.Equal(t, tc.kind, issues[0].Kind)
			require.Contains(t, issues[0].Message, tc.text)
			require.NotEmpty(t, issues[0].Resolution, "every conflict says how to resolve it")
			if cs.Changes() > 0 {
				_, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
				require.NoError(t, err)
				_, err = e.st.ApproveChangeSet(ctx, e.admin1, cs.ID, "")
				require.ErrorAs(t, err, new(store.ConflictsError), "conflicts block approval")
			}
		})
	}
	v, err := e.st.CurrentVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), v, "nothing blocked was applied")

	_, err = e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{set("variant", e.odoo.ID, "B", "o2", ""), set("variant", e.odoo.ID, "C", "o2", "")}})
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe, "a change set says one thing per id")
	_, err = e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{{EntityType: "spaceship", ConnectionID: e.odoo.ID, ExternalID: "", EntityKey: "x"}}})
	require.ErrorAs(t, err, &fe)
	require.Contains(t, fe["type"], "Choose what kind")
	require.Contains(t, fe["external_id"], "Enter the id")
}

func TestStaleChangeSetIsBlockedUntilRechecked(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t, set("variant", e.shop.ID, "A", "s1", "A"))
	// Two drafts built on version 1 both change A's Shopify SKU.
	one, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{set("variant", e.shop.ID, "A", "s1", "A-1")}})
	require.NoError(t, err)
	two, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{set("variant", e.shop.ID, "A", "s1", "A-2")}})
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, e.oper, one.ID)
	require.NoError(t, err)
	two, err = e.st.SubmitChangeSet(ctx, e.oper, two.ID)
	require.NoError(t, err)
	require.Equal(t, 1, two.NConflicts, "the older pending change set is reported")
	_, err = e.st.ApproveChangeSet(ctx, e.admin1, two.ID, "")
	require.ErrorAs(t, err, new(store.ConflictsError))

	_, err = e.st.ApproveChangeSet(ctx, e.admin1, one.ID, "")
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, e.admin1, two.ID, "")
	require.ErrorAs(t, err, new(store.ConflictsError), "two was built on a reference that has changed since")
	issues, err := e.st.ChangeSetIssues(ctx, two.ID, 0)
	require.NoError(t, err)
	require.Equal(t, store.IssueStale, issues[0].Kind)
	require.Contains(t, issues[0].Message, fmt.Sprintf("changed by proposed change #%d", one.ID))

	two, err = e.st.RecheckChangeSet(ctx, e.oper, two.ID)
	require.NoError(t, err)
	require.Zero(t, two.NConflicts)
	items, _, err := e.st.ChangeSetItems(ctx, two.ID, store.ItemFilter{})
	require.NoError(t, err)
	require.Equal(t, "A-1", items[0].BeforeSKU, "the diff now starts from the current mapping")
	_, err = e.st.ApproveChangeSet(ctx, e.admin1, two.ID, "")
	require.NoError(t, err)
}

func TestConcurrentApprovalsOfConflictingChangeSets(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	for round := 0; round < 5; round++ {
		key := fmt.Sprintf("K%d", round)
		// Both give the same entity a different Odoo id: only one can win.
		a, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{set("variant", e.odoo.ID, key, key+"-a", "")}})
		require.NoError(t, err)
		b, err := e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{set("variant", e.odoo.ID, key, key+"-b", "")}})
		require.NoError(t, err)
		// Submitted in parallel too, so neither saw the other pending at submission.
		for _, id := range []int64{a.ID, b.ID} {
			_, err := e.st.DB.ExecContext(ctx, `UPDATE change_sets SET status = 'pending', submitted_at = now() WHERE id = $1`, id)
			require.NoError(t, err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pick := range []struct {
			id    int64
			actor store.Actor
		}{{a.ID, e.admin1}, {b.ID, e.admin2}} {
			wg.Go(func() { _, errs[i] = e.st.ApproveChangeSet(context.Background(), pick.actor, pick.id, "") })
		}
		wg.Wait()
		var won, lost int
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.As(err, new(store.ConflictsError)):
				lost++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		require.Equal(t, 1, won, "exactly one wins")
		require.Equal(t, 1, lost, "the other is told why")
		got, _, err := e.st.ResolveRefs(ctx, e.odoo.ID, e.odoo.ID, "variant", []string{key + "-a", key + "-b"})
		require.NoError(t, err)
		require.Len(t, got, 1, "only one of the two ids is mapped")
	}
}

func TestUnmappedRecordsAndSuggestions(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	e.apply(t, set("variant", e.odoo.ID, "MAPPED-ODOO", "o-mapped", "MAPPED-ODOO"), set("variant", e.shop.ID, "HALF", "s-half", "HALF"))
	_, err := e.st.UpsertExternalRecords(ctx, e.shop.ID, "variant", []store.ExternalRecord{
		{ExternalID: "s-sku", SKU: "sku-1"},
		{ExternalID: "s-barcode", Barcode: "400123"},
		{ExternalID: "s-name", Name: "Oak  Chair, Black!"},
		{ExternalID: "s-none", Name: "Unique thing"},
		{ExternalID: "s-to-mapped", SKU: "MAPPED-ODOO"},
		{ExternalID: "s-half", SKU: "HALF"},
	})
	require.NoError(t, err)
	_, err = e.st.UpsertExternalRecords(ctx, e.odoo.ID, "variant", []store.ExternalRecord{
		{ExternalID: "o-sku", SKU: "SKU-1"},
		{ExternalID: "o-barcode", Barcode: "400123"},
		{ExternalID: "o-name", Name: "oak chair black"},
		{ExternalID: "o-mapped", SKU: "MAPPED-ODOO"},
		{ExternalID: "o-half", SKU: "half"},
	})
	require.NoError(t, err)

	rows, more, err := e.st.ListUnmapped(ctx, store.UnmappedFilter{From: e.shop.ID, To: e.odoo.ID, EntityType: "variant"})
	require.NoError(t, err)
	require.False(t, more)
	got := map[string]string{}
	for _, r := range rows {
		if r.Suggestion != nil {
			got[r.Record.ExternalID] = r.Suggestion.Rule + ":" + r.Suggestion.Record.ExternalID
		} else {
			got[r.Record.ExternalID] = ""
		}
	}
	require.Equal(t, map[string]string{
		"s-sku": "sku:o-sku", "s-barcode": "barcode:o-barcode", "s-name": "name:o-name", "s-none": "",
		"s-to-mapped": "sku:o-mapped", "s-half": "sku:o-half",
	}, got)

	cs, err := e.st.ChangeSetFromSuggestions(ctx, e.oper, e.shop.ID, e.odoo.ID, "variant", []string{"s-sku", "s-to-mapped", "s-half", "s-none"}, "matched by SKU")
	require.NoError(t, err)
	require.Equal(t, store.SourceSuggestions, cs.Source)
	require.Zero(t, cs.NConflicts)
	require.Equal(t, 4, cs.NAdd, "s-sku and o-sku form a new entity; s-to-mapped joins MAPPED-ODOO; o-half joins HALF")
	_, err = e.st.SubmitChangeSet(ctx, e.oper, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, e.admin1, cs.ID, "")
	require.NoError(t, err)
	res, unmapped, err := e.st.ResolveRefs(ctx, e.shop.ID, e.odoo.ID, "variant", []string{"s-sku", "s-to-mapped", "s-half", "s-none"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"s-sku": "o-sku", "s-to-mapped": "o-mapped", "s-half": "o-half"}, res)
	require.Equal(t, []string{"s-none"}, unmapped)

	rows, _, err = e.st.ListUnmapped(ctx, store.UnmappedFilter{From: e.shop.ID, To: e.odoo.ID, EntityType: "variant"})
	require.NoError(t, err)
	require.Len(t, rows, 3, "s-barcode, s-name and s-none are left")
}

func TestListMappingsSearchFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := setupMappings(t)
	ctx := t.Context()
	var items []store.ItemInput
	for i := 0; i < 30; i++ {
		key := fmt.Sprintf("SKU-%03d", i)
		items = append(items, store.ItemInput{EntityType: "variant", ConnectionID: e.shop.ID, EntityKey: key, ExternalID: fmt.Sprintf("s%d", i),
			SKU: store.Str(key), Barcode: store.Str(fmt.Sprintf("40000%d", i)), Name: store.Str(fmt.Sprintf("Chair %d", i))})
		if i%2 == 0 {
			items = append(items, set("variant", e.odoo.ID, key, fmt.Sprintf("o%d", i), key))
		}
	}
	items = append(items, store.ItemInput{EntityType: "customer", ConnectionID: e.shop.ID, EntityKey: "ann@shop.test", ExternalID: "c1", Email: store.Str("Ann@Shop.test")})
	e.apply(t, items...)

	tests := []struct {
		name string
		f    store.MappingFilter
		keys []string
	}{
		{"by SKU, any case", store.MappingFilter{Query: "sku-007"}, []string{"SKU-007"}},
		{"by external id", store.MappingFilter{Query: "o4"}, []string{"SKU-004"}},
		{"by barcode", store.MappingFilter{Query: "4000012"}, []string{"SKU-012"}},
		{"by email", store.MappingFilter{Query: "ann@shop.TEST"}, []string{"ann@shop.test"}},
		{"by start of name", store.MappingFilter{Query: "chair 2", EntityType: "variant"}, []string{"SKU-002", "SKU-020", "SKU-021", "SKU-022", "SKU-023", "SKU-024", "SKU-025", "SKU-026", "SKU-027", "SKU-028", "SKU-029"}},
		{"unmapped in Odoo", store.MappingFilter{EntityType: "variant", ConnectionID: e.odoo.ID, Status: store.MappingUnmapped, Limit: 3}, []string{"SKU-001", "SKU-003", "SKU-005"}},
		{"mapped in Odoo", store.MappingFilter{ConnectionID: e.odoo.ID, Status: store.MappingMapped, Limit: 2}, []string{"SKU-000", "SKU-002"}},
		{"a % is not a wildcard", store.MappingFilter{Query: "%"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, _, err := e.st.ListMappings(ctx, tc.f)
			require.NoError(t, err)
			var keys []string
			for _, r := range rows {
				keys = append(keys, r.Entity.Key)
			}
			require.Equal(t, tc.keys, keys)
		})
	}

	// Keyset pages cover everything once.
	seen := map[string]bool{}
	f := store.MappingFilter{EntityType: "variant", Limit: 7}
	for page := 0; ; page++ {
		rows, more, err := e.st.ListMappings(ctx, f)
		require.NoError(t, err)
		for _, r := range rows {
			require.False(t, seen[r.Entity.Key], "no overlap between pages")
			seen[r.Entity.Key] = true
		}
		if !more {
			break
		}
		last := rows[len(rows)-1].Entity
		f.AfterKey, f.AfterID = last.Key, last.ID
	}
	require.Len(t, seen, 30)

	rows, _, err := e.st.ListMappings(ctx, store.MappingFilter{Query: "SKU-000"})
	require.NoError(t, err)
	require.Len(t, rows[0].Refs, 2, "side by side: one reference per system")

	// Pending filter: an open change set touching SKU-001.
	_, err = e.st.CreateChangeSet(ctx, e.oper, store.NewChangeSet{Items: []store.ItemInput{set("variant", e.odoo.ID, "SKU-001", "o1", "SKU-001")}})
	require.NoError(t, err)
	rows, _, err = e.st.ListMappings(ctx, store.MappingFilter{Status: store.MappingPending})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, "SKU-001", rows[0].Entity.Key)
}
