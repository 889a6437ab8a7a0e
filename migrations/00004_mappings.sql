-- +goose Up
SET lock_timeout = '10s';

-- Identifier mappings: one canonical entity per real-world thing (hub), with
-- one reference per connected system (spokes). Every change arrives as a change
-- set, is approved by a second person and becomes the next mapping version.

-- The kinds of things that are mapped. New kinds are added with an INSERT.
-- many_per_connection: an entity of this type may have several references in
-- one system (several Shopify payment gateways settle into one Odoo journal,
-- several tax lines into one Odoo tax). For every other type an entity has at
-- most one reference per system, which the database enforces below.
CREATE TABLE entity_types (
    key                 text    PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label               text    NOT NULL,
    many_per_connection boolean NOT NULL DEFAULT false,
    position            int     NOT NULL DEFAULT 100
);
INSERT INTO entity_types (key, label, many_per_connection, position) VALUES
    ('product',        'Product',        false, 10),
    ('variant',        'Variant',        false, 20),
    ('customer',       'Customer',       false, 30),
    ('order',          'Order',          false, 40),
    ('location',       'Location',       false, 50),
    ('tax_code',       'Tax code',       true,  60),
    ('payment_method', 'Payment method', true,  70);

CREATE TABLE mapping_entities (
    id          bigserial   PRIMARY KEY,
    entity_type text        NOT NULL REFERENCES entity_types (key),
    -- The canonical key people know the thing by (usually the SKU or email).
    key         text        NOT NULL CHECK (key <> ''),
    name        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX mapping_entities_type_key ON mapping_entities (entity_type, lower(key));
CREATE INDEX mapping_entities_key_id ON mapping_entities (key, id);
CREATE INDEX mapping_entities_type_key_id ON mapping_entities (entity_type, key, id);
CREATE INDEX mapping_entities_lower_name ON mapping_entities (lower(name) text_pattern_ops);
CREATE INDEX mapping_entities_lower_key ON mapping_entities (lower(key) text_pattern_ops);

-- The version counter. Its single row is locked by every approval, so
-- approvals are applied one at a time in version order.
CREATE TABLE mapping_state (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    current_version bigint  NOT NULL DEFAULT 0
);
INSERT INTO mapping_state (id, current_version) VALUES (true, 0);

CREATE TABLE change_sets (
    id               bigserial   PRIMARY KEY,
    title            text        NOT NULL,
    reason           text        NOT NULL DEFAULT '',
    status           text        NOT NULL DEFAULT 'draft'
                                 CHECK (status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')),
    source           text        NOT NULL DEFAULT 'form' CHECK (source IN ('form', 'suggestions', 'import', 'revert')),
    file_name        text        NOT NULL DEFAULT '',
    proposed_by      bigint      REFERENCES users (id) ON DELETE SET NULL,
    proposed_label   text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    submitted_at     timestamptz,
    decided_at       timestamptz,
    decided_by       bigint      REFERENCES users (id) ON DELETE SET NULL,
    decided_label    text        NOT NULL DEFAULT '',
    decision_comment text        NOT NULL DEFAULT '',
    version          bigint      UNIQUE,
    reverts_id       bigint      REFERENCES change_sets (id),
    -- Counts of the last check, so lists never count 100,000 items.
    n_add            int         NOT NULL DEFAULT 0,
    n_change         int         NOT NULL DEFAULT 0,
    n_remove         int         NOT NULL DEFAULT 0,
    n_unchanged      int         NOT NULL DEFAULT 0,
    n_invalid        int         NOT NULL DEFAULT 0,
    n_conflicts      int         NOT NULL DEFAULT 0,
    checked_at       timestamptz
);
CREATE INDEX change_sets_status_id ON change_sets (status, id DESC);
CREATE INDEX change_sets_id_desc ON change_sets (id DESC);

-- One row per applied change set: mapping version N is the state after
-- change set version N was applied.
CREATE TABLE mapping_versions (
    version       bigint      PRIMARY KEY,
    change_set_id bigint      NOT NULL UNIQUE REFERENCES change_sets (id),
    applied_at    timestamptz NOT NULL DEFAULT now(),
    applied_by    bigint      REFERENCES users (id) ON DELETE SET NULL,
    applied_label text        NOT NULL DEFAULT ''
);
CREATE INDEX mapping_versions_applied_at ON mapping_versions (applied_at);

-- References, current and past. A row is valid from version valid_from
-- (inclusive) to valid_to (exclusive); valid_to IS NULL is the current state.
-- A change never updates a reference in place: it ends the row and adds one,
-- so "what did X map to in version N" is one indexed query.
CREATE TABLE mapping_refs (
    id                 bigserial PRIMARY KEY,
    entity_id          bigint    NOT NULL REFERENCES mapping_entities (id),
    connection_id      bigint    NOT NULL REFERENCES connections (id),
    entity_type        text      NOT NULL REFERENCES entity_types (key),
    external_id        text      NOT NULL CHECK (external_id <> ''),
    sku                text      NOT NULL DEFAULT '',
    barcode            text      NOT NULL DEFAULT '',
    email              text      NOT NULL DEFAULT '',
    name               text      NOT NULL DEFAULT '',
    -- Copied from entity_types, so the one-per-system rule is an index.
    one_per_connection boolean   NOT NULL,
    valid_from         bigint    NOT NULL,
    valid_to           bigint,
    created_change_set bigint    NOT NULL REFERENCES change_sets (id),
    ended_change_set   bigint    REFERENCES change_sets (id),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
-- One external id maps to one entity per connection and type.
CREATE UNIQUE INDEX mapping_refs_current_external ON mapping_refs (connection_id, entity_type, external_id) WHERE valid_to IS NULL;
-- An entity has at most one reference per connection unless its type allows more.
CREATE UNIQUE INDEX mapping_refs_current_one_per_connection ON mapping_refs (entity_id, connection_id) WHERE valid_to IS NULL AND one_per_connection;
-- Current references of an entity, its history, and resolving (few rows per entity).
CREATE INDEX mapping_refs_entity_history ON mapping_refs (entity_id, valid_from);
-- Search and time travel by any system's id.
CREATE INDEX mapping_refs_external ON mapping_refs (external_id);
CREATE INDEX mapping_refs_sku ON mapping_refs (lower(sku)) WHERE sku <> '';
CREATE INDEX mapping_refs_barcode ON mapping_refs (barcode) WHERE barcode <> '';
CREATE INDEX mapping_refs_email ON mapping_refs (lower(email)) WHERE email <> '';
CREATE INDEX mapping_refs_name ON mapping_refs (lower(name) text_pattern_ops) WHERE name <> '';
CREATE INDEX mapping_refs_created_cs ON mapping_refs (created_change_set);
CREATE INDEX mapping_refs_ended_cs ON mapping_refs (ended_change_set) WHERE ended_change_set IS NOT NULL;

-- The rows of a change set. op is what was asked (set this reference, or
-- remove it); action and the before_* columns are what it means against the
-- mappings at the last check (add, change, remove or unchanged).
CREATE TABLE change_set_items (
    change_set_id      bigint NOT NULL REFERENCES change_sets (id) ON DELETE CASCADE,
    line               int    NOT NULL,
    op                 text   NOT NULL CHECK (op IN ('set', 'remove')),
    entity_type        text   NOT NULL REFERENCES entity_types (key),
    connection_id      bigint NOT NULL REFERENCES connections (id),
    entity_key         text   NOT NULL DEFAULT '',
    external_id        text   NOT NULL CHECK (external_id <> ''),
    -- NULL keeps the reference's current value (a CSV without that column).
    sku                text,
    barcode            text,
    email              text,
    name               text,
    entity_id          bigint REFERENCES mapping_entities (id),
    action             text   NOT NULL DEFAULT 'add' CHECK (action IN ('add', 'change', 'remove', 'unchanged')),
    before_ref_id      bigint REFERENCES mapping_refs (id),
    before_entity_key  text   NOT NULL DEFAULT '',
    before_external_id text   NOT NULL DEFAULT '',
    before_sku         text   NOT NULL DEFAULT '',
    before_barcode     text   NOT NULL DEFAULT '',
    before_email       text   NOT NULL DEFAULT '',
    before_name        text   NOT NULL DEFAULT '',
    PRIMARY KEY (change_set_id, line)
);
CREATE INDEX change_set_items_entity ON change_set_items (entity_id) WHERE entity_id IS NOT NULL;
-- A change set says one thing about each external id.
CREATE UNIQUE INDEX change_set_items_external ON change_set_items (change_set_id, connection_id, entity_type, external_id);

-- What is wrong with a change set: invalid import rows (kind 'invalid') and
-- conflicts found by the last check. Both block approval.
CREATE TABLE change_set_issues (
    id            bigserial PRIMARY KEY,
    change_set_id bigint    NOT NULL REFERENCES change_sets (id) ON DELETE CASCADE,
    line          int       NOT NULL DEFAULT 0,
    kind          text      NOT NULL,
    message       text      NOT NULL,
    resolution    text      NOT NULL DEFAULT '',
    other_change_set bigint
);
CREATE INDEX change_set_issues_cs ON change_set_issues (change_set_id, line, id);

CREATE TABLE change_set_comments (
    id            bigserial   PRIMARY KEY,
    change_set_id bigint      NOT NULL REFERENCES change_sets (id) ON DELETE CASCADE,
    author_id     bigint      REFERENCES users (id) ON DELETE SET NULL,
    author_label  text        NOT NULL,
    body          text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_set_comments_cs ON change_set_comments (change_set_id, id);

-- The records each connected system has, as the sync engine last saw them:
-- the source of the unmapped view, auto-match suggestions and the
-- "record no longer exists" conflict.
CREATE TABLE external_records (
    connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    entity_type   text        NOT NULL REFERENCES entity_types (key),
    external_id   text        NOT NULL CHECK (external_id <> ''),
    sku           text        NOT NULL DEFAULT '',
    barcode       text        NOT NULL DEFAULT '',
    email         text        NOT NULL DEFAULT '',
    name          text        NOT NULL DEFAULT '',
    name_norm     text        GENERATED ALWAYS AS (btrim(regexp_replace(lower(name), '[^[:alnum:]]+', ' ', 'g'))) STORED,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    PRIMARY KEY (connection_id, entity_type, external_id)
);
CREATE INDEX external_records_sku ON external_records (connection_id, entity_type, lower(sku)) WHERE sku <> '';
CREATE INDEX external_records_barcode ON external_records (connection_id, entity_type, barcode) WHERE barcode <> '';
CREATE INDEX external_records_email ON external_records (connection_id, entity_type, lower(email)) WHERE email <> '';
CREATE INDEX external_records_name ON external_records (connection_id, entity_type, name_norm) WHERE name_norm <> '';

-- +goose Down
DROP TABLE external_records;
DROP TABLE change_set_comments;
DROP TABLE change_set_issues;
DROP TABLE change_set_items;
DROP TABLE mapping_refs;
DROP TABLE mapping_versions;
DROP TABLE change_sets;
DROP TABLE mapping_state;
DROP TABLE mapping_entities;
DROP TABLE entity_types;
