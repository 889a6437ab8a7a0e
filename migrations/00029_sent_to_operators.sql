-- +goose Up
SET lock_timeout = '10s';

-- The operators' badge and the Overview count the open discrepancies finance
-- sent to them on every page an operator opens: this reads only the variants
-- sent (a few), not the whole review (one row per variant reviewed).
CREATE INDEX finance_reviews_sent ON finance_reviews (discrepancy_id) WHERE state = 'sent';

-- +goose Down
DROP INDEX finance_reviews_sent;
