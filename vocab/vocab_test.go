package vocab_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/vocab"
)

// value is what every vocabulary type offers.
type value interface {
	Valid() bool
	Label() string
}

func TestEveryValueHasALabel(t *testing.T) {
	t.Parallel()
	lists := map[string][]value{
		"families":     each(vocab.AllFamilies()),
		"directions":   each(vocab.AllDirections()),
		"statuses":     each(vocab.AllStatuses()),
		"classes":      each(vocab.AllErrorClasses()),
		"roles":        each(vocab.AllRoles()),
		"environments": each(vocab.AllEnvironments()),
		"scopes":       each(vocab.AllScopes()),
		"kinds":        each(vocab.AllKinds()),
	}
	for name, list := range lists {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.NotEmpty(t, list)
			labels := map[string]bool{}
			for _, v := range list {
				require.True(t, v.Valid(), "%v", v)
				require.NotEmpty(t, v.Label(), "%v has no label", v)
				require.False(t, labels[v.Label()], "%v: label %q names two values", v, v.Label())
				labels[v.Label()] = true
			}
		})
	}
}

func TestUnknownValuesAreNotValid(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]value{
		"family":      vocab.Family("taxes"),
		"direction":   vocab.Direction("odoo_to_odoo"),
		"status":      vocab.Status("lost"),
		"class":       vocab.ErrorClass("bad_luck"),
		"role":        vocab.Role("owner"),
		"environment": vocab.Environment("staging"),
		"scope":       vocab.Scope("some"),
		"kind":        vocab.Kind("sage"),
		"empty":       vocab.Status(""),
	} {
		require.False(t, v.Valid(), name)
	}
	require.Empty(t, vocab.Family("taxes").Label())
	require.Empty(t, vocab.Status("lost").Label())
	require.Equal(t, "taxes", vocab.Family("taxes").Noun(), "an unknown family is named by its key in sentences")
}

func TestWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"family label", vocab.Refunds.Label(), "Refunds and returns"},
		{"family noun", vocab.Inventory.Noun(), "stock levels"},
		{"direction", vocab.OdooToShopify.Label(), "Odoo → Shopify"},
		{"status", vocab.SyncRejected.Label(), "Not allowed"},
		{"class", vocab.ClassUnmapped.Label(), "Not mapped yet"},
		{"role", vocab.RoleFinance.Label(), "Finance"},
		{"role described", vocab.RoleOperator.Describe(), "Connects systems, watches syncs, maps identifiers, tries failed syncs again"},
		{"environment", vocab.EnvProduction.Label(), "Production"},
		{"scope", vocab.ScopeTest.Label(), "test systems only"},
		{"unknown scope writes everywhere", vocab.Scope("").Label(), "every system"},
		{"kind", vocab.KindOdoo.Label(), "Odoo"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.got, tt.name)
	}
}

func TestListsAreCopies(t *testing.T) {
	t.Parallel()
	fs := vocab.AllFamilies()
	fs[0] = "taxes"
	require.Equal(t, vocab.Products, vocab.AllFamilies()[0])
	require.Equal(t, []vocab.Status{vocab.SyncFailed, vocab.SyncRetrying, vocab.SyncRejected}, vocab.ProblemStatuses())
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	fe := vocab.FieldErrors{"password": "Too short.", "email": "Not an email."}
	require.Equal(t, "Not an email. Too short.", fe.Error(), "the person's own fields come first, in form order")
	require.Equal(t, "Too short.", fe.First("name", "password", "email"))
	require.Empty(t, fe.First("name"))
}

func each[T value](vs []T) []value {
	out := make([]value, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
