-- +goose Up
SET lock_timeout = '10s';

-- Sign-in throttling keeps one row per account (lower-case email, known or
-- not, so the answer never tells whether an account exists) and one per
-- client address. An attempt takes its slot before the password is checked:
-- it locks the two rows and adds one to failures in the same transaction, so
-- parallel guesses cannot all read a low count and all be checked. A
-- successful sign-in gives its slot back. Past the limit every further
-- attempt waits until blocked_until, which doubles with each failure up to a
-- cap; attempts inside the wait are refused unchecked and only counted.
CREATE TABLE login_throttles (
    scope           text        NOT NULL CHECK (scope IN ('account', 'address')),
    key             text        NOT NULL,
    failures        integer     NOT NULL DEFAULT 0,
    refused         integer     NOT NULL DEFAULT 0,
    blocked_until   timestamptz,
    last_failure_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
-- Pruning forgets quiet rows.
CREATE INDEX login_throttles_updated_at_idx ON login_throttles (updated_at);

-- The per-failure rows counted before and after the password check, with no
-- lock between: replaced by the rows above.
DROP TABLE login_failures;

-- +goose Down
CREATE TABLE login_failures (
    id         bigserial   PRIMARY KEY,
    email      text        NOT NULL,
    ip         text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_at_idx ON login_failures (lower(email), at);
CREATE INDEX login_failures_ip_at_idx ON login_failures (ip, at);
DROP TABLE login_throttles;
