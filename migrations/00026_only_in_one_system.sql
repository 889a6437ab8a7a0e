-- +goose Up
SET lock_timeout = '10s';

-- Failures that mapping cannot fix: the record exists in only one system
-- (an Odoo product with no Shopify variant of the same SKU). They get their
-- own kind of problem, 'only_in_one', and their own ways out: create the
-- record there, exclude it from syncing, or ignore them.
--
-- The CHECKs are replaced NOT VALID: every existing row satisfies the new
-- ones (they only add values), so a table of millions is not scanned under
-- the lock; new and updated rows are checked as before.
ALTER TABLE syncs DROP CONSTRAINT syncs_error_class_check,
    ADD CONSTRAINT syncs_error_class_check CHECK (error_class IN ('transient', 'rate_limited', 'auth', 'validation',
        'unmapped', 'only_in_one', 'conflict', 'ownership', 'not_found', 'internal')) NOT VALID;
-- 'excluded': the record was excluded from syncing, which closed its failures.
ALTER TABLE syncs DROP CONSTRAINT syncs_resolution_check,
    ADD CONSTRAINT syncs_resolution_check CHECK (resolution IN ('resolved', 'ignored', 'replayed', 'auto_resolved',
        'excluded')) NOT VALID;

-- Like unmapped failures, a record missing in the other system groups by the
-- kind of problem and the two systems, not by the message (which names it).
-- Unmapped failures group by the kind of record they miss, too (the engine
-- records it in response->'unmapped'): a location not mapped is a cause of
-- its own, whose "Map it" lands on locations, not on the variants of the
-- same kind of data.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION syncs_cause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.error_class IS NULL THEN
        NEW.cause := NULL;
    ELSIF NEW.error_class = 'unmapped' THEN
        NEW.cause := COALESCE(NEW.response -> 'unmapped' ->> 'entity_type', '');
    ELSIF NEW.error_class = 'only_in_one' THEN
        NEW.cause := '';
    ELSE
        NEW.cause := left(regexp_replace(regexp_replace(regexp_replace(NEW.message,
            ' (Crossdock tries again|Crossdock gave up|Stopped waiting).*$', ''),
            '"[^"]*"|''[^'']*''|#?[A-Za-z_-]*[0-9][0-9A-Za-z.,:/_@-]*', '…', 'g'),
            '\s+', ' ', 'g'), 200);
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- The open only-in-one-system failures by the record they are about
-- (response->'only_in_one', written by the engine): excluding a record
-- closes its failures, and a catalogue refresh that finds the record's SKU
-- in the other system turns them back into "not mapped yet". Partial: only
-- these failures are in it, whatever the size of syncs.
CREATE INDEX syncs_only_in_one_record_idx ON syncs
    (source_connection_id, family, (response->'only_in_one'->>'external_id'))
    WHERE error_class = 'only_in_one' AND status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;
CREATE INDEX syncs_only_in_one_sku_idx ON syncs
    (target_connection_id, (lower(response->'only_in_one'->>'sku')))
    WHERE error_class = 'only_in_one' AND status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;

-- Records excluded from syncing, per kind of data: the engine leaves them out
-- (no sync, no failure) until someone includes them again. A row is never
-- deleted: including again stamps it, so the list keeps who did what.
CREATE TABLE exclusions (
    id             bigserial   PRIMARY KEY,
    connection_id  bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    entity_type    text        NOT NULL,
    external_id    text        NOT NULL CHECK (external_id <> ''),
    family         text        NOT NULL,
    sku            text        NOT NULL DEFAULT '',
    name           text        NOT NULL DEFAULT '',
    reason         text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_label  text        NOT NULL DEFAULT '',
    included_at    timestamptz,
    included_by    bigint      REFERENCES users (id) ON DELETE SET NULL,
    included_label text
);
-- One active exclusion per record and kind of data; the engine's lookup.
CREATE UNIQUE INDEX exclusions_active_idx ON exclusions (connection_id, entity_type, family, external_id)
    WHERE included_at IS NULL;
-- The Excluded records page, newest first.
CREATE INDEX exclusions_created_idx ON exclusions (created_at DESC, id DESC) WHERE included_at IS NULL;

-- +goose Down
DROP TABLE exclusions;
DROP INDEX syncs_only_in_one_sku_idx;
DROP INDEX syncs_only_in_one_record_idx;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION syncs_cause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.error_class IS NULL THEN
        NEW.cause := NULL;
    ELSIF NEW.error_class = 'unmapped' THEN
        NEW.cause := '';
    ELSE
        NEW.cause := left(regexp_replace(regexp_replace(regexp_replace(NEW.message,
            ' (Crossdock tries again|Crossdock gave up|Stopped waiting).*$', ''),
            '"[^"]*"|''[^'']*''|#?[A-Za-z_-]*[0-9][0-9A-Za-z.,:/_@-]*', '…', 'g'),
            '\s+', ' ', 'g'), 200);
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
UPDATE syncs SET error_class = 'unmapped' WHERE error_class = 'only_in_one';
UPDATE syncs SET resolution = 'ignored' WHERE resolution = 'excluded';
ALTER TABLE syncs DROP CONSTRAINT syncs_resolution_check,
    ADD CONSTRAINT syncs_resolution_check CHECK (resolution IN ('resolved', 'ignored', 'replayed', 'auto_resolved')) NOT VALID;
ALTER TABLE syncs DROP CONSTRAINT syncs_error_class_check,
    ADD CONSTRAINT syncs_error_class_check CHECK (error_class IN ('transient', 'rate_limited', 'auth', 'validation',
        'unmapped', 'conflict', 'ownership', 'not_found', 'internal')) NOT VALID;
