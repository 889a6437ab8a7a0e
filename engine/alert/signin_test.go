package alert_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// A QuickBooks sign-in lasts at most 5 years: the alert fires 30 days
// ahead, again at 7 days, says "reconnect needed" once it ended or
// QuickBooks refused it, and resolves when the merchant connects again.
func TestAlertSignInEndingFiresAheadAgainAndWhenRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, "https://crossdock.test")
	enginetest.OnlyAlertRule(t, e.St, store.AlertSignInEnding)
	ctx := t.Context()
	qb := e.AddQuickBooks(t, qbsandbox.Options{}, nil)
	box, err := secretbox.New(enginetest.SecretKey)
	require.NoError(t, err)
	connect := func(ends time.Time) {
		t.Helper()
		_, err := e.St.AuthorizeConnection(ctx, store.SystemActor("test"), box, qb.Conn.ID, nil,
			connectors.TokenSecrets(connectors.RefreshToken{Token: qb.Twin.IssueRefreshToken(), HardExpiresAt: ends}))
		require.NoError(t, err)
	}
	evaluate := func() []store.AlertNotice {
		t.Helper()
		n, err := e.al.Evaluate(ctx)
		require.NoError(t, err)
		return n
	}
	openAlerts := func() []store.Alert {
		t.Helper()
		open, _, err := e.St.ListAlerts(ctx, store.AlertFilter{Open: true})
		require.NoError(t, err)
		return open
	}

	require.Empty(t, evaluate(), "no end known yet")
	connect(time.Now().AddDate(0, 0, 45))
	require.Empty(t, evaluate(), "45 days ahead is not yet")

	connect(time.Now().Add(20*24*time.Hour - time.Hour))
	n := evaluate()
	require.Len(t, n, 1)
	require.Equal(t, "firing", n[0].Event)
	require.Equal(t, "Reconnect Books within 20 days", n[0].Alert.Title)
	require.Contains(t, n[0].Alert.Message, "press “Connect to QuickBooks Online”")
	require.Empty(t, evaluate(), "the same stage is not sent again before its repeat")
	_, err = e.St.AcknowledgeAlert(ctx, store.SystemActor("test"), n[0].Alert.ID)
	require.NoError(t, err)

	// At 7 days it fires again, though acknowledged: a new alert, the
	// first closed without a "resolved" notice.
	connect(time.Now().Add(5*24*time.Hour - time.Hour))
	n = evaluate()
	require.Len(t, n, 1)
	require.Equal(t, "firing", n[0].Event)
	require.Equal(t, "Reconnect Books within 5 days", n[0].Alert.Title)
	open := openAlerts()
	require.Len(t, open, 1)
	require.Equal(t, store.AlertFiring, open[0].State)

	// QuickBooks refuses the sign-in (invalid_grant): reconnect needed.
	_, err = e.St.InsertSyncs(ctx, []store.NewSync{{Family: vocab.Orders, Direction: vocab.ShopifyToQuickBooks, Flow: "orders.shopify_quickbooks",
		SourceConnectionID: e.ShopConn.ID, TargetConnectionID: qb.Conn.ID, Trigger: store.TriggerWebhook, EntityType: "order",
		EntityRef: "gid://shopify/Order/1", EntityKey: "#1001", Payload: map[string]string{}, IdempotencyKey: "refused", MaxAttempts: 8,
		Status: vocab.SyncRetrying, ErrorClass: vocab.ClassAuth, Message: "Books: QuickBooks no longer accepts Crossdock's sign-in.",
		Response: map[string]any{"kind": "auth", "code": "invalid_grant", "status": 400}}})
	require.NoError(t, err)
	n = evaluate()
	require.Len(t, n, 1)
	require.Equal(t, "Reconnect needed: QuickBooks Online refused Crossdock's sign-in to Books", n[0].Alert.Title)

	// Connected again, for 5 years: resolved, and the refusal from before
	// no longer counts.
	connect(time.Now().AddDate(5, 0, 0))
	n = evaluate()
	require.Len(t, n, 1)
	require.Equal(t, "resolved", n[0].Event)
	require.Empty(t, openAlerts())

	// A sign-in that ended (nobody reconnected in time).
	connect(time.Now().Add(-time.Hour))
	n = evaluate()
	require.Len(t, n, 1)
	require.Contains(t, n[0].Alert.Title, "Reconnect needed: the sign-in to Books ended on")
}

// The refusal the alert reads is the one a real refresh meets: the twin
// revokes every refresh token and ends the access tokens, the next order's
// sync asks for a new token, QuickBooks answers invalid_grant, and the
// alert says "reconnect needed" — from the sync as the engine recorded it,
// not one written for the test.
func TestAlertReconnectNeededWhenQuickBooksRefusesARefresh(t *testing.T) {
	t.Parallel()
	e := setup(t, "https://crossdock.test")
	enginetest.OnlyAlertRule(t, e.St, store.AlertSignInEnding)
	qb := e.AddQuickBooks(t, qbsandbox.Options{}, nil)
	n, err := e.al.Evaluate(t.Context())
	require.NoError(t, err)
	require.Empty(t, n, "a fresh sign-in raises nothing")

	qb.Twin.RevokeRefreshTokens()
	qb.Twin.ExpireAccessTokens()
	enginetest.StartEngine(t, e.Eng)
	_, payload := e.Order(t)
	ev := e.Deliver(t, "orders/create", payload)
	var refused store.Sync
	for _, s := range e.EndedSyncs(t, ev) {
		if s.TargetConnectionID == qb.Conn.ID {
			refused = s
		}
	}
	require.NotZero(t, refused.ID, "a sync into QuickBooks was planned")
	refused = e.Ended(t, refused.ID) // with its answer (lists leave it out)
	require.Equal(t, vocab.SyncFailed, refused.Status, refused.Message)
	require.Equal(t, vocab.ClassAuth, refused.Class())
	require.Contains(t, string(refused.Response), `"invalid_grant"`, "the engine recorded QuickBooks' answer: %s", refused.Message)

	n, err = e.al.Evaluate(t.Context())
	require.NoError(t, err)
	require.Len(t, n, 1)
	require.Equal(t, "firing", n[0].Event)
	require.Equal(t, "Reconnect needed: QuickBooks Online refused Crossdock's sign-in to Books", n[0].Alert.Title)
}
