-- +goose Up
SET lock_timeout = '10s';

-- The demo workspace seeds its catalogue's mappings: a change set written by
-- the system ("Demo workspace") and applied at once, marked as a seed in the
-- history. Nobody approves their own change: nobody proposed it. The
-- sources 00028 allows (the Map to… picker's 'picker') stay allowed.
ALTER TABLE change_sets DROP CONSTRAINT change_sets_source_check;
ALTER TABLE change_sets ADD CONSTRAINT change_sets_source_check
    CHECK (source IN ('form', 'suggestions', 'import', 'revert', 'engine', 'picker', 'seed'));

-- +goose Down
SET lock_timeout = '10s';
UPDATE change_sets SET source = 'form' WHERE source = 'seed';
ALTER TABLE change_sets DROP CONSTRAINT change_sets_source_check;
ALTER TABLE change_sets ADD CONSTRAINT change_sets_source_check
    CHECK (source IN ('form', 'suggestions', 'import', 'revert', 'engine', 'picker'));
