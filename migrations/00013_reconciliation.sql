-- +goose Up
SET lock_timeout = '10s';

-- Reconciliation: regular comparisons of what two systems believe, per data
-- family, and the discrepancies they find.

-- How often each family is compared (0: only on demand), and when it last was.
-- The scheduler claims a due family with one UPDATE, so one replica runs it.
CREATE TABLE recon_schedules (
    family        text        PRIMARY KEY CHECK (family IN ('inventory', 'prices', 'orders', 'refunds', 'mappings')),
    every_minutes int         NOT NULL CHECK (every_minutes >= 0),
    last_queued_at timestamptz
);
INSERT INTO recon_schedules (family, every_minutes) VALUES
    ('inventory', 360), ('prices', 1440), ('orders', 1440), ('refunds', 1440), ('mappings', 1440);

CREATE TABLE recon_runs (
    id             bigserial   PRIMARY KEY,
    family         text        NOT NULL CHECK (family IN ('inventory', 'prices', 'orders', 'refunds', 'mappings')),
    trigger        text        NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    requested_by   text        NOT NULL DEFAULT '',
    status         text        NOT NULL DEFAULT 'queued'
                               CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    compared       bigint      NOT NULL DEFAULT 0,
    differing      bigint      NOT NULL DEFAULT 0,
    not_comparable bigint      NOT NULL DEFAULT 0,
    opened         bigint      NOT NULL DEFAULT 0,
    closed         bigint      NOT NULL DEFAULT 0,
    -- What could not be compared, and why: [{"what": ..., "why": ..., "count": n}].
    problems       jsonb       NOT NULL DEFAULT '[]',
    message        text        NOT NULL DEFAULT ''
);
-- At most one run of a family waits or runs at a time.
CREATE UNIQUE INDEX recon_runs_one_live ON recon_runs (family) WHERE status IN ('queued', 'running');
CREATE INDEX recon_runs_family_id ON recon_runs (family, id DESC);

-- Snapshots, one set of rows per run. They are rebuilt by every run, so they
-- are not WAL-logged; a crash loses them and the next run pulls them again.
-- Ids are translated through the mappings when a snapshot is stored: *_id
-- columns are mapping entities, NULL when the record is not mapped.
CREATE UNLOGGED TABLE recon_stock (
    run_id        bigint  NOT NULL,
    connection_id bigint  NOT NULL,
    variant_ref   text    NOT NULL,
    location_ref  text    NOT NULL,
    variant_id    bigint,
    location_id   bigint,
    label         text    NOT NULL DEFAULT '',
    location      text    NOT NULL DEFAULT '',
    on_hand       numeric NOT NULL,
    available     numeric NOT NULL
);
CREATE INDEX recon_stock_run ON recon_stock (run_id, connection_id);

CREATE UNLOGGED TABLE recon_prices (
    run_id        bigint  NOT NULL,
    connection_id bigint  NOT NULL,
    variant_ref   text    NOT NULL,
    variant_id    bigint,
    product_ref   text    NOT NULL DEFAULT '',
    label         text    NOT NULL DEFAULT '',
    price         numeric,
    compare_at    numeric,
    cost          numeric,
    currency      text    NOT NULL DEFAULT '',
    cost_currency text    NOT NULL DEFAULT ''
);
CREATE INDEX recon_prices_run ON recon_prices (run_id, connection_id);

CREATE UNLOGGED TABLE recon_orders (
    run_id        bigint      NOT NULL,
    connection_id bigint      NOT NULL,
    order_ref     text        NOT NULL, -- the Shopify order GID (Odoo: client_order_ref)
    label         text        NOT NULL DEFAULT '',
    total         numeric,
    currency      text        NOT NULL DEFAULT '',
    created_at    timestamptz
);
CREATE INDEX recon_orders_run ON recon_orders (run_id, connection_id);

CREATE UNLOGGED TABLE recon_refunds (
    run_id        bigint      NOT NULL,
    connection_id bigint      NOT NULL,
    refund_ref    text        NOT NULL, -- the Shopify refund GID (Odoo: the credit note's ref)
    order_ref     text        NOT NULL DEFAULT '',
    label         text        NOT NULL DEFAULT '',
    amount        numeric,
    created_at    timestamptz
);
CREATE INDEX recon_refunds_run ON recon_refunds (run_id, connection_id);

-- Records that exist, for the mappings check.
CREATE UNLOGGED TABLE recon_records (
    run_id        bigint NOT NULL,
    connection_id bigint NOT NULL,
    entity_type   text   NOT NULL,
    external_id   text   NOT NULL
);
CREATE INDEX recon_records_run ON recon_records (run_id, connection_id, entity_type, external_id);

CREATE TABLE discrepancies (
    id                   bigserial   PRIMARY KEY,
    family               text        NOT NULL,
    kind                 text        NOT NULL,
    -- Identity across runs, e.g. "2:v17:l3" (other connection, variant, location).
    key                  text        NOT NULL,
    -- Connections are disabled, never deleted; no foreign key, so that a
    -- comparison writing thousands of rows pays no check per row.
    master_connection_id bigint,
    other_connection_id  bigint,
    label                text        NOT NULL,
    master_value         text        NOT NULL DEFAULT '',
    other_value          text        NOT NULL DEFAULT '',
    -- How big the difference is, in the family's unit (pieces, money).
    size                 numeric     NOT NULL DEFAULT 0,
    -- What pushing the master's value needs (ids, values).
    detail               jsonb       NOT NULL DEFAULT '{}',
    status               text        NOT NULL DEFAULT 'open'
                                     CHECK (status IN ('open', 'acknowledged', 'resolved', 'ignored')),
    assignee_id          bigint      REFERENCES users (id) ON DELETE SET NULL,
    note                 text        NOT NULL DEFAULT '',
    first_seen_at        timestamptz NOT NULL DEFAULT now(),
    last_seen_at         timestamptz NOT NULL DEFAULT now(),
    -- Not foreign keys: a comparison writes thousands of rows at once, and
    -- runs are never deleted while discrepancies point at them.
    first_run_id         bigint      NOT NULL,
    last_run_id          bigint      NOT NULL,
    closed_at            timestamptz,
    sync_id              bigint
);
-- One live row per difference; a resolved one that comes back is a new row.
CREATE UNIQUE INDEX discrepancies_live ON discrepancies (family, kind, key) WHERE status <> 'resolved';
CREATE INDEX discrepancies_id_desc ON discrepancies (id DESC);
CREATE INDEX discrepancies_status_id ON discrepancies (status, id DESC);
CREATE INDEX discrepancies_family_open ON discrepancies (family, last_run_id) WHERE status IN ('open', 'acknowledged', 'ignored');

-- Finance review: margin thresholds (percent of the storefront price).
CREATE TABLE finance_thresholds (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    critical numeric NOT NULL DEFAULT 10,
    high     numeric NOT NULL DEFAULT 20,
    medium   numeric NOT NULL DEFAULT 30,
    CHECK (critical <= high AND high <= medium)
);
INSERT INTO finance_thresholds (id) VALUES (true);

-- +goose Down
DROP TABLE finance_thresholds;
DROP TABLE discrepancies;
DROP TABLE recon_records;
DROP TABLE recon_refunds;
DROP TABLE recon_orders;
DROP TABLE recon_prices;
DROP TABLE recon_stock;
DROP TABLE recon_runs;
DROP TABLE recon_schedules;
