-- +goose Up
SET lock_timeout = '10s';

-- Sources of truth: for each data family, the system that decides it (the
-- master), the systems that receive it, how fresh they must stay and what
-- happens on conflict. A family without a row has not been set up yet.
CREATE TABLE source_rules (
    family               text        PRIMARY KEY CHECK (family IN
                         ('products', 'prices', 'costs', 'inventory', 'customers', 'orders', 'refunds', 'fulfillments')),
    -- A removed connection leaves the family without a master (the page warns),
    -- never with a dangling id.
    master_connection_id bigint      REFERENCES connections (id) ON DELETE SET NULL,
    trigger              text        NOT NULL CHECK (trigger IN ('realtime', 'scheduled')),
    sweep_minutes        integer     NOT NULL CHECK (sweep_minutes BETWEEN 1 AND 1440),
    freshness_minutes    integer     NOT NULL CHECK (freshness_minutes BETWEEN 1 AND 10080),
    conflict_policy      text        NOT NULL CHECK (conflict_policy IN ('master_wins', 'hold')),
    -- The rules version (source_rule_versions) that last changed this family.
    version              bigint      NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           bigint      REFERENCES users (id) ON DELETE SET NULL,
    updated_by_label     text        NOT NULL DEFAULT ''
);

-- The systems a family is written into. edited_by_hand: people also change
-- the family by hand in that system, which the page warns about.
CREATE TABLE source_rule_receivers (
    family         text    NOT NULL REFERENCES source_rules (family) ON DELETE CASCADE,
    connection_id  bigint  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    edited_by_hand boolean NOT NULL DEFAULT false,
    PRIMARY KEY (family, connection_id)
);

-- Product fields owned by a system other than the master of the family they
-- follow (e.g. SKU and barcode from the ERP while Shopify decides content).
CREATE TABLE product_field_owners (
    field         text   PRIMARY KEY CHECK (field ~ '^[a-z][a-z_]{0,39}$'),
    connection_id bigint NOT NULL REFERENCES connections (id) ON DELETE CASCADE
);

-- Every saved change gets the next version, with the whole set of rules in
-- force from then on, so a failed sync can show the rules of its time.
CREATE TABLE source_rule_versions (
    version    bigint      PRIMARY KEY,
    family     text        NOT NULL,
    saved_at   timestamptz NOT NULL DEFAULT now(),
    saved_by   text        NOT NULL,
    rules      jsonb       NOT NULL
);

-- +goose Down
DROP TABLE source_rule_versions;
DROP TABLE product_field_owners;
DROP TABLE source_rule_receivers;
DROP TABLE source_rules;
