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

// PruneSessions deletes expired sessions and old sign-in failures.
func (q q) PruneSessions(ctx context.Context) error {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < now()`); err != nil {
		return fmt.Errorf("store: prune sessions: %w", err)
	}
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM login_failures WHERE at < now() - interval '1 day'`); err != nil {
		return fmt.Errorf("store: prune login failures: %w", err)
	}
	return nil
}

// RecordLoginFailure notes a failed sign-in for throttling.
func (q q) RecordLoginFailure(ctx context.Context, email, ip string) error {
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO login_failures (email, ip) VALUES (lower($1), $2)`, email, ip); err != nil {
		return fmt.Errorf("store: record login failure: %w", err)
	}
	return nil
}

// LoginFailures counts recent failed sign-ins for an email and for an address.
func (q q) LoginFailures(ctx context.Context, email, ip string, since time.Time) (byEmail, byIP int, err error) {
	row := struct {
		ByEmail int `db:"by_email"`
		ByIP    int `db:"by_ip"`
	}{}
	err = sqlxGet(ctx, q, &row, `SELECT
  (SELECT count(*) FROM login_failures WHERE lower(email) = lower($1) AND at > $3) AS by_email,
  (SELECT count(*) FROM login_failures WHERE ip = $2 AND at > $3) AS by_ip`, email, ip, since)
	if err != nil {
		return 0, 0, fmt.Errorf("store: login failures: %w", err)
	}
	return row.ByEmail, row.ByIP, nil
}

// ClearLoginFailures forgets an account's failures after a successful sign-in.
func (q q) ClearLoginFailures(ctx context.Context, email string) error {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM login_failures WHERE lower(email) = lower($1)`, email); err != nil {
		return fmt.Errorf("store: clear login failures: %w", err)
	}
	return nil
}
