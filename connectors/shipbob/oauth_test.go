package shipbob_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/shipbob"
	"crossdock/connectors/shipbob/sandbox"
)

// memKeeper keeps a refresh token as the engine does, by compare-and-swap.
type memKeeper struct {
	mu    sync.Mutex
	t     connectors.RefreshToken
	swaps int
}

func (k *memKeeper) LoadToken(context.Context) (connectors.RefreshToken, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.t, nil
}

func (k *memKeeper) SwapToken(_ context.Context, old string, next connectors.RefreshToken) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.t.Token != old {
		return false, nil
	}
	k.t = next
	k.swaps++
	return true, nil
}

func (k *memKeeper) token() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.t.Token
}

type oauthTwin struct {
	twin *sandbox.Server
	url  string
}

func newOAuthTwin(t *testing.T) oauthTwin {
	t.Helper()
	twin := sandbox.New(sandbox.Options{AccessToken: "pat-unused", ClientID: "crossdock-app", ClientSecret: "s3cret", RateLimit: -1})
	srv := httptest.NewServer(twin)
	t.Cleanup(srv.Close)
	return oauthTwin{twin: twin, url: srv.URL}
}

func (o oauthTwin) settings() map[string]string {
	return map[string]string{shipbob.SettingAuth: shipbob.AuthSignIn, shipbob.SettingClientID: "crossdock-app", shipbob.SettingBaseURL: o.url,
		shipbob.SettingTokenURL: o.url + "/connect/token", shipbob.SettingAuthorizeURL: o.url + "/connect/authorize", shipbob.SettingChannel: "100101"}
}

// signIn goes through ShipBob's sign-in page as a person would (the twin
// allows at once) and trades the code, over HTTP.
func (o oauthTwin) signIn(t *testing.T) connectors.Authorized {
	t.Helper()
	k := shipbob.Kind()
	const redirect = "https://console.example/connections/signed-in"
	link, err := k.SignIn.Link(o.settings(), redirect, "state-1")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(link, o.url+"/connect/authorize?"), link)
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Contains(t, strings.Fields(u.Query().Get("scope")), "offline_access", "a refresh token needs offline_access")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(link)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "state-1", back.Query().Get("state"))
	got, err := k.SignIn.Complete(t.Context(), http.DefaultClient, connectors.Conn{Settings: o.settings(),
		Secrets: map[string]string{shipbob.SecretClientSecret: "s3cret"}}, back.Query(), redirect)
	require.NoError(t, err)
	return got
}

func (o oauthTwin) client(t *testing.T, k connectors.TokenKeeper) *shipbob.Client {
	t.Helper()
	cl, err := shipbob.ClientFor(connectors.Conn{Settings: o.settings(), Secrets: map[string]string{shipbob.SecretClientSecret: "s3cret"}}, http.DefaultClient)
	require.NoError(t, err)
	cl.KeepTokensWith(k)
	return cl
}

func TestShipBobSignInRoundTripStoresEveryRotation(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	got := o.signIn(t)
	first := connectors.StoredToken(got.Secrets).Token
	require.True(t, o.twin.ValidRefreshToken(first))
	require.Contains(t, got.Settings[shipbob.SettingScopes], "orders_write")
	require.True(t, shipbob.Kind().SignIn.SignedIn(got.Settings))

	keep := &memKeeper{t: connectors.RefreshToken{Token: first}}
	cl := o.client(t, keep)
	_, err := cl.Channels(t.Context())
	require.NoError(t, err)
	second := keep.token()
	require.NotEqual(t, first, second, "the refresh rotated the token and it was stored")
	require.False(t, o.twin.ValidRefreshToken(first), "ShipBob killed the used one")
	require.True(t, o.twin.ValidRefreshToken(second))

	// An hour later the access token is dead: the call refreshes once and
	// stores the next token.
	o.twin.ExpireAccessTokens()
	_, err = cl.Channels(t.Context())
	require.NoError(t, err)
	require.NotEqual(t, second, keep.token())
	require.True(t, o.twin.ValidRefreshToken(keep.token()))
	require.Equal(t, 2, o.twin.Refreshes())

	// Test connection shows what the sign-in was granted.
	res := shipbob.Kind().Check(t.Context(), cl)
	var scopes string
	for _, l := range res.Lines {
		if l.Label == "Scopes granted" {
			scopes = l.Value
		}
	}
	require.Contains(t, scopes, "orders_write, ", res.Lines)
	require.Contains(t, scopes, "offline_access")
}

// Two replicas refresh at once, again and again: ShipBob kills each used
// token, yet every call succeeds and the stored token is always live.
func TestShipBobTwoRefreshersAtOnceLoseNoToken(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	keep := &memKeeper{t: connectors.RefreshToken{Token: connectors.StoredToken(o.signIn(t).Secrets).Token}}
	a, b := o.client(t, keep), o.client(t, keep)
	for range 8 {
		o.twin.ExpireAccessTokens()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, cl := range []*shipbob.Client{a, b} {
			wg.Go(func() { _, errs[i] = cl.Channels(context.Background()) })
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.True(t, o.twin.ValidRefreshToken(keep.token()), "the stored token is the live one")
	}
}

// A replica refreshed and died before it saved: ShipBob rotated, the store
// did not, and the stored token is dead. The call fails saying to sign in
// again (nothing else can bring the token back); signing in again recovers.
func TestShipBobCrashBetweenRefreshAndSave(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	kept := connectors.StoredToken(o.signIn(t).Secrets).Token
	keep := &memKeeper{t: connectors.RefreshToken{Token: kept}}
	_, err := shipbob.RefreshGrant(t.Context(), http.DefaultClient, o.url+"/connect/token", "crossdock-app", "s3cret", kept)
	require.NoError(t, err, "the crashed replica's refresh")
	require.Equal(t, kept, keep.token(), "nothing was saved")

	cl := o.client(t, keep)
	_, err = cl.Channels(t.Context())
	require.Error(t, err)
	msg, _ := shipbob.Explain(err)
	require.Contains(t, msg, "Press Connect to ShipBob on the connection and sign in again")

	keep.t = connectors.StoredToken(o.signIn(t).Secrets)
	_, err = o.client(t, keep).Channels(t.Context())
	require.NoError(t, err, "signed in again, the connection works")
}

func TestShipBobSignInRefusedOrWithoutOfflineAccess(t *testing.T) {
	t.Parallel()
	o := newOAuthTwin(t)
	k := shipbob.Kind()
	_, err := k.SignIn.Complete(t.Context(), http.DefaultClient, connectors.Conn{Settings: o.settings(),
		Secrets: map[string]string{shipbob.SecretClientSecret: "s3cret"}}, url.Values{"code": {"made-up"}}, "https://console.example/connections/signed-in")
	require.Error(t, err)
	require.Contains(t, err.Error(), "sign in again", "a code ShipBob does not know")
	_, err = k.SignIn.Link(map[string]string{shipbob.SettingAuth: shipbob.AuthSignIn}, "https://console.example/cb", "s")
	require.ErrorContains(t, err, "client id")
	require.False(t, k.SignIn.Applies(map[string]string{shipbob.SettingAuth: shipbob.AuthToken}), "a personal access token does not sign in")
}
