-- +goose Up
SET lock_timeout = '10s';

-- Shopify Payments payouts as Crossdock read them: one row per payout of
-- a Shopify connection, with its summary (what it is made of, by kind of
-- transaction). Amounts are numeric: currencies have 0, 2 or 3 decimals.
CREATE TABLE shop_payouts (
    id                bigserial   PRIMARY KEY,
    connection_id     bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    payout_ref        text        NOT NULL CHECK (payout_ref <> ''),
    legacy_id         text        NOT NULL DEFAULT '',
    issued_at         timestamptz NOT NULL,
    status            text        NOT NULL,
    transaction_type  text        NOT NULL DEFAULT 'DEPOSIT',
    trace_id          text        NOT NULL DEFAULT '',
    net               numeric     NOT NULL,
    currency          text        NOT NULL,
    charges_gross     numeric     NOT NULL DEFAULT 0,
    charges_fee       numeric     NOT NULL DEFAULT 0,
    refunds_gross     numeric     NOT NULL DEFAULT 0,
    refunds_fee       numeric     NOT NULL DEFAULT 0,
    adjustments_gross numeric     NOT NULL DEFAULT 0,
    adjustments_fee   numeric     NOT NULL DEFAULT 0,
    reserved_gross    numeric     NOT NULL DEFAULT 0,
    reserved_fee      numeric     NOT NULL DEFAULT 0,
    retried_gross     numeric     NOT NULL DEFAULT 0,
    retried_fee       numeric     NOT NULL DEFAULT 0,
    read_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (connection_id, payout_ref)
);
CREATE INDEX shop_payouts_issued_idx ON shop_payouts (issued_at DESC, id DESC);

-- Balance transactions: every movement of the Shopify Payments balance.
-- kind is Crossdock's word for Shopify's type (charge, refund, dispute,
-- adjustment, reserve, transfer, other); type is Shopify's own.
CREATE TABLE shop_balance_transactions (
    id                bigserial   PRIMARY KEY,
    connection_id     bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    tx_ref            text        NOT NULL CHECK (tx_ref <> ''),
    payout_ref        text        NOT NULL DEFAULT '',
    kind              text        NOT NULL,
    type              text        NOT NULL,
    test              boolean     NOT NULL DEFAULT false,
    amount            numeric     NOT NULL,
    fee               numeric     NOT NULL,
    net               numeric     NOT NULL,
    currency          text        NOT NULL,
    order_ref         text        NOT NULL DEFAULT '',
    order_name        text        NOT NULL DEFAULT '',
    source_type       text        NOT NULL DEFAULT '',
    adjustment_reason text        NOT NULL DEFAULT '',
    processed_at      timestamptz NOT NULL,
    UNIQUE (connection_id, tx_ref)
);
-- A payout's transactions, a page at a time (keyset).
CREATE INDEX shop_balance_tx_payout_idx ON shop_balance_transactions (connection_id, payout_ref, processed_at, id);
-- Fees and refunds per order (true margin).
CREATE INDEX shop_balance_tx_order_idx ON shop_balance_transactions (order_ref) WHERE order_ref <> '';
-- Fees and revenue per month.
CREATE INDEX shop_balance_tx_processed_idx ON shop_balance_transactions (processed_at);

-- The deposit of a payout found in an accounting system (Odoo's bank
-- statement lines), as the payouts flow last looked: line_ref '' means no
-- deposit was found.
CREATE TABLE payout_deposits (
    payout_id          bigint      NOT NULL REFERENCES shop_payouts (id) ON DELETE CASCADE,
    connection_id      bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    checked_at         timestamptz NOT NULL DEFAULT now(),
    line_ref           text        NOT NULL DEFAULT '',
    amount             numeric,
    currency           text        NOT NULL DEFAULT '',
    deposit_date       date,
    reference          text        NOT NULL DEFAULT '',
    by_trace           boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (payout_id, connection_id)
);
-- One deposit pays one payout: two payouts of the same amount looked for at
-- once cannot both take the same bank line (the second tries again).
CREATE UNIQUE INDEX payout_deposits_line_idx ON payout_deposits (connection_id, line_ref) WHERE line_ref <> '';

-- The payouts comparison asks, for each charge, whether its order reached
-- the accounting system: one probe per order among the succeeded syncs of
-- the orders flow.
CREATE INDEX syncs_order_sent_idx ON syncs (entity_ref, target_connection_id)
    WHERE status = 'succeeded' AND flow = 'orders.shopify_odoo';

-- Payouts is a data family with a source (Shopify) and receivers (the
-- accounting system it is reconciled with), and a comparison of its own.
ALTER TABLE source_rules DROP CONSTRAINT source_rules_family_check;
ALTER TABLE source_rules ADD CONSTRAINT source_rules_family_check CHECK (family IN
    ('products', 'prices', 'costs', 'inventory', 'customers', 'orders', 'refunds', 'fulfillments', 'payouts'));
ALTER TABLE recon_schedules DROP CONSTRAINT recon_schedules_family_check;
ALTER TABLE recon_schedules ADD CONSTRAINT recon_schedules_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts'));
ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_family_check;
ALTER TABLE recon_runs ADD CONSTRAINT recon_runs_family_check CHECK (family IN
    ('inventory', 'prices', 'orders', 'refunds', 'mappings', 'payouts'));
INSERT INTO recon_schedules (family, every_minutes) VALUES ('payouts', 1440);

-- +goose Down
DELETE FROM recon_runs WHERE family = 'payouts';
DELETE FROM recon_schedules WHERE family = 'payouts';
DELETE FROM source_rules WHERE family = 'payouts';
ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_family_check;
ALTER TABLE recon_runs ADD CONSTRAINT recon_runs_family_check CHECK (family IN ('inventory', 'prices', 'orders', 'refunds', 'mappings'));
ALTER TABLE recon_schedules DROP CONSTRAINT recon_schedules_family_check;
ALTER TABLE recon_schedules ADD CONSTRAINT recon_schedules_family_check CHECK (family IN ('inventory', 'prices', 'orders', 'refunds', 'mappings'));
ALTER TABLE source_rules DROP CONSTRAINT source_rules_family_check;
ALTER TABLE source_rules ADD CONSTRAINT source_rules_family_check CHECK (family IN
    ('products', 'prices', 'costs', 'inventory', 'customers', 'orders', 'refunds', 'fulfillments'));
DROP INDEX syncs_order_sent_idx;
DROP TABLE payout_deposits;
DROP TABLE shop_balance_transactions;
DROP TABLE shop_payouts;
