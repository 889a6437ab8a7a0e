package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// QuickBooks Online as a source of items data: when it is the source of
// stock, an inventory item's quantity on hand is set in Shopify at the
// location the connection names (compare-and-set against what Shopify shows
// just before); when it is the source of prices or costs, an item's sales
// price and purchase cost go to the mapped Shopify variant through the
// prices flow's own writer. Items are matched to variants through the
// mappings (a QuickBooks item by its id).
//
// Two things plan them: QuickBooks' webhooks for items created or updated
// (both formats, read by the connector into "qbo.item.create" and
// "qbo.item.update"), and, because webhooks are not a guarantee, a sweep on
// the stock job that asks change data capture what changed since the last
// one (the whole catalogue the first time, or when the last sweep is older
// than CDC's 30 days). A syncs' payload names the items; each attempt reads
// them from QuickBooks again, so what is written is what QuickBooks has now.
const (
	flowQuickBooksStock  = "inventory.quickbooks_shopify"
	flowQuickBooksPrices = "prices.quickbooks_shopify"
	// entityQBItem is a QuickBooks item: the watermark of its last change
	// (LastUpdatedTime), shared by the webhooks and the sweep, and the
	// entity of the syncs a webhook plans.
	entityQBItem   = "quickbooks_item"
	cursorQBItems  = "quickbooks_items"
	qbSystem       = "QuickBooks"
	qbSweepOverlap = time.Minute // the clocks of QuickBooks and Crossdock may differ
)

var qbItemTopics = []string{"qbo.item.create", "qbo.item.update"}

// quickbooksStockFlow sets QuickBooks' quantities on hand in Shopify. Its
// sweep plans the prices flow too (one read of QuickBooks for both).
func quickbooksStockFlow() Flow {
	return Flow{Name: flowQuickBooksStock, Family: vocab.Inventory, From: vocab.KindQuickBooks, To: vocab.KindShopify,
		Topics: qbItemTopics, Plan: (*Engine).planQuickBooksStock,
		Sweep: &flowSweep{job: sweepJobStock, run: (*Engine).SweepQuickBooksItems}, Lease: leaseOn("inventory"),
		Run: runWith(runSpec[qbStockIn, *shopify.Client]{record: "stock levels", connect: (*Engine).shopify, body: (*Engine).runQuickBooksStock})}
}

// quickbooksPricesFlow sends QuickBooks' sales prices and purchase costs
// into Shopify; it is planned by the same webhooks and by the stock flow's
// sweep.
func quickbooksPricesFlow() Flow {
	return Flow{Name: flowQuickBooksPrices, Family: vocab.Prices, From: vocab.KindQuickBooks, To: vocab.KindShopify,
		Topics: qbItemTopics, Plan: (*Engine).planQuickBooksPrices,
		Lease: func(target int64, _ string) string { return pricesLease(target) },
		Run: runWith(runSpec[priceBatch, *shopify.Client]{record: "prices", connect: (*Engine).shopify,
			decide: (*Engine).decidePrices, body: (*Engine).runQuickBooksPrices})}
}

// qbStockIn is the payload of a stock sync: QuickBooks items, as they were
// when it was planned (each attempt reads them again).
type qbStockIn struct {
	Items []qbItemRef `json:"items"`
}

type qbItemRef struct {
	ID      string    `json:"id"`
	SKU     string    `json:"sku,omitempty"`
	Name    string    `json:"name,omitempty"`
	Version time.Time `json:"updated_at"`
}

func (r qbItemRef) label() string {
	return cmpStr(r.SKU, cmpStr(r.Name, "QuickBooks item #"+r.ID))
}

func qbRef(it quickbooks.Item) qbItemRef {
	return qbItemRef{ID: it.ID, SKU: strings.TrimSpace(it.Sku), Name: strings.TrimSpace(it.Name), Version: it.Updated()}
}

// parseQuickBooksItemEvent reads the item a webhook event names.
func parseQuickBooksItemEvent(ev store.WebhookEvent) (qbItemRef, string) {
	var qe quickbooks.Event
	if err := json.Unmarshal(ev.Payload, &qe); err != nil {
		return qbItemRef{}, "QuickBooks sent an item change Crossdock cannot read (" + err.Error() + "). Nothing was sent on."
	}
	ref := qbItemRef{ID: strings.TrimSpace(qe.ID), Version: qe.Time.UTC()}
	if ref.Version.IsZero() {
		ref.Version = ev.ReceivedAt.UTC()
	}
	if _, err := strconv.ParseUint(ref.ID, 10, 63); err != nil {
		return ref, fmt.Sprintf("QuickBooks sent an item change whose item id %q is not a number. Nothing was sent on.", ref.ID)
	}
	return ref, ""
}

// shopifyTargets are the Shopify stores the families are sent to: their
// receivers, or every store when none is set up (so a refusal is shown).
func shopifyTargets(rs rules.Rules, fs ...vocab.Family) []int64 {
	var out []int64
	for _, f := range fs {
		for _, t := range targets(rs, f, vocab.KindShopify) {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// planQuickBooksStock turns an item's webhook into a stock sync per Shopify
// store, or a refusal when another system decides stock.
func (e *Engine) planQuickBooksStock(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	ref, problem := parseQuickBooksItemEvent(ev)
	var tgts []int64
	for _, t := range shopifyTargets(rs, vocab.Inventory) {
		if rs.Decide(vocab.Inventory, ev.ConnectionID, t, nil).Allowed || refusalWorthRecording(rs.Rule(vocab.Inventory), ev.ConnectionID, t) {
			tgts = append(tgts, t)
		}
	}
	if len(tgts) == 0 {
		p.outcome.Status, p.outcome.Error = store.WebhookIgnored, "QuickBooks is not the source of stock, so its quantities are not sent."
		return p
	}
	base := store.NewSync{Family: vocab.Inventory, Direction: vocab.QuickBooksToShopify, Flow: flowQuickBooksStock,
		SourceConnectionID: ev.ConnectionID, Trigger: store.TriggerWebhook, EntityType: entityQBItem, EntityRef: ref.ID,
		EntityKey: "Stock of " + ref.label(), SearchKeys: []string{ref.ID}, SourceVersion: ref.Version, WebhookEventID: ev.ID,
		IdempotencyKey: fmt.Sprintf("quickbooks-%d-item-%s-%s", ev.ConnectionID, ref.ID, ref.Version.Format(time.RFC3339Nano)),
		MaxAttempts:    e.cfg.MaxAttempts}
	return e.fanOut(p, rs, ev, base, vocab.Inventory, tgts, problem, qbStockIn{Items: []qbItemRef{ref}}, func(t int64) string {
		return fmt.Sprintf("Stock of %s is waiting to be sent to %s.", ref.label(), rs.Name(t))
	})
}

// planQuickBooksPrices turns an item's webhook into a prices sync per
// Shopify store, carrying the families QuickBooks decides for it.
func (e *Engine) planQuickBooksPrices(rs rules.Rules, ev store.WebhookEvent, p eventPlan) eventPlan {
	ref, problem := parseQuickBooksItemEvent(ev)
	if problem != "" {
		p.outcome.Status, p.outcome.Error = store.WebhookFailed, problem
		return p
	}
	id, _ := strconv.Atoi(ref.ID)
	base := store.NewSync{Direction: vocab.QuickBooksToShopify, Flow: flowQuickBooksPrices, SourceConnectionID: ev.ConnectionID,
		Trigger: store.TriggerWebhook, EntityType: entityQBItem, EntityRef: ref.ID, WebhookEventID: ev.ID}
	qs := e.priceSyncs(rs, base, shopifyTargets(rs, vocab.Prices, vocab.Costs), priceBatch{System: qbSystem,
		Items: []priceIn{{ProductID: id, Name: ref.label(), Version: ref.Version}}})
	if len(qs) == 0 {
		p.outcome.Status, p.outcome.Error = store.WebhookIgnored, "QuickBooks is not the source of prices or costs, so its prices are not sent."
		return p
	}
	p.syncs = append(p.syncs, qs...)
	for _, q := range qs {
		if q.sync.Status == "" {
			p.mark = &store.Watermark{ConnectionID: ev.ConnectionID, EntityType: entityQBItem, ExternalID: ref.ID, Version: ref.Version}
		}
	}
	return p
}

// SweepQuickBooksItems asks every QuickBooks company that is the source of
// stock, prices or costs which items changed since its last sweep, and
// queues their stock levels and prices for the Shopify receivers. It runs
// when the shortest sweep interval of those families has passed, or when
// forced; it returns how many syncs it queued.
func (e *Engine) SweepQuickBooksItems(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	return sweepEachMaster(rs, vocab.KindQuickBooks, []vocab.Family{vocab.Inventory, vocab.Prices, vocab.Costs}, func(m int64) (int, error) {
		return e.sweepQuickBooksItemsOf(ctx, rs, m, trigger, force)
	})
}

func (e *Engine) sweepQuickBooksItemsOf(ctx context.Context, rs rules.Rules, src int64, trigger string, force bool) (int, error) {
	receivers := func(f vocab.Family) []int64 {
		var out []int64
		if rs.Rule(f).Master != src {
			return nil
		}
		for _, rc := range rs.Rule(f).Receivers {
			if c, ok := rs.Conn(rc.ConnectionID); ok && c.Kind == vocab.KindShopify {
				out = append(out, c.ID)
			}
		}
		return out
	}
	stockTo := receivers(vocab.Inventory)
	pricesTo := shopifyTargets(rs, vocab.Prices, vocab.Costs)
	if len(receivers(vocab.Prices)) == 0 && len(receivers(vocab.Costs)) == 0 {
		pricesTo = nil
	}
	if len(stockTo) == 0 && len(pricesTo) == 0 {
		return 0, nil
	}
	every := time.Duration(0)
	for _, f := range []vocab.Family{vocab.Inventory, vocab.Prices, vocab.Costs} {
		if rs.Rule(f).Master == src {
			if d := e.every(rs, f, force); every == 0 || d < every {
				every = d
			}
		}
	}
	cur, due, err := e.st.ClaimSweep(ctx, src, cursorQBItems, every)
	if err != nil || !due {
		return 0, err
	}
	cl, conn, err := e.quickbooks(ctx, src)
	if err != nil {
		return 0, err
	}
	started := time.Now().UTC()
	var items []quickbooks.Item
	if cur.PositionAt == nil || started.Sub(*cur.PositionAt) > quickbooks.CDCLookBack-time.Hour {
		// First sweep, or one too long ago for change data capture: every item.
		for start := 1; ; start += quickbooks.CDCLimit {
			page, err := cl.Items(ctx, start, quickbooks.CDCLimit)
			if err != nil {
				return 0, fmt.Errorf("engine: items of %s: %w", conn.Name, err)
			}
			items = append(items, page...)
			if len(page) < quickbooks.CDCLimit {
				break
			}
		}
	} else if items, err = cl.ItemsChangedSince(ctx, cur.PositionAt.Add(-qbSweepOverlap)); err != nil {
		return 0, fmt.Errorf("engine: items changed in %s: %w", conn.Name, err)
	}
	at := started.Add(-qbSweepOverlap)
	next := store.SyncCursor{ConnectionID: src, Name: cursorQBItems, PositionAt: &at}
	n := 0
	err = e.st.InTx(ctx, func(tx *store.Tx) error {
		var live []quickbooks.Item
		var marks []store.Watermark
		for _, it := range items {
			if it.Status == "Deleted" || it.Type == "Category" || it.Updated().IsZero() {
				continue
			}
			live = append(live, it)
			marks = append(marks, store.Watermark{ConnectionID: src, EntityType: entityQBItem, ExternalID: it.ID, Version: it.Updated()})
		}
		// Changes a webhook (or the previous sweep) already planned are
		// dropped here.
		accepted, err := tx.AdvanceWatermarks(ctx, marks)
		if err != nil {
			return err
		}
		var stock []qbItemRef
		var prices []priceIn
		for i, it := range live {
			if !accepted[i] {
				continue
			}
			if it.TracksQuantity() {
				stock = append(stock, qbRef(it))
			}
			if id, err := strconv.Atoi(it.ID); err == nil {
				prices = append(prices, priceIn{ProductID: id, SKU: strings.TrimSpace(it.Sku), Name: strings.TrimSpace(it.Name),
					Price: it.UnitPrice, Cost: it.PurchaseCost, Version: it.Updated()})
			}
		}
		var qs []queued
		for part := range slices.Chunk(stock, maxBatch) {
			qs = append(qs, e.qbStockSyncs(rs, src, stockTo, trigger, part)...)
		}
		if len(pricesTo) > 0 {
			for part := range slices.Chunk(prices, maxBatch) {
				ref := fmt.Sprintf("items:%d-%d", part[0].ProductID, part[len(part)-1].ProductID)
				qs = append(qs, e.priceSyncs(rs, store.NewSync{Direction: vocab.QuickBooksToShopify, Flow: flowQuickBooksPrices,
					SourceConnectionID: src, Trigger: trigger, EntityType: entityPrices, EntityRef: ref}, pricesTo,
					priceBatch{System: qbSystem, Items: part})...)
			}
		}
		if _, err := e.insertSyncs(ctx, tx, qs); err != nil {
			return err
		}
		n = len(qs)
		return tx.SaveSyncCursor(ctx, next)
	})
	return n, err
}

// qbStockSyncs are the stock syncs of a batch of items, one per Shopify
// store.
func (e *Engine) qbStockSyncs(rs rules.Rules, src int64, tgts []int64, trigger string, part []qbItemRef) []queued {
	keys := make([]string, 0, len(part))
	var newest time.Time
	for _, r := range part {
		keys = append(keys, cmpStr(r.SKU, r.Name))
		if r.Version.After(newest) {
			newest = r.Version
		}
	}
	label := fmt.Sprintf("%s from %s", stockLevels(len(part)), rs.Name(src))
	var qs []queued
	for _, t := range tgts {
		s := store.NewSync{Family: vocab.Inventory, Direction: vocab.QuickBooksToShopify, Flow: flowQuickBooksStock,
			SourceConnectionID: src, TargetConnectionID: t, Trigger: trigger, EntityType: entityLevel,
			EntityRef: fmt.Sprintf("items:%s-%s", part[0].ID, part[len(part)-1].ID), EntityKey: label, SearchKeys: keys,
			SourceVersion: newest, Payload: qbStockIn{Items: part}, IdempotencyKey: newKey(), MaxAttempts: e.cfg.MaxAttempts}
		if d := rs.Decide(vocab.Inventory, src, t, nil); !d.Allowed {
			s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
		} else {
			s.Message = capital(label) + " are waiting to be sent to " + rs.Name(t) + "."
		}
		qs = append(qs, queued{sync: s, lease: e.flows().lease(flowQuickBooksStock, t, s.EntityRef)})
	}
	return qs
}

// readQuickBooksItems reads the items of a sync from its source company,
// by id; the result names QuickBooks when it cannot.
func (e *Engine) readQuickBooksItems(ctx context.Context, src int64, ids []string) (map[string]quickbooks.Item, string, error) {
	cl, conn, err := e.quickbooks(ctx, src)
	if err != nil {
		return nil, conn.Name, err
	}
	items, err := cl.ItemsByID(ctx, ids)
	if err != nil {
		return nil, conn.Name, err
	}
	out := make(map[string]quickbooks.Item, len(items))
	for _, it := range items {
		out[it.ID] = it
	}
	return out, conn.Name, nil
}

// runQuickBooksPrices reads the batch's items from QuickBooks again and
// writes their prices and costs as the Odoo flow does (mapped variants,
// only what differs, one productVariantsBulkUpdate per product). An item
// QuickBooks no longer has is left out and said.
func (e *Engine) runQuickBooksPrices(ctx context.Context, s store.Sync, b priceBatch, cl *shopify.Client, conn store.Connection, vd verdict) result {
	ids := make([]string, len(b.Items))
	for i, it := range b.Items {
		ids[i] = strconv.Itoa(it.ProductID)
	}
	now, qbName, err := e.readQuickBooksItems(ctx, s.SourceConnectionID, ids)
	if err != nil {
		return result{err: err, system: qbName}
	}
	var gone []string
	fresh := b
	fresh.System, fresh.Items = qbSystem, nil
	for _, it := range b.Items {
		q, ok := now[strconv.Itoa(it.ProductID)]
		if !ok || q.Active != nil && !*q.Active {
			gone = append(gone, it.name())
			continue
		}
		fresh.Items = append(fresh.Items, priceIn{ProductID: it.ProductID, SKU: strings.TrimSpace(q.Sku), Name: strings.TrimSpace(q.Name),
			Price: q.UnitPrice, Cost: q.PurchaseCost, Version: q.Updated()})
	}
	goneWords := ""
	if len(gone) > 0 {
		goneWords = fmt.Sprintf("%s %s no longer active in %s, so nothing was sent for %s.", names3(gone),
			map[bool]string{true: "is", false: "are"}[len(gone) == 1], qbName, map[bool]string{true: "it", false: "them"}[len(gone) == 1])
	}
	if len(fresh.Items) == 0 {
		return result{status: vocab.SyncSkipped, message: "Nothing to send. " + goneWords}
	}
	res := e.runPrices(ctx, s, fresh, cl, conn, vd)
	if goneWords != "" && res.err == nil {
		res.message = strings.TrimSpace(res.message + " " + goneWords)
	}
	return res
}

// qbStockProblem is an item a stock sync cannot send, and why.
type qbStockProblem struct {
	ref     qbItemRef
	class   vocab.ErrorClass
	message string
	evid    any
}

// runQuickBooksStock sets the items' quantities on hand as Shopify's
// quantity at the connection's location, compare-and-set: each is set from
// what Shopify showed just before, so a sale in between is not overwritten
// blindly — Shopify refuses the write, and the levels are read again and set
// once more. Items it cannot send (not mapped, not stocked there, negative)
// fail alone, as syncs of their own.
func (e *Engine) runQuickBooksStock(ctx context.Context, s store.Sync, b qbStockIn, cl *shopify.Client, conn store.Connection, _ verdict) result {
	var res result
	src, err := e.st.ConnectionByID(ctx, s.SourceConnectionID)
	if err != nil {
		res.err = err
		return res
	}
	loc := connectors.ShopifyLocation(src.Settings[quickbooks.FieldStockLocation])
	if loc == "" {
		res.err = fail(vocab.ClassValidation, fmt.Sprintf("%s does not say at which Shopify location its stock is counted. Edit the connection %s, set \"Shopify location QuickBooks' stock is counted at\", then try this sync again.",
			src.Name, src.Name), nil)
		return res
	}
	ids := make([]string, len(b.Items))
	for i, r := range b.Items {
		ids[i] = r.ID
	}
	now, qbName, err := e.readQuickBooksItems(ctx, s.SourceConnectionID, ids)
	if err != nil {
		return result{err: err, system: qbName}
	}
	var problems []qbStockProblem
	var tracked []quickbooks.Item
	untracked := 0
	for _, r := range b.Items {
		it, ok := now[r.ID]
		switch {
		case !ok || it.Active != nil && !*it.Active:
			problems = append(problems, qbStockProblem{r, vocab.ClassNotFound, fmt.Sprintf("%s is no longer active in %s: there is no stock to send.", r.label(), qbName), nil})
		case !it.TracksQuantity():
			untracked++
		case it.QtyOnHand < 0:
			problems = append(problems, qbStockProblem{qbRef(it), vocab.ClassValidation, fmt.Sprintf(
				"%s reports %s on hand of %s. Crossdock does not send negative stock to Shopify: correct the quantity in QuickBooks and it is sent with the next change.",
				qbName, strconv.FormatFloat(it.QtyOnHand, 'f', -1, 64), qbRef(it).label()), nil})
		default:
			tracked = append(tracked, it)
		}
	}
	variants, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityVariant, ids)
	if err != nil {
		res.err = err
		return res
	}
	var wanted []string
	for _, it := range tracked {
		if v, ok := variants[it.ID]; ok {
			wanted = append(wanted, v)
		}
	}
	invItems, err := e.inventoryItems(ctx, cl, s.TargetConnectionID, wanted)
	if err != nil {
		res.err = err
		return res
	}
	in := shopify.SetQuantitiesInput{Name: e.cfg.InventoryQuantity, Reason: "correction",
		ReferenceDocumentURI: fmt.Sprintf("gid://crossdock/Sync/%d", s.ID)}
	type send struct {
		it   quickbooks.Item
		item string
		qty  int
	}
	var sendable []send
	for _, it := range tracked {
		r := qbRef(it)
		v, ok := variants[it.ID]
		if !ok {
			problems = append(problems, qbStockProblem{r, vocab.ClassUnmapped, notMapped([]string{r.label()}, "a Shopify variant") +
				". Map it on the Mappings page, then try this sync again.", store.UnmappedResponse(entityVariant, []string{it.ID})})
			continue
		}
		item, ok := invItems[v]
		if !ok {
			problems = append(problems, qbStockProblem{r, vocab.ClassNotFound, fmt.Sprintf(
				"%s is mapped to a Shopify variant that no longer exists (%s). Correct the mapping, then try this sync again.", r.label(), v), nil})
			continue
		}
		sendable = append(sendable, send{it: it, item: item, qty: int(math.Floor(it.QtyOnHand))})
	}
	for try := 0; ; try++ {
		var levels []shopify.InventoryLevel
		if len(sendable) > 0 {
			if levels, err = levelsAt(ctx, cl, loc); err != nil {
				res.err = err
				return res
			}
		}
		current := map[string]shopify.InventoryLevel{}
		for _, lv := range levels {
			current[lv.ItemID] = lv
		}
		in.Quantities = in.Quantities[:0]
		unchanged := 0
		stocked := sendable[:0:0]
		for _, t := range sendable {
			lv, ok := current[t.item]
			if !ok {
				if try == 0 {
					problems = append(problems, qbStockProblem{qbRef(t.it), vocab.ClassNotFound, fmt.Sprintf(
						"%s is not stocked at that location in %s: stock it there in Shopify, then try this sync again.", qbRef(t.it).label(), conn.Name), nil})
				}
				continue
			}
			stocked = append(stocked, t)
			from := lv.Available
			if in.Name == "on_hand" {
				from = lv.OnHand
			}
			if from == t.qty {
				unchanged++
				continue
			}
			in.Quantities = append(in.Quantities, shopify.QuantityInput{InventoryItemID: t.item, LocationID: loc, Quantity: t.qty, ChangeFromQuantity: &from})
		}
		sendable = stocked
		if try == 0 {
			single := len(b.Items) == 1
			if single && len(problems) == 1 {
				res.err, res.response = fail(problems[0].class, problems[0].message, nil), problems[0].evid
				return res
			}
			if err := e.splitOffQuickBooksStock(ctx, s, problems); err != nil {
				res.err = err
				return res
			}
		}
		var parts []string
		if n := len(in.Quantities); n > 0 {
			parts = append(parts, fmt.Sprintf("%s sent from %s to %s.", capital(stockLevels(n)), qbName, conn.Name))
		}
		if unchanged > 0 {
			parts = append(parts, fmt.Sprintf("%d already matched.", unchanged))
		}
		if untracked > 0 {
			parts = append(parts, fmt.Sprintf("%d %s not tracked in %s (not inventory items), so %s no stock to send.", untracked,
				map[bool]string{true: "is", false: "are"}[untracked == 1], qbName, map[bool]string{true: "it has", false: "they have"}[untracked == 1]))
		}
		if len(problems) > 0 {
			parts = append(parts, fmt.Sprintf("%d could not be sent and have a failed sync each.", len(problems)))
		}
		if len(in.Quantities) == 0 {
			res.request = b
			res.status, res.message = vocab.SyncSkipped, "Nothing to send. "+strings.Join(parts, " ")
			return res
		}
		if res, stale := setCompared(ctx, cl, s, try, in, strings.Join(parts, " ")); !stale {
			return res
		}
		// Sold in between: read again, set again.
	}
}

// splitOffQuickBooksStock records each item a stock sync cannot send as a
// failed sync of its own, to be fixed and tried again alone.
func (e *Engine) splitOffQuickBooksStock(ctx context.Context, s store.Sync, problems []qbStockProblem) error {
	if len(problems) == 0 || s.ReplayOf != nil {
		return nil
	}
	ns := make([]store.NewSync, len(problems))
	for i, p := range problems {
		ns[i] = mendSync(store.NewSync{Family: s.Family, Direction: s.Direction, Flow: s.Flow, SourceConnectionID: s.SourceConnectionID,
			TargetConnectionID: s.TargetConnectionID, Trigger: s.Trigger, EntityType: entityQBItem, EntityRef: p.ref.ID,
			EntityKey: "Stock of " + p.ref.label(), SearchKeys: []string{p.ref.SKU, p.ref.Name}, SourceVersion: p.ref.Version,
			ParentID: s.ID, Status: vocab.SyncFailed, ErrorClass: p.class, Message: p.message, Response: p.evid,
			Payload: qbStockIn{Items: []qbItemRef{p.ref}}, IdempotencyKey: newKey(), MaxAttempts: s.MaxAttempts})
	}
	_, err := e.st.InsertSyncs(ctx, ns)
	return err
}
