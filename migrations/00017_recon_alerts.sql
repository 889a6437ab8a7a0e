-- +goose Up
-- Reconciliation alerts, on by default like the others: too many open
-- discrepancies in a family, and a family whose latest comparison failed.
INSERT INTO alert_rules (kind, threshold, window_minutes, repeat_minutes) VALUES
    ('recon_discrepancies', 50, 60, 240),  -- open or acknowledged discrepancies of one family
    ('recon_run_failed', 0, 60, 240)       -- the latest finished comparison of a family failed
ON CONFLICT (kind) DO NOTHING;

-- +goose Down
DELETE FROM alerts WHERE kind IN ('recon_discrepancies', 'recon_run_failed');
DELETE FROM alert_rules WHERE kind IN ('recon_discrepancies', 'recon_run_failed');
