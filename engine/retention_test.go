package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
)

// oldSync stores an order sync that ended days ago, as the orders flow
// keeps one: the customer in the payload, the partner in the request, an
// answer naming them, and the webhook delivery it came from.
func (e *env) oldSync(t *testing.T, name, email, status string, endedDaysAgo int, resolved bool) (syncID, eventID int64) {
	t.Helper()
	ctx := context.Background()
	body := `{"id": 5550001, "name": "` + name + `", "email": "` + email + `", "total_price": "120.00",
  "customer": {"id": 77001, "first_name": "Ada", "last_name": "Lovelace", "email": "` + email + `", "phone": "+44 20 7946 0958"},
  "shipping_address": {"name": "Ada Lovelace", "address1": "12 St James's Square", "city": "London", "zip": "SW1Y 4JH"},
  "line_items": [{"sku": "FURN-0042", "price": "120.00", "quantity": 1}]}`
	evID, inserted, err := e.st.InsertWebhookEvent(ctx, store.NewWebhookEvent{ConnectionID: e.shopConn.ID,
		WebhookID: "wh-" + name, Topic: "orders/create", ShopDomain: e.shop.Domain(), APIVersion: "2026-04", Payload: []byte(body)})
	require.NoError(t, err)
	require.True(t, inserted)
	at := time.Now().Add(-time.Duration(endedDaysAgo) * 24 * time.Hour)
	var resolvedAt *time.Time
	if resolved {
		resolvedAt = &at
	}
	require.NoError(t, e.st.DB.GetContext(ctx, &syncID, `INSERT INTO syncs (created_at, updated_at, family, direction, flow,
  source_connection_id, target_connection_id, trigger, entity_type, entity_ref, entity_key, search_keys, status, error_class,
  message, payload, request, response, idempotency_key, attempts, max_attempts, finished_at, resolved_at, resolution, webhook_event_id)
VALUES ($1, $1, 'orders', 'shopify_to_odoo', 'orders.shopify_odoo', $2, $3, 'webhook', 'order', 'gid://shopify/Order/5550001', $4,
  ARRAY[lower($4), lower($5), 'furn-0042'], $6, CASE WHEN $6 = 'failed' THEN 'validation' END,
  CASE WHEN $6 = 'failed' THEN 'Odoo refused the partner Ada Lovelace (' || $5 || ').' ELSE '' END,
  jsonb_build_object('id', 'gid://shopify/Order/5550001', 'name', $4::text, 'email', $5::text, 'total', '120.00',
    'customer', jsonb_build_object('first_name', 'Ada', 'last_name', 'Lovelace', 'email', $5::text),
    'lines', jsonb_build_array(jsonb_build_object('sku', 'FURN-0042', 'price', '120.00', 'quantity', 1))),
  jsonb_build_object('client_order_ref', 'gid://shopify/Order/5550001', 'partner', jsonb_build_object('Name', 'Ada Lovelace', 'Email', $5::text, 'Street', '12 St James''s Square')),
  '{"id": 4242}', 'ret-' || $4, 1, 8, $1, $7, CASE WHEN $7::timestamptz IS NOT NULL THEN 'resolved' END, $8) RETURNING id`,
		at, e.shopConn.ID, e.odooConn.ID, name, email, status, resolvedAt, evID))
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO sync_attempts (sync_id, attempt, started_at, finished_at, status, message, response)
VALUES ($1, 1, $2, $2, 'succeeded', 'Sent for ' || $3, jsonb_build_object('partner_email', $3::text, 'id', 4242))`, syncID, at, email)
	require.NoError(t, err)
	_, err = e.st.DB.ExecContext(ctx, `UPDATE webhook_events SET status = 'processed', processed_at = $2, received_at = $2 WHERE id = $1`, evID, at)
	require.NoError(t, err)
	return syncID, evID
}

type storedSync struct {
	EntityKey  string   `db:"entity_key"`
	Message    string   `db:"message"`
	SearchKeys []byte   `db:"search_keys"`
	Payload    string   `db:"payload"`
	Request    string   `db:"request"`
	Answer     string   `db:"answer"`
	AnswerText string   `db:"answer_text"`
	Body       string   `db:"body"`
	_          struct{} `db:"-"`
}

func (e *env) stored(t *testing.T, id int64) storedSync {
	t.Helper()
	var s storedSync
	require.NoError(t, e.st.DB.GetContext(context.Background(), &s, `SELECT s.entity_key, s.message, array_to_string(s.search_keys, ',')::bytea AS search_keys,
  s.payload::text, COALESCE(s.request::text, '') AS request, COALESCE(a.response::text, '') AS answer, COALESCE(a.message, '') AS answer_text,
  convert_from(w.payload, 'UTF8') AS body
FROM syncs s LEFT JOIN sync_attempts a ON a.sync_id = s.id AND a.attempt = 1 LEFT JOIN webhook_events w ON w.id = s.webhook_event_id
WHERE s.id = $1`, id))
	return s
}

// Retention erases the personal fields of an order sync that ended longer
// ago than the setting — payload, request, answers, sentences, search keys
// and its webhook delivery — and keeps the amounts, SKUs, ids and the order
// name; a failure still open keeps everything until it is resolved, and a
// recent sync is not touched.
func TestRetentionPrunesOldPersonalData(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	old, _ := e.oldSync(t, "#9001", "ada.old@example.com", "succeeded", 100, false)
	open, _ := e.oldSync(t, "#9002", "ada.open@example.com", "failed", 100, false)
	recent, _ := e.oldSync(t, "#9003", "ada.recent@example.com", "succeeded", 10, false)

	n, err := e.eng.PrunePersonal(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "the old sync and its delivery; the open failure's delivery waits with it")

	s := e.stored(t, old)
	for _, v := range []string{s.Payload, s.Request, s.Answer, s.AnswerText, s.Body, string(s.SearchKeys)} {
		require.NotContains(t, v, "ada.old@example.com")
		require.NotContains(t, v, "Lovelace")
		require.NotContains(t, v, "St James")
		require.NotContains(t, v, "7946")
	}
	require.Contains(t, s.Payload, `"total": "120.00"`, "amounts are kept")
	require.Contains(t, s.Payload, `"FURN-0042"`, "SKUs are kept")
	require.Contains(t, s.Payload, `gid://shopify/Order/5550001`, "ids are kept")
	require.Contains(t, s.Body, `"total_price":"120.00"`)
	require.Contains(t, s.Body, `5550001`)
	require.Contains(t, s.Answer, `4242`)
	require.Equal(t, "#9001", s.EntityKey, "the order keeps its name")
	require.Contains(t, string(s.SearchKeys), "#9001")
	require.Contains(t, string(s.SearchKeys), "furn-0042")
	require.Contains(t, s.Payload, store.Redacted)

	for id, email := range map[int64]string{open: "ada.open@example.com", recent: "ada.recent@example.com"} {
		s := e.stored(t, id)
		require.Contains(t, s.Payload, email)
		require.Contains(t, s.Request, "Lovelace")
		require.Contains(t, s.Body, email)
		require.Contains(t, string(s.SearchKeys), email)
	}
	require.Contains(t, e.stored(t, open).Message, "Ada Lovelace (ada.open@example.com)", "an open failure keeps its words")

	st, err := e.st.RetentionState(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, st.LastPruned)
	require.NotNil(t, st.LastRunAt)
	require.NotNil(t, st.CountedAt)

	// Nothing new is due: a second run prunes nothing and reads no old row again.
	n, err = e.eng.PrunePersonal(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	// Once the failure is resolved, and that is longer ago than the
	// setting, the next run prunes it and its delivery from where they waited.
	_, err = e.st.DB.ExecContext(ctx, `UPDATE syncs SET resolved_at = now() - interval '91 days', resolution = 'resolved' WHERE id = $1`, open)
	require.NoError(t, err)
	n, err = e.eng.PrunePersonal(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	s = e.stored(t, open)
	require.NotContains(t, s.Payload+s.Request+s.Message+s.Body, "ada.open@example.com")
	require.Contains(t, s.Payload, `"total": "120.00"`)
	require.Contains(t, e.stored(t, recent).Payload, "ada.recent@example.com")

	// A shorter setting reaches the recent one.
	require.NoError(t, e.st.SavePrivacySettings(ctx, store.SystemActor("test"), store.PrivacySettings{RetentionDays: 5, OperatorsSee: true}))
	n, err = e.eng.PrunePersonal(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.NotContains(t, e.stored(t, recent).Payload, "ada.recent@example.com")
}

// The setting refuses a retention outside 1 to 3,650 days, in words.
func TestPrivacySettingsValidate(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	def, err := e.st.PrivacySettings(ctx)
	require.NoError(t, err)
	require.Equal(t, store.DefaultPrivacySettings, def)
	for _, days := range []int{0, -1, 3651} {
		err := e.st.SavePrivacySettings(ctx, store.SystemActor("test"), store.PrivacySettings{RetentionDays: days})
		require.ErrorContains(t, err, "from 1 to 3,650 days")
	}
}

// The pseudonym key is made once and kept; the people a rehearsal stands
// in for are the customers of production systems only.
func TestPseudonymKeyAndProductionCustomers(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	k1, err := e.st.PseudonymKey(ctx)
	require.NoError(t, err)
	require.Len(t, k1, 32)
	k2, err := e.st.PseudonymKey(ctx)
	require.NoError(t, err)
	require.Equal(t, k1, k2, "the same key every time: the same customer is the same fake person")

	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO external_records (connection_id, entity_type, external_id, email, name, seen_at)
VALUES ($1, 'customer', 'gid://shopify/Customer/4242', 'real@shop.example', 'Real Person', now())`, e.shopConn.ID)
	require.NoError(t, err)
	for env, want := range map[string][]string{"test": nil, "production": {fmt.Sprintf("%d:gid://shopify/Customer/4242", e.shopConn.ID)}} {
		_, err = e.st.DB.ExecContext(ctx, `UPDATE connections SET environment = $2 WHERE id = $1`, e.shopConn.ID, env)
		require.NoError(t, err)
		got, err := e.st.ProductionCustomers(ctx, 1000)
		require.NoError(t, err)
		require.Equal(t, want, got, env)
	}
}
