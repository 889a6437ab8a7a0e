package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

const pseudonymKeySetting = "pseudonym_key"

// PseudonymKey is the installation's key for pseudonymising people in test
// environments (mask.Pseudonym): made once, at random, kept in the
// settings, so the same real customer becomes the same fake one in every
// rehearsal. It never leaves the database.
func (q q) PseudonymKey(ctx context.Context) ([]byte, error) {
	var h string
	err := q.Setting(ctx, pseudonymKeySetting, &h)
	if errors.Is(err, ErrNotFound) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("store: pseudonym key: %w", err)
		}
		// Two replicas making one at once: the first stored wins, both read it.
		if _, err := q.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, to_jsonb($2::text)) ON CONFLICT (key) DO NOTHING`,
			pseudonymKeySetting, hex.EncodeToString(b)); err != nil {
			return nil, fmt.Errorf("store: pseudonym key: %w", err)
		}
		err = q.Setting(ctx, pseudonymKeySetting, &h)
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(h)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("store: pseudonym key is damaged; delete the %q setting to make a new one", pseudonymKeySetting)
	}
	return key, nil
}

// ProductionCustomers lists up to limit customers Crossdock knows in
// production systems (their catalogue records), by id: who a test
// environment's fake people stand in for.
func (q q) ProductionCustomers(ctx context.Context, limit int) ([]string, error) {
	var out []string
	if err := sqlxSelect(ctx, q, &out, `SELECT r.connection_id || ':' || r.external_id FROM external_records r
JOIN connections c ON c.id = r.connection_id
WHERE c.environment = 'production' AND r.entity_type = 'customer' AND r.deleted_at IS NULL
ORDER BY r.connection_id, r.external_id LIMIT $1`, limit); err != nil {
		return nil, fmt.Errorf("store: production customers: %w", err)
	}
	return out, nil
}
