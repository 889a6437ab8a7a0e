package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"

	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// Statuses of a stored webhook event. Ingest stores 'received'; the sync
// engine moves events on from there.
const (
	WebhookReceived  = "received"
	WebhookProcessed = "processed"
	WebhookFailed    = "failed"
	WebhookIgnored   = "ignored"
)

// WebhookStatuses lists every status, in the order filters show them.
var WebhookStatuses = []string{WebhookReceived, WebhookProcessed, WebhookFailed, WebhookIgnored}

// NewWebhookEvent is an accepted delivery, as the ingest endpoint stores it.
type NewWebhookEvent struct {
	ConnectionID int64
	WebhookID    string
	EventID      string
	Topic        string
	ShopDomain   string
	APIVersion   string
	TriggeredAt  time.Time // zero when Shopify did not say
	Headers      map[string]string
	Payload      []byte // byte-exact, as signed
}

// WebhookEvent is a stored delivery.
type WebhookEvent struct {
	ID           int64      `db:"id"`
	ConnectionID int64      `db:"connection_id"`
	WebhookID    string     `db:"webhook_id"`
	EventID      string     `db:"event_id"`
	Topic        string     `db:"topic"`
	ShopDomain   string     `db:"shop_domain"`
	APIVersion   string     `db:"api_version"`
	TriggeredAt  *time.Time `db:"triggered_at"`
	ReceivedAt   time.Time  `db:"received_at"`
	Headers      []byte     `db:"headers"` // JSON object of header name to value
	Payload      []byte     `db:"payload"` // empty in lists
	PayloadSize  int64      `db:"payload_size"`
	Status       string     `db:"status"`
	ProcessedAt  *time.Time `db:"processed_at"`
	Error        string     `db:"error"`
}

const insertWebhookEvent = `INSERT INTO webhook_events
  (connection_id, webhook_id, event_id, topic, shop_domain, api_version, triggered_at, headers, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, %s)
ON CONFLICT (connection_id, webhook_id) DO NOTHING
RETURNING id`

var (
	insertWebhookEventBytes = fmt.Sprintf(insertWebhookEvent, "$9")
	// lib/pq sends a []byte parameter as hex text (twice the bytes, encoded
	// here and decoded by the server); a UTF-8 payload sent as text and
	// turned back into its bytes by convert_to is the same bytes for less
	// work: ~30 % more deliveries/s measured by BenchmarkWebhookIngest.
	insertWebhookEventText = fmt.Sprintf(insertWebhookEvent, "convert_to($9::text, 'UTF8')")
)

// InsertWebhookEvent stores a delivery once: a second delivery with the same
// webhook id for the connection changes nothing and reports inserted=false.
// The single statement is its own transaction, so when it returns nil the
// event is committed.
func (q q) InsertWebhookEvent(ctx context.Context, e NewWebhookEvent) (id int64, inserted bool, err error) {
	headers, err := json.Marshal(nonNil(e.Headers))
	if err != nil {
		return 0, false, fmt.Errorf("store: webhook headers: %w", err)
	}
	var triggered *time.Time
	if !e.TriggeredAt.IsZero() {
		triggered = &e.TriggeredAt
	}
	payload := e.Payload
	if payload == nil {
		payload = []byte{}
	}
	insert := func(query string, payload any) error {
		return q.ext.QueryRowxContext(ctx, query, e.ConnectionID, e.WebhookID, e.EventID, e.Topic, e.ShopDomain,
			e.APIVersion, triggered, headers, payload).Scan(&id)
	}
	err = errNotText
	if utf8.Valid(payload) && bytes.IndexByte(payload, 0) < 0 {
		err = insert(insertWebhookEventText, string(payload))
	}
	// Bytes that are not UTF-8, or that the database's encoding cannot hold
	// (SQLSTATE class 22), go as bytea: still the exact bytes.
	if errors.Is(err, errNotText) || isDataException(err) {
		err = insert(insertWebhookEventBytes, payload)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil // a duplicate: DO NOTHING returns no row
	case err != nil:
		return 0, false, fmt.Errorf("store: insert webhook event: %w", err)
	}
	return id, true, nil
}

var errNotText = errors.New("payload is not UTF-8 text")

func isDataException(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code.Class() == "22"
}

// WebhookEventFilter narrows a connection's webhook events. Zero values mean "any".
type WebhookEventFilter struct {
	ConnectionID int64
	Topic        string
	Status       string
	// Keyset cursor: events strictly older than (BeforeAt, BeforeID).
	BeforeAt time.Time
	BeforeID int64
	Limit    int
}

const webhookEventListColumns = `id, connection_id, webhook_id, event_id, topic, shop_domain, api_version, triggered_at,
received_at, headers, octet_length(payload) AS payload_size, status, processed_at, error`

// ListWebhookEvents returns one page of a connection's events, newest first,
// without their payloads. It fetches one row more than asked so the caller
// knows whether a next page exists.
func (q q) ListWebhookEvents(ctx context.Context, f WebhookEventFilter) (events []WebhookEvent, more bool, err error) {
	where, args := []string{"connection_id = $1"}, []any{f.ConnectionID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Topic != "" {
		where = append(where, "topic = "+arg(f.Topic))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.BeforeID != 0 {
		where = append(where, fmt.Sprintf("(received_at, id) < (%s, %s)", arg(f.BeforeAt), arg(f.BeforeID)))
	}
	limit := pageLimit(f.Limit)
	query := `SELECT ` + webhookEventListColumns + ` FROM webhook_events WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY received_at DESC, id DESC LIMIT ` + arg(limit+1)
	if err := sqlxSelect(ctx, q, &events, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list webhook events: %w", err)
	}
	if len(events) > limit {
		return events[:limit], true, nil
	}
	return events, false, nil
}

// WebhookEventByID returns one event of a connection, with its payload, or ErrNotFound.
func (q q) WebhookEventByID(ctx context.Context, connectionID, id int64) (WebhookEvent, error) {
	var e WebhookEvent
	if err := sqlxGet(ctx, q, &e, `SELECT `+webhookEventListColumns+`, payload FROM webhook_events
WHERE connection_id = $1 AND id = $2`, connectionID, id); err != nil {
		return WebhookEvent{}, fmt.Errorf("store: webhook event %d: %w", id, err)
	}
	return e, nil
}

// WebhookTopics lists the topics a connection has received, for the filter.
func (q q) WebhookTopics(ctx context.Context, connectionID int64) ([]string, error) {
	// A loose index scan: one index probe per distinct topic, instead of a
	// DISTINCT over every event the connection ever received.
	var topics []string
	if err := sqlxSelect(ctx, q, &topics, `WITH RECURSIVE t(topic) AS (
  (SELECT topic FROM webhook_events WHERE connection_id = $1 ORDER BY topic LIMIT 1)
  UNION ALL
  SELECT (SELECT e.topic FROM webhook_events e WHERE e.connection_id = $1 AND e.topic > t.topic ORDER BY e.topic LIMIT 1)
  FROM t WHERE t.topic IS NOT NULL
)
SELECT topic FROM t WHERE topic IS NOT NULL`, connectionID); err != nil {
		return nil, fmt.Errorf("store: webhook topics: %w", err)
	}
	return topics, nil
}

// Reasons a webhook delivery is rejected.
const (
	RejectMissingSignature = "missing_signature"
	RejectBadSignature     = "bad_signature"
	RejectNoSecret         = "no_secret"
	RejectContentType      = "wrong_content_type"
	RejectTooLarge         = "too_large"
	RejectInvalidJSON      = "invalid_json"
	RejectMissingHeader    = "missing_header"
	RejectDisabled         = "connection_disabled"
	RejectWrongKind        = "wrong_kind"
	RejectSecretUnreadable = "secret_unreadable"
	RejectWrongShop        = "wrong_shop"
	// RejectStale is a genuine signature made outside the kind's replay
	// window: a captured delivery sent again later.
	RejectStale = "stale"
)

// Limits on what rejected deliveries keep. Anyone can post to a webhook
// address: unsigned deliveries are evidence worth a sample, not a way to fill
// the database.
const (
	// RejectionSampleBytes is how much of an unsigned body a rejection keeps.
	RejectionSampleBytes = 2 << 10
	// RejectionsKeptPerHour is how many unsigned rejections are kept per
	// connection and hour; later ones in the hour are only counted.
	RejectionsKeptPerHour = 100
	// WebhookRejectionRetention is how long rejections and their hourly
	// counts are kept.
	WebhookRejectionRetention = 7 * 24 * time.Hour
)

// NewWebhookRejection is a delivery Crossdock turned away, with its evidence.
type NewWebhookRejection struct {
	ConnectionID int64
	Reason       string // one of the Reject* codes
	Detail       string // the specific problem, in plain words
	StatusCode   int
	WebhookID    string
	Topic        string
	Headers      map[string]string
	Body         []byte // as sent; cut to RejectionSampleBytes unless Signed
	BodySize     int64  // the size that was sent
	RemoteAddr   string
	// Signed deliveries carry a valid signature: Shopify's own, kept whole
	// and always. Others count against the hour's sample.
	Signed bool
	// ReceivedAt is when it arrived; zero for the database's now().
	ReceivedAt time.Time
}

// WebhookRejection is a stored rejected delivery.
type WebhookRejection struct {
	ID           int64     `db:"id"`
	ConnectionID int64     `db:"connection_id"`
	ReceivedAt   time.Time `db:"received_at"`
	Reason       string    `db:"reason"`
	Detail       string    `db:"detail"`
	StatusCode   int       `db:"status_code"`
	WebhookID    string    `db:"webhook_id"`
	Topic        string    `db:"topic"`
	Headers      []byte    `db:"headers"`
	Body         []byte    `db:"body"` // empty in lists
	BodyStored   int64     `db:"body_stored"`
	BodySize     int64     `db:"body_size"`
	RemoteAddr   string    `db:"remote_addr"`
}

// RecordWebhookRejection keeps the evidence of a rejected delivery and
// returns its id. An unsigned delivery keeps the first RejectionSampleBytes
// of its body, and only the first RejectionsKeptPerHour of the connection's
// hour are stored: later ones are counted (DroppedWebhookRejections) and the
// id is 0.
func (q q) RecordWebhookRejection(ctx context.Context, r NewWebhookRejection) (int64, error) {
	headers, err := json.Marshal(nonNil(r.Headers))
	if err != nil {
		return 0, fmt.Errorf("store: webhook rejection headers: %w", err)
	}
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	var at *time.Time
	if !r.ReceivedAt.IsZero() {
		at = &r.ReceivedAt
	}
	args := []any{r.ConnectionID, r.Reason, r.Detail, r.StatusCode, r.WebhookID, r.Topic, headers, body, r.BodySize, r.RemoteAddr, at}
	query := `INSERT INTO webhook_rejections
  (connection_id, reason, detail, status_code, webhook_id, topic, headers, body, body_size, remote_addr, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, now())) RETURNING id`
	if !r.Signed {
		if len(body) > RejectionSampleBytes {
			args[7] = body[:RejectionSampleBytes]
		}
		// The hour's counter row decides, under its row lock, whether this
		// one is kept: concurrent rejections never keep more than the cap.
		args = append(args, RejectionsKeptPerHour)
		query = `WITH slot AS (
  INSERT INTO webhook_rejection_hours AS h (connection_id, hour, kept, last_kept)
  VALUES ($1, date_trunc('hour', coalesce($11::timestamptz, now())), 1, true)
  ON CONFLICT (connection_id, hour) DO UPDATE
  SET kept = h.kept + CASE WHEN h.kept < $12 THEN 1 ELSE 0 END,
      dropped = h.dropped + CASE WHEN h.kept < $12 THEN 0 ELSE 1 END,
      last_kept = h.kept < $12
  RETURNING last_kept)
INSERT INTO webhook_rejections
  (connection_id, reason, detail, status_code, webhook_id, topic, headers, body, body_size, remote_addr, received_at)
SELECT $1::bigint, $2::text, $3::text, $4::integer, $5::text, $6::text, $7::jsonb, $8::bytea, $9::bigint, $10::text,
  coalesce($11::timestamptz, now())
FROM slot WHERE slot.last_kept RETURNING id`
	}
	var id int64
	err = q.ext.QueryRowxContext(ctx, query, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // counted, not kept
	}
	if err != nil {
		return 0, fmt.Errorf("store: record webhook rejection: %w", err)
	}
	return id, nil
}

// DroppedWebhookRejections counts a connection's rejected deliveries since a
// time that were counted but not kept (the hour's sample was full).
func (q q) DroppedWebhookRejections(ctx context.Context, connectionID int64, since time.Time) (int64, error) {
	var n int64
	if err := sqlxGet(ctx, q, &n, `SELECT coalesce(sum(dropped), 0) FROM webhook_rejection_hours
WHERE connection_id = $1 AND hour >= date_trunc('hour', $2::timestamptz)`, connectionID, since); err != nil {
		return 0, fmt.Errorf("store: count dropped webhook rejections: %w", err)
	}
	return n, nil
}

// PruneWebhookRejections deletes up to limit rejections received before
// cutoff, oldest first, and the hourly counts before it. It returns how many
// rejections it deleted; call it again while it deletes.
func (q q) PruneWebhookRejections(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	if _, err := q.ext.ExecContext(ctx, `DELETE FROM webhook_rejection_hours WHERE hour < $1`, cutoff); err != nil {
		return 0, fmt.Errorf("store: prune webhook rejection counts: %w", err)
	}
	res, err := q.ext.ExecContext(ctx, `DELETE FROM webhook_rejections WHERE id IN (
  SELECT id FROM webhook_rejections WHERE received_at < $1 ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune webhook rejections: %w", err)
	}
	return res.RowsAffected()
}

// WebhookRejectionFilter pages through a connection's rejected deliveries.
type WebhookRejectionFilter struct {
	ConnectionID int64
	BeforeAt     time.Time
	BeforeID     int64
	Limit        int
}

const webhookRejectionListColumns = `id, connection_id, received_at, reason, detail, status_code, webhook_id, topic, headers,
octet_length(body) AS body_stored, body_size, remote_addr`

// ListWebhookRejections returns one page of a connection's rejected
// deliveries, newest first, without their bodies.
func (q q) ListWebhookRejections(ctx context.Context, f WebhookRejectionFilter) (rs []WebhookRejection, more bool, err error) {
	args := []any{f.ConnectionID}
	query := `SELECT ` + webhookRejectionListColumns + ` FROM webhook_rejections WHERE connection_id = $1`
	if f.BeforeID != 0 {
		args = append(args, f.BeforeAt, f.BeforeID)
		query += ` AND (received_at, id) < ($2, $3)`
	}
	limit := pageLimit(f.Limit)
	args = append(args, limit+1)
	query += fmt.Sprintf(` ORDER BY received_at DESC, id DESC LIMIT $%d`, len(args))
	if err := sqlxSelect(ctx, q, &rs, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list webhook rejections: %w", err)
	}
	if len(rs) > limit {
		return rs[:limit], true, nil
	}
	return rs, false, nil
}

// WebhookRejectionByID returns one rejected delivery of a connection, with its body.
func (q q) WebhookRejectionByID(ctx context.Context, connectionID, id int64) (WebhookRejection, error) {
	var r WebhookRejection
	if err := sqlxGet(ctx, q, &r, `SELECT `+webhookRejectionListColumns+`, body FROM webhook_rejections
WHERE connection_id = $1 AND id = $2`, connectionID, id); err != nil {
		return WebhookRejection{}, fmt.Errorf("store: webhook rejection %d: %w", id, err)
	}
	return r, nil
}

// CountRecentWebhookRejections counts a connection's rejected deliveries
// since a time, up to 1,000: enough to warn, never a scan of a flood.
func (q q) CountRecentWebhookRejections(ctx context.Context, connectionID int64, since time.Time) (int, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `SELECT count(*) FROM (SELECT 1 FROM webhook_rejections
WHERE connection_id = $1 AND received_at >= $2 LIMIT 1000) r`, connectionID, since); err != nil {
		return 0, fmt.Errorf("store: count webhook rejections: %w", err)
	}
	return n, nil
}

func pageLimit(n int) int {
	if n <= 0 || n > 200 {
		return 50
	}
	return n
}

// WebhookTarget is what the ingest endpoint needs to know about a connection.
type WebhookTarget struct {
	ConnectionID int64
	Kind         vocab.Kind
	Enabled      bool
	// ShopDomain is the connection's shop (lower case), from its settings.
	// Shopify signs only the body, and one app's secret signs the
	// deliveries of every shop it is installed on: the domain header is
	// what tells this shop's deliveries from another's.
	ShopDomain string
	// Settings are the connection's settings, for a kind's own account
	// check (connectors.Webhooks.CheckAccount).
	Settings map[string]string
	// Secrets are the webhook secrets valid now: the current one and, during
	// a rotation's grace period, the previous one. Empty when none is saved.
	Secrets []string
}

// WebhookTargets caches the opened webhook secrets of connections, so a
// delivery costs one INSERT rather than a SELECT and a decryption. An entry
// is trusted for TTL; then the connection row is read again, and its secrets
// opened again only when updated_at moved. A signature that does not match
// the cached secrets triggers an early re-read (at most once a second per
// connection), so a secret changed in the console works at once.
type WebhookTargets struct {
	q   q
	box *secretbox.Box
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[int64]*webhookTargetEntry
}

type webhookTargetEntry struct {
	target    WebhookTarget
	updatedAt time.Time
	loadedAt  time.Time
	expires   time.Time
}

// DefaultWebhookTargetTTL is how long opened webhook secrets are trusted
// before the connection row is checked again.
const DefaultWebhookTargetTTL = 30 * time.Second

// refreshInterval limits forced re-reads, so bad signatures cannot turn
// every request into a SELECT.
const refreshInterval = time.Second

// NewWebhookTargets returns a cache over the store's connections. ttl 0
// means DefaultWebhookTargetTTL.
func (s *Store) NewWebhookTargets(box *secretbox.Box, ttl time.Duration) *WebhookTargets {
	if ttl <= 0 {
		ttl = DefaultWebhookTargetTTL
	}
	return &WebhookTargets{q: s.q, box: box, ttl: ttl, now: time.Now, entries: map[int64]*webhookTargetEntry{}}
}

// Target returns the connection's webhook target, from the cache when it is
// fresh. An unknown connection is ErrNotFound.
func (w *WebhookTargets) Target(ctx context.Context, id int64) (WebhookTarget, error) {
	now := w.now()
	w.mu.Lock()
	e := w.entries[id]
	w.mu.Unlock()
	if e != nil && now.Before(e.expires) {
		return e.target, nil
	}
	return w.load(ctx, id, e, now)
}

// Refresh re-reads the connection unless it was read less than a second ago,
// and reports whether it did.
func (w *WebhookTargets) Refresh(ctx context.Context, id int64) (WebhookTarget, bool, error) {
	now := w.now()
	w.mu.Lock()
	e := w.entries[id]
	w.mu.Unlock()
	if e != nil && now.Sub(e.loadedAt) < refreshInterval {
		return e.target, false, nil
	}
	t, err := w.load(ctx, id, e, now)
	return t, true, err
}

func (w *WebhookTargets) load(ctx context.Context, id int64, old *webhookTargetEntry, now time.Time) (WebhookTarget, error) {
	c, err := w.q.ConnectionByID(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			w.mu.Lock()
			delete(w.entries, id)
			w.mu.Unlock()
		}
		return WebhookTarget{}, err
	}
	e := &webhookTargetEntry{updatedAt: c.UpdatedAt, loadedAt: now, expires: now.Add(w.ttl)}
	if old != nil && old.updatedAt.Equal(c.UpdatedAt) && (c.PreviousSecretValidUntil == nil || now.Before(*c.PreviousSecretValidUntil)) {
		e.target = old.target // unchanged: no need to open the secrets again
	} else {
		e.target = WebhookTarget{ConnectionID: c.ID, Kind: c.Kind, Enabled: c.Enabled,
			ShopDomain: strings.ToLower(strings.TrimSpace(c.Settings["shop_domain"])), Settings: c.Settings}
		if w.box == nil {
			return WebhookTarget{}, ErrNoSecretBox
		}
		if e.target.Secrets, err = WebhookSecrets(w.box, c, now); err != nil {
			return WebhookTarget{}, fmt.Errorf("store: connection %d webhook secrets: %w", id, err)
		}
	}
	// The previous secret stops being valid at a precise moment: never cache past it.
	if until := c.PreviousSecretValidUntil; until != nil && now.Before(*until) && until.Before(e.expires) {
		e.expires = *until
	}
	w.mu.Lock()
	w.entries[id] = e
	w.mu.Unlock()
	return e.target, nil
}

// IntakeLag is how long the oldest webhook event still waiting for intake
// has waited, against the "webhook intake stuck" rule.
type IntakeLag struct {
	// Oldest is the age of the oldest received, unprocessed event; 0 when none waits.
	Oldest time.Duration
	// Limit is the rule's threshold; Enabled says whether the rule is on.
	Limit   time.Duration
	Enabled bool
}

// Stuck reports whether the oldest waiting event is older than the limit.
func (l IntakeLag) Stuck() bool { return l.Enabled && l.Oldest > l.Limit }

// WebhookIntakeLag reads the age of the oldest received event (measured by
// the database's clock, the one that stamped it) and the rule's threshold.
// The age is one probe of webhook_events_status_received_idx.
func (q q) WebhookIntakeLag(ctx context.Context) (IntakeLag, error) {
	var row struct {
		OldestSeconds float64 `db:"oldest_seconds"`
		Threshold     float64 `db:"threshold"`
		Enabled       bool    `db:"enabled"`
	}
	err := sqlxGet(ctx, q, &row, `SELECT
  COALESCE(extract(epoch FROM now() - (SELECT received_at FROM webhook_events WHERE status = 'received'
    ORDER BY received_at, id LIMIT 1)), 0)::float8 AS oldest_seconds,
  COALESCE(r.threshold, 5)::float8 AS threshold, COALESCE(r.enabled, false) AS enabled
FROM (SELECT 1) one LEFT JOIN alert_rules r ON r.kind = $1`, AlertIntakeStuck)
	if err != nil {
		return IntakeLag{}, fmt.Errorf("store: webhook intake lag: %w", err)
	}
	return IntakeLag{Oldest: time.Duration(row.OldestSeconds * float64(time.Second)),
		Limit: time.Duration(row.Threshold * float64(time.Minute)), Enabled: row.Enabled}, nil
}
