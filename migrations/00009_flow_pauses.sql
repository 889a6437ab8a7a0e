-- +goose Up
SET lock_timeout = '10s';

-- A paused flow: its syncs are still recorded and queued, nothing is written
-- until it is resumed. Not part of the sources-of-truth versions: pausing is
-- an operational switch, not a change of who decides what.
CREATE TABLE flow_pauses (
    family          text        PRIMARY KEY,
    paused_at       timestamptz NOT NULL DEFAULT now(),
    paused_by       bigint      REFERENCES users (id) ON DELETE SET NULL,
    paused_by_label text        NOT NULL,
    reason          text        NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE flow_pauses;
