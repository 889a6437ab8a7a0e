-- +goose Up
SET lock_timeout = '10s';

-- Stock at the warehouse: ShipBob's fulfillable quantity per SKU and
-- fulfilment centre, compared with Shopify's available quantity at the
-- Shopify location the centre is mapped to. A comparison of its own
-- ("warehouse_stock"), run per ShipBob connection from snapshots in
-- recon_stock like the stock comparison.
ALTER TABLE recon_schedules DROP CONSTRAINT recon_schedules_family_check;
ALTER TABLE recon_schedules ADD CONSTRAINT recon_schedules_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts', 'warehouse', 'warehouse_stock'));
ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_family_check;
ALTER TABLE recon_runs ADD CONSTRAINT recon_runs_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts', 'warehouse', 'warehouse_stock'));
INSERT INTO recon_schedules (family, every_minutes) VALUES ('warehouse_stock', 360);

-- What the warehouse billed per shipment (ShipBob's billing transactions:
-- shipping, pick fees…), with the Shopify order the shipment belongs to,
-- for the margin per order. One row per transaction: a transaction read
-- again replaces its row.
CREATE TABLE warehouse_charges (
    connection_id  bigint        NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    transaction_id text          NOT NULL CHECK (transaction_id <> ''),
    shipment_ref   text          NOT NULL,
    order_ref      text          NOT NULL DEFAULT '',
    fee            text          NOT NULL DEFAULT '',
    amount         numeric(14,2) NOT NULL,
    currency       text          NOT NULL DEFAULT '',
    charged_on     date,
    read_at        timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, transaction_id)
);
-- The margin per order sums an order's charges: one probe per order.
CREATE INDEX warehouse_charges_order ON warehouse_charges (order_ref) WHERE order_ref <> '';
-- Shipments whose order is not known yet are looked up once each.
CREATE INDEX warehouse_charges_unresolved ON warehouse_charges (connection_id, shipment_ref) WHERE order_ref = '';

-- +goose Down
DROP TABLE warehouse_charges;
DELETE FROM discrepancies WHERE family = 'warehouse_stock';
DELETE FROM recon_runs WHERE family = 'warehouse_stock';
DELETE FROM recon_schedules WHERE family = 'warehouse_stock';
ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_family_check;
ALTER TABLE recon_runs ADD CONSTRAINT recon_runs_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts', 'warehouse'));
ALTER TABLE recon_schedules DROP CONSTRAINT recon_schedules_family_check;
ALTER TABLE recon_schedules ADD CONSTRAINT recon_schedules_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts', 'warehouse'));
