-- +goose Up
SET lock_timeout = '10s';

-- Alert rules: one row per kind of condition, with defaults enabled on
-- install. threshold and window_minutes mean what the kind says (see
-- store/alerts.go); repeat_minutes is how often a still-firing alert that
-- nobody acknowledged is sent again.
CREATE TABLE alert_rules (
    kind             text        PRIMARY KEY,
    enabled          boolean     NOT NULL DEFAULT true,
    threshold        numeric     NOT NULL,
    window_minutes   integer     NOT NULL CHECK (window_minutes BETWEEN 1 AND 10080),
    repeat_minutes   integer     NOT NULL CHECK (repeat_minutes BETWEEN 5 AND 10080),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO alert_rules (kind, threshold, window_minutes, repeat_minutes) VALUES
    ('webhook_failure_rate', 5, 15, 60),   -- % of deliveries rejected or failed over the window
    ('queue_lag', 10, 1, 60),              -- minutes the oldest waiting sync of a flow may wait
    ('freshness_missed', 0, 1, 60),        -- each flow's own freshness target (sources of truth)
    ('failed_syncs_burst', 10, 10, 60),    -- syncs of a flow failing within the window
    ('breaker_open', 0, 1, 60),            -- a connection's circuit breaker open
    ('webhook_subscription_missing', 0, 15, 240); -- a needed Shopify subscription missing (checked every window)

-- Alerts: one row per firing of one condition (kind + key, e.g. a flow or a
-- connection). At most one open alert per condition: the evaluator updates
-- it while the condition holds and resolves it when it clears.
CREATE TABLE alerts (
    id                    bigserial   PRIMARY KEY,
    kind                  text        NOT NULL,
    key                   text        NOT NULL,
    state                 text        NOT NULL DEFAULT 'firing' CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    title                 text        NOT NULL,
    message               text        NOT NULL,
    value                 double precision NOT NULL DEFAULT 0,
    started_at            timestamptz NOT NULL DEFAULT now(),
    last_seen_at          timestamptz NOT NULL DEFAULT now(),
    last_notified_at      timestamptz,
    acknowledged_at       timestamptz,
    acknowledged_by       bigint      REFERENCES users (id) ON DELETE SET NULL,
    acknowledged_by_label text        NOT NULL DEFAULT '',
    resolved_at           timestamptz,
    resolved_notified_at  timestamptz,
    -- The last delivery problem, in plain words, shown on the alert.
    delivery_error        text        NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alerts_open_idx ON alerts (kind, key) WHERE state <> 'resolved';
CREATE INDEX alerts_started_idx ON alerts (started_at DESC, id DESC);

-- Where alerts go. Email uses the SMTP settings (app_settings 'alerts.smtp');
-- a webhook channel's signing secret is sealed like connection secrets.
CREATE TABLE alert_channels (
    id          bigserial   PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('email', 'webhook', 'slack')),
    name        text        NOT NULL,
    target      text        NOT NULL,
    secret      bytea,
    enabled     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every delivery attempt of an alert to a channel, bounded per notification.
CREATE TABLE alert_deliveries (
    id          bigserial   PRIMARY KEY,
    alert_id    bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel_id  bigint      REFERENCES alert_channels (id) ON DELETE SET NULL,
    channel     text        NOT NULL,
    event       text        NOT NULL CHECK (event IN ('firing', 'repeat', 'resolved', 'test')),
    at          timestamptz NOT NULL DEFAULT now(),
    attempts    integer     NOT NULL,
    ok          boolean     NOT NULL,
    error       text        NOT NULL DEFAULT ''
);
CREATE INDEX alert_deliveries_alert_idx ON alert_deliveries (alert_id, at DESC);

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE alert_channels;
DROP TABLE alerts;
DROP TABLE alert_rules;
