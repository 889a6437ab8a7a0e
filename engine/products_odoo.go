package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The products flow (content), Odoo → Shopify: for an Odoo that decides
// product content (or some product fields), a sweep reads the variants
// written since the last one (keyset on write_date, id). A variant whose
// content changed (a digest of it; a price change alone moves write_date
// too) becomes one sync per Shopify receiver, which writes the fields Odoo
// decides where Shopify differs: title and description with productUpdate,
// SKU and barcode with productVariantsBulkUpdate. An unmapped variant, when
// Odoo is the products master, is created in Shopify with productCreate under
// an @idempotent key derived from the Odoo product, and its mapping is
// proposed as a change set; until it is approved, the proposal tells later
// syncs which Shopify product was created, so none creates it again.
const (
	flowProductsOdoo     = "products.odoo_shopify"
	entityProductContent = "product_content" // watermark type: the content of an Odoo product.product
	cursorProductContent = "odoo_product_content"
)

// odooProductIn is an Odoo variant's content; the payload of its sync.
type odooProductIn struct {
	ProductID   int       `json:"product_id"`
	Name        string    `json:"name"`
	SKU         string    `json:"sku,omitempty"`
	Barcode     string    `json:"barcode,omitempty"`
	Description string    `json:"description,omitempty"`
	Version     time.Time `json:"write_date"`
}

func (p odooProductIn) label() string {
	if p.SKU != "" {
		return fmt.Sprintf("Product %s (%s)", p.Name, p.SKU)
	}
	return fmt.Sprintf("Product %s (Odoo #%d)", p.Name, p.ProductID)
}

func (p odooProductIn) digest() string {
	b, _ := json.Marshal([]string{p.Name, p.SKU, p.Barcode, p.Description})
	return string(b)
}

// descriptionHTML is the Odoo sales description as Shopify's description.
func descriptionHTML(s string) string {
	if s == "" {
		return ""
	}
	return "<p>" + strings.ReplaceAll(html.EscapeString(s), "\n", "<br>") + "</p>"
}

// SweepOdooProducts reads, for every Odoo system that decides product
// content or product fields, the variants written since its last sweep, and
// queues those whose content changed for the Shopify receivers.
func (e *Engine) SweepOdooProducts(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, c := range rs.Connections {
		if c.Kind != vocab.KindOdoo || !c.Enabled {
			continue
		}
		var tgts []int64
		for _, t := range targets(rs, vocab.Products, vocab.KindShopify) {
			if rs.Decide(vocab.Products, c.ID, t, carriedFields).Allowed {
				tgts = append(tgts, t)
			}
		}
		if len(tgts) == 0 {
			continue
		}
		n, err := e.sweepOdooProductsOf(ctx, rs, c.ID, tgts, trigger, e.every(rs, vocab.Products, force))
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

func (e *Engine) sweepOdooProductsOf(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string, every time.Duration) (int, error) {
	sw, due, err := e.claimOdooSweep(ctx, src, cursorProductContent, every)
	if err != nil || !due {
		return 0, err
	}
	return sw.walk("product content", sweepPage, func(since time.Time, afterID int) (sweptPage, error) {
		rows, err := sw.cl.ProductContentsChangedSince(ctx, since, afterID, sweepPage)
		if err != nil || len(rows) == 0 {
			return sweptPage{}, err
		}
		last := rows[len(rows)-1]
		pg := sweptPage{rows: len(rows), lastAt: last.WriteDate.UTC(), lastID: last.ID}
		pg.queued, err = e.queueOdooProducts(ctx, rs, src, tgts, trigger, rows, sw.at(pg.lastAt, pg.lastID))
		return pg, err
	})
}

// queueOdooProducts queues one page, moves the cursor and the marks in one
// transaction.
func (e *Engine) queueOdooProducts(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string,
	rows []odoo.ProductContent, cur store.SyncCursor) (int, error) {
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		ins := make([]odooProductIn, len(rows))
		refs := make([]string, len(rows))
		marks := make([]store.Watermark, len(rows))
		for i, r := range rows {
			ins[i] = odooProductIn{ProductID: r.ID, Name: r.Name, SKU: r.DefaultCode, Barcode: r.Barcode, Description: r.Description, Version: r.WriteDate.UTC()}
			refs[i] = strconv.Itoa(r.ID)
			marks[i] = store.Watermark{ConnectionID: src, EntityType: entityProductContent, ExternalID: refs[i], Version: ins[i].Version, Digest: ins[i].digest()}
		}
		before, err := tx.WatermarkDigests(ctx, src, entityProductContent, refs)
		if err != nil {
			return err
		}
		accepted, err := tx.AdvanceWatermarksOrEqual(ctx, marks)
		if err != nil {
			return err
		}
		var qs []queued
		for i, in := range ins {
			if d, seen := before[refs[i]]; !accepted[i] || (seen && d == marks[i].Digest) {
				continue // nothing new, or only prices or stock moved write_date
			}
			ref := "product:" + refs[i]
			for _, t := range tgts {
				s := store.NewSync{Family: vocab.Products, Direction: vocab.OdooToShopify, Flow: flowProductsOdoo,
					SourceConnectionID: src, TargetConnectionID: t, Trigger: trigger, EntityType: entityProduct, EntityRef: ref,
					EntityKey: cmpStr(in.SKU, in.Name), SearchKeys: []string{in.SKU, in.Barcode, in.Name}, SourceVersion: in.Version,
					Payload: in, IdempotencyKey: fmt.Sprintf("odoo-product-%d-%d@%s", src, in.ProductID, in.Version.Format(time.RFC3339)),
					MaxAttempts: e.cfg.MaxAttempts,
					Message:     fmt.Sprintf("%s is waiting to be sent to %s.", in.label(), rs.Name(t))}
				qs = append(qs, queued{sync: s, lease: fmt.Sprintf("product:%d:%s", t, ref)})
			}
		}
		if _, err := e.insertSyncs(ctx, tx, qs); err != nil {
			return err
		}
		n = len(qs)
		return tx.SaveSyncCursor(ctx, cur)
	})
	return n, err
}

// runProductToShopify writes the fields Odoo decides into the Shopify
// variant (and its product), or creates it.
func (e *Engine) runProductToShopify(ctx context.Context, s store.Sync) result {
	rs, err := e.Rules(ctx)
	if err != nil {
		return result{err: err}
	}
	d := rs.Decide(vocab.Products, s.SourceConnectionID, s.TargetConnectionID, carriedFields)
	if !d.Allowed {
		return result{status: vocab.SyncRejected, class: vocab.ClassOwnership, message: d.Reason, response: d}
	}
	var in odooProductIn
	if err := json.Unmarshal(s.Payload, &in); err != nil {
		return result{err: fail(vocab.ClassInternal, "The product recorded for this sync cannot be read: "+err.Error(), err)}
	}
	cl, conn, err := e.shopify(ctx, s.TargetConnectionID)
	res := result{system: conn.Name}
	if err != nil {
		res.err = err
		return res
	}
	ref := strconv.Itoa(in.ProductID)
	if newer, err := e.superseded(ctx, s, entityProductContent, ref, in.Version); err != nil {
		res.err = err
		return res
	} else if newer {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s changed again in Odoo; the newer version is sent by its own sync, so this one is not.", in.label())
		return res
	}
	mapped, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, []string{ref})
	if err != nil {
		res.err = err
		return res
	}
	variant, ok := mapped[ref]
	pending := ""
	if !ok {
		// Created by an earlier sync, its mapping still waiting?
		proposed, cs, found, err := e.st.ProposedRef(ctx, s.SourceConnectionID, entityVariant, ref, s.TargetConnectionID)
		if err != nil {
			res.err = err
			return res
		}
		if found {
			variant = proposed
			pending = fmt.Sprintf(" Its mapping still waits for approval in change set #%d.", cs)
		} else {
			return e.createInShopify(ctx, s, rs, cl, conn, in, d.Fields)
		}
	}
	current, err := cl.VariantContents(ctx, []string{variant})
	if err != nil {
		res.err = err
		return res
	}
	now, ok := current[variant]
	if !ok {
		res.err = fail(vocab.ClassNotFound, fmt.Sprintf("%s is mapped to the Shopify variant %s, which no longer exists. Correct the mapping, then try this sync again.", in.label(), variant), nil)
		return res
	}
	var title, desc *string
	var keys shopify.VariantKeysUpdate
	keys.ID = variant
	for _, f := range d.Fields {
		switch f {
		case "title":
			if in.Name != "" && in.Name != now.Title {
				title = &in.Name
			}
		case "description":
			if in.Description != plainText(now.DescriptionHTML) {
				h := descriptionHTML(in.Description)
				desc = &h
			}
		case "sku":
			if in.SKU != "" && in.SKU != now.SKU {
				keys.SKU = &in.SKU
			}
		case "barcode":
			if in.Barcode != now.Barcode {
				keys.Barcode = &in.Barcode
			}
		}
	}
	var calls []string
	req := map[string]any{}
	if title != nil || desc != nil {
		req["productUpdate"] = map[string]any{"id": now.ProductID, "title": title, "descriptionHtml": desc}
		calls = append(calls, "productUpdate")
	}
	if keys.SKU != nil || keys.Barcode != nil {
		req["productVariantsBulkUpdate"] = map[string]any{"productId": now.ProductID, "variants": []shopify.VariantKeysUpdate{keys}}
		calls = append(calls, "productVariantsBulkUpdate")
	}
	res.targetRef = variant
	if len(calls) == 0 {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s already matches in %s; nothing was written.%s", in.label(), conn.Name, pending)
		return res
	}
	res.request = req
	if title != nil || desc != nil {
		if err := cl.UpdateProductContent(ctx, now.ProductID, title, desc); err != nil {
			res.err = err
			return res
		}
	}
	if keys.SKU != nil || keys.Barcode != nil {
		if err := cl.UpdateVariantKeys(ctx, now.ProductID, []shopify.VariantKeysUpdate{keys}); err != nil {
			res.err = err
			return res
		}
	}
	res.status = vocab.SyncSucceeded
	res.response = map[string]any{"calls": calls, "fields": d.Fields, "refused": d.Refused}
	res.message = fmt.Sprintf("%s: %s sent to %s.%s", in.label(), listOfFields(d.Fields), conn.Name, pending)
	if len(d.Refused) > 0 {
		res.message += " " + refusedSentence(rs, d)
	}
	return res
}

// createInShopify creates an Odoo variant that Shopify lacks, when Odoo is
// the products master, and proposes its mapping.
func (e *Engine) createInShopify(ctx context.Context, s store.Sync, rs rules.Rules, cl *shopify.Client, conn store.Connection,
	in odooProductIn, fields []string) result {
	res := result{system: conn.Name}
	if rs.Rule(vocab.Products).Master != s.SourceConnectionID {
		res.err = fail(vocab.ClassUnmapped, notMapped([]string{in.label()}, "a Shopify variant")+
			fmt.Sprintf(", and only the source of products (%s) creates them. Map it on the Mappings page, then try this sync again.", rs.Name(rs.Rule(vocab.Products).Master)), nil)
		return res
	}
	if in.SKU == "" {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s has no internal reference (SKU) in Odoo. Crossdock matches products by SKU, so it does not create one without it. Give it one in Odoo; the change is then sent on.", in.label()), nil)
		return res
	}
	// The key belongs to the Odoo product, not to this sync: two syncs of
	// one new product (two edits before the first was sent) create it once.
	key := fmt.Sprintf("crossdock-product-%d-%d", s.SourceConnectionID, in.ProductID)
	desc := ""
	if slices.Contains(fields, "description") {
		desc = descriptionHTML(in.Description)
	}
	res.request = map[string]any{"mutation": "productCreate", "idempotency_key": key, "title": in.Name, "descriptionHtml": desc,
		"then": map[string]any{"productVariantsBulkUpdate": map[string]any{"sku": in.SKU, "barcode": in.Barcode}}}
	productID, variantID, err := cl.CreateProduct(ctx, in.Name, desc, key)
	if err != nil {
		res.err = err
		return res
	}
	keys := shopify.VariantKeysUpdate{ID: variantID, SKU: &in.SKU}
	if in.Barcode != "" {
		keys.Barcode = &in.Barcode
	}
	if err := cl.UpdateVariantKeys(ctx, productID, []shopify.VariantKeysUpdate{keys}); err != nil {
		res.err = err
		return res
	}
	ref := strconv.Itoa(in.ProductID)
	cs, _, err := e.st.ProposeMapping(ctx, store.SystemActor("Sync engine"), store.NewChangeSet{
		Title:  fmt.Sprintf("Map %s, created in %s from %s", in.SKU, conn.Name, rs.Name(s.SourceConnectionID)),
		Reason: fmt.Sprintf("%s had no product in %s, so Crossdock created one (%s). Approve to map them, so that further changes reach it.", in.label(), conn.Name, productID),
		Items: []store.ItemInput{
			{EntityType: entityVariant, ConnectionID: s.SourceConnectionID, EntityKey: in.SKU, ExternalID: ref, SKU: store.Str(in.SKU), Barcode: store.Str(in.Barcode), Name: store.Str(in.Name)},
			{EntityType: entityVariant, ConnectionID: s.TargetConnectionID, EntityKey: in.SKU, ExternalID: variantID, SKU: store.Str(in.SKU), Barcode: store.Str(in.Barcode), Name: store.Str(in.Name)},
		}})
	if err != nil {
		res.err = fmt.Errorf("engine: propose the mapping of %s: %w", in.SKU, err)
		return res
	}
	res.status, res.targetRef = vocab.SyncSucceeded, variantID
	res.response = map[string]any{"product_id": productID, "variant_id": variantID, "change_set": cs.ID}
	res.message = fmt.Sprintf("%s was created in %s; its mapping is proposed in change set #%d and waits for an admin's approval.", in.label(), conn.Name, cs.ID)
	return res
}
