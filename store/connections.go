package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// WebhookSecretField names the secret that signs incoming webhooks; changing
// it keeps the previous value valid for WebhookSecretGrace.
const WebhookSecretField = "api_secret"

// WebhookSecretGrace is how long a rotated-out webhook secret is still
// accepted: Shopify may sign with the old secret for up to an hour.
const WebhookSecretGrace = time.Hour

// Connection is one connected system.
type Connection struct {
	ID                       int64             `db:"id" json:"id"`
	Name                     string            `db:"name" json:"name"`
	Kind                     vocab.Kind        `db:"kind" json:"kind"`
	Environment              vocab.Environment `db:"environment" json:"environment"`
	Settings                 map[string]string `db:"-" json:"settings"`
	SettingsJSON             []byte            `db:"settings" json:"-"`
	Sealed                   []byte            `db:"secrets" json:"-"`
	SecretsChangedAt         *time.Time        `db:"secrets_changed_at" json:"secrets_changed_at,omitempty"`
	PreviousWebhookSecret    []byte            `db:"previous_webhook_secret" json:"-"`
	PreviousSecretValidUntil *time.Time        `db:"previous_secret_valid_until" json:"-"`
	Enabled                  bool              `db:"enabled" json:"enabled"`
	CreatedAt                time.Time         `db:"created_at" json:"-"`
	UpdatedAt                time.Time         `db:"updated_at" json:"-"`
	LastSuccessAt            *time.Time        `db:"last_success_at" json:"-"`
	LastErrorAt              *time.Time        `db:"last_error_at" json:"-"`
	LastError                string            `db:"last_error" json:"-"`
	Budget                   []byte            `db:"budget" json:"-"`
	BudgetSeenAt             *time.Time        `db:"budget_seen_at" json:"-"`
}

// IsProduction reports whether the connection is a live system.
func (c Connection) IsProduction() bool { return c.Environment == vocab.EnvProduction }

const connectionColumns = `id, name, kind, environment, settings, secrets, secrets_changed_at, previous_webhook_secret,
previous_secret_valid_until, enabled, created_at, updated_at, last_success_at, last_error_at, last_error,
budget, budget_seen_at`

func (c *Connection) decode() error {
	c.Settings = map[string]string{}
	if len(c.SettingsJSON) > 0 {
		if err := json.Unmarshal(c.SettingsJSON, &c.Settings); err != nil {
			return fmt.Errorf("store: connection %d settings: %w", c.ID, err)
		}
	}
	return nil
}

// ConnectionInput is a connection as a form submits it. Empty secrets keep
// the stored value (forms never show a secret again).
type ConnectionInput struct {
	Name        string
	Kind        vocab.Kind
	Environment vocab.Environment
	Settings    map[string]string
	Secrets     map[string]string
}

// Validate checks the fields every kind has.
func (in ConnectionInput) Validate() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	switch name := strings.TrimSpace(in.Name); {
	case name == "":
		fe["name"] = "Give the connection a name, like \"Main store\" or \"Odoo production\"."
	case utf8.RuneCountInString(name) > 80:
		fe["name"] = "Name must be at most 80 characters."
	}
	// The registry of connectors says which kinds this program offers; the
	// store refuses only a kind no connector could ever be.
	if !in.Kind.Valid() {
		fe["kind"] = "Choose the kind of system."
	}
	if in.Environment != vocab.EnvProduction && in.Environment != vocab.EnvTest {
		fe["environment"] = "Choose whether this is a production or a test system."
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func sealContext(id int64) string { return "connection:" + strconv.FormatInt(id, 10) }

// ErrNoSecretBox is returned when connection secrets are used without a key.
var ErrNoSecretBox = errors.New("store: no secret box configured")

// ErrSecretsUnreadable is returned when saved credentials cannot be opened:
// the secret key changed since they were sealed.
var ErrSecretsUnreadable = secretbox.ErrOpen

// Vault is the store with the key that seals and opens credentials
// (connection secrets, alert channel secrets, the SMTP password). It is
// built once where the program is wired, so the pages never hold the key:
// they call the Vault's methods, which take no key.
type Vault struct {
	*Store
	box *secretbox.Box
}

// NewVault returns the store with its secret box.
func NewVault(s *Store, box *secretbox.Box) *Vault { return &Vault{Store: s, box: box} }

// CreateConnection stores a new connection with its secrets sealed.
func (v *Vault) CreateConnection(ctx context.Context, a Actor, in ConnectionInput) (Connection, error) {
	return v.Store.CreateConnection(ctx, a, v.box, in)
}

// UpdateConnection changes a connection, sealing the secrets given.
func (v *Vault) UpdateConnection(ctx context.Context, a Actor, id int64, in ConnectionInput) (Connection, error) {
	return v.Store.UpdateConnection(ctx, a, v.box, id, in)
}

// ConnectionSecrets opens a connection's secrets.
func (v *Vault) ConnectionSecrets(c Connection) (map[string]string, error) {
	return openSecrets(v.box, c)
}

// SecretsSet says which of a connection's secrets are saved (none when they
// cannot be opened), for forms that never show them again.
func (v *Vault) SecretsSet(c Connection) map[string]bool {
	have := map[string]bool{}
	if s, err := openSecrets(v.box, c); err == nil {
		for k := range s {
			have[k] = true
		}
	}
	return have
}

// WebhookTargets returns a cache of the connections' webhook targets (see
// Store.NewWebhookTargets).
func (v *Vault) WebhookTargets(ttl time.Duration) *WebhookTargets {
	return v.Store.NewWebhookTargets(v.box, ttl)
}

// CreateConnection stores a new connection with its secrets sealed.
func (s *Store) CreateConnection(ctx context.Context, a Actor, box *secretbox.Box, in ConnectionInput) (Connection, error) {
	if fe := in.Validate(); fe != nil {
		return Connection{}, fe
	}
	if box == nil {
		return Connection{}, ErrNoSecretBox
	}
	settings, _ := json.Marshal(nonNil(in.Settings))
	var c Connection
	err := s.InTx(ctx, func(tx *Tx) error {
		err := sqlxGet(ctx, tx.q, &c, `INSERT INTO connections (name, kind, environment, settings)
VALUES ($1, $2, $3, $4) RETURNING `+connectionColumns, strings.TrimSpace(in.Name), in.Kind, in.Environment, settings)
		if isUniqueViolation(err) {
			return vocab.FieldErrors{"name": "Another connection already has this name."}
		}
		if err != nil {
			return fmt.Errorf("store: insert connection: %w", err)
		}
		secrets := dropEmpty(in.Secrets)
		if len(secrets) > 0 {
			plain, _ := json.Marshal(secrets)
			if err := sqlxGet(ctx, tx.q, &c, `UPDATE connections SET secrets = $2, secrets_changed_at = now() WHERE id = $1 RETURNING `+connectionColumns,
				c.ID, box.Seal(plain, sealContext(c.ID))); err != nil {
				return fmt.Errorf("store: seal connection secrets: %w", err)
			}
		}
		if err := c.decode(); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "connection.created", ObjectType: "connection", ObjectID: strconv.FormatInt(c.ID, 10),
			Summary: fmt.Sprintf("Added %s connection %q (%s)", c.Kind, c.Name, c.Environment),
			After:   auditConnection(c, slices.Sorted(maps.Keys(secrets)))})
	})
	return c, err
}

// UpdateConnection changes a connection's name, environment and settings, and
// replaces the secrets that were given. Changing the webhook secret keeps the
// previous one valid for WebhookSecretGrace.
func (s *Store) UpdateConnection(ctx context.Context, a Actor, box *secretbox.Box, id int64, in ConnectionInput) (Connection, error) {
	if fe := in.Validate(); fe != nil {
		return Connection{}, fe
	}
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
		if before.Kind != in.Kind {
			return vocab.FieldErrors{"kind": "The kind of a connection cannot change; add a new connection instead."}
		}
		current, err := openSecrets(box, before)
		if err != nil {
			return err
		}
		changed := dropEmpty(in.Secrets)
		merged := maps.Clone(current)
		maps.Copy(merged, changed)
		var prevSealed []byte
		var prevUntil *time.Time
		if old, ok := current[WebhookSecretField]; ok && changed[WebhookSecretField] != "" && changed[WebhookSecretField] != old {
			prevSealed = box.Seal([]byte(old), sealContext(id)+":previous")
			until := time.Now().Add(WebhookSecretGrace)
			prevUntil = &until
		}
		settings, _ := json.Marshal(nonNil(in.Settings))
		var sealed []byte
		if len(merged) > 0 {
			plain, _ := json.Marshal(merged)
			sealed = box.Seal(plain, sealContext(id))
		}
		err = sqlxGet(ctx, tx.q, &after, `UPDATE connections SET name = $2, environment = $3, settings = $4, secrets = $5,
  secrets_changed_at = CASE WHEN $6 THEN now() ELSE secrets_changed_at END,
  previous_webhook_secret = CASE WHEN $7::bytea IS NOT NULL THEN $7::bytea ELSE previous_webhook_secret END,
  previous_secret_valid_until = CASE WHEN $7::bytea IS NOT NULL THEN $8 ELSE previous_secret_valid_until END,
  updated_at = now()
WHERE id = $1 RETURNING `+connectionColumns,
			id, strings.TrimSpace(in.Name), in.Environment, settings, sealed, len(changed) > 0, prevSealed, prevUntil)
		if isUniqueViolation(err) {
			return vocab.FieldErrors{"name": "Another connection already has this name."}
		}
		if err != nil {
			return fmt.Errorf("store: update connection: %w", err)
		}
		if err := after.decode(); err != nil {
			return err
		}
		summary := fmt.Sprintf("Changed connection %q", after.Name)
		if len(changed) > 0 {
			summary += " (new " + strings.Join(slices.Sorted(maps.Keys(changed)), ", ") + ")"
		}
		return tx.Audit(ctx, a, Change{Action: "connection.updated", ObjectType: "connection", ObjectID: strconv.FormatInt(id, 10),
			Summary: summary, Before: auditConnection(before, nil), After: auditConnection(after, slices.Sorted(maps.Keys(changed)))})
	})
	return after, err
}

// auditConnection is what the audit log keeps of a connection: never a secret,
// only which secrets changed.
func auditConnection(c Connection, secretsChanged []string) map[string]any {
	m := map[string]any{"name": c.Name, "kind": c.Kind, "environment": c.Environment, "settings": c.Settings, "enabled": c.Enabled}
	if len(secretsChanged) > 0 {
		m["secrets_changed"] = secretsChanged
	}
	return m
}

// SetConnectionEnabled enables or disables a connection.
func (s *Store) SetConnectionEnabled(ctx context.Context, a Actor, id int64, enabled bool) (Connection, error) {
	var c Connection
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := sqlxGet(ctx, tx.q, &c, `UPDATE connections SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING `+connectionColumns, id, enabled); err != nil {
			return fmt.Errorf("store: connection %d: %w", id, err)
		}
		if err := c.decode(); err != nil {
			return err
		}
		verb := "Disabled"
		if enabled {
			verb = "Enabled"
		}
		return tx.Audit(ctx, a, Change{Action: "connection." + strings.ToLower(verb), ObjectType: "connection", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("%s connection %q", verb, c.Name), Before: map[string]bool{"enabled": !enabled}, After: map[string]bool{"enabled": enabled}})
	})
	return c, err
}

// ConnectionByID returns a connection or ErrNotFound.
func (q q) ConnectionByID(ctx context.Context, id int64) (Connection, error) {
	var c Connection
	if err := sqlxGet(ctx, q, &c, `SELECT `+connectionColumns+` FROM connections WHERE id = $1`, id); err != nil {
		return Connection{}, fmt.Errorf("store: connection %d: %w", id, err)
	}
	return c, c.decode()
}

// ListConnections returns every connection by name. Installations have a
// handful of connections: no pagination.
func (q q) ListConnections(ctx context.Context) ([]Connection, error) {
	var cs []Connection
	if err := sqlxSelect(ctx, q, &cs, `SELECT `+connectionColumns+` FROM connections ORDER BY lower(name), id`); err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	for i := range cs {
		if err := cs[i].decode(); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// ConnectionSecrets opens a connection's sealed secrets.
func ConnectionSecrets(box *secretbox.Box, c Connection) (map[string]string, error) {
	return openSecrets(box, c)
}

func openSecrets(box *secretbox.Box, c Connection) (map[string]string, error) {
	out := map[string]string{}
	if len(c.Sealed) == 0 {
		return out, nil
	}
	plain, err := box.Open(c.Sealed, sealContext(c.ID))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("store: connection %d secrets: %w", c.ID, err)
	}
	return out, nil
}

// WebhookSecrets returns the secrets an incoming webhook may be signed with:
// the current one, and the previous one while its grace period lasts.
func WebhookSecrets(box *secretbox.Box, c Connection, now time.Time) ([]string, error) {
	cur, err := openSecrets(box, c)
	if err != nil {
		return nil, err
	}
	var out []string
	if s := cur[WebhookSecretField]; s != "" {
		out = append(out, s)
	}
	if len(c.PreviousWebhookSecret) > 0 && c.PreviousSecretValidUntil != nil && now.Before(*c.PreviousSecretValidUntil) {
		prev, err := box.Open(c.PreviousWebhookSecret, sealContext(c.ID)+":previous")
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// ConnectionCall is the outcome of one call to a connected system.
type ConnectionCall struct {
	OK     bool
	Error  string          // plain words, when !OK
	Budget json.RawMessage // the rate-limit budget the system reported, if any
}

// RecordConnectionCall updates a connection's health after a call.
func (q q) RecordConnectionCall(ctx context.Context, id int64, call ConnectionCall) error {
	var budget []byte
	if len(call.Budget) > 0 {
		budget = call.Budget
	}
	_, err := q.ext.ExecContext(ctx, `WITH c AS (
  UPDATE connections SET
    last_success_at = CASE WHEN $2 THEN now() ELSE last_success_at END,
    last_error_at   = CASE WHEN $2 THEN last_error_at ELSE now() END,
    last_error      = CASE WHEN $2 THEN last_error ELSE $3 END,
    budget          = COALESCE($4::jsonb, budget),
    budget_seen_at  = CASE WHEN $4::jsonb IS NULL THEN budget_seen_at ELSE now() END
  WHERE id = $1 RETURNING id)
INSERT INTO connection_call_hours (connection_id, hour, ok, failed)
SELECT id, date_trunc('hour', now()), CASE WHEN $2 THEN 1 ELSE 0 END, CASE WHEN $2 THEN 0 ELSE 1 END FROM c
ON CONFLICT (connection_id, hour) DO UPDATE SET ok = connection_call_hours.ok + EXCLUDED.ok,
  failed = connection_call_hours.failed + EXCLUDED.failed`, id, call.OK, call.Error, budget)
	if err != nil {
		return fmt.Errorf("store: record connection call: %w", err)
	}
	return nil
}

// CallStats counts a connection's calls over a recent window.
type CallStats struct {
	OK     int `db:"ok"`
	Failed int `db:"failed"`
}

// ErrorRate is the share of failed calls, 0 when there were none.
func (s CallStats) ErrorRate() float64 {
	if s.OK+s.Failed == 0 {
		return 0
	}
	return float64(s.Failed) / float64(s.OK+s.Failed)
}

// ConnectionCallStats counts the calls of the last hours.
func (q q) ConnectionCallStats(ctx context.Context, id int64, since time.Time) (CallStats, error) {
	var s CallStats
	err := sqlxGet(ctx, q, &s, `SELECT COALESCE(sum(ok), 0) AS ok, COALESCE(sum(failed), 0) AS failed
FROM connection_call_hours WHERE connection_id = $1 AND hour >= date_trunc('hour', $2::timestamptz)`, id, since)
	if err != nil {
		return CallStats{}, fmt.Errorf("store: connection call stats: %w", err)
	}
	return s, nil
}

func dropEmpty(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.TrimSpace(v) != "" {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
