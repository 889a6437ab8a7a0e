package connectors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RefreshToken is an OAuth connection's refresh token as Crossdock keeps it:
// the newest one and the one before it. Systems that rotate refresh tokens
// (QuickBooks Online) honour the previous one for a while after issuing a
// new one, so keeping it makes a crash between a refresh and its save
// survivable.
type RefreshToken struct {
	Token    string
	Previous string
	// HardExpiresAt is when the authorisation ends whatever the refreshes
	// (zero when the system did not say): a person must connect again by then.
	HardExpiresAt time.Time
}

// TokenKeeper stores the refresh token of one connection, sealed. The engine
// provides it (connectors cannot reach the store); a client that rotates
// tokens calls it on every refresh.
type TokenKeeper interface {
	// LoadToken reads the newest stored refresh token.
	LoadToken(ctx context.Context) (RefreshToken, error)
	// SwapToken replaces the stored token old with next, atomically: false
	// when the stored token is no longer old (another replica refreshed
	// first), in which case nothing is written.
	SwapToken(ctx context.Context, old string, next RefreshToken) (bool, error)
}

// KeepsTokens is a client whose refresh tokens rotate: the engine hands it
// the keeper of its connection once built.
type KeepsTokens interface {
	KeepTokensWith(TokenKeeper)
}

// The secrets an OAuth connection keeps its refresh token in.
const (
	SecretRefreshToken  = "refresh_token"
	SecretPreviousToken = "previous_refresh_token"
	SecretHardExpiresAt = "refresh_token_hard_expires_at" // RFC 3339
)

// StoredToken reads the refresh token kept in a connection's secrets.
func StoredToken(secrets map[string]string) RefreshToken {
	t := RefreshToken{Token: secrets[SecretRefreshToken], Previous: secrets[SecretPreviousToken]}
	t.HardExpiresAt, _ = time.Parse(time.RFC3339, secrets[SecretHardExpiresAt])
	return t
}

// TokenSecrets are the secrets that keep t: an empty value removes one.
func TokenSecrets(t RefreshToken) map[string]string {
	out := map[string]string{SecretRefreshToken: t.Token, SecretPreviousToken: t.Previous}
	if !t.HardExpiresAt.IsZero() {
		out[SecretHardExpiresAt] = t.HardExpiresAt.UTC().Format(time.RFC3339)
	}
	return out
}

// Grant is what an OAuth token endpoint answered.
type Grant struct {
	AccessToken, RefreshToken string
	// ExpiresAt is when the access token ends; HardExpiresAt when the
	// authorisation ends whatever the refreshes (zero when not said).
	ExpiresAt, HardExpiresAt time.Time
	// Scope is the space-separated scopes granted, when the system says.
	Scope string
}

// ErrNoRefreshToken is a TokenSource's error before anyone signed in.
var ErrNoRefreshToken = errors.New("no refresh token saved yet")

// TokenSource keeps an OAuth access token fresh from a refresh token that
// rotates: every refresh answers a new refresh token, which is stored at
// once through the connection's TokenKeeper, by compare-and-swap.
//
// Rotation safety. The stored token is read before each refresh (another
// replica may have rotated it), and the new one replaces it only if it is
// still the one used, so two replicas refreshing at once never write an
// older token over a newer one. When the system refuses the token used,
// the one kept before it is tried (QuickBooks honours it for a day), then
// the store is read again for a while: a replica that refreshed a moment
// earlier is saving its successor (ShipBob kills a used token at once).
type TokenSource struct {
	// Refresh trades a refresh token at the system's token endpoint.
	Refresh func(ctx context.Context, refreshToken string) (Grant, error)
	// Refused reports whether an error of Refresh is the system refusing
	// the refresh token (invalid_grant).
	Refused func(error) bool
	// Initial is the refresh token the connection was saved with; the
	// keeper, once given, is read instead.
	Initial string
	// Now is the clock (time.Now when nil); Early is how long before its
	// end an access token is renewed [1 min].
	Now   func() time.Time
	Early time.Duration
	// Reread and RereadEvery bound the wait for another replica's save
	// after a refusal [5 × 200 ms].
	Reread      int
	RereadEvery time.Duration

	mu       sync.Mutex // guards the tokens below and serialises refreshes
	access   string
	expires  time.Time
	refresh  string
	scope    string
	hardEnds time.Time
	keeper   TokenKeeper
}

// KeepTokensWith makes the source read and store its refresh tokens
// through k (KeepsTokens).
func (s *TokenSource) KeepTokensWith(k TokenKeeper) {
	s.mu.Lock()
	s.keeper = k
	s.mu.Unlock()
}

func (s *TokenSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Token returns a valid access token, refreshing it when it is (about to
// be) expired.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access != "" && s.now().Before(s.expires) {
		return s.access, nil
	}
	return s.refreshLocked(ctx)
}

// Forget drops an access token the system refused, so the next Token
// refreshes.
func (s *TokenSource) Forget(token string) {
	s.mu.Lock()
	if s.access == token {
		s.access = ""
	}
	s.mu.Unlock()
}

// Scope is the scopes the last refresh granted ("" before one, or when the
// system did not say).
func (s *TokenSource) Scope() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scope
}

// HardExpiresAt is when the authorisation ends whatever the refreshes.
func (s *TokenSource) HardExpiresAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hardEnds
}

func (s *TokenSource) load(ctx context.Context) (RefreshToken, error) {
	if s.keeper == nil {
		return RefreshToken{Token: cmp.Or(s.refresh, s.Initial)}, nil
	}
	t, err := s.keeper.LoadToken(ctx)
	if err != nil {
		return RefreshToken{}, fmt.Errorf("read the stored refresh token: %w", err)
	}
	return t, nil
}

func (s *TokenSource) refreshLocked(ctx context.Context) (string, error) {
	stored, err := s.load(ctx)
	if err != nil {
		return "", err
	}
	if stored.Token == "" {
		return "", ErrNoRefreshToken
	}
	used := stored.Token
	g, err := s.Refresh(ctx, used)
	if err != nil && s.Refused(err) && stored.Previous != "" && stored.Previous != used {
		used = stored.Previous
		g, err = s.Refresh(ctx, used)
	}
	for range cmp.Or(s.Reread, 5) {
		if err == nil || !s.Refused(err) || s.keeper == nil {
			break
		}
		// Another replica may have used this token a moment ago and be
		// saving its successor: read the store again before giving up.
		t := time.NewTimer(cmp.Or(s.RereadEvery, 200*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", err
		case <-t.C:
		}
		again, lerr := s.load(ctx)
		if lerr != nil {
			return "", lerr
		}
		if again.Token == "" || again.Token == stored.Token {
			continue
		}
		stored, used = again, again.Token
		g, err = s.Refresh(ctx, used)
	}
	if err != nil {
		return "", err
	}
	next := RefreshToken{Token: cmp.Or(g.RefreshToken, used), Previous: used, HardExpiresAt: g.HardExpiresAt}
	if next.HardExpiresAt.IsZero() {
		next.HardExpiresAt = stored.HardExpiresAt
	}
	if s.keeper != nil && next.Token != stored.Token {
		// A failed or lost swap does not fail the call: the access token is
		// good. (A system that kills the used token at once then needs a
		// person to sign in again; the failure says so.)
		_, _ = s.keeper.SwapToken(ctx, stored.Token, next)
	}
	s.access, s.refresh, s.hardEnds = g.AccessToken, next.Token, next.HardExpiresAt
	if g.Scope != "" {
		s.scope = g.Scope
	}
	s.expires = g.ExpiresAt.Add(-cmp.Or(s.Early, time.Minute))
	return g.AccessToken, nil
}
