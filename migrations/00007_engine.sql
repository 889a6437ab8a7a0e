-- +goose Up
SET lock_timeout = '10s';

-- Sync records: every change the engine moves (or refuses to move) between
-- two systems, with what it received, what it sent, what came back and every
-- attempt. The failed-syncs console, the health pages and replay read them.
-- A failed sync keeps its data until someone resolves it.
CREATE TABLE syncs (
    id                   bigserial   PRIMARY KEY,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    family               text        NOT NULL,
    -- e.g. 'shopify_to_odoo': the kinds of the two systems, for grouping.
    direction            text        NOT NULL,
    -- The flow that runs it, e.g. 'orders.shopify_odoo'.
    flow                 text        NOT NULL,
    source_connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    target_connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    trigger              text        NOT NULL CHECK (trigger IN ('webhook', 'sweep', 'manual', 'replay')),
    -- The entity: its type, its id in the source system, the canonical
    -- mapping entity when known, and the key people know it by (order name, SKU).
    entity_type          text        NOT NULL,
    entity_ref           text        NOT NULL DEFAULT '',
    entity_id            bigint,
    entity_key           text        NOT NULL DEFAULT '',
    -- Lower-cased human keys (order name and number, SKUs, e-mail) for search.
    search_keys          text[]      NOT NULL DEFAULT '{}',
    -- The source's own version of the entity (updated_at, write_date): a
    -- stale change never overwrites a newer one (see sync_watermarks).
    source_version       timestamptz,
    webhook_event_id     bigint      REFERENCES webhook_events (id) ON DELETE SET NULL,
    replay_of            bigint      REFERENCES syncs (id) ON DELETE SET NULL,
    -- A batch (e.g. 250 stock levels) splits off the items it cannot send
    -- (unmapped, invalid) as syncs of their own, to be fixed and replayed alone.
    parent_id            bigint      REFERENCES syncs (id) ON DELETE CASCADE,
    status               text        NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'running', 'retrying', 'succeeded', 'failed', 'rejected', 'skipped')),
    error_class          text        CHECK (error_class IN ('transient', 'rate_limited', 'auth', 'validation', 'unmapped',
                                                            'conflict', 'ownership', 'not_found', 'internal')),
    -- One plain sentence a merchant understands.
    message              text        NOT NULL DEFAULT '',
    payload              jsonb       NOT NULL DEFAULT '{}',
    request              jsonb,
    response             jsonb,
    -- The key every outbound write of this sync carries (retries and replays reuse it).
    idempotency_key      text        NOT NULL,
    target_ref           text        NOT NULL DEFAULT '',
    attempts             integer     NOT NULL DEFAULT 0,
    max_attempts         integer     NOT NULL,
    next_attempt_at      timestamptz,
    finished_at          timestamptz,
    resolved_at          timestamptz,
    job_id               bigint
);

-- Pages: every sync newest first (keyset on created_at, id).
CREATE INDEX syncs_created_idx ON syncs (created_at DESC, id DESC);
-- The failed-syncs console reads only the problems: a partial index stays
-- small however many successes pile up, and serves its keyset pages...
CREATE INDEX syncs_problems_idx ON syncs (created_at DESC, id DESC)
    WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;
-- ...its filter and grouping by cause...
CREATE INDEX syncs_problems_class_idx ON syncs (error_class, created_at DESC, id DESC)
    WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;
-- ...and a connection's problems.
CREATE INDEX syncs_problems_target_idx ON syncs (target_connection_id, created_at DESC, id DESC)
    WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;
-- Search by SKU, order name or number, e-mail: one GIN over an array of
-- lower-cased keys, because one sync can concern many SKUs (an order's lines,
-- a batch of stock levels) which a btree on one column cannot index.
-- Exact match (search_keys @> ARRAY['sku-000123-blk']), no prefix search.
CREATE INDEX syncs_search_keys_idx ON syncs USING gin (search_keys);
-- The sync a webhook delivery became (webhook pages link to it); and never
-- two syncs from one delivery into one system, whatever crashes in between.
CREATE UNIQUE INDEX syncs_webhook_target_idx ON syncs (webhook_event_id, target_connection_id)
    WHERE webhook_event_id IS NOT NULL;
CREATE UNIQUE INDEX syncs_parent_item_idx ON syncs (parent_id, entity_ref) WHERE parent_id IS NOT NULL;
CREATE INDEX syncs_replay_of_idx ON syncs (replay_of) WHERE replay_of IS NOT NULL;

-- Every attempt of a sync, with its timing and outcome.
CREATE TABLE sync_attempts (
    sync_id     bigint      NOT NULL REFERENCES syncs (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'succeeded', 'failed', 'rejected', 'skipped', 'waiting')),
    error_class text,
    message     text        NOT NULL DEFAULT '',
    -- The answer of this attempt (the request is the sync's: retries resend it).
    response    jsonb,
    PRIMARY KEY (sync_id, attempt)
);

-- High-water marks: the newest version of each source entity the engine has
-- accepted. An older or equal version (late or duplicate webhook, a retry of
-- a superseded sync) is never written over it.
CREATE TABLE sync_watermarks (
    connection_id  bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    entity_type    text        NOT NULL,
    external_id    text        NOT NULL,
    version        timestamptz NOT NULL,
    -- What the entity held at that version, for sources whose timestamps are
    -- coarse (Odoo's write_date has whole seconds): a sweep that reads the
    -- same version again with other content has a real change.
    digest         text        NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, entity_type, external_id)
);

-- Leases serialise writes to one target entity across replicas (an order
-- reference, a stock location): the holder's lease expires if it dies.
CREATE TABLE sync_leases (
    key        text        PRIMARY KEY,
    sync_id    bigint      NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Where each sweep got to (e.g. Odoo quants changed since write_date, id).
CREATE TABLE sync_cursors (
    connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    name          text        NOT NULL,
    position_at   timestamptz,
    position_id   bigint      NOT NULL DEFAULT 0,
    last_run_at   timestamptz,
    PRIMARY KEY (connection_id, name)
);

-- The stock level Crossdock last set in a target (compare-and-set when the
-- rules hold conflicts for review).
CREATE TABLE sync_inventory_levels (
    connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    item_id       text        NOT NULL,
    location_id   text        NOT NULL,
    quantity      bigint      NOT NULL,
    sync_id       bigint      NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, item_id, location_id)
);

-- Payloads, requests and answers are JSON of a few KB.
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE syncs ALTER COLUMN payload SET COMPRESSION lz4;
    ALTER TABLE syncs ALTER COLUMN request SET COMPRESSION lz4;
    ALTER TABLE syncs ALTER COLUMN response SET COMPRESSION lz4;
    ALTER TABLE sync_attempts ALTER COLUMN response SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: sync payloads use pglz';
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE sync_inventory_levels;
DROP TABLE sync_cursors;
DROP TABLE sync_leases;
DROP TABLE sync_watermarks;
DROP TABLE sync_attempts;
DROP TABLE syncs;
