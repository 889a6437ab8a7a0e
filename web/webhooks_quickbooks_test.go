package web_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// QuickBooks Online's deliveries come through the receiver every kind
// shares: signed with the app's verifier token, in either format, one
// stored event per changed record, and only for the connection's company.
func TestQuickBooksWebhookIngest(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	const token = "verifier-token-1"
	conn := func(realm string) store.Connection {
		c, err := env.Store.CreateConnection(t.Context(), store.SystemActor("test"), testBox(t), store.ConnectionInput{
			Name: fmt.Sprintf("Books %d", connSeq.Add(1)), Kind: vocab.KindQuickBooks, Environment: vocab.EnvTest,
			Settings: map[string]string{quickbooks.FieldEnvironment: "sandbox", quickbooks.FieldRealmID: realm, quickbooks.FieldClientID: "app"},
			Secrets:  map[string]string{quickbooks.FieldVerifierToken: token, quickbooks.FieldClientSecret: "s"}})
		require.NoError(t, err)
		return c
	}
	cloud, err := os.ReadFile("../connectors/quickbooks/testdata/quickbooks-webhook-cloudevents.json")
	require.NoError(t, err)
	legacy, err := os.ReadFile("../connectors/quickbooks/testdata/quickbooks-webhook-legacy.json")
	require.NoError(t, err)
	send := func(c store.Connection, body []byte, signedWith string) (int, map[string]any) {
		res, out := deliver(t, env, fmt.Sprintf("/webhooks/quickbooks/%d", c.ID), body, map[string]string{
			"Content-Type": "application/json", quickbooks.SignatureHeader: quickbooks.Sign(body, signedWith)})
		return res.StatusCode, out
	}
	count := func(c store.Connection) (n int) {
		require.NoError(t, env.Store.DB.Get(&n, `SELECT count(*) FROM webhook_events WHERE connection_id = $1`, c.ID))
		return n
	}

	// The fixtures' company.
	books := conn("310687")
	status, out := send(books, cloud, token)
	require.Equal(t, 200, status, "%v", out)
	require.Equal(t, 1, count(books))
	var topic, account string
	require.NoError(t, env.Store.DB.QueryRow(`SELECT topic, shop_domain FROM webhook_events WHERE connection_id = $1`, books.ID).Scan(&topic, &account))
	require.Equal(t, "qbo.account.create", topic)
	require.Equal(t, "310687", account)
	status, out = send(books, cloud, token)
	require.Equal(t, 200, status)
	require.Contains(t, out["message"], "already received", "Intuit's retry of the same event is a duplicate")
	require.Equal(t, 1, count(books))

	// Another company's delivery, a wrong token and a body that is no
	// notification are turned away in words; nothing is stored.
	other := conn("999")
	status, out = send(other, cloud, token)
	require.Equal(t, 403, status)
	require.Contains(t, out["message"], `about the QuickBooks company "310687", but this connection is for company "999"`)
	status, out = send(books, cloud, "another-token")
	require.Equal(t, 401, status)
	require.Contains(t, out["message"], "Signature did not match")
	status, out = send(books, []byte(`{"not":"a notification"}`), token)
	require.Equal(t, 400, status)
	require.Contains(t, out["message"], "eventNotifications")
	require.Equal(t, 0, count(other))

	// The legacy format is read too, when it is for this company.
	lc := conn(legacyRealm(t, legacy))
	status, out = send(lc, legacy, token)
	require.Equal(t, 200, status, "%v", out)
	require.Positive(t, count(lc))
}

// legacyRealm is the company of the legacy fixture's first notification.
func legacyRealm(t *testing.T, body []byte) string {
	t.Helper()
	evs, err := quickbooks.DecodeWebhook(body)
	require.NoError(t, err)
	require.NotEmpty(t, evs)
	return evs[0].RealmID
}
