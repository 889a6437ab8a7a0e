-- +goose Up
SET lock_timeout = '10s';

-- The Shopify order of each ShipBob shipment Crossdock has seen (in a
-- shipment webhook, the tracking check or a billing read), so that a
-- billing webhook for the shipment is matched to its order without asking
-- ShipBob. One row per shipment: a shipment belongs to one order.
CREATE TABLE warehouse_shipments (
    connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    shipment_ref  text        NOT NULL CHECK (shipment_ref <> ''),
    order_ref     text        NOT NULL CHECK (order_ref <> ''),
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, shipment_ref)
);

-- +goose Down
DROP TABLE warehouse_shipments;
