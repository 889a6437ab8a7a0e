-- +goose Up
SET lock_timeout = '10s';

-- The people whose personal data Crossdock keeps, per route (family, from,
-- to), for the personal data map's counts. The hourly pruning job keeps it:
-- it reads the syncs created since its last pass (keyset on
-- syncs_created_idx, from privacy_retention's count cursor), adds each
-- person (a keyed hash of their e-mail, or of the customer's id, never the
-- value itself) with when they were last seen, and drops the people last
-- seen before the retention cutoff. Nothing is written on the syncs' path.
CREATE TABLE privacy_people (
    family               text        NOT NULL,
    source_connection_id bigint      NOT NULL,
    target_connection_id bigint      NOT NULL,
    person               bytea       NOT NULL,
    last_seen            timestamptz NOT NULL,
    PRIMARY KEY (family, source_connection_id, target_connection_id, person)
);
CREATE INDEX privacy_people_last_seen_idx ON privacy_people (last_seen);

ALTER TABLE privacy_retention
    ADD COLUMN count_created_at timestamptz NOT NULL DEFAULT 'epoch',
    ADD COLUMN count_id         bigint      NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE privacy_retention DROP COLUMN count_created_at, DROP COLUMN count_id;
DROP TABLE privacy_people;
