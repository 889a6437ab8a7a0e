package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Actor is who makes a change: a signed-in user, or the system itself.
type Actor struct {
	UserID    int64 // 0 for the system and command-line tools
	Label     string
	RequestID string
	IP        string
}

// SystemActor is the actor for changes made by Crossdock itself.
func SystemActor(label string) Actor { return Actor{Label: label} }

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID         int64     `db:"id"`
	At         time.Time `db:"at"`
	ActorID    *int64    `db:"actor_id"`
	ActorLabel string    `db:"actor_label"`
	// ActorName is the person's name today (ListAudit), "" for Crossdock
	// itself or a removed account: a page names people, not addresses.
	ActorName  string           `db:"actor_name"`
	Action     string           `db:"action"`
	ObjectType string           `db:"object_type"`
	ObjectID   string           `db:"object_id"`
	Summary    string           `db:"summary"`
	Before     *json.RawMessage `db:"before"`
	After      *json.RawMessage `db:"after"`
	RequestID  string           `db:"request_id"`
	IP         string           `db:"ip"`
}

// Change describes a state change for the audit log.
type Change struct {
	Action     string // e.g. "user.created"
	ObjectType string // e.g. "user"
	ObjectID   string
	Summary    string // one plain sentence
	Before     any    // marshalled to JSON; nil for creations
	After      any    // marshalled to JSON; nil for deletions
}

const insertAudit = `
INSERT INTO audit_log (actor_id, actor_label, action, object_type, object_id, summary, before, after, request_id, ip)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// Audit records a change. Call it on the Tx that makes the change, so the
// entry exists exactly when the change does.
func (q q) Audit(ctx context.Context, a Actor, c Change) error {
	before, err := jsonOrNil(c.Before)
	if err != nil {
		return err
	}
	after, err := jsonOrNil(c.After)
	if err != nil {
		return err
	}
	var actorID *int64
	if a.UserID != 0 {
		actorID = &a.UserID
	}
	if _, err := q.ext.ExecContext(ctx, insertAudit, actorID, a.Label, c.Action, c.ObjectType, c.ObjectID,
		c.Summary, before, after, a.RequestID, a.IP); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

func jsonOrNil(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: audit json: %w", err)
	}
	return b, nil
}

// AuditFilter narrows the audit log. Zero values mean "any".
type AuditFilter struct {
	ActorID    int64
	ObjectType string
	From, To   time.Time // To is exclusive
	// Keyset cursor: entries strictly older than (BeforeAt, BeforeID).
	BeforeAt time.Time
	BeforeID int64
	Limit    int
}

// ListAudit returns one page of the audit log, newest first. It fetches one
// row more than asked so the caller knows whether a next page exists.
func (q q) ListAudit(ctx context.Context, f AuditFilter) (entries []AuditEntry, more bool, err error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.ActorID != 0 {
		where = append(where, "actor_id = "+arg(f.ActorID))
	}
	if f.ObjectType != "" {
		where = append(where, "object_type = "+arg(f.ObjectType))
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(f.To))
	}
	if f.BeforeID != 0 {
		where = append(where, fmt.Sprintf("(at, id) < (%s, %s)", arg(f.BeforeAt), arg(f.BeforeID)))
	}
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	query := `SELECT id, at, actor_id, actor_label, action, object_type, object_id, summary, before, after, request_id, ip,
  coalesce((SELECT u.name FROM users u WHERE u.id = audit_log.actor_id), '') AS actor_name
FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC LIMIT " + arg(limit+1)
	if err := sqlxSelect(ctx, q, &entries, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list audit: %w", err)
	}
	if len(entries) > limit {
		return entries[:limit], true, nil
	}
	return entries, false, nil
}

// AuditObjectTypes lists the object types present in the log, for the filter.
func (q q) AuditObjectTypes(ctx context.Context) ([]string, error) {
	var types []string
	// A loose index scan would be faster on huge logs; the set of types is tiny
	// and the index on (object_type, at) makes DISTINCT cheap enough.
	if err := sqlxSelect(ctx, q, &types, `SELECT DISTINCT object_type FROM audit_log ORDER BY 1`); err != nil {
		return nil, fmt.Errorf("store: audit types: %w", err)
	}
	return types, nil
}
