-- +goose Up
SET lock_timeout = '10s';

-- Installation-wide settings, one JSON value per key (e.g. the demo workspace).
CREATE TABLE app_settings (
    key        text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE app_settings;
