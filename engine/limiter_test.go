package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(4, 3, 10*time.Second)
	l.now = func() time.Time { return now }
	const conn = 7

	for range 2 {
		_, ok := l.admit(conn)
		require.True(t, ok)
		l.record(conn, false, true)
	}
	l.record(conn, false, false) // a record refused says nothing about the system
	_, ok := l.admit(conn)
	require.True(t, ok, "two failures in a row: still closed")
	l.record(conn, false, true)

	wait, ok := l.admit(conn)
	require.False(t, ok, "three in a row: open")
	require.Equal(t, 10*time.Second, wait)
	_, ok = l.admit(conn + 1)
	require.True(t, ok, "other systems are not affected")

	now = now.Add(11 * time.Second)
	_, ok = l.admit(conn)
	require.True(t, ok, "half open: one probe")
	_, ok = l.admit(conn)
	require.False(t, ok, "only one probe at a time")
	l.record(conn, false, true)
	wait, ok = l.admit(conn)
	require.False(t, ok)
	require.Equal(t, 20*time.Second, wait, "a failed probe opens it for longer")

	now = now.Add(21 * time.Second)
	_, ok = l.admit(conn)
	require.True(t, ok)
	l.cancelProbe(conn) // the probe did not run after all
	_, ok = l.admit(conn)
	require.True(t, ok, "the probe was given back")
	l.record(conn, true, false)
	for range 5 {
		_, ok = l.admit(conn)
		require.True(t, ok, "closed again")
	}
}

func TestLimiterCapsConcurrencyPerConnection(t *testing.T) {
	t.Parallel()
	l := newLimiter(2, 5, time.Second)
	ctx := context.Background()
	r1, ok := l.acquire(ctx, 1, time.Millisecond)
	require.True(t, ok)
	_, ok = l.acquire(ctx, 1, time.Millisecond)
	require.True(t, ok)
	_, ok = l.acquire(ctx, 1, 10*time.Millisecond)
	require.False(t, ok, "the third waits, then gives up")
	_, ok = l.acquire(ctx, 2, time.Millisecond)
	require.True(t, ok, "another connection has its own slots")
	r1()
	_, ok = l.acquire(ctx, 1, time.Millisecond)
	require.True(t, ok)
}

func TestBackoffSpansHoursWithJitter(t *testing.T) {
	t.Parallel()
	var total time.Duration
	for attempt := 1; attempt <= 7; attempt++ { // 8 attempts: 7 waits
		d := backoff(2*time.Minute, 42, attempt)
		nominal := 2 * time.Minute << (attempt - 1)
		require.GreaterOrEqual(t, d, nominal*3/4)
		require.LessOrEqual(t, d, nominal*5/4)
		require.Equal(t, d, backoff(2*time.Minute, 42, attempt), "deterministic per sync and attempt")
		total += d
	}
	require.Greater(t, total, 3*time.Hour)
	require.Less(t, total, 5*time.Hour+30*time.Minute)
	require.NotEqual(t, backoff(time.Minute, 1, 3), backoff(time.Minute, 2, 3), "syncs failed together come back apart")
}
