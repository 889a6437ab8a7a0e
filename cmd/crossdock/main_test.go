package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestMain(m *testing.M) {
	if os.Getenv(serveChildEnv) != "" {
		os.Exit(serveChild()) // the crash test's server process: see crash_test.go
	}
	storetest.Main(m)
}

func TestConfigValidateNamesTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"defaults are valid", map[string]string{}, ""},
		{"bad database url", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{"bad addr", map[string]string{"CROSSDOCK_ADDR": "8080"}, "CROSSDOCK_ADDR"},
		{"short secret", map[string]string{"CROSSDOCK_SECRET_KEY": "short"}, "CROSSDOCK_SECRET_KEY"},
		{"bad base url", map[string]string{"CROSSDOCK_BASE_URL": "crossdock.example.com"}, "CROSSDOCK_BASE_URL"},
		{"bad log level", map[string]string{"CROSSDOCK_LOG_LEVEL": "loud"}, "CROSSDOCK_LOG_LEVEL"},
		{"bad metrics addr", map[string]string{"CROSSDOCK_METRICS_ADDR": "9090"}, "CROSSDOCK_METRICS_ADDR"},
		{"short metrics token", map[string]string{"CROSSDOCK_METRICS_TOKEN": "abc"}, "CROSSDOCK_METRICS_TOKEN"},
		{"trusted proxy not an address", map[string]string{"CROSSDOCK_TRUSTED_PROXIES": "10.0.0.1, lb.internal"}, "CROSSDOCK_TRUSTED_PROXIES"},
		{"trusted proxy bad range", map[string]string{"CROSSDOCK_TRUSTED_PROXIES": "10.0.0.0/33"}, "CROSSDOCK_TRUSTED_PROXIES"},
		{"trusted proxies valid", map[string]string{"CROSSDOCK_TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,fd00::/8"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := LoadConfig(func(k string) string { return tc.env[k] })
			err := cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				require.Equal(t, "127.0.0.1:8080", cfg.Addr)
				require.Equal(t, "http://127.0.0.1:8080", cfg.BaseURL)
				return
			}
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), tc.want), err.Error())
		})
	}
}

func TestUserAdd(t *testing.T) {
	dbURL := storetest.URL(t)
	t.Setenv("DATABASE_URL", dbURL)
	ctx := context.Background()
	add := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"user", "add"}, args...), strings.NewReader(stdin), &out, &bytes.Buffer{})
		return out.String(), err
	}
	out, err := add("correct horse battery\n", "--email", "ana@shop.test", "--name", "Ana", "--role", "admin")
	require.NoError(t, err)
	require.Contains(t, out, "created Ana <ana@shop.test> as admin")

	_, err = add("correct horse battery\n", "--email", "ANA@shop.test", "--name", "Ana", "--role", "admin")
	require.ErrorContains(t, err, "already exists")
	_, err = add("weak\n", "--email", "bo@shop.test", "--name", "Bo", "--role", "operator")
	require.ErrorContains(t, err, "at least 10 characters")
	_, err = add("", "--email", "bo@shop.test", "--name", "Bo", "--role", "operator")
	require.ErrorContains(t, err, "standard input")
	_, err = add("correct horse battery\n", "--email", "bo@shop.test", "--name", "Bo", "--role", "boss")
	require.ErrorContains(t, err, "Choose a role")
	var ue usageError
	_, err = add("x\n", "--password", "argv-is-not-for-secrets")
	require.ErrorAs(t, err, &ue)

	// What was stored, not what was printed: one active admin who signs in
	// with the password given on standard input; the refused ones are absent.
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.DB.Close() })
	users, err := st.ListUsers(ctx)
	require.NoError(t, err)
	require.Len(t, users, 1, "only the valid command created a user")
	u := users[0]
	require.Equal(t, "ana@shop.test", u.Email)
	require.Equal(t, "Ana", u.Name)
	require.Equal(t, vocab.RoleAdmin, u.Role)
	require.True(t, u.Active)
	require.True(t, store.PasswordMatches(&u, "correct horse battery"), "the password read from standard input is the one stored")
	require.False(t, store.PasswordMatches(&u, "argv-is-not-for-secrets"))
}
