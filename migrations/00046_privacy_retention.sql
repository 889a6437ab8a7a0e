-- +goose Up
SET lock_timeout = '10s';

-- Retention of personal data: the periodic job walks the syncs oldest first
-- (keyset on syncs_created_idx, the index the Syncs pages read) and the
-- webhook deliveries by id, erasing personal fields from what ended more
-- than the retention period ago. Where it stands is one row: no column, index
-- or trigger on syncs, so the syncs' write path is unchanged.
CREATE TABLE privacy_retention (
    id              boolean     PRIMARY KEY DEFAULT true CHECK (id),
    -- The last sync passed (created_at, id) and the last delivery passed (id).
    sync_created_at timestamptz NOT NULL DEFAULT 'epoch',
    sync_id         bigint      NOT NULL DEFAULT 0,
    event_id        bigint      NOT NULL DEFAULT 0,
    -- The last run: when it ended and how many records it pruned, and the
    -- total since the setting began.
    last_run_at     timestamptz,
    last_pruned     bigint      NOT NULL DEFAULT 0,
    pruned_total    bigint      NOT NULL DEFAULT 0,
    -- People held per connection ([{connection_id, people}]), counted by the
    -- same job from the customer mappings and catalogues, and when.
    people          jsonb       NOT NULL DEFAULT '[]',
    counted_at      timestamptz
);
INSERT INTO privacy_retention DEFAULT VALUES;

-- Syncs and deliveries passed while they could not be pruned yet (an open
-- failure, a sync still running, a delivery not processed): looked at again
-- on every run, by primary key, until they can.
CREATE TABLE privacy_retention_waiting (
    kind  text   NOT NULL CHECK (kind IN ('sync', 'event')),
    id    bigint NOT NULL,
    since timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);

-- +goose Down
DROP TABLE privacy_retention_waiting;
DROP TABLE privacy_retention;
