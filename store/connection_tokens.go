package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"crossdock/store/secretbox"
)

// Some systems (QuickBooks Online) rotate their OAuth refresh tokens: every
// refresh answers a new one, and the newest must be stored each time. These
// methods change a connection's sealed secrets for that, apart from the
// form's UpdateConnection.

// SwapConnectionSecrets sets secrets of a connection (an empty value removes
// one) only if its secret field still holds old: a compare-and-swap under
// the row's lock, so two replicas refreshing at once never replace a newer
// token with an older one. It reports whether it wrote. updated_at is left
// alone, so pooled clients are kept (they read the newest token before each
// refresh), and no audit entry is written: a rotation is the system's
// routine, hourly, not a person's change.
func (s *Store) SwapConnectionSecrets(ctx context.Context, box *secretbox.Box, id int64, field, old string, set map[string]string) (bool, error) {
	if box == nil {
		return false, ErrNoSecretBox
	}
	swapped := false
	err := s.InTx(ctx, func(tx *Tx) error {
		var c Connection
		if err := sqlxGet(ctx, tx.q, &c, `SELECT `+connectionColumns+` FROM connections WHERE id = $1 FOR UPDATE`, id); err != nil {
			return fmt.Errorf("store: connection %d: %w", id, err)
		}
		cur, err := openSecrets(box, c)
		if err != nil {
			return err
		}
		if cur[field] != old {
			return nil
		}
		for k, v := range set {
			if v == "" {
				delete(cur, k)
			} else {
				cur[k] = v
			}
		}
		plain, _ := json.Marshal(cur)
		if _, err := tx.q.ext.ExecContext(ctx, `UPDATE connections SET secrets = $2 WHERE id = $1`, id, box.Seal(plain, sealContext(id))); err != nil {
			return fmt.Errorf("store: swap connection %d secrets: %w", id, err)
		}
		swapped = true
		return nil
	})
	return swapped, err
}

// AuthorizeConnection keeps what a person's OAuth sign-in gave a connection:
// settings (the company id) and secrets (the tokens) merged into what it
// has, audited as "connected". Pooled clients are rebuilt (updated_at moves).
func (s *Store) AuthorizeConnection(ctx context.Context, a Actor, box *secretbox.Box, id int64, settings, secrets map[string]string) (Connection, error) {
	if box == nil {
		return Connection{}, ErrNoSecretBox
	}
	var after Connection
	err := s.InTx(ctx, func(tx *Tx) error {
		var before Connection
		if err := sqlxGet(ctx, tx.q, &before, `SELECT `+connectionColumns+` FROM connections WHERE id = $1 FOR UPDATE`, id); err != nil {
			return fmt.Errorf("store: connection %d: %w", id, err)
		}
		if err := before.decode(); err != nil {
			return err
		}
		cur, err := openSecrets(box, before)
		if err != nil {
			return err
		}
		maps.Copy(cur, dropEmpty(secrets))
		st := maps.Clone(before.Settings)
		maps.Copy(st, dropEmpty(settings))
		plainSettings, _ := json.Marshal(st)
		plain, _ := json.Marshal(cur)
		if err := sqlxGet(ctx, tx.q, &after, `UPDATE connections SET settings = $2, secrets = $3, secrets_changed_at = now(), updated_at = now()
WHERE id = $1 RETURNING `+connectionColumns, id, plainSettings, box.Seal(plain, sealContext(id))); err != nil {
			return fmt.Errorf("store: authorize connection %d: %w", id, err)
		}
		if err := after.decode(); err != nil {
			return err
		}
		changed := slices.Sorted(maps.Keys(dropEmpty(secrets)))
		return tx.Audit(ctx, a, Change{Action: "connection.authorized", ObjectType: "connection", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Connected %q by signing in (new %s)", after.Name, strings.Join(changed, ", ")),
			Before:  auditConnection(before, nil), After: auditConnection(after, changed)})
	})
	return after, err
}

// AuthorizeConnection is Store.AuthorizeConnection with the vault's key.
func (v *Vault) AuthorizeConnection(ctx context.Context, a Actor, id int64, settings, secrets map[string]string) (Connection, error) {
	return v.Store.AuthorizeConnection(ctx, a, v.box, id, settings, secrets)
}
