-- +goose Up
SET lock_timeout = '10s';

-- Matches picked by hand on the unmapped list ("Map to…") gather in one
-- draft proposed change per person, whose source says where it came from.
ALTER TABLE change_sets DROP CONSTRAINT change_sets_source_check;
ALTER TABLE change_sets ADD CONSTRAINT change_sets_source_check
    CHECK (source IN ('form', 'suggestions', 'import', 'revert', 'engine', 'picker'));

-- The unmapped list hides records an open proposed change already maps:
-- one probe per record, by its id or by the key of the entity it joins.
CREATE INDEX change_set_items_record ON change_set_items (connection_id, entity_type, external_id);
CREATE INDEX change_set_items_key ON change_set_items (connection_id, entity_type, lower(entity_key));

-- +goose Down
SET lock_timeout = '10s';
DROP INDEX change_set_items_key;
DROP INDEX change_set_items_record;
UPDATE change_sets SET source = 'form' WHERE source = 'picker';
ALTER TABLE change_sets DROP CONSTRAINT change_sets_source_check;
ALTER TABLE change_sets ADD CONSTRAINT change_sets_source_check
    CHECK (source IN ('form', 'suggestions', 'import', 'revert', 'engine'));
