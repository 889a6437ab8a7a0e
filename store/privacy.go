package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
)

// Privacy request kinds: Shopify's three mandatory privacy webhooks.
const (
	PrivacyDataRequest    = "data_request"    // customers/data_request: send the merchant what is held
	PrivacyCustomerRedact = "customer_redact" // customers/redact: erase one customer's personal data
	PrivacyShopRedact     = "shop_redact"     // shop/redact: erase the shop's data
)

// Privacy request statuses.
const (
	PrivacyReceived   = "received"
	PrivacyInProgress = "in_progress"
	PrivacyDone       = "done"
	PrivacyFailed     = "failed"
)

// NewPrivacyRequest is a privacy request as intake reads it from its webhook.
type NewPrivacyRequest struct {
	ConnectionID     int64
	WebhookEventID   int64
	EventID          string // X-Shopify-Event-Id ("" when Shopify did not send one)
	Kind             string
	ShopDomain       string
	ShopID           string
	CustomerID       string // Shopify's numeric customer id
	CustomerEmail    string
	CustomerPhone    string
	OrderIDs         []string
	ShopifyRequestID string
	ReceivedAt       time.Time
	DueAt            time.Time
}

// PrivacyRequest is a stored privacy request.
type PrivacyRequest struct {
	ID               int64          `db:"id"`
	ConnectionID     int64          `db:"connection_id"`
	ConnectionName   string         `db:"connection_name"`
	WebhookEventID   *int64         `db:"webhook_event_id"`
	EventID          string         `db:"event_id"`
	Kind             string         `db:"kind"`
	ShopDomain       string         `db:"shop_domain"`
	ShopID           string         `db:"shop_id"`
	CustomerID       string         `db:"customer_id"`
	CustomerEmail    string         `db:"customer_email"`
	CustomerPhone    string         `db:"customer_phone"`
	OrderIDs         pq.StringArray `db:"order_ids"`
	ShopifyRequestID string         `db:"shopify_request_id"`
	ReceivedAt       time.Time      `db:"received_at"`
	DueAt            time.Time      `db:"due_at"`
	Status           string         `db:"status"`
	Progress         string         `db:"progress"`
	CompletedAt      *time.Time     `db:"completed_at"`
	// CustomerName is the customer's name as Crossdock's mappings or the
	// last catalogue read know it ("" when they do not).
	CustomerName string `db:"customer_name"`
}

// CustomerGID is the customer's Shopify GraphQL id ("" for a shop request).
func (r PrivacyRequest) CustomerGID() string {
	if r.CustomerID == "" {
		return ""
	}
	return "gid://shopify/Customer/" + r.CustomerID
}

const insertPrivacyRequest = `INSERT INTO privacy_requests (connection_id, webhook_event_id, event_id, kind, shop_domain, shop_id,
customer_id, customer_email, customer_phone, order_ids, shopify_request_id, received_at, due_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT DO NOTHING RETURNING id`

// InsertPrivacyRequest stores a privacy request and its audit entry. A
// request already stored for the same delivery or the same Shopify event is
// not stored again: inserted is false and id names the one kept. Call it on
// the Tx that marks its webhook event.
func (q q) InsertPrivacyRequest(ctx context.Context, r NewPrivacyRequest) (id int64, inserted bool, err error) {
	var eventRow *int64
	if r.WebhookEventID != 0 {
		eventRow = &r.WebhookEventID
	}
	err = sqlxGet(ctx, q, &id, insertPrivacyRequest, r.ConnectionID, eventRow, r.EventID, r.Kind, r.ShopDomain, r.ShopID,
		r.CustomerID, r.CustomerEmail, r.CustomerPhone, pq.Array(append([]string{}, r.OrderIDs...)), r.ShopifyRequestID, r.ReceivedAt, r.DueAt)
	if errors.Is(err, ErrNotFound) {
		err = sqlxGet(ctx, q, &id, `SELECT id FROM privacy_requests
WHERE webhook_event_id = $1 OR (connection_id = $2 AND event_id = $3 AND $3 <> '') ORDER BY id LIMIT 1`, eventRow, r.ConnectionID, r.EventID)
		if err != nil {
			return 0, false, fmt.Errorf("store: privacy request already stored: %w", err)
		}
		return id, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: insert privacy request: %w", err)
	}
	// The audit entry names the customer by Shopify's id only: the audit log
	// is kept after a redact, so it must hold no personal data.
	who := "the whole shop " + r.ShopDomain
	if r.Kind != PrivacyShopRedact {
		who = "customer " + cmp.Or(r.CustomerID, "(no id, e-mail only)")
	}
	if err := q.Audit(ctx, SystemActor("Shopify"), Change{Action: "privacy_request.received", ObjectType: "privacy_request",
		ObjectID: strconv.FormatInt(id, 10), Summary: fmt.Sprintf("Shopify sent a %s for %s, due %s.",
			PrivacyKindWords(r.Kind), who, r.DueAt.UTC().Format("2 Jan 2006"))}); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// PrivacyKindWords names a kind of privacy request in plain words.
func PrivacyKindWords(kind string) string {
	switch kind {
	case PrivacyDataRequest:
		return "data request"
	case PrivacyCustomerRedact:
		return "request to erase a customer's data"
	case PrivacyShopRedact:
		return "request to erase the shop's data"
	}
	return kind
}

// privacyRequestColumns reads a request with its connection's name and the
// customer's name: the current mapping of their Shopify id, else the last
// catalogue read of it, else the mapping of their e-mail (each an index
// lookup: mapping_refs_external, the external_records key, mapping_refs_email).
const privacyRequestColumns = `p.id, p.connection_id, c.name AS connection_name, p.webhook_event_id, p.event_id, p.kind,
p.shop_domain, p.shop_id, p.customer_id, p.customer_email, p.customer_phone, p.order_ids, p.shopify_request_id,
p.received_at, p.due_at, p.status, p.progress, p.completed_at,
COALESCE(
  (SELECT r.name FROM mapping_refs r WHERE p.customer_id <> '' AND r.external_id = 'gid://shopify/Customer/' || p.customer_id
     AND r.connection_id = p.connection_id AND r.name <> '' ORDER BY r.valid_from DESC LIMIT 1),
  (SELECT x.name FROM external_records x WHERE p.customer_id <> '' AND x.connection_id = p.connection_id
     AND x.entity_type = 'customer' AND x.external_id = 'gid://shopify/Customer/' || p.customer_id AND x.name <> ''),
  (SELECT r.name FROM mapping_refs r WHERE p.customer_email <> '' AND lower(r.email) = lower(p.customer_email)
     AND r.email <> '' AND r.name <> '' ORDER BY r.valid_from DESC LIMIT 1),
  '') AS customer_name
FROM privacy_requests p JOIN connections c ON c.id = p.connection_id`

// PrivacyFilter pages through the privacy requests, newest first.
type PrivacyFilter struct {
	// Keyset cursor: requests strictly older than (BeforeAt, BeforeID).
	BeforeAt time.Time
	BeforeID int64
	Limit    int
}

// ListPrivacyRequests returns one page of privacy requests, newest first,
// and whether an older page exists.
func (q q) ListPrivacyRequests(ctx context.Context, f PrivacyFilter) (out []PrivacyRequest, more bool, err error) {
	limit := pageLimit(f.Limit)
	query := `SELECT ` + privacyRequestColumns
	args := []any{limit + 1}
	if f.BeforeID != 0 {
		query += ` WHERE (p.received_at, p.id) < ($2, $3)`
		args = append(args, f.BeforeAt, f.BeforeID)
	}
	query += ` ORDER BY p.received_at DESC, p.id DESC LIMIT $1`
	if err := sqlxSelect(ctx, q, &out, query, args...); err != nil {
		return nil, false, fmt.Errorf("store: list privacy requests: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// PrivacyRequestByID returns one privacy request, or ErrNotFound.
func (q q) PrivacyRequestByID(ctx context.Context, id int64) (PrivacyRequest, error) {
	var r PrivacyRequest
	if err := sqlxGet(ctx, q, &r, `SELECT `+privacyRequestColumns+` WHERE p.id = $1`, id); err != nil {
		return r, fmt.Errorf("store: privacy request %d: %w", id, err)
	}
	return r, nil
}

// PrivacySummary counts the requests not completed yet, and those of them
// past their due date.
type PrivacySummary struct {
	Open    int `db:"open"`
	Overdue int `db:"overdue"`
}

// PrivacySummary reads the open requests' counts (from the partial index of
// open requests: a handful of rows however many were answered).
func (q q) PrivacySummary(ctx context.Context, now time.Time) (PrivacySummary, error) {
	var s PrivacySummary
	if err := sqlxGet(ctx, q, &s, `SELECT count(*) AS open, count(*) FILTER (WHERE due_at < $1) AS overdue
FROM privacy_requests WHERE completed_at IS NULL`, now); err != nil {
		return s, fmt.Errorf("store: privacy summary: %w", err)
	}
	return s, nil
}

// AnswerPrivacyRequest marks a request done, with who answered it, in the
// audit log. A request done already is left as it was (ErrConflict).
func (q q) AnswerPrivacyRequest(ctx context.Context, a Actor, id int64, progress string) error {
	res, err := q.ext.ExecContext(ctx, `UPDATE privacy_requests SET status = 'done', progress = $2, completed_at = now()
WHERE id = $1 AND completed_at IS NULL`, id, progress)
	if err != nil {
		return fmt.Errorf("store: answer privacy request %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: answer privacy request %d: %w", id, err)
	} else if n == 0 {
		if _, err := q.PrivacyRequestByID(ctx, id); err != nil {
			return err
		}
		return ErrConflict
	}
	return q.Audit(ctx, a, Change{Action: "privacy_request.answered", ObjectType: "privacy_request",
		ObjectID: strconv.FormatInt(id, 10), Summary: fmt.Sprintf("Marked privacy request #%d as answered: %s", id, progress)})
}
