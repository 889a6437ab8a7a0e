-- +goose Up
SET lock_timeout = '10s';

-- A shop's erasure (shop/redact) deletes the connection's data in steps,
-- each a run of short transactions: shop_step is the step under way,
-- shop_cursor its position (the last sync id looked at), shop_counts the
-- rows deleted so far per step. It starts by itself when the connection is
-- disabled; while it is enabled an admin confirms it first.
ALTER TABLE privacy_requests
    ADD COLUMN shop_step         integer     NOT NULL DEFAULT 0,
    ADD COLUMN shop_cursor       bigint      NOT NULL DEFAULT 0,
    ADD COLUMN shop_counts       jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN shop_confirmed_at timestamptz,
    ADD COLUMN shop_confirmed_by text        NOT NULL DEFAULT '';

-- Shop erasures waiting or under way, oldest due first.
CREATE INDEX privacy_requests_shop_erasing_idx ON privacy_requests (due_at, id)
    WHERE kind = 'shop_redact' AND completed_at IS NULL;

-- +goose Down
DROP INDEX privacy_requests_shop_erasing_idx;
ALTER TABLE privacy_requests DROP COLUMN shop_step, DROP COLUMN shop_cursor, DROP COLUMN shop_counts,
    DROP COLUMN shop_confirmed_at, DROP COLUMN shop_confirmed_by;
