-- +goose Up
SET lock_timeout = '10s';

-- Orders a warehouse (ShipBob) received but has not shipped after a number
-- of days are a comparison of their own: "warehouse". It reads no snapshot:
-- the syncs of the orders and shipments flows say what was sent and what
-- came back, so each run probes them through these three partial indexes
-- (never a scan of all syncs):
--   the orders sent to a warehouse, by when: a range per ShipBob connection;
CREATE INDEX syncs_warehouse_sent_idx ON syncs (target_connection_id, updated_at)
    WHERE status = 'succeeded' AND flow = 'orders.shopify_shipbob';
--   every succeeded sync of one order to one warehouse (sent, edited, cancelled);
CREATE INDEX syncs_warehouse_order_idx ON syncs (entity_ref, target_connection_id)
    WHERE status = 'succeeded' AND flow = 'orders.shopify_shipbob';
--   whether a ShipBob order's shipments reached Shopify.
CREATE INDEX syncs_warehouse_shipped_idx ON syncs (source_connection_id, entity_ref)
    WHERE status = 'succeeded' AND flow = 'shipments.shipbob_shopify';

ALTER TABLE recon_schedules DROP CONSTRAINT recon_schedules_family_check;
ALTER TABLE recon_schedules ADD CONSTRAINT recon_schedules_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts', 'warehouse'));
ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_family_check;
ALTER TABLE recon_runs ADD CONSTRAINT recon_runs_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts', 'warehouse'));
INSERT INTO recon_schedules (family, every_minutes) VALUES ('warehouse', 360);

-- +goose Down
DELETE FROM discrepancies WHERE family = 'warehouse';
DELETE FROM recon_runs WHERE family = 'warehouse';
DELETE FROM recon_schedules WHERE family = 'warehouse';
ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_family_check;
ALTER TABLE recon_runs ADD CONSTRAINT recon_runs_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts'));
ALTER TABLE recon_schedules DROP CONSTRAINT recon_schedules_family_check;
ALTER TABLE recon_schedules ADD CONSTRAINT recon_schedules_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts'));
DROP INDEX syncs_warehouse_shipped_idx;
DROP INDEX syncs_warehouse_order_idx;
DROP INDEX syncs_warehouse_sent_idx;
