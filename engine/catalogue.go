package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crossdock/store"
	"crossdock/vocab"
)

// CatalogueCounts says how many records a catalogue refresh read.
type CatalogueCounts struct {
	Variants, Locations int
	// Gone is how many previously seen records the system no longer has.
	Gone int64
	// Mended names the records kept with U+FFFD in place of a NUL
	// character; Refused the records the database would not store, each
	// with the reason in words. Both lists are capped at maxNamed.
	Mended, Refused []string
	// MendedCount and RefusedCount count them all.
	MendedCount, RefusedCount int
}

// maxNamed caps the records a refresh names; the counts say the rest.
const maxNamed = 20

// upsertRecords stores one batch of a system's records. A NUL character in a
// record (which PostgreSQL text cannot hold) is replaced by U+FFFD and the
// record named, so one odd title does not fail the whole refresh. A batch
// the database still refuses is stored again one record at a time: the
// refused ones are named with the reason, the others are kept. It returns
// how many records were stored.
func (e *Engine) upsertRecords(ctx context.Context, id int64, typ string, recs []store.ExternalRecord, n *CatalogueCounts) (int, error) {
	for i, r := range recs {
		if m, ok := mendRecord(r); ok {
			recs[i] = m
			n.MendedCount++
			if len(n.Mended) < maxNamed {
				n.Mended = append(n.Mended, recordLabel(m))
			}
		}
	}
	_, err := e.cfg.Store.UpsertExternalRecords(ctx, id, typ, recs)
	if err == nil || ctx.Err() != nil || !store.Refused(err) {
		if err != nil {
			return 0, err
		}
		// A record that appears here may be the counterpart an "exists in
		// only one system" failure was missing: it can be mapped now.
		if typ == entityVariant {
			if _, err := e.cfg.Store.RecheckOnlyInOne(ctx, id, recs); err != nil {
				return 0, err
			}
		}
		return len(recs), nil
	}
	e.log.Warn("catalogue: the database refused a batch; storing its records one at a time", "connection_id", id, "err", err)
	stored := 0
	for _, r := range recs {
		_, err := e.cfg.Store.UpsertExternalRecords(ctx, id, typ, []store.ExternalRecord{r})
		switch {
		case err == nil:
			stored++
		case ctx.Err() != nil || !store.Refused(err):
			return stored, err
		default:
			n.RefusedCount++
			if len(n.Refused) < maxNamed {
				n.Refused = append(n.Refused, recordLabel(r)+": it holds "+store.RefusalWords(err))
			}
		}
	}
	return stored, nil
}

// mendRecord replaces NUL characters in a record's fields by U+FFFD and
// reports whether it had any.
func mendRecord(r store.ExternalRecord) (store.ExternalRecord, bool) {
	fields := []*string{&r.ExternalID, &r.SKU, &r.Barcode, &r.Email, &r.Name}
	mended := false
	for _, f := range fields {
		if strings.ContainsRune(*f, 0) {
			*f, mended = clean(*f), true
		}
	}
	return r, mended
}

// recordLabel names a record for a person: its name and SKU when it has
// them, its id otherwise; never longer than a line.
func recordLabel(r store.ExternalRecord) string {
	label := r.ExternalID
	switch {
	case r.Name != "" && r.SKU != "":
		label = fmt.Sprintf("%s (SKU %s)", r.Name, r.SKU)
	case r.Name != "":
		label = r.Name
	case r.SKU != "":
		label = "SKU " + r.SKU
	}
	if rs := []rune(label); len(rs) > 80 {
		label = string(rs[:79]) + "…"
	}
	return label
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
	case vocab.KindShopify:
		n, err = e.shopifyCatalogue(ctx, connectionID)
	case vocab.KindOdoo:
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
		stored, err := e.upsertRecords(ctx, id, entityVariant, batch, &n)
		if err != nil {
			return err
		}
		n.Variants += stored
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
	if n.Locations, err = e.upsertRecords(ctx, id, entityLocation, recs, &n); err != nil {
		return n, err
	}
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
		stored, err := e.upsertRecords(ctx, id, entityVariant, recs, &n)
		if err != nil {
			return n, err
		}
		n.Variants += stored
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
	if n.Locations, err = e.upsertRecords(ctx, id, entityLocation, recs, &n); err != nil {
		return n, err
	}
	return n, nil
}
