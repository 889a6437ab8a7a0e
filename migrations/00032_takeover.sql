-- +goose Up
SET lock_timeout = '10s';

-- Replicas say they are alive every few seconds. Work a replica held when it
-- stopped beating (killed, crashed, cut off from the database) is handed to
-- the others at once, instead of waiting for River's rescue after the job's
-- whole timeout (an hour for a reconciliation). Rows of replicas gone for a
-- day are deleted by the replicas still running.
CREATE TABLE replicas (
    id         text        PRIMARY KEY CHECK (id <> ''),
    started_at timestamptz NOT NULL DEFAULT now(),
    beat_at    timestamptz NOT NULL DEFAULT now()
);

-- A reconciliation run beats while a replica works on it; a run taken over
-- after a restart counts it, and keeps the snapshots it had pulled in full
-- (pulled: their connections), so it resumes instead of starting over.
ALTER TABLE recon_runs
    ADD COLUMN beat_at    timestamptz,
    ADD COLUMN resumes    integer     NOT NULL DEFAULT 0,
    ADD COLUMN resumed_at timestamptz,
    ADD COLUMN pulled     bigint[]    NOT NULL DEFAULT '{}';

-- The same for bulk replays: their chunks already resume where the last one
-- committed; these say that it happened, and whether one is stuck.
ALTER TABLE replay_batches
    ADD COLUMN beat_at    timestamptz,
    ADD COLUMN resumes    integer     NOT NULL DEFAULT 0,
    ADD COLUMN resumed_at timestamptz;

-- Long work stuck: a reconciliation or bulk replay that no replica has worked
-- on for longer than the threshold (minutes). On by default, like the others.
INSERT INTO alert_rules (kind, threshold, window_minutes, repeat_minutes) VALUES
    ('long_work_stuck', 10, 1, 60)
ON CONFLICT (kind) DO NOTHING;

-- +goose Down
DELETE FROM alerts WHERE kind = 'long_work_stuck';
DELETE FROM alert_rules WHERE kind = 'long_work_stuck';
ALTER TABLE replay_batches DROP COLUMN beat_at, DROP COLUMN resumes, DROP COLUMN resumed_at;
ALTER TABLE recon_runs DROP COLUMN beat_at, DROP COLUMN resumes, DROP COLUMN resumed_at, DROP COLUMN pulled;
DROP TABLE replicas;
