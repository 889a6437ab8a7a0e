package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	admin := store.SystemActor("test")

	tests := []struct {
		name  string
		in    store.NewUser
		field string
	}{
		{"missing email", store.NewUser{Name: "A", Role: vocab.RoleAdmin, Password: "long enough pw"}, "email"},
		{"bad email", store.NewUser{Email: "nope", Name: "A", Role: vocab.RoleAdmin, Password: "long enough pw"}, "email"},
		{"missing name", store.NewUser{Email: "a@b.co", Role: vocab.RoleAdmin, Password: "long enough pw"}, "name"},
		{"unknown role", store.NewUser{Email: "a@b.co", Name: "A", Role: "boss", Password: "long enough pw"}, "role"},
		{"short password", store.NewUser{Email: "a@b.co", Name: "A", Role: vocab.RoleAdmin, Password: "short"}, "password"},
		{"repeated password", store.NewUser{Email: "a@b.co", Name: "A", Role: vocab.RoleAdmin, Password: "aaaaaaaaaaaa"}, "password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.CreateUser(ctx, admin, tc.in)
			var fe vocab.FieldErrors
			require.ErrorAs(t, err, &fe)
			require.Contains(t, fe, tc.field)
		})
	}
	users, err := st.ListUsers(ctx)
	require.NoError(t, err)
	require.Empty(t, users, "invalid input must store nothing")
}

func TestCreateUserDuplicateEmailIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	_, err := st.CreateUser(ctx, store.SystemActor("test"), store.NewUser{Email: "Ana@Shop.com", Name: "Ana", Role: vocab.RoleOperator, Password: "correct horse"})
	require.NoError(t, err)
	_, err = st.CreateUser(ctx, store.SystemActor("test"), store.NewUser{Email: "ana@shop.com", Name: "Ana 2", Role: vocab.RoleOperator, Password: "correct horse"})
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "A user with this email already exists.", fe["email"])

	entries, _, err := st.ListAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the successful creation is audited")
	require.Equal(t, "user.created", entries[0].Action)
}

func TestCreateFirstAdminRace(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.CreateFirstAdmin(ctx, store.NewUser{Email: "owner" + string(rune('a'+i)) + "@shop.com", Name: "Owner", Password: "correct horse battery"})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			require.ErrorIs(t, err, store.ErrNotFirstUser)
		}
	}
	require.Equal(t, 1, wins)
	users, err := st.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, users, 1)
	require.Equal(t, vocab.RoleAdmin, users[0].Role)
}

func TestLastAdminCannotBeRemoved(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	a := store.SystemActor("test")
	owner, err := st.CreateFirstAdmin(ctx, store.NewUser{Email: "owner@shop.com", Name: "Owner", Password: "correct horse battery"})
	require.NoError(t, err)

	_, err = st.UpdateUser(ctx, a, owner.ID, store.UserUpdate{Name: "Owner", Role: vocab.RoleOperator, Active: true})
	require.ErrorIs(t, err, store.ErrLastAdmin)
	_, err = st.UpdateUser(ctx, a, owner.ID, store.UserUpdate{Name: "Owner", Role: vocab.RoleAdmin, Active: false})
	require.ErrorIs(t, err, store.ErrLastAdmin)

	second, err := st.CreateUser(ctx, a, store.NewUser{Email: "it@shop.com", Name: "IT", Role: vocab.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	_, err = st.UpdateUser(ctx, a, owner.ID, store.UserUpdate{Name: "Owner", Role: vocab.RoleFinance, Active: true})
	require.NoError(t, err)
	_, err = st.UpdateUser(ctx, a, second.ID, store.UserUpdate{Name: "IT", Role: vocab.RoleOperator, Active: true})
	require.True(t, errors.Is(err, store.ErrLastAdmin))
}

func TestSetPasswordEndsSessions(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	u, err := st.CreateFirstAdmin(ctx, store.NewUser{Email: "owner@shop.com", Name: "Owner", Password: "correct horse battery"})
	require.NoError(t, err)
	require.NoError(t, st.SaveSession(ctx, store.SessionRow{ID: "s1", UserID: u.ID, Data: []byte{}, ExpiresAt: timeNowPlusHour()}))
	require.NoError(t, st.SetPassword(ctx, store.Actor{UserID: u.ID, Label: u.Email}, u.ID, "another good password"))
	_, err = st.SessionByID(ctx, "s1")
	require.ErrorIs(t, err, store.ErrNotFound)
	got, err := st.UserByEmail(ctx, "OWNER@shop.com")
	require.NoError(t, err)
	require.True(t, store.PasswordMatches(&got, "another good password"))
	require.False(t, store.PasswordMatches(&got, "correct horse battery"))
}
