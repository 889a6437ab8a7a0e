package engine

import (
	"context"
	"errors"
	"net/url"
	"time"

	"crossdock/connectors"
	"crossdock/store"
)

// Signing a connection in (OAuth 2.0 authorization code), for every kind
// that offers it (connectors.Kind.SignIn: QuickBooks Online, ShipBob): the
// console sends the person to the system's sign-in page with
// AuthorizeLink; the system sends them back with a code (QuickBooks adds
// the company's realmId), which CompleteAuthorization trades for the first
// tokens and keeps, sealed.

// ErrNoSignIn is returned for a connection that is not connected by
// signing in.
var ErrNoSignIn = errors.New("this connection is not connected by signing in")

// signInOf returns a connection and its kind's sign-in, when it signs in.
func (e *Engine) signInOf(ctx context.Context, id int64) (store.Connection, *connectors.SignIn, error) {
	c, err := e.st.ConnectionByID(ctx, id)
	if err != nil {
		return store.Connection{}, nil, err
	}
	k, ok := e.kinds.Kind(c.Kind)
	if !ok || !k.SignIn.Applies(c.Settings) {
		return c, nil, ErrNoSignIn
	}
	return c, k.SignIn, nil
}

// AuthorizeLink is the page a person signs in on to connect connection id,
// coming back to redirectURI with state.
func (e *Engine) AuthorizeLink(ctx context.Context, id int64, redirectURI, state string) (string, error) {
	c, si, err := e.signInOf(ctx, id)
	if err != nil {
		return "", err
	}
	return si.Link(c.Settings, redirectURI, state)
}

// CompleteAuthorization trades what the system sent back (the callback's
// query: its code, QuickBooks' realmId) for the first tokens and keeps
// them. Its errors are sentences. It also says what was connected.
func (e *Engine) CompleteAuthorization(ctx context.Context, a store.Actor, id int64, back url.Values, redirectURI string) (store.Connection, string, error) {
	c, si, err := e.signInOf(ctx, id)
	if err != nil {
		return store.Connection{}, "", err
	}
	sec, err := store.ConnectionSecrets(e.box, c)
	if err != nil {
		return store.Connection{}, "", errors.New("the saved credentials cannot be opened (was the secret key changed?); enter the client secret again (Edit)")
	}
	actx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	got, err := si.Complete(actx, e.httpClientFor(c), connectors.Conn{ID: c.ID, Name: c.Name, Settings: c.Settings, Secrets: sec}, back, redirectURI)
	if err != nil {
		return store.Connection{}, "", err
	}
	conn, err := e.st.AuthorizeConnection(ctx, a, e.box, id, got.Settings, got.Secrets)
	if err != nil {
		return store.Connection{}, "", err
	}
	return conn, si.Connected(conn.Settings), nil
}

// ReconnectBy is when a signed-in connection's authorisation ends whatever
// its refreshes (QuickBooks' 5-year limit): a person must connect again by
// then. ok is false when unknown.
func (e *Engine) ReconnectBy(ctx context.Context, id int64) (time.Time, bool) {
	c, _, err := e.signInOf(ctx, id)
	if err != nil {
		return time.Time{}, false
	}
	sec, err := store.ConnectionSecrets(e.box, c)
	if err != nil {
		return time.Time{}, false
	}
	t := connectors.StoredToken(sec).HardExpiresAt
	return t, !t.IsZero()
}

// SignsIn reports whether a connection is connected by signing in to its
// system, and whether it has been.
func (e *Engine) SignsIn(c store.Connection) (signsIn, signedIn bool) {
	k, ok := e.kinds.Kind(c.Kind)
	if !ok || !k.SignIn.Applies(c.Settings) {
		return false, false
	}
	return true, k.SignIn.SignedIn(c.Settings)
}
