package shipbob

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"crossdock/connectors"
)

// Signing in to ShipBob (OAuth 2.0 authorization code, the only flow
// ShipBob offers apps): the person is sent to AuthorizeURL, comes back
// with a code, and the code is traded at TokenURL for an access token (one
// hour) and, with the offline_access scope, a refresh token (30 days
// unused) that ROTATES: every refresh answers a new one and the used one
// dies. A personal access token remains the other way to connect.
const (
	AuthorizeURL = "https://auth.shipbob.com/connect/authorize"
	TokenURL     = "https://auth.shipbob.com/connect/token"
)

// Settings and secrets of a connection that signs in.
const (
	// SettingAuth chooses how the connection reaches ShipBob.
	SettingAuth = "auth"
	// SettingClientID and SecretClientSecret are the app's, from ShipBob.
	SettingClientID    = "oauth_client_id"
	SecretClientSecret = "oauth_client_secret"
	// SettingScopes are the scopes the sign-in granted, as ShipBob said.
	SettingScopes       = "oauth_scopes"
	SettingAuthorizeURL = "oauth_authorize_url"
	SettingTokenURL     = "oauth_token_url"
)

// The two ways to connect (SettingAuth's options).
const (
	AuthToken  = "personal access token"
	AuthSignIn = "sign in to ShipBob"
)

// Scopes are what Crossdock asks for: the channels (to find the one that
// writes), orders and their shipments, stock, returns, webhooks, and
// offline_access for a refresh token.
var Scopes = []string{"channels_read", "orders_read", "orders_write", "fulfillments_read", "inventory_read",
	"returns_read", "returns_write", "webhooks_read", "webhooks_write", "offline_access"}

// SignsIn reports whether a connection's settings choose signing in.
func SignsIn(settings map[string]string) bool { return settings[SettingAuth] == AuthSignIn }

// AuthorizeLink is ShipBob's sign-in page for an app, coming back to
// redirectURI with state.
func AuthorizeLink(authorizeURL, clientID, redirectURI, state string) string {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {strings.Join(Scopes, " ")}, "state": {state}}
	return cmp.Or(strings.TrimSpace(authorizeURL), AuthorizeURL) + "?" + q.Encode()
}

// ExchangeCode trades the code ShipBob sent back for the first tokens.
func ExchangeCode(ctx context.Context, hc *http.Client, tokenURL, clientID, clientSecret, code, redirectURI string) (connectors.Grant, error) {
	return tokenCall(ctx, hc, tokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"client_id": {clientID}, "client_secret": {clientSecret}})
}

// RefreshGrant trades a refresh token for new tokens (and a new refresh
// token: the one sent dies).
func RefreshGrant(ctx context.Context, hc *http.Client, tokenURL, clientID, clientSecret, refreshToken string) (connectors.Grant, error) {
	return tokenCall(ctx, hc, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"client_id": {clientID}, "client_secret": {clientSecret}})
}

// tokenCall posts a form to the token endpoint (client credentials in the
// body, as ShipBob's identity server takes them) and reads its answer: the
// tokens, or RFC 6749's {"error","error_description"}.
func tokenCall(ctx context.Context, hc *http.Client, tokenURL string, form url.Values) (connectors.Grant, error) {
	const path = "/connect/token"
	tokenURL = cmp.Or(strings.TrimSpace(tokenURL), TokenURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return connectors.Grant{}, &Error{Kind: KindProtocol, Method: http.MethodPost, Path: path, SignIn: true, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	now := time.Now()
	res, err := cmp.Or(hc, http.DefaultClient).Do(req)
	if err != nil {
		return connectors.Grant{}, &Error{Kind: KindTransient, Method: http.MethodPost, Path: path, SignIn: true, Err: err,
			Message: "ShipBob's sign-in service could not be reached"}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		return connectors.Grant{}, &Error{Kind: KindTransient, Method: http.MethodPost, Path: path, Status: res.StatusCode, SignIn: true, Err: err}
	}
	var t struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
		Scope        string `json:"scope"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &t)
	if res.StatusCode != http.StatusOK || t.Error != "" {
		e := &Error{Status: res.StatusCode, Method: http.MethodPost, Path: path, SignIn: true, Code: t.Error, Body: body[:min(len(body), maxEvidence)],
			Message: strings.TrimSpace(cmp.Or(t.Description, t.Error))}
		switch {
		case t.Error == "invalid_grant" || t.Error == "invalid_client" || t.Error == "unauthorized_client" ||
			res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
			e.Kind = KindAuth
		case res.StatusCode == http.StatusTooManyRequests:
			e.Kind, e.RetryAfter = KindThrottled, retryAfter(res.Header, e.Message)
		case res.StatusCode >= 500:
			e.Kind = KindTransient
		default:
			e.Kind = KindValidation
		}
		return connectors.Grant{}, e
	}
	if jerr != nil || t.AccessToken == "" {
		return connectors.Grant{}, &Error{Kind: KindProtocol, Status: res.StatusCode, Method: http.MethodPost, Path: path, SignIn: true,
			Body: body[:min(len(body), maxEvidence)], Message: "the sign-in service's answer has no access token", Err: jerr}
	}
	return connectors.Grant{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Scope: t.Scope,
		ExpiresAt: now.Add(time.Duration(cmp.Or(t.ExpiresIn, 3600)) * time.Second)}, nil
}

// tokenSource keeps a signed-in connection's access token fresh; its
// refresh token rotates and is stored through the engine's keeper.
func tokenSource(hc *http.Client, tokenURL, clientID, clientSecret, refreshToken string) *connectors.TokenSource {
	return &connectors.TokenSource{Initial: refreshToken,
		Refresh: func(ctx context.Context, refresh string) (connectors.Grant, error) {
			return RefreshGrant(ctx, hc, tokenURL, clientID, clientSecret, refresh)
		},
		Refused: func(err error) bool {
			var se *Error
			return errors.As(err, &se) && se.Kind == KindAuth
		}}
}

// signIn is ShipBob's sign-in as the connectors registry offers it.
func signIn() *connectors.SignIn {
	return &connectors.SignIn{
		Uses: SignsIn,
		Link: func(s map[string]string, redirectURI, state string) (string, error) {
			if strings.TrimSpace(s[SettingClientID]) == "" {
				return "", errors.New("enter the app's client id and client secret first (Edit), then connect")
			}
			return AuthorizeLink(s[SettingAuthorizeURL], strings.TrimSpace(s[SettingClientID]), redirectURI, state), nil
		},
		Complete: func(ctx context.Context, hc *http.Client, c connectors.Conn, back url.Values, redirectURI string) (connectors.Authorized, error) {
			code := back.Get("code")
			if code == "" || len(code) > 1024 {
				return connectors.Authorized{}, errors.New("ShipBob sent no usable authorization back; press Connect to ShipBob again")
			}
			g, err := ExchangeCode(ctx, hc, c.Settings[SettingTokenURL], strings.TrimSpace(c.Settings[SettingClientID]), c.Secrets[SecretClientSecret], code, redirectURI)
			if err != nil {
				s, _ := Explain(err)
				return connectors.Authorized{}, errors.New(strings.TrimSuffix(s, "."))
			}
			if g.RefreshToken == "" {
				return connectors.Authorized{}, errors.New("ShipBob gave no refresh token (the offline_access scope was not granted), so Crossdock could only work for an hour; allow offline access when you sign in")
			}
			return connectors.Authorized{Settings: map[string]string{SettingScopes: cmp.Or(g.Scope, strings.Join(Scopes, " "))},
				Secrets: connectors.TokenSecrets(connectors.RefreshToken{Token: g.RefreshToken})}, nil
		},
		SignedIn:  func(s map[string]string) bool { return s[SettingScopes] != "" },
		Connected: func(map[string]string) string { return "your ShipBob account" },
	}
}

// scopeList is a space-separated scope string as a list for people.
func scopeList(scope string) string {
	f := strings.Fields(scope)
	if len(f) == 0 {
		return ""
	}
	return fmt.Sprint(strings.Join(f, ", "))
}
