-- +goose Up
SET lock_timeout = '10s';

-- A connected system: a Shopify store, an Odoo database... Secrets are stored
-- sealed with AES-256-GCM (key derived from CROSSDOCK_SECRET_KEY), never in clear.
CREATE TABLE connections (
    id                         bigserial   PRIMARY KEY,
    name                       text        NOT NULL,
    kind                       text        NOT NULL CHECK (kind IN ('shopify', 'odoo')),
    environment                text        NOT NULL CHECK (environment IN ('production', 'test')),
    settings                   jsonb       NOT NULL DEFAULT '{}',
    secrets                    bytea,
    secrets_changed_at         timestamptz,
    -- During a webhook secret rotation the previous secret stays valid for a while.
    previous_webhook_secret    bytea,
    previous_secret_valid_until timestamptz,
    enabled                    boolean     NOT NULL DEFAULT true,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    -- Health, updated by every call the connector makes.
    last_success_at            timestamptz,
    last_error_at              timestamptz,
    last_error                 text        NOT NULL DEFAULT '',
    budget                     jsonb,
    budget_seen_at             timestamptz
);
CREATE UNIQUE INDEX connections_name_key ON connections (lower(name));

-- Calls per connection and hour, for "recent error rate" without a row per call.
CREATE TABLE connection_call_hours (
    connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    hour          timestamptz NOT NULL,
    ok            integer     NOT NULL DEFAULT 0,
    failed        integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, hour)
);

-- +goose Down
DROP TABLE connection_call_hours;
DROP TABLE connections;
