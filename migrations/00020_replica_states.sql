-- +goose Up
SET lock_timeout = '10s';

-- What each replica's engine knows of a connected system: its circuit breaker
-- and, for Shopify, the rate-limit budget its client estimates. Both live in
-- the replica's memory; each replica writes its rows when a breaker opens or
-- closes and refreshes them every few seconds, so that the alert (evaluated
-- on one replica) and /metrics (scraped from any) see a breaker opened on
-- another replica. Rows of a replica that stopped refreshing are ignored.
CREATE TABLE replica_connection_states (
    replica_id          text        NOT NULL CHECK (replica_id <> ''),
    connection_id       bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    breaker_open_until  timestamptz,
    budget_available    double precision,
    budget_max          double precision,
    budget_restore_rate double precision,
    budget_seen_at      timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, replica_id)
);
CREATE INDEX replica_connection_states_replica_idx ON replica_connection_states (replica_id);

-- +goose Down
DROP TABLE replica_connection_states;
