-- +goose Up
SET lock_timeout = '10s';

-- A connection may be any kind of system vocab knows: ShipBob (and
-- QuickBooks Online) join Shopify and Odoo. Dropped and added again under
-- the same name, so a migration of another kind doing the same agrees.
ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_kind_check;
ALTER TABLE connections ADD CONSTRAINT connections_kind_check
    CHECK (kind IN ('shopify', 'odoo', 'quickbooks', 'shipbob')) NOT VALID;
ALTER TABLE connections VALIDATE CONSTRAINT connections_kind_check;

-- +goose Down
SET lock_timeout = '10s';
ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_kind_check;
ALTER TABLE connections ADD CONSTRAINT connections_kind_check CHECK (kind IN ('shopify', 'odoo')) NOT VALID;
