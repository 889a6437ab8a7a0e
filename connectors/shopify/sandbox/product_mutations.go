package sandbox

import (
	"strings"
)

// productUpdate and productCreate as of API 2024-10+ (argument "product"; the
// older "input" is accepted too). productCreate makes the product with its
// one default variant, as Shopify does; variants' SKU and barcode are then
// set with productVariantsBulkUpdate.

func productArg(args map[string]any) map[string]any {
	if in, ok := args["product"].(map[string]any); ok {
		return in
	}
	in, _ := args["input"].(map[string]any)
	return in
}

func (s *Shop) productUpdate(args map[string]any) variantsPayload {
	in := productArg(args)
	idGID, _ := in["id"].(string)
	_, pid, _ := parseGID(idGID)
	p := s.productByID[pid]
	if p == nil {
		return variantsPayload{errs: []userErr{{"", []string{"id"}, "Product does not exist"}}}
	}
	next := *p
	if v, ok := in["title"]; ok {
		t, _ := v.(string)
		if strings.TrimSpace(t) == "" {
			return variantsPayload{product: p, errs: []userErr{{"", []string{"title"}, "Title can't be blank"}}}
		}
		next.Title = t
	}
	if v, ok := in["descriptionHtml"]; ok {
		d, _ := v.(string)
		next.BodyHTML = d
	}
	next.UpdatedAt = s.now()
	*p = next
	return variantsPayload{product: p}
}

func (s *Shop) productCreate(args map[string]any) variantsPayload {
	in := productArg(args)
	title, _ := in["title"].(string)
	if strings.TrimSpace(title) == "" {
		return variantsPayload{errs: []userErr{{"", []string{"title"}, "Title can't be blank"}}}
	}
	desc, _ := in["descriptionHtml"].(string)
	now := s.now().UTC()
	s.seq++
	p := &Product{ID: 8200000000000 + s.seq, Title: title, Handle: strings.ToLower(strings.ReplaceAll(title, " ", "-")),
		Status: "ACTIVE", BodyHTML: desc, CreatedAt: now, UpdatedAt: now}
	if st, ok := in["status"].(string); ok && st != "" {
		p.Status = st
	}
	s.seq++
	v := &Variant{ID: 44200000000000 + s.seq, ProductID: p.ID, InventoryItemID: 46200000000000 + s.seq,
		Title: "Default Title", Price: "0.00", Tracked: false, CreatedAt: now, UpdatedAt: now}
	p.VariantIDs = []int64{v.ID}
	s.products = append(s.products, p)
	s.productByID[p.ID] = p
	s.variants = append(s.variants, v)
	s.variantByID[v.ID] = v
	s.variantByItem[v.InventoryItemID] = v
	return variantsPayload{product: p, variants: []*Variant{v}}
}
