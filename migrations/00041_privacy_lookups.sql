-- +goose Up
SET lock_timeout = '10s';

-- A privacy request gathers (and a redact erases) one customer's data
-- through indexes only: their syncs by search key (syncs_search_keys_idx),
-- their mappings by id and e-mail (mapping_refs_external, mapping_refs_email),
-- and from those syncs their discrepancies, through this one. Partial: most
-- discrepancies (stock, prices) concern no sync.
CREATE INDEX discrepancies_sync_idx ON discrepancies (sync_id) WHERE sync_id IS NOT NULL;

-- +goose Down
DROP INDEX discrepancies_sync_idx;
