package engine

import (
	"context"
	"errors"
	"fmt"
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

// The prices and costs flow, Odoo → Shopify. It is built like the inventory
// flow: a sweep reads the Odoo products written since the last one (keyset on
// write_date, id), a high-water mark per product drops what was seen already,
// and the changed products are queued in syncs of up to 250 per Shopify
// receiver. A sync re-asks the sources of truth, splits off the products it
// cannot send (not mapped, invalid, gone from Shopify) as failed syncs of
// their own, leaves out those Shopify already has at the same price and cost,
// and updates the rest with one productVariantsBulkUpdate per Shopify product.
// Writing absolute values that are compared with Shopify's first makes a retry
// harmless: what the failed attempt already wrote matches and is not written
// again.
const (
	flowPrices         = "prices.odoo_shopify"
	entityProductPrice = "product_price"  // watermark type: list and cost price of an Odoo product.product
	entityPrices       = "variant_prices" // a sync's entity: prices and costs of Shopify variants
	cursorPrices       = "odoo_product_prices"
)

// pricesFlow sends Odoo's prices and costs into Shopify. Its family is
// prices; each of its syncs is of the family it carries (costs alone are
// costs).
func pricesFlow() Flow {
	return Flow{Name: flowPrices, Family: vocab.Prices, From: vocab.KindOdoo, To: vocab.KindShopify,
		Sweep: &flowSweep{job: sweepJobStock, run: (*Engine).SweepPrices},
		Lease: func(target int64, _ string) string { return pricesLease(target) },
		Run: runWith(runSpec[priceBatch, *shopify.Client]{record: "prices", connect: (*Engine).shopify,
			decide: (*Engine).decidePrices, body: (*Engine).runPrices})}
}

// priceBatch is the payload of a prices sync: the products' prices and costs
// as Odoo had them, and which of the two families flow to the target.
type priceBatch struct {
	Prices bool `json:"prices"`
	Costs  bool `json:"costs"`
	// System is the source's kind of system in sentences ("" for Odoo).
	System string    `json:"system,omitempty"`
	Items  []priceIn `json:"items"`
}

// from names the system the prices come from.
func (b priceBatch) from() string { return cmpStr(b.System, "Odoo") }

type priceIn struct {
	ProductID int       `json:"product_id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name,omitempty"` // said when there is no SKU ("" for Odoo: its number is)
	Price     float64   `json:"list_price"`
	Cost      float64   `json:"standard_price"`
	Version   time.Time `json:"write_date"`
}

func (p priceIn) ref() string { return "product:" + strconv.Itoa(p.ProductID) }
func (p priceIn) name() string {
	return cmpStr(p.SKU, cmpStr(p.Name, fmt.Sprintf("Odoo product #%d", p.ProductID)))
}

// money is how a price is written to Shopify and compared with its own.
func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// pricesLease serialises the price writes of one Shopify connection: batches
// and the items split off them may share variants.
func pricesLease(target int64) string { return fmt.Sprintf("prices:%d", target) }

// priceFamilies are the families this flow carries, in the order they are decided.
var priceFamilies = []vocab.Family{vocab.Prices, vocab.Costs}

// SweepPrices reads, for every Odoo connection that decides prices or costs,
// the products changed since its last sweep (all of them the first time) and
// queues their prices and costs for the Shopify receivers. It runs when the
// shortest sweep interval of the families the connection decides has passed,
// or when forced. It returns how many syncs it queued.
func (e *Engine) SweepPrices(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	return sweepEachMaster(rs, vocab.KindOdoo, priceFamilies, func(m int64) (int, error) {
		return e.sweepPricesOf(ctx, rs, m, trigger, force)
	})
}

// sweepEachMaster runs sweep for each enabled system of a kind that is the
// source of one of the families, once each, whatever the others meet. It
// returns how many syncs they queued.
func sweepEachMaster(rs rules.Rules, kind vocab.Kind, fs []vocab.Family, sweep func(src int64) (int, error)) (int, error) {
	var masters []int64
	for _, f := range fs {
		m := rs.Rule(f).Master
		if c, ok := rs.Conn(m); ok && c.Kind == kind && c.Enabled && !slices.Contains(masters, m) {
			masters = append(masters, m)
		}
	}
	total := 0
	var errs []error
	for _, m := range masters {
		n, err := sweep(m)
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

func (e *Engine) sweepPricesOf(ctx context.Context, rs rules.Rules, src int64, trigger string, force bool) (int, error) {
	var tgts []int64
	every := time.Duration(0)
	for _, f := range priceFamilies {
		rule := rs.Rule(f)
		for _, rc := range rule.Receivers {
			if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == vocab.KindShopify && !slices.Contains(tgts, c.ID) {
				tgts = append(tgts, c.ID)
			}
		}
		if rule.Master == src {
			if d := time.Duration(rule.SweepMinutes) * time.Minute; every == 0 || d < every {
				every = d
			}
		}
	}
	if len(tgts) == 0 {
		return 0, nil
	}
	if force {
		every = 0
	}
	sw, due, err := e.claimOdooSweep(ctx, src, cursorPrices, every)
	if err != nil || !due {
		return 0, err
	}
	return sw.walk("prices", sweepPage, func(since time.Time, afterID int) (sweptPage, error) {
		rows, err := sw.cl.ProductsChangedSince(ctx, since, afterID, sweepPage)
		if err != nil || len(rows) == 0 {
			return sweptPage{}, err
		}
		last := rows[len(rows)-1]
		pg := sweptPage{rows: len(rows), lastAt: last.WriteDate.UTC(), lastID: last.ID}
		pg.queued, err = e.queuePrices(ctx, rs, src, tgts, trigger, rows, sw.at(pg.lastAt, pg.lastID))
		return pg, err
	})
}

// queuePrices queues one page of products, moves the sweep's cursor and
// raises the products' watermarks, in one transaction: a crash repeats the page.
func (e *Engine) queuePrices(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string,
	rows []odoo.Product, cur store.SyncCursor) (int, error) {
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		marks := make([]store.Watermark, len(rows))
		for i, p := range rows {
			marks[i] = store.Watermark{ConnectionID: src, EntityType: entityProductPrice, ExternalID: strconv.Itoa(p.ID),
				Version: p.WriteDate.UTC(), Digest: strconv.FormatFloat(p.ListPrice, 'g', -1, 64) + "/" + strconv.FormatFloat(p.StandardPrice, 'g', -1, 64)}
		}
		// The overlap re-reads the products of the cursor's last seconds:
		// those unchanged are dropped here.
		accepted, err := tx.AdvanceWatermarksOrEqual(ctx, marks)
		if err != nil {
			return err
		}
		var items []priceIn
		for i, p := range rows {
			if accepted[i] {
				items = append(items, priceIn{ProductID: p.ID, SKU: p.DefaultCode, Price: p.ListPrice, Cost: p.StandardPrice, Version: marks[i].Version})
			}
		}
		var qs []queued
		for start := 0; start < len(items); start += maxBatch {
			part := items[start:min(start+maxBatch, len(items))]
			ref := fmt.Sprintf("products:%d-%d", part[0].ProductID, part[len(part)-1].ProductID)
			qs = append(qs, e.priceSyncs(rs, store.NewSync{Direction: vocab.OdooToShopify, Flow: flowPrices, SourceConnectionID: src,
				Trigger: trigger, EntityType: entityPrices, EntityRef: ref}, tgts, priceBatch{Items: part})...)
		}
		if _, err := e.insertSyncs(ctx, tx, qs); err != nil {
			return err
		}
		n = len(qs)
		return tx.SaveSyncCursor(ctx, cur)
	})
	return n, err
}

// priceSyncs are the syncs of one batch of prices and costs for each
// target: one carrying the families the sources of truth let through, and a
// rejected one for each family refused that is worth recording. base names
// the flow, source, trigger and entity; b the items and, for a source that
// is not Odoo, its system.
func (e *Engine) priceSyncs(rs rules.Rules, base store.NewSync, tgts []int64, b priceBatch) []queued {
	src, part := base.SourceConnectionID, b.Items
	base.SearchKeys = make([]string, 0, len(part))
	for _, it := range part {
		base.SearchKeys = append(base.SearchKeys, it.SKU)
		if it.Version.After(base.SourceVersion) {
			base.SourceVersion = it.Version
		}
	}
	base.MaxAttempts = e.cfg.MaxAttempts
	var qs []queued
	for _, t := range tgts {
		base.TargetConnectionID = t
		b.Prices, b.Costs = false, false
		for _, f := range priceFamilies {
			d := rs.Decide(f, src, t, nil)
			switch {
			case d.Allowed && f == vocab.Prices:
				b.Prices = true
			case d.Allowed:
				b.Costs = true
			case refusalWorthRecording(rs.Rule(f), src, t):
				// Someone else decides the family (or two systems
				// do): the change would have gone, and is refused.
				s := base
				s.Family, s.Status, s.ErrorClass, s.Message = f, vocab.SyncRejected, vocab.ClassOwnership, d.Reason
				s.EntityKey = pricesLabel(f, len(part))
				s.Payload = priceBatch{Prices: f == vocab.Prices, Costs: f == vocab.Costs, System: b.System, Items: part}
				s.IdempotencyKey = newKey()
				qs = append(qs, queued{sync: s})
			}
		}
		if !b.Prices && !b.Costs {
			continue
		}
		s := base
		s.Family = vocab.Prices
		if !b.Prices {
			s.Family = vocab.Costs
		}
		s.EntityKey = batchLabel(b, len(part))
		s.Payload, s.IdempotencyKey = b, newKey()
		s.Message = fmt.Sprintf("%s from %s are waiting to be sent to %s.", capital(whatFlows(b)), rs.Name(src), rs.Name(t))
		qs = append(qs, queued{sync: s, lease: pricesLease(t)})
	}
	return qs
}

// refusalWorthRecording: a family refused for a target is recorded as a
// rejected sync when another system decides it, or when the target is one of
// its receivers. A family this Odoo decides but simply does not send to the
// target (or that nobody decides) is no refusal, just not set up.
func refusalWorthRecording(rule rules.Rule, src, target int64) bool {
	if rule.Master == 0 {
		return false
	}
	return rule.Master != src || rule.Receives(target)
}

func whatFlows(b priceBatch) string {
	switch {
	case b.Prices && b.Costs:
		return "prices and costs"
	case b.Costs:
		return "costs"
	}
	return "prices"
}

func batchLabel(b priceBatch, n int) string {
	if n == 1 {
		return fmt.Sprintf("%s of %s", whatFlows(b), b.Items[0].name())
	}
	return fmt.Sprintf("%s of %d products", whatFlows(b), n)
}

func pricesLabel(f vocab.Family, n int) string {
	return batchLabel(priceBatch{Prices: f == vocab.Prices, Costs: f == vocab.Costs, Items: make([]priceIn, n)}, n)
}

type priceProblem struct {
	p       priceIn
	class   vocab.ErrorClass
	message string
}

// decidePrices asks the sources of truth about each family the batch
// carries, as they may have changed since the sync was queued: a family
// refused is left out of the batch (its reason is told), and the sync is
// rejected when none is left.
func (e *Engine) decidePrices(ctx context.Context, s store.Sync, b *priceBatch) (verdict, *result, error) {
	rs, err := e.Rules(ctx)
	if err != nil {
		return verdict{}, nil, err
	}
	var reasons []string
	var lastRefusal rules.Decision
	for _, f := range priceFamilies {
		want := (f == vocab.Prices && b.Prices) || (f == vocab.Costs && b.Costs)
		if !want {
			continue
		}
		if d := rs.Decide(f, s.SourceConnectionID, s.TargetConnectionID, nil); !d.Allowed {
			reasons, lastRefusal = append(reasons, d.Reason), d
			if f == vocab.Prices {
				b.Prices = false
			} else {
				b.Costs = false
			}
		}
	}
	if !b.Prices && !b.Costs {
		if len(reasons) == 0 {
			reasons = append(reasons, "Neither prices nor costs are sent by this sync.")
		}
		return verdict{}, &result{status: vocab.SyncRejected, class: vocab.ClassOwnership, message: strings.Join(reasons, " "), response: lastRefusal}, nil
	}
	return verdict{rs: rs, refused: reasons}, nil, nil
}

// runPrices writes the batch's prices and/or costs into Shopify, one
// productVariantsBulkUpdate per Shopify product.
func (e *Engine) runPrices(ctx context.Context, s store.Sync, b priceBatch, cl *shopify.Client, conn store.Connection, vd verdict) result {
	var res result
	reasons := vd.refused
	single := len(b.Items) == 1

	// Superseded items: a newer version was accepted since this sync was queued.
	refs := make([]string, len(b.Items))
	for i, it := range b.Items {
		refs[i] = strconv.Itoa(it.ProductID)
	}
	marks, err := e.st.Watermarks(ctx, s.SourceConnectionID, entityProductPrice, refs)
	if err != nil {
		res.err = err
		return res
	}
	var problems []priceProblem
	var valid []priceIn
	superseded := 0
	for i, it := range b.Items {
		if m, ok := marks[refs[i]]; ok && m.After(it.Version) {
			superseded++
			continue
		}
		switch {
		case b.Prices && it.Price == 0:
			problems = append(problems, priceProblem{it, vocab.ClassValidation, fmt.Sprintf(
				"%s has a price of %s in %s; Shopify would sell it for free. Fix the price in %[3]s.", it.name(), money(it.Price), b.from())})
		case b.Prices && it.Price < 0:
			problems = append(problems, priceProblem{it, vocab.ClassValidation, fmt.Sprintf(
				"%s has a price of %s in %s; Shopify does not take a negative price. Fix the price in %[3]s.", it.name(), money(it.Price), b.from())})
		case b.Costs && it.Cost < 0:
			problems = append(problems, priceProblem{it, vocab.ClassValidation, fmt.Sprintf(
				"%s has a cost of %s in %s; Shopify does not take a negative cost. Fix the cost in %[3]s.", it.name(), money(it.Cost), b.from())})
		default:
			valid = append(valid, it)
		}
	}

	// Records excluded from syncing this kind of data are left out.
	valid, excluded, err := leaveOutExcluded(ctx, e, s, valid, func(p priceIn) int { return p.ProductID })
	if err != nil {
		res.err = err
		return res
	}

	pids := make([]string, len(valid))
	for i, it := range valid {
		pids[i] = strconv.Itoa(it.ProductID)
	}
	variants, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, pids)
	if err != nil {
		res.err = err
		return res
	}
	var wanted []string
	for _, v := range variants {
		wanted = append(wanted, v)
	}
	current, err := cl.VariantPrices(ctx, wanted)
	if err != nil {
		res.err = err
		return res
	}
	type target struct {
		p       priceIn
		variant string
		now     shopify.VariantPrice
	}
	var unmapped []odooProduct
	for _, it := range valid {
		if _, ok := variants[strconv.Itoa(it.ProductID)]; !ok {
			unmapped = append(unmapped, odooProduct{ID: it.ProductID, SKU: it.SKU})
		}
	}
	missing, err := e.missingIn(ctx, s.SourceConnectionID, s.TargetConnectionID, unmapped)
	if err != nil {
		res.err = err
		return res
	}
	var sendable []target
	for _, it := range valid {
		v, ok := variants[strconv.Itoa(it.ProductID)]
		if r, gone := missing[it.ProductID]; !ok && gone {
			problems = append(problems, priceProblem{it, vocab.ClassOnlyInOne, onlyInOneMessage(r.SKU, conn.Name)})
			continue
		}
		if !ok {
			problems = append(problems, priceProblem{it, vocab.ClassUnmapped, notMapped([]string{it.name()}, "a Shopify variant") +
				". Map it on the Mappings page, then try this sync again."})
			continue
		}
		now, ok := current[v]
		if !ok {
			problems = append(problems, priceProblem{it, vocab.ClassNotFound, fmt.Sprintf(
				"%s is mapped to the Shopify variant %s, which no longer exists. Correct the mapping, then try this sync again.", it.name(), v)})
			continue
		}
		sendable = append(sendable, target{p: it, variant: v, now: now})
	}

	if single && len(problems) == 1 {
		f := fail(problems[0].class, problems[0].message, nil)
		if r, ok := missing[problems[0].p.ProductID]; ok && problems[0].class == vocab.ClassOnlyInOne {
			f.evidence = store.OnlyInOneResponse(r)
		}
		res.err = f
		if problems[0].class == vocab.ClassUnmapped {
			res.response = store.UnmappedResponse(entityVariant, []string{strconv.Itoa(problems[0].p.ProductID)})
		}
		return res
	}
	if single && len(excluded) == 1 {
		res.status = vocab.SyncSkipped
		res.message = "Nothing to send: " + b.Items[0].name() + " is excluded from syncing " + string(s.Family) + "."
		return res
	}
	if err := e.splitOffPrices(ctx, s, b, problems, missing); err != nil {
		res.err = err
		return res
	}

	// Group per Shopify product, leaving out what Shopify already has.
	byProduct := map[string][]shopify.VariantPriceUpdate{}
	var products []string
	unchanged, sent := 0, 0
	for _, t := range sendable {
		u := shopify.VariantPriceUpdate{ID: t.variant}
		if b.Prices && !sameMoney(t.now.Price, t.p.Price) {
			p := money(t.p.Price)
			u.Price = &p
		}
		if b.Costs && !sameMoney(t.now.Cost, t.p.Cost) {
			c := money(t.p.Cost)
			u.Cost = &c
		}
		if u.Price == nil && u.Cost == nil {
			unchanged++
			continue
		}
		if _, ok := byProduct[t.now.ProductID]; !ok {
			products = append(products, t.now.ProductID)
		}
		byProduct[t.now.ProductID] = append(byProduct[t.now.ProductID], u)
		sent++
	}
	what := whatFlows(b)
	summary := func(sent int) string {
		var parts []string
		if sent > 0 {
			parts = append(parts, fmt.Sprintf("%s of %s sent to %s.", capital(what), variantsWord(sent), conn.Name))
		}
		if unchanged > 0 {
			parts = append(parts, fmt.Sprintf("%d already matched.", unchanged))
		}
		if superseded > 0 {
			parts = append(parts, fmt.Sprintf("%d had changed again in %s and go with a newer sync.", superseded, b.from()))
		}
		if len(problems) > 0 {
			parts = append(parts, fmt.Sprintf("%d could not be sent and have a failed sync each.", len(problems)))
		}
		if len(excluded) > 0 {
			parts = append(parts, excludedWord(len(excluded)))
		}
		if len(reasons) > 0 {
			parts = append(parts, reasons...)
		}
		return strings.Join(parts, " ")
	}
	if sent == 0 {
		res.status = vocab.SyncSkipped
		res.message = "Nothing to send. " + summary(0)
		return res
	}
	type call struct {
		ProductID string                       `json:"product_id"`
		Variants  []shopify.VariantPriceUpdate `json:"variants"`
	}
	calls := make([]call, 0, len(products))
	for _, p := range products {
		calls = append(calls, call{ProductID: p, Variants: byProduct[p]})
	}
	res.request = map[string]any{"mutation": "productVariantsBulkUpdate", "calls": calls}
	for _, c := range calls {
		// A failure part way is retried as a whole: the products already
		// written then match and are left out.
		if err := cl.UpdateVariantPrices(ctx, c.ProductID, c.Variants); err != nil {
			res.err = err
			return res
		}
	}
	res.status = vocab.SyncSucceeded
	res.targetRef = products[0]
	res.message = summary(sent)
	return res
}

func variantsWord(n int) string {
	if n == 1 {
		return "1 variant"
	}
	return fmt.Sprintf("%d variants", n)
}

// sameMoney reports whether Shopify's amount (a decimal string, "" for none)
// is v to the cent.
func sameMoney(shop string, v float64) bool {
	if shop == "" {
		return false
	}
	f, err := strconv.ParseFloat(shop, 64)
	return err == nil && money(f) == money(v)
}

// splitOffPrices records each product the batch cannot send as a failed sync
// of its own.
func (e *Engine) splitOffPrices(ctx context.Context, s store.Sync, b priceBatch, problems []priceProblem, missing map[int]store.MissingRecord) error {
	if len(problems) == 0 {
		return nil
	}
	ns := make([]store.NewSync, len(problems))
	for i, p := range problems {
		one := priceBatch{Prices: b.Prices, Costs: b.Costs, System: b.System, Items: []priceIn{p.p}}
		ns[i] = store.NewSync{Family: s.Family, Direction: s.Direction, Flow: s.Flow, SourceConnectionID: s.SourceConnectionID,
			TargetConnectionID: s.TargetConnectionID, Trigger: s.Trigger, EntityType: s.EntityType,
			EntityRef: p.p.ref(), EntityKey: batchLabel(one, 1), SearchKeys: []string{p.p.SKU}, SourceVersion: p.p.Version,
			ParentID: s.ID, Status: vocab.SyncFailed, ErrorClass: p.class, Message: p.message, Payload: one,
			IdempotencyKey: newKey(), MaxAttempts: s.MaxAttempts}
		if r, ok := missing[p.p.ProductID]; ok && p.class == vocab.ClassOnlyInOne {
			ns[i].Response = store.OnlyInOneResponse(r)
		} else if p.class == vocab.ClassUnmapped {
			// The record a proposed change must map to fix it.
			ns[i].Response = store.UnmappedResponse(entityVariant, []string{strconv.Itoa(p.p.ProductID)})
		}
	}
	for i := range ns {
		ns[i] = mendSync(ns[i])
	}
	_, err := e.st.InsertSyncs(ctx, ns)
	return err
}
