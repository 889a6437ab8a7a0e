package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"crossdock/connectors"
	"crossdock/connectors/quickbooks"
	"crossdock/store"
	"crossdock/vocab"
)

// Signing a QuickBooks connection in (OAuth 2.0 authorization code): the
// console sends the person to Intuit's sign-in page with AuthorizeLink;
// Intuit sends them back with a code and the company's realmId, which
// CompleteAuthorization trades for the first tokens and keeps, sealed.

// ErrNoSignIn is returned for a connection whose kind has no sign-in.
var ErrNoSignIn = errors.New("this kind of connection is not connected by signing in")

// AuthorizeLink is the page a person signs in on to connect connection id,
// coming back to redirectURI with state.
func (e *Engine) AuthorizeLink(ctx context.Context, id int64, redirectURI, state string) (string, error) {
	c, err := e.st.ConnectionByID(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Kind != vocab.KindQuickBooks {
		return "", ErrNoSignIn
	}
	if c.Settings[quickbooks.FieldClientID] == "" {
		return "", errors.New("enter the app's client id and client secret first (Edit), then connect")
	}
	return quickbooks.AuthorizeLink(c.Settings[quickbooks.FieldAuthorizeURL], c.Settings[quickbooks.FieldClientID], redirectURI, state), nil
}

// CompleteAuthorization trades the code Intuit sent back for the first
// tokens and keeps them with the company's id. Its errors are sentences.
func (e *Engine) CompleteAuthorization(ctx context.Context, a store.Actor, id int64, code, realmID, redirectURI string) (store.Connection, error) {
	c, err := e.st.ConnectionByID(ctx, id)
	if err != nil {
		return store.Connection{}, err
	}
	if c.Kind != vocab.KindQuickBooks {
		return store.Connection{}, ErrNoSignIn
	}
	if code == "" || realmID == "" || len(code) > 512 || len(realmID) > 32 {
		return store.Connection{}, errors.New("QuickBooks sent no usable authorization back; press Connect to QuickBooks again")
	}
	if cur := c.Settings[quickbooks.FieldRealmID]; cur != "" && cur != realmID {
		return store.Connection{}, fmt.Errorf("you signed in to another QuickBooks company (%s) than the one this connection is for (%s); add a new connection for it, or sign in to company %s", realmID, cur, cur)
	}
	sec, err := store.ConnectionSecrets(e.box, c)
	if err != nil {
		return store.Connection{}, errors.New("the saved credentials cannot be opened (was the secret key changed?); enter the client secret again (Edit)")
	}
	actx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	t, err := quickbooks.ExchangeCode(actx, e.httpClientFor(c), c.Settings[quickbooks.FieldTokenURL], c.Settings[quickbooks.FieldClientID],
		sec[quickbooks.FieldClientSecret], code, redirectURI)
	if err != nil {
		s, _ := quickbooks.Explain(err)
		return store.Connection{}, errors.New(s)
	}
	kept := connectors.TokenSecrets(connectors.RefreshToken{Token: t.RefreshToken, HardExpiresAt: t.HardExpiresAt()})
	return e.st.AuthorizeConnection(ctx, a, e.box, id, map[string]string{quickbooks.FieldRealmID: realmID}, kept)
}

// ReconnectBy is when a signed-in connection's authorisation ends whatever
// its refreshes (QuickBooks' 5-year limit): a person must connect again by
// then. ok is false when unknown.
func (e *Engine) ReconnectBy(ctx context.Context, id int64) (time.Time, bool) {
	c, err := e.st.ConnectionByID(ctx, id)
	if err != nil || c.Kind != vocab.KindQuickBooks {
		return time.Time{}, false
	}
	sec, err := store.ConnectionSecrets(e.box, c)
	if err != nil {
		return time.Time{}, false
	}
	t := connectors.StoredToken(sec).HardExpiresAt
	return t, !t.IsZero()
}

// SignsIn reports whether connections of a kind are connected by signing
// in to their system.
func (e *Engine) SignsIn(kind vocab.Kind) bool { return kind == vocab.KindQuickBooks }
