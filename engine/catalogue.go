package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"crossdock/connectors"
	"crossdock/store"
	"crossdock/vocab"
)

// CatalogueCounts says how many records a catalogue refresh read.
type CatalogueCounts struct {
	Variants, Locations int
	// TaxCodes and PaymentMethods count an accounting system's tax codes,
	// and its payment methods with its deposit accounts.
	TaxCodes, PaymentMethods int
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
	fields := []*string{&r.ExternalID, &r.SKU, &r.Barcode, &r.Email, &r.Name, &r.VariantTitle}
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
// Each kind that can read its products reads its own catalogue
// (connectors.CatalogueReader). Reading Shopify's starts a bulk operation in
// the shop (at most a few run at once per shop, shared with the merchant's
// apps), so a refresh counts as a write for the actor's environment scope,
// whatever the kind.
func (e *Engine) RefreshCatalogue(ctx context.Context, a store.Actor, connectionID int64) (CatalogueCounts, error) {
	start := time.Now()
	if err := e.st.MayWriteInto(ctx, a, connectionID); err != nil {
		return CatalogueCounts{}, err
	}
	conn, err := e.connection(ctx, connectionID)
	if err != nil {
		return CatalogueCounts{}, err
	}
	// The catalogue is what a system offers to read of its products, or
	// of its stock (a warehouse lists its fulfilment centres as locations).
	k, ok := e.kinds.Kind(conn.Kind)
	if !ok || !k.Can(vocab.Products, connectors.Read) && !k.Can(vocab.Inventory, connectors.Read) {
		return CatalogueCounts{}, fmt.Errorf("engine: no catalogue for %s connections", conn.Kind)
	}
	cl, err := e.pooled(conn)
	if err != nil {
		return CatalogueCounts{}, poolFailure(conn, err)
	}
	reader, ok := cl.(connectors.CatalogueReader)
	if !ok {
		return CatalogueCounts{}, fmt.Errorf("engine: no catalogue for %s connections", conn.Kind)
	}
	var n CatalogueCounts
	read := []string{entityVariant, entityLocation}
	err = reader.ReadCatalogue(ctx, func(entity string, batch []connectors.Record) error {
		if !containsStr(read, entity) {
			read = append(read, entity)
		}
		recs := make([]store.ExternalRecord, len(batch))
		for i, r := range batch {
			recs[i] = store.ExternalRecord{ExternalID: r.ExternalID, SKU: r.SKU, Barcode: r.Barcode, Name: r.Name,
				VariantTitle: r.VariantTitle, ImageURL: r.ImageURL}
		}
		stored, err := e.upsertRecords(ctx, connectionID, entity, recs, &n)
		switch entity {
		case entityVariant:
			n.Variants += stored
		case entityLocation:
			n.Locations += stored
		case connectors.EntityTaxCode:
			n.TaxCodes += stored
		case connectors.EntityPaymentMethod:
			n.PaymentMethods += stored
		}
		return err
	})
	if err != nil {
		return n, err
	}
	// Everything read in this pass was stamped after start; older rows are gone.
	for _, typ := range read {
		gone, err := e.cfg.Store.MarkMissingExternalRecords(ctx, connectionID, typ, start)
		if err != nil {
			return n, err
		}
		n.Gone += gone
	}
	return n, nil
}
