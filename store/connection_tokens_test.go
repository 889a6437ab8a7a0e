package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestSwapConnectionSecretsIsACompareAndSwap(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	a := store.SystemActor("test")
	c, err := st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Books", Kind: vocab.KindQuickBooks, Environment: vocab.EnvTest,
		Settings: map[string]string{"client_id": "app"}, Secrets: map[string]string{"client_secret": "s", "refresh_token": "RT-0"}})
	require.NoError(t, err)

	// Eight replicas refresh at once from RT-0: exactly one stores its token.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Go(func() {
			ok, err := st.SwapConnectionSecrets(ctx, box, c.ID, "refresh_token", "RT-0",
				map[string]string{"refresh_token": fmt.Sprintf("RT-%d", i+1), "previous_refresh_token": "RT-0"})
			require.NoError(t, err)
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, won)
	after, err := st.ConnectionByID(ctx, c.ID)
	require.NoError(t, err)
	sec, err := store.ConnectionSecrets(box, after)
	require.NoError(t, err)
	require.NotEqual(t, "RT-0", sec["refresh_token"])
	require.Equal(t, "RT-0", sec["previous_refresh_token"])
	require.Equal(t, "s", sec["client_secret"], "the other secrets are kept")
	require.True(t, after.UpdatedAt.Equal(c.UpdatedAt), "a rotation does not rebuild pooled clients")

	// A person's sign-in replaces the tokens and the company id, audited.
	after, err = st.AuthorizeConnection(ctx, a, box, c.ID, map[string]string{"realm_id": "123"}, map[string]string{"refresh_token": "RT-new"})
	require.NoError(t, err)
	require.Equal(t, "123", after.Settings["realm_id"])
	require.Equal(t, "app", after.Settings["client_id"])
	sec, err = store.ConnectionSecrets(box, after)
	require.NoError(t, err)
	require.Equal(t, "RT-new", sec["refresh_token"])
	require.True(t, after.UpdatedAt.After(c.UpdatedAt))
}
