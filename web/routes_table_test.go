package web

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/handlers"
	"crossdock/store/storetest"
)

// The route table lists each method and path once: Fiber would serve a
// second line only after the first, whatever role it names (or merge it
// into the first when they are adjacent).
func TestRouteTableListsEachRouteOnce(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Store: storetest.New(t), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SecretKey: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, r := range s.table() {
		key := r.method + " " + r.path
		require.False(t, seen[key], "%s is in the route table twice", key)
		seen[key] = true
	}
}

// A feature left without its engine is named at start, so a console that
// lost one is visible in its log, not only on the page that refuses.
func TestFeaturesOffAreNamed(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"connections", "sweep", "replay", "compare", "alerts", "rehearsal", "reconciliation", "engine metrics", "personal data map", "erasures in connected systems"},
		Config{}.featuresOff())
	var r handlers.Replayer = replayer{}
	require.NotContains(t, Config{Replay: r}.featuresOff(), "replay")
}

type replayer struct{ handlers.Replayer }
