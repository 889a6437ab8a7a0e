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
