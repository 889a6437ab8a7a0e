-- +goose Up
SET lock_timeout = '10s';

-- An approved mapping change set tries again only the open unmapped
-- failures whose missing records it maps: those whose response records
-- {"unmapped": {"entity_type": T, "external_ids": [.., X, ..]}} for a record
-- (source system, T, X) the change set gave a counterpart in the failure's
-- target. The pick walks from the change set's records to the failures
-- through this index (one lookup per record), never over every unmapped
-- failure between the two systems: at 10,000,000 syncs a scan of those took
-- seconds and picked unrelated failures. Only the ids are indexed: an
-- index over the kind too made each lookup read the posting list of every
-- failure of that kind (all the location failures, for one location).
-- Partial: only open unmapped failures are indexed, so the syncs' other
-- writes do not pay for it.
CREATE INDEX syncs_open_unmapped_records_idx ON syncs USING gin ((response -> 'unmapped' -> 'external_ids') jsonb_path_ops)
    WHERE error_class = 'unmapped' AND status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL;

-- +goose Down
DROP INDEX syncs_open_unmapped_records_idx;
