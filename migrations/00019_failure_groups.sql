-- +goose Up
SET lock_timeout = '10s';

-- The failed-syncs console's grouped view reads a summary of the open
-- failures per cause instead of aggregating them on every page load (500,000
-- index entries at 10 million syncs, 5 % failed).
--
-- Many workers fail syncs at once, often of the same cause: one counter row
-- per cause updated by each of them would make them queue behind each other
-- (the row stays locked until their transaction commits). So a trigger only
-- appends changes (+1, -1) to failure_group_changes, which takes no lock
-- anyone else waits for, and a periodic job folds them into failure_groups.
-- A reader adds the changes not folded yet to the summary: always exact.
CREATE TABLE failure_groups (
    error_class          text        NOT NULL,
    family               text        NOT NULL,
    direction            text        NOT NULL,
    source_connection_id bigint      NOT NULL,
    target_connection_id bigint      NOT NULL,
    cause                text        NOT NULL,
    -- Open failures of this cause.
    n                    bigint      NOT NULL,
    -- The oldest and newest failure of the cause since it last had none open
    -- (a failure resolved in between does not move them), and the newest's id.
    first_seen           timestamptz NOT NULL,
    last_seen            timestamptz NOT NULL,
    last_id              bigint      NOT NULL,
    PRIMARY KEY (error_class, family, direction, source_connection_id, target_connection_id, cause)
);

CREATE TABLE failure_group_changes (
    error_class          text        NOT NULL,
    family               text        NOT NULL,
    direction            text        NOT NULL,
    source_connection_id bigint      NOT NULL,
    target_connection_id bigint      NOT NULL,
    cause                text        NOT NULL,
    n                    integer     NOT NULL, -- +1 a failure opened, -1 one closed (or left the cause)
    seen_at              timestamptz NOT NULL, -- the failure's created_at
    sync_id              bigint      NOT NULL
);

-- One row per failure that opens or closes, only for those: the WHEN clauses
-- are evaluated without calling the function, so the engine's ordinary
-- writes (pending → running → succeeded) pay nothing.
-- +goose StatementBegin
CREATE FUNCTION failure_group_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN ('failed', 'retrying', 'rejected') AND OLD.resolved_at IS NULL THEN
        INSERT INTO failure_group_changes VALUES (COALESCE(OLD.error_class, ''), OLD.family, OLD.direction,
            OLD.source_connection_id, OLD.target_connection_id, COALESCE(OLD.cause, ''), -1, OLD.created_at, OLD.id);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status IN ('failed', 'retrying', 'rejected') AND NEW.resolved_at IS NULL THEN
        INSERT INTO failure_group_changes VALUES (COALESCE(NEW.error_class, ''), NEW.family, NEW.direction,
            NEW.source_connection_id, NEW.target_connection_id, COALESCE(NEW.cause, ''), 1, NEW.created_at, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER failure_group_insert AFTER INSERT ON syncs FOR EACH ROW
    WHEN (NEW.status IN ('failed', 'retrying', 'rejected') AND NEW.resolved_at IS NULL)
    EXECUTE FUNCTION failure_group_change();
-- An update matters when the failure opens or closes, or an open one changes
-- cause (a retry that fails differently).
CREATE TRIGGER failure_group_update AFTER UPDATE ON syncs FOR EACH ROW
    WHEN ((OLD.status IN ('failed', 'retrying', 'rejected') AND OLD.resolved_at IS NULL)
            IS DISTINCT FROM (NEW.status IN ('failed', 'retrying', 'rejected') AND NEW.resolved_at IS NULL)
       OR (NEW.status IN ('failed', 'retrying', 'rejected') AND NEW.resolved_at IS NULL
           AND (OLD.error_class, OLD.cause, OLD.family, OLD.direction, OLD.source_connection_id, OLD.target_connection_id)
               IS DISTINCT FROM (NEW.error_class, NEW.cause, NEW.family, NEW.direction, NEW.source_connection_id, NEW.target_connection_id)))
    EXECUTE FUNCTION failure_group_change();
CREATE TRIGGER failure_group_delete AFTER DELETE ON syncs FOR EACH ROW
    WHEN (OLD.status IN ('failed', 'retrying', 'rejected') AND OLD.resolved_at IS NULL)
    EXECUTE FUNCTION failure_group_change();

-- The failures open today.
INSERT INTO failure_groups (error_class, family, direction, source_connection_id, target_connection_id, cause, n,
    first_seen, last_seen, last_id)
SELECT COALESCE(error_class, ''), family, direction, source_connection_id, target_connection_id, COALESCE(cause, ''),
    count(*), min(created_at), max(created_at), max(id)
FROM syncs WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL
GROUP BY 1, 2, 3, 4, 5, 6;

-- Where a person may replay failures: every environment, or test systems
-- only (an operator trying things out cannot write into production).
ALTER TABLE users ADD COLUMN environment_scope text NOT NULL DEFAULT 'all'
    CHECK (environment_scope IN ('all', 'test'));

-- +goose Down
ALTER TABLE users DROP COLUMN environment_scope;
DROP TRIGGER failure_group_insert ON syncs;
DROP TRIGGER failure_group_update ON syncs;
DROP TRIGGER failure_group_delete ON syncs;
DROP FUNCTION failure_group_change();
DROP TABLE failure_group_changes;
DROP TABLE failure_groups;
