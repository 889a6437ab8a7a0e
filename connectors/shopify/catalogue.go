package shopify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"crossdock/connectors"
)

// catalogueBulkQuery exports every variant with its product's title and
// featured image, and its own title and image. Children come after their
// parent in the JSONL, each naming it in __parentId. The product's image is
// read through featuredMedia (featuredImage is deprecated); a preview image
// is null until the media is READY.
const catalogueBulkQuery = `{
  products {
    edges {
      node {
        id
        title
        featuredMedia { preview { image { url } } }
        variants {
          edges { node { id sku barcode title image { url } } }
        }
      }
    }
  }
}`

// catalogueImage is an Image as the Admin API writes it (null when absent).
type catalogueImage struct {
	URL string `json:"url"`
}

func urlOf(i *catalogueImage) string {
	if i == nil {
		return ""
	}
	return i.URL
}

// catalogueProduct is what the catalogue keeps of a product for its variants.
type catalogueProduct struct{ title, image string }

// ReadCatalogue reads the shop's variants with a bulk operation, then its
// locations (connectors.CatalogueReader). A full pass through paginated
// queries would spend the rate-limit budget the syncs need (3,000 variants
// cost about 12,000 points); a bulk export costs one call.
func (c *Client) ReadCatalogue(ctx context.Context, put func(entity string, batch []connectors.Record) error) error {
	op, err := c.RunBulkQuery(ctx, catalogueBulkQuery)
	if err != nil {
		return err
	}
	op, err = c.WaitBulk(ctx, op.ID, 250*time.Millisecond)
	if err != nil {
		return err
	}
	if op.Status != "COMPLETED" {
		return fmt.Errorf("shopify: the catalogue export ended %s %s", op.Status, op.ErrorCode)
	}
	products := map[string]catalogueProduct{}
	var batch []connectors.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := put(connectors.EntityVariant, batch)
		batch = batch[:0]
		return err
	}
	if op.URL != "" { // an empty shop exports no file
		err = c.StreamJSONL(ctx, op.URL, func(line []byte) error {
			var row struct {
				ID            string          `json:"id"`
				Title         string          `json:"title"`
				SKU           string          `json:"sku"`
				Barcode       *string         `json:"barcode"`
				ParentID      string          `json:"__parentId"`
				Image         *catalogueImage `json:"image"`
				FeaturedMedia *struct {
					Preview *struct {
						Image *catalogueImage `json:"image"`
					} `json:"preview"`
				} `json:"featuredMedia"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				return fmt.Errorf("shopify: catalogue export line: %w", err)
			}
			if row.ParentID == "" {
				p := catalogueProduct{title: row.Title}
				if row.FeaturedMedia != nil && row.FeaturedMedia.Preview != nil {
					p.image = urlOf(row.FeaturedMedia.Preview.Image)
				}
				products[row.ID] = p
				return nil
			}
			p := products[row.ParentID]
			r := connectors.Record{ExternalID: row.ID, SKU: row.SKU, Name: p.title, VariantTitle: row.Title,
				ImageURL: cmp.Or(urlOf(row.Image), p.image)}
			if row.Barcode != nil {
				r.Barcode = *row.Barcode
			}
			batch = append(batch, r)
			if len(batch) == 1000 {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	locs, err := c.Locations(ctx)
	if err != nil {
		return err
	}
	recs := make([]connectors.Record, 0, len(locs))
	for _, l := range locs {
		recs = append(recs, connectors.Record{ExternalID: l.ID, Name: l.Name})
	}
	return put(connectors.EntityLocation, recs)
}
