-- +goose Up
SET lock_timeout = '10s';

-- A customer's erasure runs in chunks, each its own transaction, and picks
-- up where it stopped: the first chunk lists the customer's syncs and
-- webhook deliveries and the personal values to erase; every chunk after
-- moves the position on. The values are cleared, with the request's own
-- e-mail and phone, when the erasure is done.
ALTER TABLE privacy_requests
    ADD COLUMN work_sync_ids   bigint[] ,
    ADD COLUMN work_event_ids  bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN work_terms      text[]   NOT NULL DEFAULT '{}',
    ADD COLUMN work_position   integer  NOT NULL DEFAULT 0,
    ADD COLUMN erased_syncs    integer  NOT NULL DEFAULT 0,
    ADD COLUMN erased_events   integer  NOT NULL DEFAULT 0,
    ADD COLUMN erased_records  integer  NOT NULL DEFAULT 0;

-- Erasures waiting or under way, oldest due first.
CREATE INDEX privacy_requests_erasing_idx ON privacy_requests (due_at, id)
    WHERE kind = 'customer_redact' AND completed_at IS NULL;

-- +goose Down
DROP INDEX privacy_requests_erasing_idx;
ALTER TABLE privacy_requests DROP COLUMN work_sync_ids, DROP COLUMN work_event_ids, DROP COLUMN work_terms,
    DROP COLUMN work_position, DROP COLUMN erased_syncs, DROP COLUMN erased_events, DROP COLUMN erased_records;
