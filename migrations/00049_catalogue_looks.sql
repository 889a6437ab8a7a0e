-- +goose Up
SET lock_timeout = '10s';

-- What a variant looks like, as its system's catalogue last said: the
-- variant's own title ("Blue / L"; Shopify's "Default Title" for a product
-- without options) and an image (the variant's, else its product's featured
-- image). The finance review shows them beside the product's name. Adding
-- columns with a constant default rewrites nothing.
ALTER TABLE external_records
    ADD COLUMN variant_title text NOT NULL DEFAULT '',
    ADD COLUMN image_url     text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE external_records DROP COLUMN image_url, DROP COLUMN variant_title;
