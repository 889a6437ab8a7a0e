package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// An admin adds a QuickBooks connection with the app's keys, presses
// "Connect to QuickBooks Online", signs in at Intuit (the twin) and comes
// back connected: company id and tokens kept, sealed.
func TestConnectToQuickBooksBySigningIn(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	twin := qbsandbox.New(qbsandbox.Options{})
	ts := httptest.NewServer(twin)
	t.Cleanup(ts.Close)
	admin := env.SignIn(t, vocab.RoleAdmin)
	id, secret := twin.ClientCredentials()
	res := admin.PostForm("/connections", url.Values{"kind": {"quickbooks"}, "name": {"Books"}, "environment": {"test"},
		"f_environment": {"sandbox"}, "f_client_id": {id}, "f_client_secret": {secret}, "f_api_base_url": {ts.URL},
		"f_token_url": {qbsandbox.TokenURL(ts.URL)}, "f_authorize_url": {qbsandbox.AuthorizeURL(ts.URL)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	_, body := admin.Get(loc)
	require.Contains(t, body, "Not connected yet")
	require.Contains(t, body, "Connect to QuickBooks Online")

	// The button sends the admin to Intuit's sign-in page…
	res, _ = admin.Get(loc + "/sign-in")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	authorize := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(authorize, qbsandbox.AuthorizeURL(ts.URL)+"?"), authorize)
	au, err := url.Parse(authorize)
	require.NoError(t, err)
	require.Equal(t, env.URL+"/connections/signed-in", au.Query().Get("redirect_uri"))
	require.Equal(t, "com.intuit.quickbooks.accounting", au.Query().Get("scope"))

	// …which sends them back with a code, the state and the company.
	res, _ = admin.Do(mustGet(t, authorize))
	require.Equal(t, http.StatusFound, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, twin.RealmID(), back.Query().Get("realmId"))

	// Another browser session cannot use that answer.
	other := env.SignIn(t, vocab.RoleAdmin)
	res, _ = other.Get(back.RequestURI())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = other.Get(res.Header.Get("Location"))
	require.Contains(t, body, "started in another browser session")

	res, _ = admin.Get(back.RequestURI())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, loc, res.Header.Get("Location"))
	_, body = admin.Get(loc)
	require.Contains(t, body, "Connected Books to QuickBooks company "+twin.RealmID())
	require.Contains(t, body, "Reconnect needed by")
	require.NotContains(t, body, "Not connected yet")

	cid := strings.TrimPrefix(loc, "/connections/")
	conns, err := env.Store.ListConnections(context.Background())
	require.NoError(t, err)
	var conn store.Connection
	for _, c := range conns {
		if c.Name == "Books" {
			conn = c
		}
	}
	require.Equal(t, twin.RealmID(), conn.Settings["realm_id"], cid)
	require.NotContains(t, string(conn.Sealed), "RT1-", "tokens are sealed")

	// The connection works: Test connection names the company.
	res = admin.PostForm(loc+"/test", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get(loc)
	require.Contains(t, body, "Sandbox Company_US_1")

	// The same code cannot be used twice; refusing access says so.
	res, _ = admin.Get(back.RequestURI())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get(loc)
	require.Contains(t, body, "could not finish connecting")
	q := back.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	res, _ = admin.Get("/connections/signed-in?" + q.Encode())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body = admin.Get(loc)
	require.Contains(t, body, "You did not allow Crossdock access")
	// An operator may not finish a sign-in.
	op := env.SignIn(t, vocab.RoleOperator)
	res, _ = op.Get(back.RequestURI())
	require.NotEqual(t, http.StatusSeeOther, res.StatusCode)
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return req
}
