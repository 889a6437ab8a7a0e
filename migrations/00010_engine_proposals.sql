-- +goose Up
SET lock_timeout = '10s';

-- The sync engine proposes mappings too: a product it created in the
-- receiving system gets a change set that waits for an admin, never a
-- mapping applied behind anyone's back.
ALTER TABLE change_sets DROP CONSTRAINT change_sets_source_check;
ALTER TABLE change_sets ADD CONSTRAINT change_sets_source_check
    CHECK (source IN ('form', 'suggestions', 'import', 'revert', 'engine'));

-- +goose Down
SET lock_timeout = '10s';
UPDATE change_sets SET source = 'form' WHERE source = 'engine';
ALTER TABLE change_sets DROP CONSTRAINT change_sets_source_check;
ALTER TABLE change_sets ADD CONSTRAINT change_sets_source_check
    CHECK (source IN ('form', 'suggestions', 'import', 'revert'));
