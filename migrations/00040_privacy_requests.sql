-- +goose Up
SET lock_timeout = '10s';

-- Shopify's mandatory privacy webhooks (customers/data_request,
-- customers/redact, shop/redact), each one a request the merchant must
-- answer by a due date. Intake creates the row in the transaction that marks
-- its webhook event processed: the event and its request exist together.
CREATE TABLE privacy_requests (
    id                bigserial   PRIMARY KEY,
    connection_id     bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    webhook_event_id  bigint      REFERENCES webhook_events (id) ON DELETE SET NULL,
    -- X-Shopify-Event-Id: the duplicates of one request share it.
    event_id          text        NOT NULL DEFAULT '',
    kind              text        NOT NULL CHECK (kind IN ('data_request', 'customer_redact', 'shop_redact')),
    shop_domain       text        NOT NULL,
    shop_id           text        NOT NULL DEFAULT '',
    -- The customer as Shopify names them: its numeric id, e-mail and phone
    -- (empty for shop_redact).
    customer_id       text        NOT NULL DEFAULT '',
    customer_email    text        NOT NULL DEFAULT '',
    customer_phone    text        NOT NULL DEFAULT '',
    -- orders_requested (data request) or orders_to_redact (redact): Shopify order ids.
    order_ids         text[]      NOT NULL DEFAULT '{}',
    -- data_request.id, for the merchant's reference with Shopify.
    shopify_request_id text       NOT NULL DEFAULT '',
    received_at       timestamptz NOT NULL,
    due_at            timestamptz NOT NULL,
    status            text        NOT NULL DEFAULT 'received'
                      CHECK (status IN ('received', 'in_progress', 'done', 'failed')),
    -- One plain sentence on where the request stands.
    progress          text        NOT NULL DEFAULT '',
    completed_at      timestamptz,
    -- A customer's request names them, until an erasure forgets the e-mail.
    CHECK (kind = 'shop_redact' OR customer_id <> '' OR customer_email <> '' OR completed_at IS NOT NULL)
);
-- One request per delivery, and one per Shopify event (a redelivery under a
-- new webhook id is the same request).
CREATE UNIQUE INDEX privacy_requests_event_idx ON privacy_requests (webhook_event_id) WHERE webhook_event_id IS NOT NULL;
CREATE UNIQUE INDEX privacy_requests_shopify_event_idx ON privacy_requests (connection_id, event_id) WHERE event_id <> '';
-- The page: newest first (keyset), and the open ones by due date.
CREATE INDEX privacy_requests_received_idx ON privacy_requests (received_at DESC, id DESC);
CREATE INDEX privacy_requests_open_due_idx ON privacy_requests (due_at, id) WHERE completed_at IS NULL;

-- +goose Down
DROP TABLE privacy_requests;
