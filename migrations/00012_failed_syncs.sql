-- +goose Up
SET lock_timeout = '10s';

-- The failed-syncs console: how each failure was dealt with, which replay it
-- became, its cause for grouping, and the replays run in bulk. Every column
-- added to syncs is nullable or has a constant default, so on a table of
-- millions of rows the ALTERs change the catalogue only, without a rewrite.

-- A bulk replay (a selection, or everything matching a filter): a background
-- job walks the failures, replays each once, and the page shows its progress
-- from the replays it made (syncs.replay_batch_id).
CREATE TABLE replay_batches (
    id               bigserial   PRIMARY KEY,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_label    text        NOT NULL,
    -- What it replays: a filter (JSON of store.FailedFilter) or a list of ids.
    filter           jsonb       NOT NULL DEFAULT '{}',
    sync_ids         bigint[],
    description      text        NOT NULL DEFAULT '',
    status           text        NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'done', 'cancelled', 'failed')),
    -- Where the walk got to (keyset: strictly older than these).
    cursor_at        timestamptz,
    cursor_id        bigint,
    enqueued         integer     NOT NULL DEFAULT 0,
    -- Failures that could not be replayed (already replayed, still running,
    -- not allowed), with a sample of why.
    refused          integer     NOT NULL DEFAULT 0,
    refusals         jsonb       NOT NULL DEFAULT '[]',
    -- The versions the replays were made under: today's, not the failure's.
    mapping_version  bigint,
    rules_version    bigint,
    -- Set when the batch was started by an approved mapping change set.
    change_set_id    bigint,
    enqueued_at      timestamptz,
    cancelled_at     timestamptz,
    cancelled_by     text
);
CREATE INDEX replay_batches_created_idx ON replay_batches (created_at DESC, id DESC);

-- Approved mapping change sets the failed-syncs console has followed up:
-- the unmapped failures between the systems they map were replayed by a
-- batch (when the setting allows), or why not. One row per change set, so
-- two replicas never replay for the same approval.
CREATE TABLE failure_fixes (
    change_set_id bigint      PRIMARY KEY REFERENCES change_sets (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    batch_id      bigint      REFERENCES replay_batches (id) ON DELETE SET NULL,
    outcome       text        NOT NULL DEFAULT ''
);

ALTER TABLE syncs
    -- How an unresolved problem was dealt with: resolved by a person (with a
    -- note), ignored (with a reason), replayed (replayed_by is the new sync),
    -- or auto_resolved (a later sync of the same record and direction succeeded).
    ADD COLUMN resolution      text CHECK (resolution IN ('resolved', 'ignored', 'replayed', 'auto_resolved')),
    ADD COLUMN resolution_note text,
    ADD COLUMN resolved_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN resolved_label  text,
    -- Deferred: a bulk replay marks the originals with the ids of their
    -- replays first, then creates the replays, in one transaction.
    ADD COLUMN replayed_by     bigint REFERENCES syncs (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    ADD COLUMN replay_batch_id bigint REFERENCES replay_batches (id) ON DELETE SET NULL,
    -- The edited payload of an edit-and-replay keeps the original's here.
    ADD COLUMN edited_from     bigint REFERENCES syncs (id) ON DELETE SET NULL,
    -- Versions in force when the sync was created (replays record today's).
    ADD COLUMN mapping_version bigint,
    ADD COLUMN rules_version   bigint,
    -- The failure's cause without the record it concerns ("Odoo refused the
    -- change: customer has no country"), so that failures group by cause.
    -- '' for unmapped: its cause is the class and the target.
    ADD COLUMN cause           text;

-- The cause is derived from the message when a sync fails: numbers, order
-- names, quoted values and the retry schedule are taken out, so "#1001 was
-- refused: customer 42 has no country" and the same for #1002 group together.
-- +goose StatementBegin
CREATE FUNCTION syncs_cause() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER syncs_cause BEFORE INSERT OR UPDATE OF message, error_class ON syncs
    FOR EACH ROW EXECUTE FUNCTION syncs_cause();
-- Existing problems get their cause (the trigger fires on the message).
UPDATE syncs SET message = message WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;

-- Grouping by cause reads this index only (an index-only scan over the open
-- problems, already in group order), never the rows and their payloads.
CREATE INDEX syncs_problems_cause_idx ON syncs
    (error_class, family, direction, source_connection_id, target_connection_id, cause, entity_key)
    INCLUDE (created_at, id)
    WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;
-- The family filter of the open problems, newest first.
CREATE INDEX syncs_problems_family_idx ON syncs (family, created_at DESC, id DESC)
    WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;
-- Failures dealt with (resolved, ignored, replayed), newest first per outcome.
CREATE INDEX syncs_resolution_idx ON syncs (resolution, created_at DESC, id DESC)
    WHERE resolution IS NOT NULL;
-- Retention: resolved failures older than the stated period, oldest first.
CREATE INDEX syncs_resolved_at_idx ON syncs (resolved_at)
    WHERE resolution IS NOT NULL;
-- Search by any external id, and auto-resolve (a later success of the same
-- record into the same system) among failures, open or dealt with.
CREATE INDEX syncs_failed_entity_idx ON syncs (entity_ref, target_connection_id)
    WHERE status IN ('failed', 'retrying', 'rejected');
CREATE INDEX syncs_failed_target_ref_idx ON syncs (target_ref)
    WHERE status IN ('failed', 'retrying', 'rejected') AND target_ref <> '';
-- A bulk replay's progress counts its own replays.
CREATE INDEX syncs_replay_batch_idx ON syncs (replay_batch_id, status) WHERE replay_batch_id IS NOT NULL;

-- +goose Down
DROP TRIGGER syncs_cause ON syncs;
DROP FUNCTION syncs_cause();
ALTER TABLE syncs DROP COLUMN resolution, DROP COLUMN resolution_note, DROP COLUMN resolved_by, DROP COLUMN resolved_label,
    DROP COLUMN replayed_by, DROP COLUMN replay_batch_id, DROP COLUMN edited_from, DROP COLUMN mapping_version,
    DROP COLUMN rules_version, DROP COLUMN cause;
DROP TABLE failure_fixes;
DROP TABLE replay_batches;
