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
	"crossdock/connectors/shipbob"
	sbsandbox "crossdock/connectors/shipbob/sandbox"
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
	// The button sends the admin to Intuit's sign-in page…
	loc, authorize := startSignIn(t, admin, url.Values{"kind": {"quickbooks"}, "name": {"Books"}, "environment": {"test"},
		"f_environment": {"sandbox"}, "f_client_id": {id}, "f_client_secret": {secret}, "f_api_base_url": {ts.URL},
		"f_token_url": {qbsandbox.TokenURL(ts.URL)}, "f_authorize_url": {qbsandbox.AuthorizeURL(ts.URL)}}, "QuickBooks Online", qbsandbox.AuthorizeURL(ts.URL))
	au, err := url.Parse(authorize)
	require.NoError(t, err)
	require.Equal(t, env.URL+"/connections/signed-in", au.Query().Get("redirect_uri"))
	require.Equal(t, "com.intuit.quickbooks.accounting", au.Query().Get("scope"))

	// …which sends them back with a code, the state and the company.
	res, _ := admin.Do(mustGet(t, authorize))
	require.Equal(t, http.StatusFound, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, twin.RealmID(), back.Query().Get("realmId"))

	// Another browser session cannot use that answer.
	other := env.SignIn(t, vocab.RoleAdmin)
	res, _ = other.Get(back.RequestURI())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := other.Get(res.Header.Get("Location"))
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

// startSignIn adds a connection from form, checks its page asks to connect
// (to label), and presses the button: it returns the connection's page and
// the system's sign-in page the console sent the admin to.
func startSignIn(t *testing.T, admin *webtest.Client, form url.Values, label, authorizeAt string) (loc, authorize string) {
	t.Helper()
	res := admin.PostForm("/connections", form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc = res.Header.Get("Location")
	_, body := admin.Get(loc)
	require.Contains(t, body, "Not connected yet")
	require.Contains(t, body, "Connect to "+label)
	res, _ = admin.Get(loc + "/sign-in")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	authorize = res.Header.Get("Location")
	require.True(t, strings.HasPrefix(authorize, authorizeAt+"?"), authorize)
	return loc, authorize
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	return req
}

// The same sign-in serves ShipBob: an admin chooses "sign in to ShipBob"
// on the form, presses "Connect to ShipBob", allows Crossdock at ShipBob
// (the twin) and comes back connected; Test connection shows the scopes
// ShipBob granted.
func TestConnectToShipBobBySigningIn(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	twin := sbsandbox.New(sbsandbox.Options{ClientID: "crossdock-app", ClientSecret: "s3cret", RateLimit: -1})
	ts := httptest.NewServer(twin)
	t.Cleanup(ts.Close)
	admin := env.SignIn(t, vocab.RoleAdmin)
	loc, authorize := startSignIn(t, admin, url.Values{"kind": {"shipbob"}, "name": {"Warehouse East"}, "environment": {"test"},
		"f_auth": {shipbob.AuthSignIn}, "f_environment": {"sandbox"}, "f_oauth_client_id": {"crossdock-app"}, "f_oauth_client_secret": {"s3cret"},
		"f_api_base_url": {ts.URL}, "f_oauth_token_url": {ts.URL + "/connect/token"}, "f_oauth_authorize_url": {ts.URL + "/connect/authorize"},
		"f_shopify_location_id": {"71234567890"}, "f_shipbob_channel_id": {"100101"}}, "ShipBob", ts.URL+"/connect/authorize")
	res, _ := admin.Do(mustGet(t, authorize))
	require.Equal(t, http.StatusFound, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, env.URL+"/connections/signed-in", back.Scheme+"://"+back.Host+back.Path)

	res, _ = admin.Get(back.RequestURI())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, loc, res.Header.Get("Location"))
	_, body := admin.Get(loc)
	require.Contains(t, body, "Connected Warehouse East to your ShipBob account")
	require.NotContains(t, body, "Not connected yet")

	req, err := http.NewRequest(http.MethodPost, env.URL+loc+"/test", strings.NewReader(url.Values{"_csrf": {admin.CSRF}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	res, body = admin.Do(req)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Contains(t, body, "Sign-in accepted")
	require.Contains(t, body, "Scopes granted")
	require.Contains(t, body, "orders_write")
	require.Equal(t, 1, twin.Refreshes(), "the test refreshed once, and the rotated token was kept")
}
