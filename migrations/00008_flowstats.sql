-- +goose Up
-- The Overview's flows: each family's last success, and its oldest waiting
-- or retrying sync, read without scanning a family's whole history. Both are
-- partial: waiting syncs are few, and successes are read newest first.
CREATE INDEX IF NOT EXISTS syncs_family_succeeded_idx ON syncs (family, updated_at DESC) WHERE status = 'succeeded';
CREATE INDEX IF NOT EXISTS syncs_family_waiting_idx ON syncs (family, created_at) WHERE status IN ('pending', 'retrying');

-- +goose Down
DROP INDEX IF EXISTS syncs_family_waiting_idx;
DROP INDEX IF EXISTS syncs_family_succeeded_idx;
