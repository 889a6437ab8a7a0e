-- +goose Up
SET lock_timeout = '10s';

-- The personal data map counts, per flow and route (source → receiver),
-- the distinct records whose data Crossdock keeps in its sync records:
-- an index-only count over that route's entries, never a scan of syncs.
CREATE INDEX syncs_flow_route_ref_idx ON syncs (flow, source_connection_id, target_connection_id, entity_ref);

-- +goose Down
DROP INDEX syncs_flow_route_ref_idx;
