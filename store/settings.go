package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// Setting reads an installation-wide setting into out; ErrNotFound when unset.
func (q q) Setting(ctx context.Context, key string, out any) error {
	var raw []byte
	if err := sqlxGet(ctx, q, &raw, `SELECT value FROM app_settings WHERE key = $1`, key); err != nil {
		return fmt.Errorf("store: setting %s: %w", key, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("store: setting %s: %w", key, err)
	}
	return nil
}

// InsertSetting stores a setting that must not exist yet; ErrConflict if it does.
func (q q) InsertSetting(ctx context.Context, key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("store: setting %s: %w", key, err)
	}
	_, err = q.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)`, key, b)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: setting %s: %w", key, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: setting %s: %w", key, err)
	}
	return nil
}

// UpdateSetting replaces the value of an existing setting; ErrNotFound if unset.
func (q q) UpdateSetting(ctx context.Context, key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("store: setting %s: %w", key, err)
	}
	res, err := q.ext.ExecContext(ctx, `UPDATE app_settings SET value = $2, updated_at = now() WHERE key = $1`, key, b)
	if err != nil {
		return fmt.Errorf("store: setting %s: %w", key, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: setting %s: %w", key, ErrNotFound)
	}
	return nil
}
