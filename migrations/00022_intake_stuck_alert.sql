-- +goose Up
SET lock_timeout = '10s';

-- Webhook intake stuck: the oldest event received but not yet turned into
-- syncs has waited longer than the threshold (minutes). On by default like
-- the other rules; /readyz answers 503 on the same condition. The age is
-- read from webhook_events_status_received_idx (status, received_at, id):
-- one index probe, however many events were ever received.
INSERT INTO alert_rules (kind, threshold, window_minutes, repeat_minutes) VALUES
    ('webhook_intake_stuck', 5, 1, 60)
ON CONFLICT (kind) DO NOTHING;

-- +goose Down
DELETE FROM alerts WHERE kind = 'webhook_intake_stuck';
DELETE FROM alert_rules WHERE kind = 'webhook_intake_stuck';
