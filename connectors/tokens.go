package connectors

import (
	"context"
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
