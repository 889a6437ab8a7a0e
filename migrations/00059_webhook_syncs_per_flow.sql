-- +goose Up
SET lock_timeout = '10s';

-- One QuickBooks item change plans two syncs into the same Shopify store:
-- its stock level and its prices, two flows of two families. A delivery
-- still never becomes two syncs of one flow into one system, whatever
-- crashes in between.
CREATE UNIQUE INDEX syncs_webhook_target_flow_idx ON syncs (webhook_event_id, target_connection_id, flow)
    WHERE webhook_event_id IS NOT NULL;
DROP INDEX syncs_webhook_target_idx;

-- +goose Down
SET lock_timeout = '10s';
-- Keeps, of each delivery's syncs into one system, the first.
DELETE FROM syncs s USING syncs f
WHERE s.webhook_event_id IS NOT NULL AND f.webhook_event_id = s.webhook_event_id
  AND f.target_connection_id = s.target_connection_id AND f.id < s.id;
CREATE UNIQUE INDEX syncs_webhook_target_idx ON syncs (webhook_event_id, target_connection_id)
    WHERE webhook_event_id IS NOT NULL;
DROP INDEX syncs_webhook_target_flow_idx;
