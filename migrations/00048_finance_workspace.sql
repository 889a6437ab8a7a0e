-- +goose Up
SET lock_timeout = '10s';

-- Money at stake per variant of a review (the "money at stake" sort): what
-- the variant loses per unit (the price gap with Odoo when the prices differ,
-- the loss when it sells below cost, the larger of the two) times the units
-- sold in the 30 days before the run, at least one (so a variant that did not
-- sell, or a review without order data, still ranks by its gap per unit).
-- NULL for older runs, sorted last.
ALTER TABLE finance_rows ADD COLUMN stake numeric;
CREATE INDEX finance_rows_stake ON finance_rows (run_id, coalesce(stake, -1) DESC, variant_id);

-- A price fixed since the comparison: its price discrepancy was resolved
-- (Odoo's price sent, or an operator's "done") after the review was built.
-- The review reads it per row shown: resolved price discrepancies by key.
CREATE INDEX discrepancies_price_resolved ON discrepancies (key, closed_at) WHERE kind = 'price' AND status = 'resolved';

-- What the operators answered to a price fix finance sent them: done (the
-- price is fixed) or not a problem, with their note. Shown on finance's row.
ALTER TABLE finance_reviews
    ADD COLUMN outcome      text        NOT NULL DEFAULT '' CHECK (outcome IN ('', 'done', 'not_a_problem')),
    ADD COLUMN outcome_note text        NOT NULL DEFAULT '',
    ADD COLUMN outcome_by   text        NOT NULL DEFAULT '',
    ADD COLUMN outcome_at   timestamptz;

-- Every decision about a variant, with the figures it was taken on, kept
-- whatever later comparisons do: the month-end summary of any past period
-- and its CSV read them (finance_rows keeps only the latest run).
CREATE TABLE finance_decisions (
    id             bigserial   PRIMARY KEY,
    variant_id     bigint      NOT NULL,
    run_id         bigint      NOT NULL,
    sku            text        NOT NULL,
    name           text        NOT NULL DEFAULT '',
    shop_price     numeric,
    list_price     numeric,
    cost           numeric,
    margin         numeric,
    margin_pct     numeric,
    currency       text        NOT NULL DEFAULT '',
    -- acknowledged, accepted, sent (by finance); done, not_a_problem (the
    -- operators' answer to a price fix).
    decision       text        NOT NULL CHECK (decision IN ('acknowledged', 'accepted', 'sent', 'done', 'not_a_problem')),
    note           text        NOT NULL DEFAULT '',
    by_label       text        NOT NULL DEFAULT '',
    assignee       text        NOT NULL DEFAULT '',
    discrepancy_id bigint,
    decided_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX finance_decisions_at ON finance_decisions (decided_at, id);

-- The totals of every review built, kept after a later run replaced its
-- rows: a past month's summary shows the last comparison of the month.
CREATE TABLE finance_run_totals (
    run_id      bigint      PRIMARY KEY,
    compared_at timestamptz NOT NULL,
    totals      jsonb       NOT NULL
);
CREATE INDEX finance_run_totals_at ON finance_run_totals (compared_at);

-- +goose Down
DROP TABLE finance_run_totals;
DROP TABLE finance_decisions;
ALTER TABLE finance_reviews DROP COLUMN outcome_at, DROP COLUMN outcome_by, DROP COLUMN outcome_note, DROP COLUMN outcome;
DROP INDEX discrepancies_price_resolved;
DROP INDEX finance_rows_stake;
ALTER TABLE finance_rows DROP COLUMN stake;
