package store

import (
	"context"
	"crossdock/store/number"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

// Redacted stands in for every personal value an erasure removes.
const Redacted = "[redacted]"

// Erasure is a customer's erasure (a customers/redact request) under way.
type Erasure struct {
	ID            int64          `db:"id"`
	ConnectionID  int64          `db:"connection_id"`
	CustomerID    string         `db:"customer_id"`
	CustomerEmail string         `db:"customer_email"`
	CustomerPhone string         `db:"customer_phone"`
	OrderIDs      pq.StringArray `db:"order_ids"`
	// SyncIDs is nil until the first chunk lists the customer's syncs.
	SyncIDs       pq.Int64Array  `db:"work_sync_ids"`
	EventIDs      pq.Int64Array  `db:"work_event_ids"`
	Terms         pq.StringArray `db:"work_terms"`
	Position      int            `db:"work_position"`
	ErasedSyncs   int            `db:"erased_syncs"`
	ErasedEvents  int            `db:"erased_events"`
	ErasedRecords int            `db:"erased_records"`
}

// Planned reports whether the erasure's work is listed.
func (e Erasure) Planned() bool { return e.SyncIDs != nil }

// ClaimErasure locks the customer erasure due first that no other replica
// holds, or returns ErrNotFound. Call it on a Tx.
func (q q) ClaimErasure(ctx context.Context) (Erasure, error) {
	var e Erasure
	err := sqlxGet(ctx, q, &e, `SELECT id, connection_id, customer_id, customer_email, customer_phone, order_ids, work_sync_ids,
  work_event_ids, work_terms, work_position, erased_syncs, erased_events, erased_records
FROM privacy_requests WHERE kind = 'customer_redact' AND completed_at IS NULL
ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`)
	return e, err
}

// PlanErasure records the erasure's work: the syncs and deliveries to
// rewrite and the personal values to erase.
func (q q) PlanErasure(ctx context.Context, id int64, syncIDs, eventIDs []int64, terms []string) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE privacy_requests SET status = 'in_progress', work_sync_ids = $2, work_event_ids = $3,
  work_terms = $4, work_position = 0, progress = $5 WHERE id = $1`, id, pq.Array(append([]int64{}, syncIDs...)), pq.Array(append([]int64{}, eventIDs...)),
		pq.Array(append([]string{}, terms...)), fmt.Sprintf("Erasing: %s syncs and %s webhook deliveries to go through.", number.Thousands(len(syncIDs)), number.Thousands(len(eventIDs)))); err != nil {
		return fmt.Errorf("store: plan erasure %d: %w", id, err)
	}
	return nil
}

// StoredSync is what a sync keeps that may hold personal data.
type StoredSync struct {
	ID         int64          `db:"id"`
	EntityKey  string         `db:"entity_key"`
	Message    string         `db:"message"`
	SearchKeys pq.StringArray `db:"search_keys"`
	Payload    []byte         `db:"payload"`
	Request    []byte         `db:"request"`
	Response   []byte         `db:"response"`
}

// StoredSyncs reads the syncs' stored data, by id.
func (q q) StoredSyncs(ctx context.Context, ids []int64) ([]StoredSync, error) {
	var out []StoredSync
	if err := sqlxSelect(ctx, q, &out, `SELECT id, entity_key, message, search_keys, payload, request, response
FROM syncs WHERE id = ANY($1) ORDER BY id`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: stored syncs: %w", err)
	}
	return out, nil
}

// RewriteSyncs stores the syncs' rewritten data in one statement.
func (q q) RewriteSyncs(ctx context.Context, ss []StoredSync) error {
	if len(ss) == 0 {
		return nil
	}
	n := len(ss)
	ids, keys, msgs, search, payloads, requests, responses := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n), make([]*string, n)
	for i, s := range ss {
		ids[i], keys[i], msgs[i], payloads[i] = s.ID, s.EntityKey, s.Message, string(s.Payload)
		search[i] = strings.Join(s.SearchKeys, "\x1f")
		if s.Request != nil {
			r := string(s.Request)
			requests[i] = &r
		}
		if s.Response != nil {
			r := string(s.Response)
			responses[i] = &r
		}
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE syncs s SET entity_key = t.entity_key, message = t.message,
  search_keys = CASE WHEN t.search_keys = '' THEN '{}'::text[] ELSE string_to_array(t.search_keys, E'\x1f') END,
  payload = t.payload::jsonb, request = t.request::jsonb, response = t.response::jsonb
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
  AS t(id, entity_key, message, search_keys, payload, request, response)
WHERE s.id = t.id`, pq.Array(ids), pq.Array(keys), pq.Array(msgs), pq.Array(search), pq.Array(payloads),
		pq.Array(requests), pq.Array(responses)); err != nil {
		return fmt.Errorf("store: rewrite syncs: %w", err)
	}
	return nil
}

// StoredAnswer is one attempt's answer.
type StoredAnswer struct {
	SyncID   int64  `db:"sync_id"`
	Attempt  int    `db:"attempt"`
	Message  string `db:"message"`
	Response []byte `db:"response"`
}

// StoredAnswers reads the answers of the syncs' attempts.
func (q q) StoredAnswers(ctx context.Context, syncIDs []int64) ([]StoredAnswer, error) {
	var out []StoredAnswer
	if err := sqlxSelect(ctx, q, &out, `SELECT sync_id, attempt, message, response FROM sync_attempts
WHERE sync_id = ANY($1) ORDER BY sync_id, attempt`, pq.Array(syncIDs)); err != nil {
		return nil, fmt.Errorf("store: stored answers: %w", err)
	}
	return out, nil
}

// RewriteAnswers stores rewritten attempt answers.
func (q q) RewriteAnswers(ctx context.Context, as []StoredAnswer) error {
	if len(as) == 0 {
		return nil
	}
	ids, attempts, msgs, responses := make([]int64, len(as)), make([]int64, len(as)), make([]string, len(as)), make([]*string, len(as))
	for i, a := range as {
		ids[i], attempts[i], msgs[i] = a.SyncID, int64(a.Attempt), a.Message
		if a.Response != nil {
			r := string(a.Response)
			responses[i] = &r
		}
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE sync_attempts a SET message = t.message, response = t.response::jsonb
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[]) AS t(sync_id, attempt, message, response)
WHERE a.sync_id = t.sync_id AND a.attempt = t.attempt`, pq.Array(ids), pq.Array(attempts), pq.Array(msgs), pq.Array(responses)); err != nil {
		return fmt.Errorf("store: rewrite answers: %w", err)
	}
	return nil
}

// StoredBody is a webhook delivery's stored body.
type StoredBody struct {
	ID      int64  `db:"id"`
	Payload []byte `db:"payload"`
}

// StoredBodies reads webhook deliveries' bodies, by id.
func (q q) StoredBodies(ctx context.Context, ids []int64) ([]StoredBody, error) {
	var out []StoredBody
	if err := sqlxSelect(ctx, q, &out, `SELECT id, payload FROM webhook_events WHERE id = ANY($1) ORDER BY id`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("store: stored bodies: %w", err)
	}
	return out, nil
}

// RewriteBodies stores rewritten webhook bodies. Shopify's signature no
// longer matches an erased body: that is the point.
func (q q) RewriteBodies(ctx context.Context, bs []StoredBody) error {
	if len(bs) == 0 {
		return nil
	}
	ids, bodies := make([]int64, len(bs)), make([][]byte, len(bs))
	for i, b := range bs {
		ids[i], bodies[i] = b.ID, b.Payload
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE webhook_events e SET payload = t.payload
FROM unnest($1::bigint[], $2::bytea[]) AS t(id, payload) WHERE e.id = t.id`, pq.Array(ids), pq.Array(bodies)); err != nil {
		return fmt.Errorf("store: rewrite bodies: %w", err)
	}
	return nil
}

// EraseCustomerRecords replaces the customer's e-mail and name in the
// mappings and the catalogue records that hold them, past versions too: an
// erasure overrides the rule that mapping rows are never changed in place.
// It returns how many rows changed.
func (q q) EraseCustomerRecords(ctx context.Context, connectionID int64, gid, email, replacement string) (int, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `WITH entities AS (
  SELECT entity_id FROM mapping_refs WHERE entity_type = 'customer'
    AND (($2 <> '' AND external_id = $2) OR ($3 <> '' AND email <> '' AND lower(email) = lower($3)))
), refs AS (
  UPDATE mapping_refs SET email = '', name = $4 WHERE entity_id IN (SELECT entity_id FROM entities) AND (email <> '' OR name <> '')
  RETURNING 1
), names AS (
  UPDATE mapping_entities SET name = $4 WHERE id IN (SELECT entity_id FROM entities) AND name <> $4 RETURNING 1
), records AS (
  UPDATE external_records SET email = '', name = $4 WHERE entity_type = 'customer' AND deleted_at IS NULL
    AND ((connection_id = $1 AND external_id = $2) OR (connection_id = ANY (SELECT id FROM connections)
      AND $3 <> '' AND email <> '' AND lower(email) = lower($3)))
  RETURNING 1
)
SELECT (SELECT count(*) FROM refs) + (SELECT count(*) FROM names) + (SELECT count(*) FROM records)`,
		connectionID, gid, email, replacement); err != nil {
		return 0, fmt.Errorf("store: erase customer records: %w", err)
	}
	return n, nil
}

// ErasureStep is what one chunk of an erasure did.
type ErasureStep struct {
	Position               int
	Syncs, Events, Records int
	Progress               string
	Done                   bool
}

// AdvanceErasure records a chunk's work. The last one marks the request
// done and forgets the personal values it erased, the request's own e-mail
// and phone with them; the audit log says what was erased, in counts.
func (q q) AdvanceErasure(ctx context.Context, id int64, s ErasureStep) error {
	query := `UPDATE privacy_requests SET work_position = $2, erased_syncs = erased_syncs + $3, erased_events = erased_events + $4,
  erased_records = erased_records + $5, progress = $6 WHERE id = $1`
	if s.Done {
		query = `UPDATE privacy_requests SET work_position = $2, erased_syncs = erased_syncs + $3, erased_events = erased_events + $4,
  erased_records = erased_records + $5, progress = $6, status = 'done', completed_at = now(), work_terms = '{}',
  customer_email = '', customer_phone = '' WHERE id = $1`
	}
	if s.Done {
		// The customer's other requests (a data request before the erasure)
		// forget the e-mail and phone too; one that names the customer by
		// e-mail alone keeps it until it is answered.
		if _, err := q.ext.ExecContext(ctx, `UPDATE privacy_requests o SET customer_email = '', customer_phone = ''
FROM privacy_requests r WHERE r.id = $1 AND o.connection_id = r.connection_id AND o.id <> r.id
  AND (o.customer_id <> '' OR o.completed_at IS NOT NULL)
  AND ((r.customer_id <> '' AND o.customer_id = r.customer_id)
    OR (r.customer_email <> '' AND lower(o.customer_email) = lower(r.customer_email)))`, id); err != nil {
			return fmt.Errorf("store: erase the customer's other requests: %w", err)
		}
	}
	if _, err := q.ext.ExecContext(ctx, query, id, s.Position, s.Syncs, s.Events, s.Records, s.Progress); err != nil {
		return fmt.Errorf("store: advance erasure %d: %w", id, err)
	}
	if !s.Done {
		return nil
	}
	return q.Audit(ctx, SystemActor("Crossdock"), Change{Action: "privacy_request.erased", ObjectType: "privacy_request",
		ObjectID: fmt.Sprint(id), Summary: fmt.Sprintf("Privacy request #%d: %s", id, s.Progress)})
}
