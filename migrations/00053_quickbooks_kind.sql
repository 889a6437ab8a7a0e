-- +goose Up
SET lock_timeout = '10s';

-- Connections of every kind the vocabulary knows: QuickBooks Online and
-- ShipBob join Shopify and Odoo. The store refuses an unknown kind before
-- this check does. (The constraint keeps its name, so another migration
-- widening it the same way is harmless.)
ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_kind_check;
ALTER TABLE connections ADD CONSTRAINT connections_kind_check
    CHECK (kind IN ('shopify', 'odoo', 'quickbooks', 'shipbob'));

-- +goose Down
ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_kind_check;
ALTER TABLE connections ADD CONSTRAINT connections_kind_check CHECK (kind IN ('shopify', 'odoo'));
