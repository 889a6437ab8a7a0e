-- +goose Up
SET lock_timeout = '10s';

-- Peak rehearsals: a load an admin asked for against a test-environment
-- Shopify connection, and the report of what Crossdock did with it. Reports
-- are kept so that one run can be compared with the next.
CREATE TABLE rehearsals (
    id                  bigserial   PRIMARY KEY,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_by_label    text        NOT NULL DEFAULT '',
    connection_id       bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    -- What was asked: a multiple of the busiest hour (then orders_per_min
    -- is derived from it) or a plain rate.
    profile             text        NOT NULL CHECK (profile IN ('best_hour', 'rate')),
    multiple            double precision NOT NULL DEFAULT 0,
    orders_per_min      double precision NOT NULL CHECK (orders_per_min > 0 AND orders_per_min <= 100000),
    duration_seconds    integer     NOT NULL CHECK (duration_seconds BETWEEN 1 AND 7200),
    updates_per_order   integer     NOT NULL CHECK (updates_per_order BETWEEN 0 AND 50),
    state               text        NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'running', 'cancelling', 'cancelled', 'finished', 'failed')),
    started_at          timestamptz,
    finished_at         timestamptz,
    -- The report (store.RehearsalReport as JSON) and its one-sentence verdict.
    report              jsonb,
    verdict             text        NOT NULL DEFAULT '',
    error               text        NOT NULL DEFAULT ''
);
CREATE INDEX rehearsals_created_idx ON rehearsals (created_at DESC, id DESC);

-- +goose Down
DROP TABLE rehearsals;
