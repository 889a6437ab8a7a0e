-- +goose Up
-- Migrations must never wait forever behind a long query of a running replica.
SET lock_timeout = '10s';
SET statement_timeout = '60s';

CREATE TABLE users (
    id                  bigserial PRIMARY KEY,
    email               text        NOT NULL,
    name                text        NOT NULL,
    role                text        NOT NULL CHECK (role IN ('admin', 'operator', 'finance')),
    password_hash       text        NOT NULL,
    active              boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz
);
-- Email addresses are compared case-insensitively: Ana@Shop.com and ana@shop.com are one person.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Server-side sessions: the cookie only carries a signed random id, so signing
-- out or deactivating a user ends the session everywhere at once.
CREATE TABLE sessions (
    id           text        PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Failed sign-ins, counted per account and per address to slow down guessing.
CREATE TABLE login_failures (
    id         bigserial   PRIMARY KEY,
    email      text        NOT NULL,
    ip         text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_at_idx ON login_failures (lower(email), at);
CREATE INDEX login_failures_ip_at_idx ON login_failures (ip, at);

-- Every state change anywhere in the product, written in the change's own transaction.
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint      REFERENCES users (id) ON DELETE SET NULL,
    actor_label text        NOT NULL,
    action      text        NOT NULL,
    object_type text        NOT NULL,
    object_id   text        NOT NULL,
    summary     text        NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    request_id  text        NOT NULL DEFAULT '',
    ip          text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_id_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_at_idx ON audit_log (actor_id, at DESC, id DESC);
CREATE INDEX audit_log_object_at_idx ON audit_log (object_type, at DESC, id DESC);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE login_failures;
DROP TABLE sessions;
DROP TABLE users;
