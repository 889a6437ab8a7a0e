package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"

	"crossdock/vocab"
)

// Outcomes of a customer's erasure in one connected system.
const (
	SystemErasureSending      = "sending"       // to be sent, or being sent
	SystemErasureErased       = "erased"        // the record was anonymised
	SystemErasureKept         = "kept"          // open documents keep the record (Detail says which)
	SystemErasureNotFound     = "not_found"     // the system holds no record of the customer
	SystemErasureFailed       = "failed"        // the system could not be asked (Detail says why)
	SystemErasureNotSent      = "not_sent"      // the setting is off for the system
	SystemErasureNotSupported = "not_supported" // the system cannot erase: by hand
)

// ErasureSetting is whether customers' erasures are sent to a connected
// system, with the connection it is about.
type ErasureSetting struct {
	ConnectionID int64      `db:"connection_id"`
	Name         string     `db:"name"`
	Kind         vocab.Kind `db:"kind"`
	Enabled      bool       `db:"enabled"`
	Send         bool       `db:"send_erasures"`
	ChangedAt    *time.Time `db:"changed_at"`
	ChangedBy    string     `db:"changed_by"`
}

// ErasureSettings lists every connection with its erasure setting (off
// when never set), by name.
func (q q) ErasureSettings(ctx context.Context) ([]ErasureSetting, error) {
	var out []ErasureSetting
	if err := sqlxSelect(ctx, q, &out, `SELECT c.id AS connection_id, c.name, c.kind, c.enabled,
  COALESCE(s.send_erasures, false) AS send_erasures, s.changed_at, COALESCE(s.changed_by, '') AS changed_by
FROM connections c LEFT JOIN privacy_erasure_settings s ON s.connection_id = c.id ORDER BY lower(c.name), c.id`); err != nil {
		return nil, fmt.Errorf("store: erasure settings: %w", err)
	}
	return out, nil
}

// SetErasureSetting turns sending customers' erasures to a connection on or
// off, in the audit log. It returns ErrNotFound for an unknown connection.
func (q q) SetErasureSetting(ctx context.Context, a Actor, connectionID int64, send bool) error {
	var name string
	if err := sqlxGet(ctx, q, &name, `SELECT name FROM connections WHERE id = $1`, connectionID); err != nil {
		return fmt.Errorf("store: erasure setting of connection %d: %w", connectionID, err)
	}
	var before bool
	if err := sqlxGet(ctx, q, &before, `SELECT COALESCE((SELECT send_erasures FROM privacy_erasure_settings WHERE connection_id = $1), false)`, connectionID); err != nil {
		return fmt.Errorf("store: erasure setting of connection %d: %w", connectionID, err)
	}
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO privacy_erasure_settings (connection_id, send_erasures, changed_at, changed_by)
VALUES ($1, $2, now(), $3) ON CONFLICT (connection_id) DO UPDATE SET send_erasures = EXCLUDED.send_erasures,
  changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by`, connectionID, send, a.Label); err != nil {
		return fmt.Errorf("store: set erasure setting of connection %d: %w", connectionID, err)
	}
	summary := "Customers' erasures are now sent to " + name + "."
	if !send {
		summary = "Customers' erasures are no longer sent to " + name + "."
	}
	return q.Audit(ctx, a, Change{Action: "privacy.erasure_setting", ObjectType: "connection", ObjectID: strconv.FormatInt(connectionID, 10),
		Summary: summary, Before: map[string]bool{"send_erasures": before}, After: map[string]bool{"send_erasures": send}})
}

// SystemErasure is what a customer's erasure did, or does, in one
// connected system.
type SystemErasure struct {
	RequestID      int64  `db:"request_id"`
	ConnectionID   int64  `db:"connection_id"`
	ConnectionName string `db:"connection_name"`
	Outcome        string `db:"outcome"`
	// Detail says what happened in a sentence ("kept: open sale order S00042").
	Detail string `db:"detail"`
	// RecordID and Record name the customer's record in the system, once
	// found ("42", "contact #42").
	RecordID      string     `db:"record_id"`
	Record        string     `db:"record"`
	LookupEmail   string     `db:"lookup_email"`
	Attempts      int        `db:"attempts"`
	NextAttemptAt *time.Time `db:"next_attempt_at"`
	UpdatedAt     time.Time  `db:"updated_at"`
}

// PlanSystemErasures records, once per request and system, what the
// erasure is to do there; rows already planned are left as they are.
func (q q) PlanSystemErasures(ctx context.Context, rows []SystemErasure) error {
	for _, r := range rows {
		if _, err := q.ext.ExecContext(ctx, `INSERT INTO privacy_system_erasures (request_id, connection_id, outcome, detail, lookup_email, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, CASE WHEN $3 = 'sending' THEN now() END) ON CONFLICT DO NOTHING`,
			r.RequestID, r.ConnectionID, r.Outcome, r.Detail, r.LookupEmail); err != nil {
			return fmt.Errorf("store: plan erasure in connection %d: %w", r.ConnectionID, err)
		}
	}
	return nil
}

const systemErasureColumns = `e.request_id, e.connection_id, c.name AS connection_name, e.outcome, e.detail, e.record_id, e.record,
e.lookup_email, e.attempts, e.next_attempt_at, e.updated_at`

// SystemErasures lists what a request's erasure did per connected system,
// by the system's name.
func (q q) SystemErasures(ctx context.Context, requestID int64) ([]SystemErasure, error) {
	var out []SystemErasure
	if err := sqlxSelect(ctx, q, &out, `SELECT `+systemErasureColumns+`
FROM privacy_system_erasures e JOIN connections c ON c.id = e.connection_id
WHERE e.request_id = $1 ORDER BY lower(c.name), c.id`, requestID); err != nil {
		return nil, fmt.Errorf("store: erasures in connected systems of request %d: %w", requestID, err)
	}
	return out, nil
}

// SystemErasuresOf lists, per request, what the erasures of requests ids
// did in the connected systems (one query for a page of requests).
func (q q) SystemErasuresOf(ctx context.Context, ids []int64) (map[int64][]SystemErasure, error) {
	out := map[int64][]SystemErasure{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []SystemErasure
	if err := sqlxSelect(ctx, q, &rows, `SELECT `+systemErasureColumns+`
FROM privacy_system_erasures e JOIN connections c ON c.id = e.connection_id
WHERE e.request_id = ANY ($1) ORDER BY e.request_id, lower(c.name), c.id`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: erasures in connected systems: %w", err)
	}
	for _, r := range rows {
		out[r.RequestID] = append(out[r.RequestID], r)
	}
	return out, nil
}

// SystemErasureWork is a claimed erasure to send to one system.
type SystemErasureWork struct {
	SystemErasure
	// CustomerID is the customer's Shopify id; ShopConnectionID the shop
	// that asked.
	CustomerID       string `db:"customer_id"`
	ShopConnectionID int64  `db:"shop_connection_id"`
}

// ClaimSystemErasure takes the erasure due first to send, counting the
// attempt and holding it for lease (a replica that dies while sending
// leaves it due again after that). It returns ErrNotFound when none is due.
func (q q) ClaimSystemErasure(ctx context.Context, lease time.Duration) (SystemErasureWork, error) {
	var w SystemErasureWork
	err := sqlxGet(ctx, q, &w, `WITH due AS (
  SELECT request_id, connection_id FROM privacy_system_erasures
  WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= now()
  ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE privacy_system_erasures e SET attempts = e.attempts + 1, next_attempt_at = now() + $1::bigint * interval '1 millisecond', updated_at = now()
  FROM due WHERE e.request_id = due.request_id AND e.connection_id = due.connection_id
  RETURNING e.*
)
SELECT `+systemErasureColumns+`, p.customer_id, p.connection_id AS shop_connection_id
FROM claimed e JOIN connections c ON c.id = e.connection_id JOIN privacy_requests p ON p.id = e.request_id`, lease.Milliseconds())
	return w, err
}

// SystemErasureResult is what one attempt of an erasure found.
type SystemErasureResult struct {
	RequestID, ConnectionID int64
	Outcome, Detail         string
	RecordID, Record        string
	// RetryAt is when a failed attempt is tried again (nil: given up).
	RetryAt *time.Time
}

// FinishSystemErasure records an attempt's result. Once the system's
// record is found, or the erasure settled, the copy of the customer's
// e-mail kept to find them is forgotten. Settled outcomes, and giving up,
// are in the audit log (in words without personal data).
func (q q) FinishSystemErasure(ctx context.Context, r SystemErasureResult) error {
	var name string
	err := sqlxGet(ctx, q, &name, `UPDATE privacy_system_erasures e SET outcome = $3, detail = $4,
  record_id = CASE WHEN $5 <> '' THEN $5 ELSE e.record_id END, record = CASE WHEN $6 <> '' THEN $6 ELSE e.record END,
  next_attempt_at = $7, updated_at = now(),
  lookup_email = CASE WHEN $3 IN ('erased', 'kept', 'not_found') OR $5 <> '' THEN '' ELSE e.lookup_email END
FROM connections c WHERE c.id = e.connection_id AND e.request_id = $1 AND e.connection_id = $2 RETURNING c.name`,
		r.RequestID, r.ConnectionID, r.Outcome, r.Detail, r.RecordID, r.Record, r.RetryAt)
	if err != nil {
		return fmt.Errorf("store: finish erasure of request %d in connection %d: %w", r.RequestID, r.ConnectionID, err)
	}
	if r.Outcome == SystemErasureFailed && r.RetryAt != nil {
		return nil
	}
	return q.Audit(ctx, SystemActor("Crossdock"), Change{Action: "privacy_request.system_erasure", ObjectType: "privacy_request",
		ObjectID: strconv.FormatInt(r.RequestID, 10), Summary: fmt.Sprintf("Privacy request #%d in %s: %s", r.RequestID, name, r.Detail)})
}

// RetrySystemErasure sends a request's erasure to a system again at once:
// one that failed, was kept, or was not sent because the setting was off.
// Someone limited to test systems gets an *OutOfScopeError for a production
// one. It returns ErrNotFound when there is no such erasure, ErrConflict when it
// is being sent or settled already.
func (q q) RetrySystemErasure(ctx context.Context, a Actor, requestID, connectionID int64) error {
	// Erasing writes into the system: the actor's environment scope applies.
	if err := q.MayWriteInto(ctx, a, connectionID); err != nil {
		return err
	}
	var name string
	err := sqlxGet(ctx, q, &name, `UPDATE privacy_system_erasures e SET outcome = 'sending', detail = 'waiting to be sent', next_attempt_at = now(), attempts = 0, updated_at = now()
FROM connections c WHERE c.id = e.connection_id AND e.request_id = $1 AND e.connection_id = $2
  AND e.outcome IN ('failed', 'kept', 'not_sent', 'not_found') RETURNING c.name`, requestID, connectionID)
	if err == nil {
		return q.Audit(ctx, a, Change{Action: "privacy_request.system_erasure_retried", ObjectType: "privacy_request",
			ObjectID: strconv.FormatInt(requestID, 10), Summary: fmt.Sprintf("Privacy request #%d: the erasure is sent to %s again.", requestID, name)})
	}
	if err := sqlxGet(ctx, q, &name, `SELECT outcome FROM privacy_system_erasures WHERE request_id = $1 AND connection_id = $2`, requestID, connectionID); err != nil {
		return fmt.Errorf("store: erasure of request %d in connection %d: %w", requestID, connectionID, err)
	}
	return ErrConflict
}
