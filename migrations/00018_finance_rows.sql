-- +goose Up
SET lock_timeout = '10s';

-- The finance review, computed once per prices comparison instead of on
-- every page view: one row per mapped variant of the run (Odoo against the
-- Shopify store the review compares). Thresholds and review states are not
-- stored here: a margin level is a range of margin %, applied per request,
-- so changing a threshold never recomputes anything.
-- Kept until a later prices comparison has built its own rows; a run that
-- fails leaves the previous review in place.
CREATE TABLE finance_runs (
    run_id        bigint      PRIMARY KEY,
    connection_id bigint      NOT NULL, -- the Shopify store compared
    built_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE finance_rows (
    run_id           bigint  NOT NULL,
    variant_id       bigint  NOT NULL,
    sku              text    NOT NULL,
    shop_price       numeric,
    compare_at       numeric,
    list_price       numeric,
    odoo_cost        numeric,
    shop_cost        numeric,
    currency         text    NOT NULL DEFAULT '', -- the storefront's
    odoo_currency    text    NOT NULL DEFAULT '',
    -- NULL when there is nothing to compute it from: no cost, no price, or
    -- amounts in two currencies (Crossdock does not convert).
    margin           numeric,
    margin_pct       numeric,
    price_differs    boolean NOT NULL,
    cost_missing     boolean NOT NULL,
    currency_differs boolean NOT NULL,
    -- Units sold and revenue in the 30 days before the run; NULL when no
    -- order was synced in that time.
    units            numeric,
    revenue          numeric,
    -- The Shopify collections of the variant's product (GIDs).
    collections      text[]  NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, variant_id)
);
-- One index per sort, in the sort's keyset order (the expressions are the
-- ones store.financeOrder sorts by); level filters are ranges of the first.
CREATE INDEX finance_rows_margin_pct ON finance_rows (run_id, coalesce(margin_pct, -1e9), variant_id);
CREATE INDEX finance_rows_margin ON finance_rows (run_id, coalesce(margin, -1e9), variant_id);
CREATE INDEX finance_rows_revenue ON finance_rows (run_id, coalesce(revenue, -1) DESC, variant_id);
-- The flag filters: small parts of the review.
CREATE INDEX finance_rows_price_differs ON finance_rows (run_id, coalesce(margin_pct, -1e9), variant_id) WHERE price_differs;
CREATE INDEX finance_rows_cost_missing ON finance_rows (run_id, variant_id) WHERE cost_missing;
CREATE INDEX finance_rows_currency_differs ON finance_rows (run_id, variant_id) WHERE currency_differs;

-- Totals without reading every variant per request: variants counted per
-- margin % and flags (a few thousand rows at most), with the thresholds of
-- their collections (NULL: the global ones). Rebuilt for the review shown
-- when collection thresholds change; global thresholds apply per request.
CREATE TABLE finance_bands (
    run_id           bigint  NOT NULL,
    margin_pct       numeric,
    price_differs    boolean NOT NULL,
    cost_missing     boolean NOT NULL,
    currency_differs boolean NOT NULL,
    critical         numeric,
    high             numeric,
    medium           numeric,
    variants         bigint  NOT NULL,
    revenue          numeric
);
CREATE INDEX finance_bands_run ON finance_bands (run_id);

-- Collections seen by the run the review shows, with how many of its
-- variants are in each (for the thresholds page).
CREATE TABLE finance_collections (
    run_id         bigint NOT NULL,
    collection_ref text   NOT NULL,
    title          text   NOT NULL DEFAULT '',
    variants       bigint NOT NULL,
    PRIMARY KEY (run_id, collection_ref)
);

-- Margin thresholds per Shopify collection; a variant in several takes the
-- strictest (highest) of each, one in none of them the global thresholds.
CREATE TABLE finance_collection_thresholds (
    collection_ref text        PRIMARY KEY,
    title          text        NOT NULL DEFAULT '',
    critical       numeric     NOT NULL CHECK (critical BETWEEN 0 AND 100),
    high           numeric     NOT NULL CHECK (high BETWEEN 0 AND 100),
    medium         numeric     NOT NULL CHECK (medium BETWEEN 0 AND 100),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (critical < high AND high < medium)
);

-- Snapshot (like recon_prices): which collections each Shopify product of
-- a prices run is in.
CREATE UNLOGGED TABLE recon_collections (
    run_id         bigint NOT NULL,
    connection_id  bigint NOT NULL,
    product_ref    text   NOT NULL,
    collection_ref text   NOT NULL,
    title          text   NOT NULL DEFAULT ''
);
CREATE INDEX recon_collections_run ON recon_collections (run_id, connection_id);

-- +goose Down
DROP TABLE recon_collections;
DROP TABLE finance_collection_thresholds;
DROP TABLE finance_collections;
DROP TABLE finance_bands;
DROP TABLE finance_rows;
DROP TABLE finance_runs;
