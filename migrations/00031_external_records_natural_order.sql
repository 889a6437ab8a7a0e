-- +goose Up
SET lock_timeout = '10s';

-- The unmapped list pages through a system's records in natural order:
-- ids that differ only in their trailing number sort as numbers
-- (gid://shopify/ProductVariant/9 before …/10 before …/100), which within
-- one system and kind of record is the order of (length, id). The list's
-- filter keeps deleted records out, and so does the index.
CREATE INDEX external_records_natural ON external_records (connection_id, entity_type, length(external_id), external_id)
    WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX external_records_natural;
