package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// TestMayWriteInto: the one rule of environment scopes, for each kind of
// actor, read from the database at the time of the check.
func TestMayWriteInto(t *testing.T) {
	t.Parallel()
	e := syncSetup(t) // two test systems
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	sys := store.SystemActor("test")
	prod, err := e.st.CreateConnection(ctx, sys, box, store.ConnectionInput{Name: "Odoo live", Kind: vocab.KindOdoo, Environment: vocab.EnvProduction})
	require.NoError(t, err)
	all, err := e.st.CreateUser(ctx, sys, store.NewUser{Email: "all@shop.test", Name: "All", Role: vocab.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	limited, err := e.st.CreateUser(ctx, sys, store.NewUser{Email: "limited@shop.test", Name: "Limited", Role: vocab.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	_, err = e.st.UpdateUser(ctx, sys, limited.ID, store.UserUpdate{Name: "Limited", Role: vocab.RoleAdmin, Active: true, Scope: vocab.ScopeTest})
	require.NoError(t, err)

	const refusal = "You may write only into test systems, and Odoo live is a production system. Ask an admin."
	tests := []struct {
		name  string
		actor store.Actor
		into  []int64
		want  string
	}{
		{"every system: production", store.Actor{UserID: all.ID}, []int64{prod.ID}, ""},
		{"test only: test systems", store.Actor{UserID: limited.ID}, []int64{e.shop.ID, e.odoo.ID}, ""},
		{"test only: production", store.Actor{UserID: limited.ID}, []int64{prod.ID}, refusal},
		{"test only: production among test systems", store.Actor{UserID: limited.ID}, []int64{e.shop.ID, prod.ID, e.odoo.ID}, refusal},
		{"test only: nothing to write", store.Actor{UserID: limited.ID}, nil, ""},
		{"a session label does not widen it", store.Actor{UserID: limited.ID, Label: all.Email}, []int64{prod.ID}, refusal},
		{"Crossdock itself", sys, []int64{prod.ID}, ""},
		{"a user id naming nobody fails closed", store.Actor{UserID: 999999}, []int64{prod.ID}, refusal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.st.MayWriteInto(ctx, tc.actor, tc.into...)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var oos *store.OutOfScopeError
			require.ErrorAs(t, err, &oos)
			require.Equal(t, tc.want, err.Error())
		})
	}

	// The scope is read at the check, not remembered: widening it applies at once.
	_, err = e.st.UpdateUser(ctx, sys, limited.ID, store.UserUpdate{Name: "Limited", Role: vocab.RoleAdmin, Active: true, Scope: vocab.ScopeAll})
	require.NoError(t, err)
	require.NoError(t, e.st.MayWriteInto(ctx, store.Actor{UserID: limited.ID}, prod.ID))
}
