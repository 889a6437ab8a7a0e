package store

import (
	"context"
	"fmt"
	"time"
)

// SessionRow is a signed-in browser session, kept server-side.
type SessionRow struct {
	ID        string    `db:"id"`
	UserID    int64     `db:"user_id"`
	Data      []byte    `db:"data"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// SessionByID returns an unexpired session or ErrNotFound.
func (q q) SessionByID(ctx context.Context, id string) (SessionRow, error) {
	var s SessionRow
	err := sqlxGet(ctx, q, &s, `SELECT id, user_id, data, created_at, expires_at FROM sessions WHERE id = $1 AND expires_at > now()`, id)
	if err != nil {
		return SessionRow{}, fmt.Errorf("store: session: %w", err)
	}
	return s, nil
}

// SaveSession inserts or updates a session.
func (q q) SaveSession(ctx context.Context, s SessionRow) error {
	_, err := q.ext.ExecContext(ctx, `INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at`, s.ID, s.UserID, s.Data, s.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: save session: %w", err)
	}
	return nil
}

// DeleteSession ends one session.
func (q q) DeleteSession(ctx context.Context, id string) error {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (q q) DeleteUserSessions(ctx context.Context, userID int64) error {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: delete user sessions: %w", err)
	}
	return nil
}

// PruneSessions deletes expired sessions and sign-in throttles quiet for a day.
func (q q) PruneSessions(ctx context.Context) error {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < now()`); err != nil {
		return fmt.Errorf("store: prune sessions: %w", err)
	}
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM login_throttles
WHERE updated_at < now() - interval '1 day' AND (blocked_until IS NULL OR blocked_until < now())`); err != nil {
		return fmt.Errorf("store: prune sign-in throttles: %w", err)
	}
	return nil
}
