package engine_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// Connection health comes from the engine's real calls: noted in memory,
// written once per flush, never "Not tested yet" after thousands of calls.
func TestConnectionHealthFromRealCalls(t *testing.T) {
	t.Parallel()
	e := setup(t, options{noMappings: true})
	ctx := context.Background()
	a := store.SystemActor("test")

	_, err := e.eng.RefreshCatalogue(ctx, a, e.shopConn.ID)
	require.NoError(t, err)
	_, err = e.eng.RefreshCatalogue(ctx, a, e.odooConn.ID)
	require.NoError(t, err)
	c, err := e.st.ConnectionByID(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.Nil(t, c.LastSuccessAt, "calls are not written one by one")

	require.NoError(t, e.eng.FlushConnectionHealth(ctx))
	for _, id := range []int64{e.shopConn.ID, e.odooConn.ID} {
		c, err := e.st.ConnectionByID(ctx, id)
		require.NoError(t, err)
		require.NotNil(t, c.LastSuccessAt, c.Name)
		require.WithinDuration(t, time.Now(), *c.LastSuccessAt, time.Minute)
		require.Nil(t, c.LastErrorAt, c.Name)
		calls, err := e.st.ConnectionCallStats(ctx, id, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.Positive(t, calls.OK, c.Name)
		require.Zero(t, calls.Failed, c.Name)
		t.Logf("%s: %d calls written by one flush", c.Name, calls.OK)
	}
	// Nothing new: a flush writes nothing and changes nothing.
	before, err := e.st.ConnectionCallStats(ctx, e.shopConn.ID, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.NoError(t, e.eng.FlushConnectionHealth(ctx))
	after, err := e.st.ConnectionCallStats(ctx, e.shopConn.ID, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, before, after)

	// A system that does not answer, and one that refuses the credentials.
	box, err := secretbox.New(secretKey)
	require.NoError(t, err)
	gone := httptest.NewServer(nil)
	gone.Close()
	down, err := e.st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Closed store", Kind: vocab.KindShopify,
		Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": "closed.myshopify.com", "api_base_url": gone.URL},
		Secrets: map[string]string{"access_token": "shpat_x", "api_secret": "whsec"}})
	require.NoError(t, err)
	wrong, err := e.st.CreateConnection(ctx, a, box, store.ConnectionInput{Name: "Wrong token", Kind: vocab.KindShopify,
		Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": e.shop.Domain(), "api_base_url": e.shopConn.Settings["api_base_url"]},
		Secrets: map[string]string{"access_token": "shpat_wrong", "api_secret": "whsec"}})
	require.NoError(t, err)
	_, err = e.eng.RefreshCatalogue(ctx, a, down.ID)
	require.Error(t, err)
	_, err = e.eng.RefreshCatalogue(ctx, a, wrong.ID)
	require.Error(t, err)
	require.NoError(t, e.eng.FlushConnectionHealth(ctx))

	c, err = e.st.ConnectionByID(ctx, down.ID)
	require.NoError(t, err)
	require.Nil(t, c.LastSuccessAt)
	require.NotNil(t, c.LastErrorAt)
	require.Contains(t, c.LastError, "Closed store did not answer")
	require.NotContains(t, c.LastError, gone.URL, "the address is on the connection's page, not in the sentence")

	c, err = e.st.ConnectionByID(ctx, wrong.ID)
	require.NoError(t, err)
	require.NotNil(t, c.LastErrorAt)
	require.Contains(t, c.LastError, "Wrong token refused Crossdock's credentials (HTTP 401).")

	// The store that answered keeps its health: another connection's failure is not its.
	c, err = e.st.ConnectionByID(ctx, e.shopConn.ID)
	require.NoError(t, err)
	require.Nil(t, c.LastErrorAt)
}
