package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

// Replicas flush their calls in any order: the latest answer and the latest
// failure win, the counts add up, and the connection's updated_at (which the
// engine's client cache keys on) does not move.
func TestRecordConnectionTrafficKeepsTheLatest(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	c, err := st.CreateConnection(ctx, store.SystemActor("test"), box, store.ConnectionInput{Name: "Main store", Kind: vocab.KindShopify,
		Environment: vocab.EnvTest, Settings: map[string]string{"shop_domain": "main.myshopify.com"}})
	require.NoError(t, err)
	now := time.Now().Truncate(time.Microsecond)
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }

	require.NoError(t, st.RecordConnectionTraffic(ctx, []store.ConnectionTraffic{
		{ConnectionID: c.ID, OK: 120, Failed: 1, LastOKAt: at(time.Minute), LastFailedAt: at(2 * time.Minute), Failure: "newer failure"},
		{ConnectionID: 1 << 40, OK: 3}, // a connection deleted meanwhile: nothing to write, no error
	}))
	// An older flush from another replica arrives late.
	require.NoError(t, st.RecordConnectionTraffic(ctx, []store.ConnectionTraffic{
		{ConnectionID: c.ID, OK: 30, Failed: 2, LastOKAt: at(10 * time.Minute), LastFailedAt: at(20 * time.Minute), Failure: "older failure"},
	}))
	got, err := st.ConnectionByID(ctx, c.ID)
	require.NoError(t, err)
	require.True(t, at(time.Minute).Equal(*got.LastSuccessAt), "%s", got.LastSuccessAt)
	require.True(t, at(2*time.Minute).Equal(*got.LastErrorAt), "%s", got.LastErrorAt)
	require.Equal(t, "newer failure", got.LastError)
	require.Equal(t, c.UpdatedAt, got.UpdatedAt, "health is not an edit of the connection")
	calls, err := st.ConnectionCallStats(ctx, c.ID, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, store.CallStats{OK: 150, Failed: 3}, calls)

	// Only successes: the last failure stays as it was.
	require.NoError(t, st.RecordConnectionTraffic(ctx, []store.ConnectionTraffic{{ConnectionID: c.ID, OK: 1, LastOKAt: at(0)}}))
	got, err = st.ConnectionByID(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "newer failure", got.LastError)
	require.True(t, got.LastSuccessAt.After(*got.LastErrorAt))
}
