-- +goose Up
SET lock_timeout = '10s';

-- Sign-in ending: a connection made by signing in (QuickBooks Online, whose
-- sign-in lasts at most 5 years) must be connected again: 30 days ahead,
-- again at 7 days, and when it ended or its system refused it. On by
-- default; a firing alert is sent again daily until acknowledged.
INSERT INTO alert_rules (kind, threshold, window_minutes, repeat_minutes) VALUES
    ('sign_in_ending', 0, 60, 1440)
ON CONFLICT (kind) DO NOTHING;

-- +goose Down
DELETE FROM alerts WHERE kind = 'sign_in_ending';
DELETE FROM alert_rules WHERE kind = 'sign_in_ending';
