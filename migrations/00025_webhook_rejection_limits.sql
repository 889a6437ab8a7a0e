-- +goose Up
SET lock_timeout = '10s';

-- Rejected webhook deliveries are kept as a bounded sample: per connection
-- and hour, the first ones are stored (unsigned bodies cut to 2 KB), the rest
-- only counted here. One small row per connection and hour; a flood of
-- unsigned posts updates it instead of growing webhook_rejections.
CREATE TABLE webhook_rejection_hours (
    connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    hour          timestamptz NOT NULL,
    kept          integer     NOT NULL DEFAULT 0,
    -- Turned away after the hour's sample was full: counted, not stored.
    dropped       bigint      NOT NULL DEFAULT 0,
    -- Whether the latest rejection counted here was kept (read back by the
    -- statement that counted it).
    last_kept     boolean     NOT NULL DEFAULT true,
    PRIMARY KEY (connection_id, hour)
);

-- Retention deletes rejections by age, across connections.
CREATE INDEX webhook_rejections_received_idx ON webhook_rejections (received_at);

-- +goose Down
DROP INDEX webhook_rejections_received_idx;
DROP TABLE webhook_rejection_hours;
