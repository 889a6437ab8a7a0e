package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors/odoo"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// The products flow (content), Shopify → Odoo. A products/create or
// products/update webhook (or the safety sweep) becomes one sync per Odoo
// receiver, ordered by the product's updated_at like customers. A sync asks
// the sources of truth which fields Shopify decides (field ownership: title
// from Shopify, SKU and barcode from Odoo...) and writes only those, and only
// where Odoo differs. A variant without a mapping is, when Shopify is the
// products master, created in Odoo — found first by its SKU (the internal
// reference), so a retry or a replay never creates it twice — and its mapping
// is proposed as a change set that waits for an admin; nothing is mapped
// silently.
const (
	flowProducts  = "products.shopify_odoo"
	entityProduct = "product"
)

// carriedFields are the product fields this flow can write into Odoo, with
// the product.product field each becomes.
var carriedFields = []string{"title", "description", "sku", "barcode"}

var odooField = map[string]string{"title": "name", "description": "description_sale", "sku": "default_code", "barcode": "barcode"}

// productRec is a Shopify product as the flow reads it; the sync's payload.
type productRec struct {
	ID          string       `json:"id"` // product GID
	Title       string       `json:"title"`
	Description string       `json:"description,omitempty"` // body_html as plain text
	UpdatedAt   time.Time    `json:"updated_at"`
	Variants    []variantRec `json:"variants"`
}

type variantRec struct {
	ID      string `json:"id"` // variant GID
	Title   string `json:"title,omitempty"`
	SKU     string `json:"sku,omitempty"`
	Barcode string `json:"barcode,omitempty"`
}

func (p productRec) label() string { return "Product " + cmpStr(p.Title, p.ID) }

func (v variantRec) name() string { return cmpStr(v.SKU, v.ID) }

func (p productRec) searchKeys() []string {
	keys := []string{p.ID, p.Title}
	if i := strings.LastIndexByte(p.ID, '/'); i >= 0 {
		keys = append(keys, p.ID[i+1:])
	}
	for _, v := range p.Variants {
		keys = append(keys, v.SKU, v.Barcode, v.ID)
	}
	return keys
}

// value is what a field of the variant is in Odoo's terms.
func (p productRec) value(field string, v variantRec) string {
	switch field {
	case "title":
		return p.Title
	case "description":
		return p.Description
	case "sku":
		return v.SKU
	case "barcode":
		return v.Barcode
	}
	return ""
}

type restProductIn struct {
	ID        int64   `json:"id"`
	GID       string  `json:"admin_graphql_api_id"`
	Title     *string `json:"title"`
	BodyHTML  *string `json:"body_html"`
	UpdatedAt *string `json:"updated_at"`
	Variants  []struct {
		ID      int64   `json:"id"`
		GID     string  `json:"admin_graphql_api_id"`
		Title   *string `json:"title"`
		SKU     *string `json:"sku"`
		Barcode *string `json:"barcode"`
	} `json:"variants"`
}

var tags = regexp.MustCompile(`<[^>]*>`)

// plainText turns Shopify's description HTML into the plain text Odoo's
// sales description holds.
func plainText(s string) string {
	s = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n").Replace(s)
	s = html.UnescapeString(tags.ReplaceAllString(s, ""))
	return strings.TrimSpace(s)
}

// parseProduct reads a products/create or products/update payload.
func parseProduct(payload []byte) (productRec, string) {
	var r restProductIn
	if err := json.Unmarshal(payload, &r); err != nil {
		return productRec{}, "Shopify sent a product Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	p := productRec{ID: r.GID, Title: deref(r.Title), Description: plainText(deref(r.BodyHTML))}
	if p.ID == "" && r.ID != 0 {
		p.ID = "gid://shopify/Product/" + strconv.FormatInt(r.ID, 10)
	}
	if r.UpdatedAt != nil {
		p.UpdatedAt, _ = time.Parse(time.RFC3339, *r.UpdatedAt)
	}
	for _, v := range r.Variants {
		vr := variantRec{ID: v.GID, Title: deref(v.Title), SKU: deref(v.SKU), Barcode: deref(v.Barcode)}
		if vr.ID == "" && v.ID != 0 {
			vr.ID = "gid://shopify/ProductVariant/" + strconv.FormatInt(v.ID, 10)
		}
		if vr.ID == "" {
			return p, p.label() + " has a variant without an id, so Crossdock cannot tell which one it is. Nothing was sent on."
		}
		p.Variants = append(p.Variants, vr)
	}
	switch {
	case p.ID == "":
		return p, "The product Shopify sent has no id, so Crossdock cannot tell which product it is. Nothing was sent on."
	case p.UpdatedAt.IsZero():
		return p, p.label() + " has no date (updated_at), so Crossdock cannot tell it from an older version of it. Nothing was sent on."
	case p.Title == "":
		return p, "The product " + p.ID + " has no title in what Shopify sent. Nothing was sent on."
	case len(p.Variants) == 0:
		return p, p.label() + " has no variants in what Shopify sent, so there is nothing to match with the ERP's products."
	}
	return p, ""
}

// planProduct turns a products/create or products/update event into one
// sync per Odoo system that could receive product content.
func (e *Engine) planProduct(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	pr, problem := parseProduct(ev.Payload)
	return planToOdoo(rs, ev, p, vocab.Products, e.productSync(pr, ev.ConnectionID, store.TriggerWebhook), problem, pr, pr.label())
}

func (e *Engine) productSync(p productRec, src int64, trigger string) store.NewSync {
	return store.NewSync{Family: vocab.Products, Direction: vocab.ShopifyToOdoo, Flow: flowProducts,
		SourceConnectionID: src, Trigger: trigger, EntityType: entityProduct, EntityRef: p.ID,
		EntityKey: cmpStr(p.Title, p.ID), SearchKeys: p.searchKeys(), SourceVersion: p.UpdatedAt,
		IdempotencyKey: versionKey(p.ID, p.UpdatedAt), MaxAttempts: e.cfg.MaxAttempts}
}

type variantProblem struct {
	v       variantRec
	class   vocab.ErrorClass
	message string
}

// runProduct writes the fields Shopify decides into the mapped Odoo
// products, and creates (and proposes the mapping of) those not mapped yet
// when Shopify is the products master.
func (e *Engine) runProduct(ctx context.Context, s store.Sync) result {
	rs, err := e.Rules(ctx)
	if err != nil {
		return result{err: err}
	}
	d := rs.Decide(vocab.Products, s.SourceConnectionID, s.TargetConnectionID, carriedFields)
	if !d.Allowed {
		return result{status: vocab.SyncRejected, class: vocab.ClassOwnership, message: d.Reason, response: d}
	}
	fields := d.Fields
	var p productRec
	if err := json.Unmarshal(s.Payload, &p); err != nil {
		return result{err: fail(vocab.ClassInternal, "The product recorded for this sync cannot be read: "+err.Error(), err)}
	}
	cl, conn, err := e.odoo(ctx, s.TargetConnectionID)
	res := result{system: conn.Name}
	if err != nil {
		res.err = err
		return res
	}
	// The job's lease serialises the syncs of one product; a newer version
	// accepted meanwhile makes this one moot.
	if newer, err := e.superseded(ctx, s, entityProduct, p.ID, p.UpdatedAt); err != nil {
		res.err = err
		return res
	} else if newer {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("%s changed again in Shopify; the newer version is sent by its own sync, so this one is not.", p.label())
		return res
	}

	gids := make([]string, len(p.Variants))
	for i, v := range p.Variants {
		gids[i] = v.ID
	}
	mapped, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, gids)
	if err != nil {
		res.err = err
		return res
	}
	var ids []int
	for _, ref := range mapped {
		if id, err := strconv.Atoi(ref); err == nil {
			ids = append(ids, id)
		}
	}
	current := map[int]odoo.ProductContent{}
	if len(ids) > 0 {
		rows, err := cl.ProductContents(ctx, []any{[]any{"id", "in", ids}}, 0)
		if err != nil {
			res.err = err
			return res
		}
		for _, r := range rows {
			current[r.ID] = r
		}
	}

	type write struct {
		Variant string         `json:"shopify_variant_id"`
		Product int            `json:"odoo_product_id"`
		Values  map[string]any `json:"values"`
		Created bool           `json:"created,omitempty"`
	}
	var writes []write
	var problems []variantProblem
	var created, found []string // sentences
	unchanged := 0
	isMaster := rs.Rule(vocab.Products).Master == s.SourceConnectionID
	for _, v := range p.Variants {
		ref, ok := mapped[v.ID]
		if ok {
			id, err := strconv.Atoi(ref)
			cur, exists := current[id]
			switch {
			case err != nil:
				problems = append(problems, variantProblem{v, vocab.ClassUnmapped, fmt.Sprintf("%s is mapped to %q, which is not an Odoo product id. Correct the mapping, then try this sync again.", v.name(), ref)})
				continue
			case !exists:
				problems = append(problems, variantProblem{v, vocab.ClassNotFound, fmt.Sprintf("%s is mapped to the Odoo product #%d, which no longer exists. Correct the mapping, then try this sync again.", v.name(), id)})
				continue
			}
			vals := contentValues(p, v, fields, cur)
			if len(vals) == 0 {
				unchanged++
				continue
			}
			writes = append(writes, write{Variant: v.ID, Product: id, Values: vals})
			continue
		}
		if !isMaster {
			problems = append(problems, variantProblem{v, vocab.ClassUnmapped, notMapped([]string{v.name()}, "an Odoo product") +
				fmt.Sprintf(", and only the source of products (%s) creates them. Map it on the Mappings page, then try this sync again.", rs.Name(rs.Rule(vocab.Products).Master))})
			continue
		}
		if v.SKU == "" {
			problems = append(problems, variantProblem{v, vocab.ClassValidation, fmt.Sprintf(
				"%s: the variant %q has no SKU. Crossdock creates a product in %s under its SKU, so that it is never created twice. Give it a SKU in Shopify; the change is then sent on.", p.label(), cmpStr(v.Title, v.ID), conn.Name)})
			continue
		}
		// Created once: the SKU is the Odoo reference looked up first.
		existing, there, err := cl.ProductByCode(ctx, v.SKU)
		if err != nil {
			res.err = err
			return res
		}
		id := existing.ID
		if there {
			if vals := contentValues(p, v, fields, existing); len(vals) > 0 {
				writes = append(writes, write{Variant: v.ID, Product: id, Values: vals})
			}
		} else {
			vals := contentValues(p, v, fields, odoo.ProductContent{})
			// Odoo needs a name and Crossdock needs the reference, whoever
			// decides them later: the new product starts with Shopify's.
			vals["name"], vals["default_code"] = p.Title, v.SKU
			res.request = map[string]any{"model": "product.product", "method": "create", "values": vals}
			if id, err = cl.CreateProduct(ctx, vals); err != nil {
				res.err = err
				return res
			}
			writes = append(writes, write{Variant: v.ID, Product: id, Values: vals, Created: true})
		}
		cs, _, err := e.st.ProposeMapping(ctx, store.SystemActor("Sync engine"), store.NewChangeSet{
			Title:  fmt.Sprintf("Map %s, created in %s from %s", v.SKU, conn.Name, rs.Name(s.SourceConnectionID)),
			Reason: fmt.Sprintf("%s (%s) had no product in %s, so Crossdock created one (#%d). Approve to map them, so that further changes reach it.", p.label(), v.SKU, conn.Name, id),
			Items: []store.ItemInput{
				{EntityType: entityVariant, ConnectionID: s.SourceConnectionID, EntityKey: v.SKU, ExternalID: v.ID, SKU: store.Str(v.SKU), Barcode: store.Str(v.Barcode), Name: store.Str(p.Title)},
				{EntityType: entityVariant, ConnectionID: s.TargetConnectionID, EntityKey: v.SKU, ExternalID: strconv.Itoa(id), SKU: store.Str(v.SKU), Barcode: store.Str(v.Barcode), Name: store.Str(p.Title)},
			}})
		if err != nil {
			res.err = fmt.Errorf("engine: propose the mapping of %s: %w", v.SKU, err)
			return res
		}
		if there {
			found = append(found, fmt.Sprintf("%s was already in %s as product #%d (found by its SKU); its mapping waits for approval in change set #%d.", v.SKU, conn.Name, id, cs.ID))
		} else {
			created = append(created, fmt.Sprintf("%s was created in %s as product #%d; its mapping is proposed in change set #%d and waits for an admin's approval.", v.SKU, conn.Name, id, cs.ID))
		}
	}

	if len(p.Variants) == 1 && len(problems) == 1 {
		res.err = fail(problems[0].class, problems[0].message, nil)
		return res
	}
	if err := e.splitOffVariants(ctx, s, p, problems); err != nil {
		res.err = err
		return res
	}
	if res.request == nil || len(writes) > 1 {
		res.request = map[string]any{"model": "product.product", "writes": writes}
	}
	written := 0
	for _, w := range writes {
		if w.Created {
			continue
		}
		// A failure part way is retried whole: what was written matches then.
		if err := cl.WriteProduct(ctx, w.Product, w.Values); err != nil {
			res.err = err
			return res
		}
		written++
	}
	var parts []string
	if written > 0 {
		what := listOfFields(fields)
		parts = append(parts, fmt.Sprintf("%s: %s sent to %s for %s.", p.label(), what, conn.Name, variantsWord(written)))
	}
	parts = append(parts, created...)
	parts = append(parts, found...)
	if unchanged > 0 {
		parts = append(parts, fmt.Sprintf("%s already matched in %s.", capital(variantsWord(unchanged)), conn.Name))
	}
	if len(problems) > 0 {
		parts = append(parts, fmt.Sprintf("%d could not be sent and have a failed sync each.", len(problems)))
	}
	if len(d.Refused) > 0 {
		parts = append(parts, refusedSentence(rs, d))
	}
	if len(writes) > 0 {
		res.targetRef = strconv.Itoa(writes[0].Product)
	}
	res.response = map[string]any{"written": written, "created": len(created), "found": len(found), "unchanged": unchanged,
		"problems": len(problems), "fields": fields, "refused": d.Refused}
	res.message = strings.Join(parts, " ")
	if written == 0 && len(created) == 0 && len(found) == 0 {
		res.status = vocab.SyncSkipped
		res.message = "Nothing to send. " + res.message
		return res
	}
	res.status = vocab.SyncSucceeded
	return res
}

// contentValues are the Odoo values of the fields the source decides that
// differ from what Odoo has.
func contentValues(p productRec, v variantRec, fields []string, cur odoo.ProductContent) map[string]any {
	have := map[string]string{"title": cur.Name, "description": cur.Description, "sku": cur.DefaultCode, "barcode": cur.Barcode}
	vals := map[string]any{}
	for _, f := range fields {
		name, ok := odooField[f]
		if !ok {
			continue
		}
		want := p.value(f, v)
		if want == have[f] {
			continue
		}
		if want == "" {
			if f == "title" || f == "sku" {
				continue // Odoo keeps a name; the SKU is how products are matched
			}
			vals[name] = false // Odoo's empty value
			continue
		}
		vals[name] = want
	}
	return vals
}

func listOfFields(keys []string) string {
	var labels []string
	for _, k := range keys {
		if f, ok := rules.ProductField(k); ok {
			labels = append(labels, strings.ToLower(f.Label))
		}
	}
	switch n := len(labels); n {
	case 0:
		return "nothing"
	case 1:
		return capital(labels[0])
	default:
		return capital(strings.Join(labels[:n-1], ", ") + " and " + labels[n-1])
	}
}

// refusedSentence says which product fields were not sent, and why, from
// the decision's reason without its first ("is sent") sentence.
func refusedSentence(rs rules.Rules, d rules.Decision) string {
	reason := d.Reason
	if len(d.Fields) > 0 {
		if i := strings.Index(reason, ". "); i >= 0 {
			reason = reason[i+2:]
		}
	}
	return reason
}

// splitOffVariants records each variant the sync cannot send as a failed
// sync of its own, to fix and replay on its own.
func (e *Engine) splitOffVariants(ctx context.Context, s store.Sync, p productRec, problems []variantProblem) error {
	if len(problems) == 0 {
		return nil
	}
	ns := make([]store.NewSync, len(problems))
	for i, pr := range problems {
		one := p
		one.Variants = []variantRec{pr.v}
		ns[i] = store.NewSync{Family: s.Family, Direction: s.Direction, Flow: s.Flow, SourceConnectionID: s.SourceConnectionID,
			TargetConnectionID: s.TargetConnectionID, Trigger: s.Trigger, EntityType: entityVariant, EntityRef: pr.v.ID,
			EntityKey: fmt.Sprintf("%s (%s)", cmpStr(p.Title, p.ID), pr.v.name()), SearchKeys: slices.Compact([]string{pr.v.SKU, pr.v.Barcode, pr.v.ID, p.Title}),
			SourceVersion: p.UpdatedAt, ParentID: s.ID, Status: vocab.SyncFailed, ErrorClass: pr.class, Message: pr.message,
			Payload: one, IdempotencyKey: s.IdempotencyKey + "/" + pr.v.ID, MaxAttempts: s.MaxAttempts}
	}
	for i := range ns {
		ns[i] = mendSync(ns[i])
	}
	_, err := e.st.InsertSyncs(ctx, ns)
	return err
}
