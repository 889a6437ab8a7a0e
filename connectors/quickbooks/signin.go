package quickbooks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"crossdock/connectors"
)

// signIn connects a QuickBooks company by signing in at Intuit: Intuit
// sends the person back with a code and the company's realmId, which are
// traded for the first tokens and kept.
func signIn() *connectors.SignIn {
	return &connectors.SignIn{
		Link: func(s map[string]string, redirectURI, state string) (string, error) {
			if s[FieldClientID] == "" {
				return "", errors.New("enter the app's client id and client secret first (Edit), then connect")
			}
			return AuthorizeLink(s[FieldAuthorizeURL], s[FieldClientID], redirectURI, state), nil
		},
		Complete: func(ctx context.Context, hc *http.Client, c connectors.Conn, back url.Values, redirectURI string) (connectors.Authorized, error) {
			code, realmID := back.Get("code"), back.Get("realmId")
			if code == "" || realmID == "" || len(code) > 512 || len(realmID) > 32 {
				return connectors.Authorized{}, errors.New("QuickBooks sent no usable authorization back; press Connect to QuickBooks again")
			}
			if cur := c.Settings[FieldRealmID]; cur != "" && cur != realmID {
				return connectors.Authorized{}, fmt.Errorf("you signed in to another QuickBooks company (%s) than the one this connection is for (%s); add a new connection for it, or sign in to company %s", realmID, cur, cur)
			}
			t, err := ExchangeCode(ctx, hc, c.Settings[FieldTokenURL], c.Settings[FieldClientID], c.Secrets[FieldClientSecret], code, redirectURI)
			if err != nil {
				s, _ := Explain(err)
				return connectors.Authorized{}, errors.New(s)
			}
			return connectors.Authorized{Settings: map[string]string{FieldRealmID: realmID},
				Secrets: connectors.TokenSecrets(connectors.RefreshToken{Token: t.RefreshToken, HardExpiresAt: t.HardExpiresAt()})}, nil
		},
		SignedIn: func(s map[string]string) bool { return s[FieldRealmID] != "" },
		Connected: func(s map[string]string) string {
			return "QuickBooks company " + cmp.Or(s[FieldRealmID], "(unknown)")
		},
	}
}
