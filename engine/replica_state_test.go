package engine_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/engine/alert"
	"crossdock/engine/enginetest"
	"crossdock/store"
)

// A breaker opened on one replica fires the alert evaluated on another, and
// resolves there once it closes; both see how many replicas have it open.
func TestBreakerOpenOnOneReplicaIsSeenByAnother(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := t.Context()
	enginetest.OnlyAlertRule(t, e.st, store.AlertBreakerOpen)
	enginetest.SetAlertRule(t, e.st, store.AlertBreakerOpen, true, 0, 5, 60)
	// Two replicas on one database, with breakers that stay open a minute.
	replica := func() *engine.Engine {
		eng, err := engine.New(engine.Config{Store: e.st, Kinds: kinds(), SecretKey: secretKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			ManualSweepsOnly: true, BreakerThreshold: 3, BreakerCooldown: time.Minute})
		require.NoError(t, err)
		return eng
	}
	here, other := replica(), replica()
	alerts, err := alert.New(here, alert.Config{Manual: true})
	require.NoError(t, err)

	notices, err := alerts.Evaluate(ctx)
	require.NoError(t, err)
	require.Empty(t, notices, "no breaker is open anywhere")

	engine.OpenBreaker(other, e.odooConn.ID)
	require.NoError(t, engine.PublishStates(other, ctx))
	css, err := here.SharedConnections(ctx)
	require.NoError(t, err)
	require.Len(t, css, 1)
	require.True(t, css[0].BreakerOpen)
	require.Equal(t, 1, css[0].OpenReplicas)
	require.Equal(t, "Odoo", css[0].Name)
	require.WithinDuration(t, time.Now().Add(time.Minute), css[0].OpenUntil, 10*time.Second)
	notices, err = alerts.Evaluate(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1, "the replica evaluating sees the other's breaker")
	require.Equal(t, "Crossdock stopped sending to Odoo for a while", notices[0].Alert.Title)

	// The same breaker open here too: two replicas, one alert.
	engine.OpenBreaker(here, e.odooConn.ID)
	css, err = other.SharedConnections(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, css[0].OpenReplicas, "not published yet: the other replica knows only its own")
	require.NoError(t, engine.PublishStates(here, ctx))
	css, err = other.SharedConnections(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, css[0].OpenReplicas)
	_, err = alerts.Evaluate(ctx)
	require.NoError(t, err)
	open, _, err := e.st.ListAlerts(ctx, store.AlertFilter{Open: true})
	require.NoError(t, err)
	require.Len(t, open, 1)

	// Both close: the alert resolves on the next evaluation.
	engine.CloseBreaker(other, e.odooConn.ID)
	engine.CloseBreaker(here, e.odooConn.ID)
	require.NoError(t, engine.PublishStates(other, ctx))
	require.NoError(t, engine.PublishStates(here, ctx))
	_, err = alerts.Evaluate(ctx)
	require.NoError(t, err)
	open, _, err = e.st.ListAlerts(ctx, store.AlertFilter{Open: true})
	require.NoError(t, err)
	require.Empty(t, open, "resolved once no replica has the breaker open")
	shared, err := e.st.SharedConnectionStates(ctx, store.ReplicaStatesFresh, "")
	require.NoError(t, err)
	require.Len(t, shared, 1)
	require.Zero(t, shared[0].OpenReplicas)
}
