package engine

import (
	"context"
	"strconv"

	"crossdock/store"
)

// An Odoo product that is not mapped may have nothing to be mapped to: the
// shop has no variant of its SKU. Mapping cannot fix its failures, so they
// get a cause of their own, "exists in only one system", with the record in
// the response (the record can then be excluded from syncing). Decided when
// the sync fails, from the catalogue Crossdock read of the target (one query
// per batch); a catalogue refresh that later finds the SKU there turns the
// failures back into "not mapped yet" (store.RecheckOnlyInOne).

// odooProduct is an Odoo product a batch carries.
type odooProduct struct {
	ID  int
	SKU string
}

// missingIn returns, among products that are not mapped, those whose SKU
// the target system's catalogue does not hold, by product id. None when the
// catalogue was never read (absent then means unknown), and never a product
// without a SKU (it may be there under a name).
func (e *Engine) missingIn(ctx context.Context, src, tgt int64, ps []odooProduct) (map[int]store.MissingRecord, error) {
	out := map[int]store.MissingRecord{}
	var skus []string
	for _, p := range ps {
		if p.SKU != "" {
			skus = append(skus, p.SKU)
		}
	}
	if len(skus) == 0 {
		return out, nil
	}
	cat, err := e.st.CatalogueOf(ctx, tgt, entityVariant, skus)
	if err != nil || !cat.Read {
		return out, err
	}
	var keys []store.RecordKey
	for _, p := range ps {
		if p.SKU != "" && !cat.Has(p.SKU) {
			out[p.ID] = store.MissingRecord{ConnectionID: src, EntityType: entityVariant, ExternalID: strconv.Itoa(p.ID), SKU: p.SKU}
			keys = append(keys, store.RecordKey{ConnectionID: src, EntityType: entityVariant, ExternalID: strconv.Itoa(p.ID)})
		}
	}
	names, err := e.st.RecordNames(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		id, _ := strconv.Atoi(k.ExternalID)
		r := out[id]
		r.Name = names[k]
		out[id] = r
	}
	return out, nil
}

// leaveOutExcluded returns the items of a batch whose Odoo product is not
// excluded from syncing the sync's family, and the products left out (one
// lookup per batch).
func leaveOutExcluded[T any](ctx context.Context, e *Engine, s store.Sync, items []T, product func(T) int) ([]T, map[int]bool, error) {
	ids := make([]int, len(items))
	for i, it := range items {
		ids[i] = product(it)
	}
	excluded, err := e.excludedProducts(ctx, s.SourceConnectionID, string(s.Family), ids)
	if err != nil || len(excluded) == 0 {
		return items, excluded, err
	}
	kept := items[:0:0]
	for _, it := range items {
		if !excluded[product(it)] {
			kept = append(kept, it)
		}
	}
	return kept, excluded, nil
}

// excludedProducts returns which of the batch's Odoo products are excluded
// from syncing the family (one lookup per batch).
func (e *Engine) excludedProducts(ctx context.Context, src int64, family string, ids []int) (map[int]bool, error) {
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = strconv.Itoa(id)
	}
	ex, err := e.st.ExcludedAmong(ctx, src, entityVariant, family, refs)
	if err != nil {
		return nil, err
	}
	out := make(map[int]bool, len(ex))
	for _, id := range ids {
		if ex[strconv.Itoa(id)] {
			out[id] = true
		}
	}
	return out, nil
}

// onlyInOneMessage names the record and the system it is missing from.
func onlyInOneMessage(sku, system string) string {
	return sku + " does not exist in " + system + ", so there is nothing to map it to."
}

func excludedWord(n int) string {
	if n == 1 {
		return "1 is excluded from syncing."
	}
	return strconv.Itoa(n) + " are excluded from syncing."
}
