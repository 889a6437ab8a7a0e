package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"crossdock/store"
)

// CatalogueCounts says how many records a catalogue refresh read.
type CatalogueCounts struct {
	Variants, Locations int
	// Gone is how many previously seen records the system no longer has.
	Gone int64
}

// RefreshCatalogue reads what a connection holds — its product variants and
// stock locations — into the catalogue of external records that the mapping
// pages match against (unmapped records, auto-match suggestions, "record no
// longer exists" conflicts). Records not seen again are marked gone.
// Reading Shopify's catalogue starts a bulk operation in the shop (at most a
// few run at once per shop, shared with the merchant's apps), so a refresh
// counts as a write for the actor's environment scope, whatever the kind.
func (e *Engine) RefreshCatalogue(ctx context.Context, a store.Actor, connectionID int64) (CatalogueCounts, error) {
	start := time.Now()
	if err := e.st.MayWriteInto(ctx, a, connectionID); err != nil {
		return CatalogueCounts{}, err
	}
	conn, err := e.connection(ctx, connectionID)
	if err != nil {
		return CatalogueCounts{}, err
	}
	var n CatalogueCounts
	switch conn.Kind {
	case store.KindShopify:
		n, err = e.shopifyCatalogue(ctx, connectionID)
	case store.KindOdoo:
		n, err = e.odooCatalogue(ctx, connectionID)
	default:
		return n, fmt.Errorf("engine: no catalogue for %s connections", conn.Kind)
	}
	if err != nil {
		return n, err
	}
	// Everything read in this pass was stamped after start; older rows are gone.
	for _, typ := range []string{entityVariant, entityLocation} {
		gone, err := e.cfg.Store.MarkMissingExternalRecords(ctx, connectionID, typ, start)
		if err != nil {
			return n, err
		}
		n.Gone += gone
	}
	return n, nil
}

// catalogueBulkQuery exports every variant with its product's title. Children
// come after their parent in the JSONL, each naming it in __parentId.
const catalogueBulkQuery = `{
  products {
    edges {
      node {
        id
        title
        variants {
          edges { node { id sku barcode } }
        }
      }
    }
  }
}`

// shopifyCatalogue reads the shop's variants with a bulk operation: a full
// pass through paginated queries would spend the rate-limit budget the syncs
// need (3,000 variants cost about 12,000 points), a bulk export costs one call.
func (e *Engine) shopifyCatalogue(ctx context.Context, id int64) (CatalogueCounts, error) {
	cl, _, err := e.shopify(ctx, id)
	if err != nil {
		return CatalogueCounts{}, err
	}
	var n CatalogueCounts
	op, err := cl.RunBulkQuery(ctx, catalogueBulkQuery)
	if err != nil {
		return n, err
	}
	op, err = cl.WaitBulk(ctx, op.ID, 250*time.Millisecond)
	if err != nil {
		return n, err
	}
	if op.Status != "COMPLETED" {
		return n, fmt.Errorf("engine: Shopify's export ended %s %s", op.Status, op.ErrorCode)
	}
	titles := map[string]string{}
	var batch []store.ExternalRecord
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := e.cfg.Store.UpsertExternalRecords(ctx, id, entityVariant, batch); err != nil {
			return err
		}
		n.Variants += len(batch)
		batch = batch[:0]
		return nil
	}
	if op.URL != "" { // an empty shop exports no file
		err = cl.StreamJSONL(ctx, op.URL, func(line []byte) error {
			var row struct {
				ID       string  `json:"id"`
				Title    string  `json:"title"`
				SKU      string  `json:"sku"`
				Barcode  *string `json:"barcode"`
				ParentID string  `json:"__parentId"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				return fmt.Errorf("engine: Shopify export line: %w", err)
			}
			if row.ParentID == "" {
				titles[row.ID] = row.Title
				return nil
			}
			r := store.ExternalRecord{ExternalID: row.ID, SKU: row.SKU, Name: titles[row.ParentID]}
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
			return n, err
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	locs, err := cl.Locations(ctx)
	if err != nil {
		return n, err
	}
	recs := make([]store.ExternalRecord, 0, len(locs))
	for _, l := range locs {
		recs = append(recs, store.ExternalRecord{ExternalID: l.ID, Name: l.Name})
	}
	if _, err := e.cfg.Store.UpsertExternalRecords(ctx, id, entityLocation, recs); err != nil {
		return n, err
	}
	n.Locations = len(recs)
	return n, nil
}

func (e *Engine) odooCatalogue(ctx context.Context, id int64) (CatalogueCounts, error) {
	cl, _, err := e.odoo(ctx, id)
	if err != nil {
		return CatalogueCounts{}, err
	}
	var n CatalogueCounts
	const page = 500
	for offset := 0; ; offset += page {
		ps, err := cl.Products(ctx, nil, offset, page)
		if err != nil {
			return n, err
		}
		recs := make([]store.ExternalRecord, 0, len(ps))
		for _, p := range ps {
			recs = append(recs, store.ExternalRecord{ExternalID: strconv.Itoa(p.ID), SKU: p.DefaultCode, Barcode: p.Barcode, Name: p.Name})
		}
		if _, err := e.cfg.Store.UpsertExternalRecords(ctx, id, entityVariant, recs); err != nil {
			return n, err
		}
		n.Variants += len(recs)
		if len(ps) < page {
			break
		}
	}
	locs, err := cl.Locations(ctx)
	if err != nil {
		return n, err
	}
	recs := make([]store.ExternalRecord, 0, len(locs))
	for _, l := range locs {
		recs = append(recs, store.ExternalRecord{ExternalID: strconv.Itoa(l.ID), Name: l.CompleteName})
	}
	if _, err := e.cfg.Store.UpsertExternalRecords(ctx, id, entityLocation, recs); err != nil {
		return n, err
	}
	n.Locations = len(recs)
	return n, nil
}
