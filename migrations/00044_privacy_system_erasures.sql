-- +goose Up
SET lock_timeout = '10s';

-- Per connected system: whether a customer's erasure (customers/redact) is
-- sent to it. Off until an admin turns it on; a system without a row is off.
CREATE TABLE privacy_erasure_settings (
    connection_id bigint      PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    send_erasures boolean     NOT NULL DEFAULT false,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    changed_by    text        NOT NULL DEFAULT ''
);

-- What a customer's erasure did in each connected system other than the
-- shop that asked. Written when the erasure is planned, one row per system.
CREATE TABLE privacy_system_erasures (
    request_id      bigint      NOT NULL REFERENCES privacy_requests (id) ON DELETE CASCADE,
    connection_id   bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    -- sending: to be sent (next_attempt_at); erased, kept (record_id names the
    -- record, detail why), not_found; failed (detail; next_attempt_at when it
    -- is tried again, NULL once given up); not_sent: the setting was off;
    -- not_supported: the system has no way to erase.
    outcome         text        NOT NULL CHECK (outcome IN ('sending', 'erased', 'kept', 'not_found', 'failed', 'not_sent', 'not_supported')),
    detail          text        NOT NULL DEFAULT '',
    record_id       text        NOT NULL DEFAULT '',
    record          text        NOT NULL DEFAULT '',
    -- The customer's e-mail, to find them in the system until their record
    -- is found (or the erasure is settled): the request itself forgets it
    -- when Crossdock's own erasure ends.
    lookup_email    text        NOT NULL DEFAULT '',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, connection_id)
);
-- Erasures to send (or send again), by when.
CREATE INDEX privacy_system_erasures_due_idx ON privacy_system_erasures (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- +goose Down
DROP TABLE privacy_system_erasures;
DROP TABLE privacy_erasure_settings;
