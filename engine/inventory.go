package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"crossdock/connectors/odoo"
	"crossdock/connectors/shopify"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

const (
	flowInventory = "inventory.odoo_shopify"
	entityQuant   = "quant"           // watermark type of an Odoo stock.quant (product@location)
	entityLevel   = "inventory_level" // a sync's entity: stock levels at a location
	cursorQuants  = "odoo_quants"
	// maxBatch is Shopify's input array limit: one sync, one call.
	maxBatch = 250
	// sweepPage quants are read from Odoo per request.
	sweepPage = 1000
	// sweepOverlap re-reads the last seconds before the cursor: Odoo's
	// write_date has second resolution, so a quant written again in the
	// second the last sweep ended has the same write_date as before.
	sweepOverlap = 2 * time.Second
)

// SweepArgs is the periodic job that runs the sweeps that are due.
type SweepArgs struct {
	// Force runs the sweep even when its interval has not passed (manual).
	Force bool `json:"force,omitempty"`
}

// Kind is the job kind in River's table.
func (SweepArgs) Kind() string { return "crossdock_inventory_sweep" }

func sweepOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: queueSweeps, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true,
		// At most one sweep waiting or running: a slow sweep is not stacked up.
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	e *Engine
}

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	trigger := store.TriggerSweep
	if job.Args.Force {
		trigger = store.TriggerManual
	}
	_, err := w.e.SweepInventory(ctx, trigger, job.Args.Force)
	_, perr := w.e.SweepPrices(ctx, trigger, job.Args.Force)
	_, ferr := w.e.SweepFulfillments(ctx, trigger, job.Args.Force)
	return errors.Join(err, perr, ferr)
}

// RequestSweep queues every sweep now (stock, prices and costs,
// fulfillments, customers and products), whatever their schedule. The
// sweeps write into every enabled system (each is a receiver of some
// family, or of the fulfillments and stock it masters) and move shared
// cursors, so they cannot run for some systems only: someone who may write
// into test systems only is refused while a production system is enabled.
func (e *Engine) RequestSweep(ctx context.Context, a store.Actor) error {
	cs, err := e.st.ListConnections(ctx)
	if err != nil {
		return err
	}
	var into []int64
	for _, c := range cs {
		if c.Enabled {
			into = append(into, c.ID)
		}
	}
	if err := e.st.MayWriteInto(ctx, a, into...); err != nil {
		return err
	}
	if _, err := e.river.Insert(ctx, SweepArgs{Force: true}, sweepOpts()); err != nil {
		return err
	}
	return e.RequestContentSweep(ctx)
}

// inventoryBatch is the payload of an inventory sync: stock levels of one
// Odoo location, as Odoo had them.
type inventoryBatch struct {
	OdooLocationID int       `json:"odoo_location_id"`
	OdooLocation   string    `json:"odoo_location"`
	Items          []quantIn `json:"items"`
}

type quantIn struct {
	ProductID int       `json:"product_id"`
	SKU       string    `json:"sku"`
	Quantity  float64   `json:"quantity"` // on hand
	Reserved  float64   `json:"reserved"`
	Version   time.Time `json:"write_date"`
}

func (q quantIn) ref(location int) string { return fmt.Sprintf("%d@%d", q.ProductID, location) }

type quantRow struct {
	ID        int           `json:"id"`
	Product   odoo.Many2One `json:"product_id"`
	Location  odoo.Many2One `json:"location_id"`
	Quantity  float64       `json:"quantity"`
	Reserved  float64       `json:"reserved_quantity"`
	WriteDate string        `json:"write_date"`
}

// SweepInventory reads the Odoo quants changed since the last sweep (all of
// them the first time) and queues their stock levels for every Shopify
// receiver, in batches of up to 250 per Odoo location. It runs when the
// inventory rule's sweep interval has passed, or when forced. It returns how
// many syncs it queued.
func (e *Engine) SweepInventory(ctx context.Context, trigger string, force bool) (int, error) {
	rs, err := e.st.SourceRules(ctx)
	if err != nil {
		return 0, err
	}
	master, tgts, ok := odooToShopify(rs, vocab.Inventory)
	if !ok {
		return 0, nil
	}
	sw, due, err := e.claimOdooSweep(ctx, master.ID, cursorQuants, e.every(rs, vocab.Inventory, force))
	if err != nil || !due {
		return 0, err
	}
	return sw.walk("inventory", sweepPage, func(since time.Time, afterID int) (sweptPage, error) {
		rows, err := readQuants(ctx, sw.cl, since, afterID)
		if err != nil || len(rows) == 0 {
			return sweptPage{}, err
		}
		skus, err := productSKUs(ctx, sw.cl, rows)
		if err != nil {
			return sweptPage{}, err
		}
		last := rows[len(rows)-1]
		pg := sweptPage{rows: len(rows), lastAt: parseOdooTime(last.WriteDate), lastID: last.ID}
		pg.queued, err = e.queueQuants(ctx, rs, master.ID, tgts, trigger, rows, skus, sw.at(pg.lastAt, pg.lastID))
		return pg, err
	})
}

// readQuants reads a page of internal quants written after (since, afterID),
// oldest first.
func readQuants(ctx context.Context, cl *odoo.Client, since time.Time, afterID int) ([]quantRow, error) {
	domain := []any{[]any{"location_id.usage", "=", "internal"}}
	if !since.IsZero() {
		ts := since.UTC().Format(odoo.DateTimeLayout)
		domain = append(domain, "|", []any{"write_date", ">", ts}, "&", []any{"write_date", "=", ts}, []any{"id", ">", afterID})
	}
	var rows []quantRow
	err := cl.Call(ctx, "stock.quant", "search_read", []any{domain}, map[string]any{
		"fields": []string{"id", "product_id", "location_id", "quantity", "reserved_quantity", "write_date"},
		"order":  "write_date asc, id asc", "limit": sweepPage,
	}, &rows)
	return rows, err
}

// productSKUs reads the internal references (SKUs) of the quants' products.
func productSKUs(ctx context.Context, cl *odoo.Client, rows []quantRow) (map[int]string, error) {
	ids := make([]int, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.Product.ID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ps, err := cl.Products(ctx, []any{[]any{"id", "in", ids}, []any{"active", "in", []any{true, false}}}, 0, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[int]string, len(ps))
	for _, p := range ps {
		out[p.ID] = p.DefaultCode
	}
	return out, nil
}

func parseOdooTime(s string) time.Time {
	t, _ := time.ParseInLocation(odoo.DateTimeLayout, s, time.UTC)
	return t
}

// queueQuants queues one page of quants, moves the sweep's cursor, and
// raises the quants' watermarks, in one transaction: a crash repeats the page.
func (e *Engine) queueQuants(ctx context.Context, rs rules.Rules, src int64, tgts []int64, trigger string, rows []quantRow,
	skus map[int]string, cur store.SyncCursor) (int, error) {
	type locBatch struct {
		id    int
		name  string
		items []quantIn
	}
	n := 0
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		marks := make([]store.Watermark, len(rows))
		for i, r := range rows {
			marks[i] = store.Watermark{ConnectionID: src, EntityType: entityQuant,
				ExternalID: fmt.Sprintf("%d@%d", r.Product.ID, r.Location.ID), Version: parseOdooTime(r.WriteDate),
				Digest: strconv.FormatFloat(r.Quantity, 'g', -1, 64) + "/" + strconv.FormatFloat(r.Reserved, 'g', -1, 64)}
		}
		// The overlap re-reads quants of the cursor's last seconds: those
		// unchanged are dropped here; one written again within the same
		// second (same write_date, other quantity) goes through.
		accepted, err := tx.AdvanceWatermarksOrEqual(ctx, marks)
		if err != nil {
			return err
		}
		var order []int
		byLoc := map[int]*locBatch{}
		for i, r := range rows {
			if !accepted[i] {
				continue
			}
			b := byLoc[r.Location.ID]
			if b == nil {
				b = &locBatch{id: r.Location.ID, name: r.Location.Name}
				byLoc[r.Location.ID] = b
				order = append(order, r.Location.ID)
			}
			b.items = append(b.items, quantIn{ProductID: r.Product.ID, SKU: skus[r.Product.ID], Quantity: r.Quantity,
				Reserved: r.Reserved, Version: marks[i].Version})
		}
		var qs []queued
		for _, loc := range order {
			b := byLoc[loc]
			for start := 0; start < len(b.items); start += maxBatch {
				items := b.items[start:min(start+maxBatch, len(b.items))]
				batch := inventoryBatch{OdooLocationID: b.id, OdooLocation: b.name, Items: items}
				keys := []string{b.name}
				var newest time.Time
				for _, it := range items {
					keys = append(keys, it.SKU)
					if it.Version.After(newest) {
						newest = it.Version
					}
				}
				for _, t := range tgts {
					s := store.NewSync{Family: vocab.Inventory, Direction: vocab.OdooToShopify, Flow: flowInventory,
						SourceConnectionID: src, TargetConnectionID: t, Trigger: trigger, EntityType: entityLevel,
						EntityRef: fmt.Sprintf("location:%d", b.id), EntityKey: inventoryLabel(len(items), b.name),
						SearchKeys: keys, SourceVersion: newest, Payload: batch, IdempotencyKey: newKey(),
						MaxAttempts: e.cfg.MaxAttempts}
					if d := rs.Decide(vocab.Inventory, src, t, nil); !d.Allowed {
						s.Status, s.ErrorClass, s.Message = vocab.SyncRejected, vocab.ClassOwnership, d.Reason
					} else {
						s.Message = fmt.Sprintf("Stock levels from %s are waiting to be sent to %s.", b.name, rs.Name(t))
					}
					qs = append(qs, queued{sync: s, lease: leaseFor(flowInventory, t, s.EntityRef)})
				}
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

func inventoryLabel(n int, location string) string { return stockLevels(n) + " at " + location }

func stockLevels(n int) string {
	if n == 1 {
		return "1 stock level"
	}
	return fmt.Sprintf("%d stock levels", n)
}

// newKey is the idempotency key of a new inventory sync; retries and replays
// keep it.
func newKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "crossdock-" + hex.EncodeToString(b)
}

// shopifyKey derives the key of one Shopify call from the sync's key and the
// exact input: a retry of the same input repeats the key (Shopify applies it
// once); a different input (an item superseded meanwhile) gets its own key,
// as Shopify refuses a key reused with other parameters.
func shopifyKey(base string, in shopify.SetQuantitiesInput) string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return base + "-" + hex.EncodeToString(sum[:6])
}

// runInventory sets the batch's stock levels in Shopify with one
// inventorySetQuantities call. Items it cannot send (not mapped, negative,
// gone from Shopify) are split off as failed syncs of their own, so they can
// be fixed and replayed one by one while the rest goes through.
func (e *Engine) runInventory(ctx context.Context, s store.Sync) result {
	if r, err := e.decide(ctx, s); err != nil || r != nil {
		if err != nil {
			return result{err: err}
		}
		return *r
	}
	var b inventoryBatch
	if err := json.Unmarshal(s.Payload, &b); err != nil {
		return result{err: fail(vocab.ClassInternal, "The stock levels recorded for this sync cannot be read: "+err.Error(), err)}
	}
	cl, conn, err := e.shopify(ctx, s.TargetConnectionID)
	res := result{system: conn.Name}
	if err != nil {
		res.err = err
		return res
	}
	single := len(b.Items) == 1

	// The location.
	locs, _, err := e.cfg.Resolver.ResolveRefs(ctx, s.SourceConnectionID, s.TargetConnectionID, entityLocation, []string{strconv.Itoa(b.OdooLocationID)})
	if err != nil {
		res.err = err
		return res
	}
	locGID := locs[strconv.Itoa(b.OdooLocationID)]
	if locGID == "" {
		res.err = fail(vocab.ClassUnmapped, fmt.Sprintf("The Odoo location %s is not mapped to a Shopify location yet. Map it on the Mappings page, then try this sync again.",
			cmpStr(b.OdooLocation, strconv.Itoa(b.OdooLocationID))), nil)
		res.response = store.UnmappedResponse(entityLocation, []string{strconv.Itoa(b.OdooLocationID)})
		return res
	}

	// Superseded items: a newer version was accepted since this sync was queued.
	refs := make([]string, len(b.Items))
	for i, it := range b.Items {
		refs[i] = it.ref(b.OdooLocationID)
	}
	marks, err := e.st.Watermarks(ctx, s.SourceConnectionID, entityQuant, refs)
	if err != nil {
		res.err = err
		return res
	}
	var live []quantIn
	for i, it := range b.Items {
		if m, ok := marks[refs[i]]; ok && m.After(it.Version) {
			continue
		}
		live = append(live, it)
	}
	superseded := len(b.Items) - len(live)

	// Records excluded from syncing stock are left out.
	live, excluded, err := leaveOutExcluded(ctx, e, s, live, func(q quantIn) int { return q.ProductID })
	if err != nil {
		res.err = err
		return res
	}

	var problems []itemProblem
	var valued []quantIn
	for _, it := range live {
		v := e.value(it)
		if v < 0 {
			problems = append(problems, itemProblem{it, vocab.ClassValidation, fmt.Sprintf(
				"Odoo reports %s %s of %s at %s. Crossdock does not send negative stock to Shopify: correct the count in Odoo and it is sent with the next check.",
				strconv.FormatFloat(v, 'f', -1, 64), strings.ReplaceAll(e.cfg.InventoryQuantity, "_", " "),
				cmpStr(it.SKU, fmt.Sprintf("product #%d", it.ProductID)), b.OdooLocation)})
			continue
		}
		valued = append(valued, it)
	}
	// Variants, then their inventory items.
	pids := make([]string, len(valued))
	for i, it := range valued {
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
	items, err := e.inventoryItems(ctx, cl, s.TargetConnectionID, wanted)
	if err != nil {
		res.err = err
		return res
	}
	type target struct {
		q    quantIn
		item string
		qty  int
	}
	var unmapped []odooProduct
	for _, it := range valued {
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
	for _, it := range valued {
		sku := cmpStr(it.SKU, fmt.Sprintf("Odoo product #%d", it.ProductID))
		v, ok := variants[strconv.Itoa(it.ProductID)]
		if r, gone := missing[it.ProductID]; !ok && gone {
			problems = append(problems, itemProblem{it, vocab.ClassOnlyInOne, onlyInOneMessage(r.SKU, conn.Name)})
			continue
		}
		if !ok {
			problems = append(problems, itemProblem{it, vocab.ClassUnmapped, notMapped([]string{sku}, "a Shopify variant") +
				". Map it on the Mappings page, then try this sync again."})
			continue
		}
		item, ok := items[v]
		if !ok {
			problems = append(problems, itemProblem{it, vocab.ClassNotFound, fmt.Sprintf(
				"%s is mapped to the Shopify variant %s, which no longer exists. Correct the mapping, then try this sync again.", sku, v)})
			continue
		}
		sendable = append(sendable, target{q: it, item: item, qty: int(math.Floor(e.value(it)))})
	}

	if single && len(problems) == 1 {
		f := fail(problems[0].class, problems[0].message, nil)
		if r, ok := missing[problems[0].q.ProductID]; ok && problems[0].class == vocab.ClassOnlyInOne {
			f.evidence = store.OnlyInOneResponse(r)
		}
		res.err = f
		if problems[0].class == vocab.ClassUnmapped {
			res.response = store.UnmappedResponse(entityVariant, []string{strconv.Itoa(problems[0].q.ProductID)})
		}
		return res
	}
	if single && len(excluded) == 1 {
		res.status = vocab.SyncSkipped
		res.message = fmt.Sprintf("Nothing to send: %s is excluded from syncing stock.", cmpStr(b.Items[0].SKU, fmt.Sprintf("Odoo product #%d", b.Items[0].ProductID)))
		return res
	}
	// A replay stays one sync: what it cannot send makes it fail again, as
	// one failure replacing the one it tried again (below), never one more
	// failure per item — trying again 31 stock batches once a location was
	// mapped must not turn them into thousands of failures.
	replay := s.ReplayOf != nil
	if !replay {
		if err := e.splitOff(ctx, s, b, problems, missing); err != nil {
			res.err = err
			return res
		}
	}

	rs, err := e.Rules(ctx)
	if err != nil {
		res.err = err
		return res
	}
	hold := rs.Rule(vocab.Inventory).Policy == rules.Hold
	itemIDs := make([]string, len(sendable))
	for i, t := range sendable {
		itemIDs[i] = t.item
	}
	last, err := e.st.LastInventoryLevels(ctx, s.TargetConnectionID, locGID, itemIDs)
	if err != nil {
		res.err = err
		return res
	}
	in := shopify.SetQuantitiesInput{Name: e.cfg.InventoryQuantity, Reason: "correction",
		ReferenceDocumentURI: fmt.Sprintf("gid://crossdock/Sync/%d", s.ID)}
	var levels []store.InventoryLevel
	unchanged := 0
	for _, t := range sendable {
		prev, known := last[t.item]
		if known && prev == int64(t.qty) && s.Trigger == store.TriggerSweep {
			unchanged++ // already there: a sweep does not write it again
			continue
		}
		q := shopify.QuantityInput{InventoryItemID: t.item, LocationID: locGID, Quantity: t.qty}
		if hold && known {
			// Changes made in Shopify since Crossdock's last write are held
			// for review: compare-and-set against what Crossdock last set.
			from := int(prev)
			q.ChangeFromQuantity = &from
		}
		in.Quantities = append(in.Quantities, q)
		levels = append(levels, store.InventoryLevel{ItemID: t.item, LocationID: locGID, Quantity: int64(t.qty)})
	}
	summary := func(sent int) string {
		var parts []string
		if sent > 0 {
			parts = append(parts, fmt.Sprintf("%s sent from %s to %s.", capital(stockLevels(sent)), b.OdooLocation, conn.Name))
		}
		if unchanged > 0 {
			parts = append(parts, fmt.Sprintf("%d already matched.", unchanged))
		}
		if superseded > 0 {
			parts = append(parts, fmt.Sprintf("%d had changed again in Odoo and go with a newer sync.", superseded))
		}
		if len(problems) > 0 {
			parts = append(parts, fmt.Sprintf("%d could not be sent and have a failed sync each.", len(problems)))
		}
		if len(excluded) > 0 {
			parts = append(parts, excludedWord(len(excluded)))
		}
		return strings.Join(parts, " ")
	}
	if replay && len(problems) > 0 {
		summary = func(sent int) string {
			var parts []string
			if sent > 0 {
				parts = append(parts, fmt.Sprintf("%s sent from %s to %s.", capital(stockLevels(sent)), b.OdooLocation, conn.Name))
			}
			if unchanged > 0 {
				parts = append(parts, fmt.Sprintf("%d already matched.", unchanged))
			}
			if superseded > 0 {
				parts = append(parts, fmt.Sprintf("%d had changed again in Odoo and go with a newer sync.", superseded))
			}
			return strings.Join(parts, " ")
		}
	}
	if len(in.Quantities) == 0 {
		if replay && len(problems) > 0 {
			res.err, res.response = itemsFailed(b, problems, summary(0))
			return res
		}
		res.status = vocab.SyncSkipped
		res.message = "Nothing to send. " + summary(0)
		return res
	}
	key := shopifyKey(s.IdempotencyKey, in)
	res.request = map[string]any{"mutation": "inventorySetQuantities", "idempotency_key": key, "input": in}
	groups, err := cl.SetInventoryQuantities(ctx, in, key)
	if err != nil {
		res.err = err
		return res
	}
	if err := e.st.SaveInventoryLevels(ctx, s.TargetConnectionID, s.ID, levels); err != nil {
		res.err = err
		return res
	}
	if replay && len(problems) > 0 {
		res.err, res.response = itemsFailed(b, problems, summary(len(in.Quantities)))
		return res
	}
	res.status, res.response = vocab.SyncSucceeded, groups
	if len(groups) > 0 {
		res.targetRef = groups[0].ID
	}
	res.message = summary(len(in.Quantities))
	return res
}

// itemsFailed is the one failure of a replayed stock batch some of whose
// items could not be sent (the others were, as done says): the class of
// most of its items, a sentence per kind of problem, and, inside it, the
// problem of each item and the products not mapped (so that the change set
// mapping them tries it again).
func itemsFailed(b inventoryBatch, problems []itemProblem, done string) (*failure, map[string]any) {
	byClass := map[vocab.ErrorClass][]string{}
	var classes []vocab.ErrorClass
	var unmapped []string
	type itemReason struct {
		SKU       string           `json:"sku"`
		ProductID int              `json:"odoo_product_id"`
		Class     vocab.ErrorClass `json:"class"`
		Reason    string           `json:"reason"`
	}
	items := make([]itemReason, 0, len(problems))
	for _, p := range problems {
		name := cmpStr(p.q.SKU, fmt.Sprintf("Odoo product #%d", p.q.ProductID))
		if byClass[p.class] == nil {
			classes = append(classes, p.class)
		}
		byClass[p.class] = append(byClass[p.class], name)
		if p.class == vocab.ClassUnmapped {
			unmapped = append(unmapped, strconv.Itoa(p.q.ProductID))
		}
		items = append(items, itemReason{SKU: p.q.SKU, ProductID: p.q.ProductID, Class: p.class, Reason: p.message})
	}
	// The class of the failure is the one most items have, unmapped first
	// on a tie: mapping is what a person can do from it.
	class := classes[0]
	for _, c := range classes {
		if len(byClass[c]) > len(byClass[class]) || (len(byClass[c]) == len(byClass[class]) && c == vocab.ClassUnmapped) {
			class = c
		}
	}
	var why []string
	for _, c := range classes {
		names := byClass[c]
		switch c {
		case vocab.ClassUnmapped:
			why = append(why, notMapped(names, "a Shopify variant")+". Map them on the Mappings page, then try this sync again")
		case vocab.ClassValidation:
			why = append(why, fmt.Sprintf("%s: Odoo reports negative stock, which Crossdock does not send", names3(names)))
		case vocab.ClassNotFound:
			why = append(why, fmt.Sprintf("%s: mapped to a Shopify variant that no longer exists; correct the mapping", names3(names)))
		case vocab.ClassOnlyInOne:
			why = append(why, fmt.Sprintf("%s: exist only in Odoo, so there is nothing to map them to; exclude them from syncing on Failed syncs", names3(names)))
		default:
			why = append(why, fmt.Sprintf("%s: %s", names3(names), strings.ReplaceAll(string(c), "_", " ")))
		}
	}
	msg := fmt.Sprintf("%s of %s could not be sent: %s.", capital(stockLevels(len(problems))), b.OdooLocation, strings.Join(why, "; "))
	if done != "" {
		msg = done + " " + msg
	}
	response := map[string]any{"items": items}
	if len(unmapped) > 0 {
		response["unmapped"] = store.Unmapped{EntityType: entityVariant, ExternalIDs: unmapped}
	}
	return fail(class, msg, nil), response
}

// names3 names up to three items and counts the rest.
func names3(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// value is the quantity sent for a quant: what can be sold (on hand minus
// reserved) for "available", the count for "on_hand".
func (e *Engine) value(q quantIn) float64 {
	if e.cfg.InventoryQuantity == "on_hand" {
		return q.Quantity
	}
	return q.Quantity - q.Reserved
}

type itemProblem struct {
	q       quantIn
	class   vocab.ErrorClass
	message string
}

// splitOff records each item the batch cannot send as a failed sync of its
// own (once: a retry of the batch finds them there).
func (e *Engine) splitOff(ctx context.Context, s store.Sync, b inventoryBatch, problems []itemProblem, missing map[int]store.MissingRecord) error {
	if len(problems) == 0 {
		return nil
	}
	ns := make([]store.NewSync, len(problems))
	for i, p := range problems {
		ns[i] = store.NewSync{Family: s.Family, Direction: s.Direction, Flow: s.Flow, SourceConnectionID: s.SourceConnectionID,
			TargetConnectionID: s.TargetConnectionID, Trigger: s.Trigger, EntityType: s.EntityType,
			EntityRef: p.q.ref(b.OdooLocationID), EntityKey: cmpStr(p.q.SKU, fmt.Sprintf("Odoo product #%d", p.q.ProductID)) + " at " + b.OdooLocation,
			SearchKeys: []string{p.q.SKU, b.OdooLocation}, SourceVersion: p.q.Version, ParentID: s.ID,
			Status: vocab.SyncFailed, ErrorClass: p.class, Message: p.message, Response: unmappedItem(p),
			Payload:        inventoryBatch{OdooLocationID: b.OdooLocationID, OdooLocation: b.OdooLocation, Items: []quantIn{p.q}},
			IdempotencyKey: newKey(), MaxAttempts: s.MaxAttempts}
		if r, ok := missing[p.q.ProductID]; ok && p.class == vocab.ClassOnlyInOne {
			ns[i].Response = store.OnlyInOneResponse(r)
		}
	}
	for i := range ns {
		ns[i] = mendSync(ns[i])
	}
	_, err := e.st.InsertSyncs(ctx, ns)
	return err
}

// unmappedItem is the evidence of an item split off for want of a mapping:
// its Odoo product, the record a change set must map (nil for other problems).
func unmappedItem(p itemProblem) any {
	if p.class != vocab.ClassUnmapped {
		return nil
	}
	return store.UnmappedResponse(entityVariant, []string{strconv.Itoa(p.q.ProductID)})
}

// inventoryItems returns the inventory item of each variant (GIDs). A variant
// Shopify does not know is left out. The answer is cached: a variant keeps its
// inventory item for life.
func (e *Engine) inventoryItems(ctx context.Context, cl *shopify.Client, conn int64, variants []string) (map[string]string, error) {
	out := make(map[string]string, len(variants))
	var ask []string
	for _, v := range variants {
		if it, ok := e.items.Load(fmt.Sprintf("%d|%s", conn, v)); ok {
			out[v] = it.(string)
		} else {
			ask = append(ask, v)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	items, err := cl.InventoryItemIDs(ctx, ask)
	if err != nil {
		return nil, err
	}
	for v, it := range items {
		out[v] = it
		e.items.Store(fmt.Sprintf("%d|%s", conn, v), it)
	}
	return out, nil
}
