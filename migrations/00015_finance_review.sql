-- +goose Up
SET lock_timeout = '10s';

-- Finance review: what finance decided about a mapped variant (a mapping
-- entity). One row per variant; every change is in the audit log.
--   acknowledged: seen, nothing to do yet;
--   accepted:     the margin or price is fine for a reason (note, required);
--   sent:         sent to the operators as a price fix: the open price
--                 discrepancy (discrepancy_id) carries the request.
CREATE TABLE finance_reviews (
    variant_id     bigint      PRIMARY KEY,
    state          text        NOT NULL CHECK (state IN ('acknowledged', 'accepted', 'sent')),
    note           text        NOT NULL DEFAULT '',
    discrepancy_id bigint,
    by_label       text        NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE finance_reviews;
