package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

type userErr struct {
	code    string
	field   []string
	message string
}

type (
	setQtyPayload struct {
		group *adjGroup
		errs  []userErr
	}
	adjGroup struct {
		id        int64
		createdAt time.Time
		reason    string
		ref       string
		changes   []invChange
	}
	invChange struct {
		name         string
		delta, after int
		v            *Variant
		l            *Location
	}
	variantsPayload struct {
		product  *Product
		variants []*Variant
		errs     []userErr
	}
	bulkRunPayload struct {
		op   *bulkOp
		errs []userErr
	}
	whCreatePayload struct {
		sub  *webhookSub
		errs []userErr
	}
	whDeletePayload struct {
		deleted string
		errs    []userErr
	}
	// injectedPayload answers any mutation with one userError (FailUserError).
	injectedPayload struct{}
)

func errList(errs []userErr) []any {
	out := make([]any, 0, len(errs))
	for _, e := range errs {
		out = append(out, e)
	}
	return out
}

func (s *Shop) payloadField(e *executor, typ string, src any, name string) (any, error) {
	switch p := src.(type) {
	case userErr:
		switch name {
		case "code":
			return nullable(p.code), nil
		case "field":
			if p.field == nil {
				return nil, nil
			}
			return p.field, nil
		case "message":
			return p.message, nil
		}
	case injectedPayload:
		if name == "userErrors" {
			return []any{userErr{code: "INVALID", field: []string{"input"}, message: "Sandbox injected user error"}}, nil
		}
		if name == "productVariants" {
			return []any{}, nil
		}
		return nil, nil
	case setQtyPayload:
		if name == "userErrors" {
			return errList(p.errs), nil
		}
		return nilIfMissing(p.group), nil
	case *adjGroup:
		switch name {
		case "id":
			return gid("InventoryAdjustmentGroup", p.id), nil
		case "createdAt":
			return dt(p.createdAt), nil
		case "reason":
			return p.reason, nil
		case "referenceDocumentUri":
			return nullable(p.ref), nil
		case "changes":
			out := make([]any, 0, len(p.changes))
			for _, c := range p.changes {
				out = append(out, c)
			}
			return out, nil
		}
	case invChange:
		switch name {
		case "name":
			return p.name, nil
		case "delta":
			return p.delta, nil
		case "quantityAfterChange":
			return p.after, nil
		case "item":
			return invItem{p.v}, nil
		case "location":
			return p.l, nil
		case "ledgerDocumentUri":
			return nil, nil
		}
	case variantsPayload:
		switch name {
		case "product":
			return nilIfMissing(p.product), nil
		case "productVariants":
			out := make([]any, 0, len(p.variants))
			for _, v := range p.variants {
				out = append(out, v)
			}
			return out, nil
		case "userErrors":
			return errList(p.errs), nil
		}
	case bulkRunPayload:
		if name == "userErrors" {
			return errList(p.errs), nil
		}
		return nilIfMissing(p.op), nil
	case whCreatePayload:
		if name == "userErrors" {
			return errList(p.errs), nil
		}
		return nilIfMissing(p.sub), nil
	case whDeletePayload:
		if name == "userErrors" {
			return errList(p.errs), nil
		}
		return nullable(p.deleted), nil
	}
	return nil, nil
}

func resultOf(errs []userErr) string {
	if len(errs) == 0 {
		return "ok"
	}
	codes := make([]string, 0, len(errs))
	for _, e := range errs {
		codes = append(codes, cmpOr(e.code, e.message))
	}
	return "user_errors: " + strings.Join(codes, ", ")
}

// mutation runs one mutation field. It honours @idempotent(key:): a key seen
// before with the same input answers the first result again with no effect.
func (s *Shop) mutation(e *executor, f *ast.Field, args map[string]any) (any, error) {
	key := ""
	if d := f.Directives.ForName("idempotent"); d != nil {
		if a := d.Arguments.ForName("key"); a != nil {
			v, _ := a.Value.Value(e.vars)
			key, _ = v.(string)
		}
		if key == "" {
			return nil, &codedError{code: "BAD_REQUEST", msg: "The @idempotent directive requires a non-empty key."}
		}
	}
	input, _ := json.Marshal(args)
	if key != "" {
		if prev, ok := s.idem[key]; ok {
			if prev.op != f.Name || prev.input != string(input) {
				return mismatchPayload(f.Name), nil
			}
			s.replays++
			return prev.payload, nil
		}
	}
	var payload any
	var errs []userErr
	switch f.Name {
	case "inventorySetQuantities":
		if key == "" && e.req.version >= "2026-04" {
			return nil, &codedError{code: "BAD_REQUEST",
				msg: "The @idempotent directive is required for this mutation. Add @idempotent(key: \"<unique key>\") to inventorySetQuantities."}
		}
		p, err := s.setQuantities(args)
		if err != nil {
			return nil, err
		}
		payload, errs = p, p.errs
	case "productVariantsBulkUpdate":
		p, err := s.variantsBulkUpdate(args)
		if err != nil {
			return nil, err
		}
		payload, errs = p, p.errs
	case "productUpdate":
		p := s.productUpdate(args)
		payload, errs = p, p.errs
	case "productCreate":
		p := s.productCreate(args)
		payload, errs = p, p.errs
	case "bulkOperationRunQuery":
		p := s.bulkRun(e, args)
		payload, errs = p, p.errs
	case "webhookSubscriptionCreate":
		p := s.webhookCreate(e, args)
		payload, errs = p, p.errs
	case "webhookSubscriptionDelete":
		p := s.webhookDelete(args)
		payload, errs = p, p.errs
	case "fulfillmentCreate":
		p := s.fulfillmentCreate(args)
		payload, errs = p, p.errs
	case "refundCreate":
		if key == "" && e.req.version >= "2026-04" {
			return nil, &codedError{code: "BAD_REQUEST",
				msg: "The @idempotent directive is required for this mutation. Add @idempotent(key: \"<unique key>\") to refundCreate."}
		}
		p := s.refundCreate(args)
		payload, errs = p, p.errs
	default:
		return nil, nil
	}
	if s.lose[f.Name] > 0 {
		s.lose[f.Name]--
		e.lost = true
	}
	s.writes = append(s.writes, Write{Op: f.Name, IdempotencyKey: key, Input: input, At: s.now(), Result: resultOf(errs)})
	if key != "" {
		s.idem[key] = idem{op: f.Name, input: string(input), payload: payload}
	}
	return payload, nil
}

func mismatchPayload(op string) any {
	ue := []userErr{{code: "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", message: "The same idempotency key cannot be used with different operation parameters."}}
	switch op {
	case "inventorySetQuantities":
		return setQtyPayload{errs: ue}
	case "productVariantsBulkUpdate":
		return variantsPayload{errs: ue}
	case "refundCreate":
		return refundCreateP{errs: ue}
	}
	return injectedPayload{}
}

const maxInput = 250

func tooLarge(n int) error {
	return &codedError{code: "MAX_INPUT_SIZE_EXCEEDED",
		msg: fmt.Sprintf("The input array size of %d is greater than the maximum allowed of %d.", n, maxInput)}
}

var inventoryReasons = []string{"correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created",
	"movement_received", "movement_updated", "other", "promotion", "quality_control", "received",
	"reservation_created", "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage"}

func (s *Shop) setQuantities(args map[string]any) (setQtyPayload, error) {
	in, _ := args["input"].(map[string]any)
	name, _ := in["name"].(string)
	reason, _ := in["reason"].(string)
	ref, _ := in["referenceDocumentUri"].(string)
	qs, _ := in["quantities"].([]any)
	if len(qs) > maxInput {
		return setQtyPayload{}, tooLarge(len(qs))
	}
	var errs []userErr
	if name != "available" && name != "on_hand" {
		errs = append(errs, userErr{"INVALID_NAME", []string{"input", "name"}, "The quantity name must be either 'available' or 'on_hand'."})
	}
	if !slices.Contains(inventoryReasons, reason) {
		errs = append(errs, userErr{"INVALID_REASON", []string{"input", "reason"}, "The specified reason is invalid."})
	}
	if ref != "" && !strings.Contains(ref, ":") {
		errs = append(errs, userErr{"INVALID_REFERENCE_DOCUMENT", []string{"input", "referenceDocumentUri"}, "The reference document URI is invalid."})
	}
	type target struct {
		v  *Variant
		l  *Location
		lv *level
		q  int
	}
	var targets []target
	seen := map[levelKey]bool{}
	for i, raw := range qs {
		q, _ := raw.(map[string]any)
		path := func(f string) []string { return []string{"input", "quantities", strconv.Itoa(i), f} }
		itemGID, _ := q["inventoryItemId"].(string)
		locGID, _ := q["locationId"].(string)
		_, itemID, _ := parseGID(itemGID)
		_, locID, _ := parseGID(locGID)
		v := s.variantByItem[itemID]
		var loc *Location
		for _, l := range s.locations {
			if l.ID == locID {
				loc = l
			}
		}
		qty := toInt(q["quantity"])
		switch {
		case v == nil:
			errs = append(errs, userErr{"INVALID_INVENTORY_ITEM", path("inventoryItemId"), "The specified inventory item could not be found."})
			continue
		case loc == nil:
			errs = append(errs, userErr{"INVALID_LOCATION", path("locationId"), "The specified location could not be found."})
			continue
		case seen[levelKey{itemID, locID}]:
			errs = append(errs, userErr{"NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path("inventoryItemId"), "The combination of inventoryItemId and locationId must be unique."})
			continue
		case qty > 1_000_000_000:
			errs = append(errs, userErr{"INVALID_QUANTITY_TOO_HIGH", path("quantity"), "The quantity can't be higher than 1,000,000,000."})
			continue
		case qty < -1_000_000_000:
			errs = append(errs, userErr{"INVALID_QUANTITY_TOO_LOW", path("quantity"), "The quantity can't be lower than -1,000,000,000."})
			continue
		}
		seen[levelKey{itemID, locID}] = true
		lv := s.levels[levelKey{itemID, locID}]
		if lv == nil {
			errs = append(errs, userErr{"ITEM_NOT_STOCKED_AT_LOCATION", path("inventoryItemId"), "The specified inventory item is not stocked at the location."})
			continue
		}
		if cf, ok := q["changeFromQuantity"]; ok && cf != nil {
			cur := lv.available
			if name == "on_hand" {
				cur = lv.onHand
			}
			if toInt(cf) != cur {
				errs = append(errs, userErr{"CHANGE_FROM_QUANTITY_STALE", path("changeFromQuantity"), "The changeFromQuantity value does not match persisted value."})
				continue
			}
		}
		targets = append(targets, target{v, loc, lv, qty})
	}
	if len(errs) > 0 {
		// All or nothing: one bad quantity and nothing is applied.
		return setQtyPayload{errs: errs}, nil
	}
	now := s.now()
	s.seq++
	g := &adjGroup{id: 61000000000000 + s.seq, createdAt: now, reason: reason, ref: ref}
	for _, t := range targets {
		if name == "available" {
			d := t.q - t.lv.available
			t.lv.available, t.lv.onHand = t.q, t.lv.onHand+d
			g.changes = append(g.changes, invChange{"available", d, t.lv.available, t.v, t.l}, invChange{"on_hand", d, t.lv.onHand, t.v, t.l})
		} else {
			d := t.q - t.lv.onHand
			t.lv.onHand, t.lv.available = t.q, t.lv.available+d
			g.changes = append(g.changes, invChange{"on_hand", d, t.lv.onHand, t.v, t.l}, invChange{"available", d, t.lv.available, t.v, t.l})
		}
		t.lv.updatedAt = now
	}
	return setQtyPayload{group: g}, nil
}

func validMoney(v any) (string, bool, bool) {
	s, ok := v.(string)
	if !ok {
		if f, isNum := v.(float64); isNum {
			s, ok = strconv.FormatFloat(f, 'f', -1, 64), true
		}
	}
	if !ok {
		return "", false, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "", false, false
	}
	return formatCents(parseCents(s)), f < 0, true
}

func (s *Shop) variantsBulkUpdate(args map[string]any) (variantsPayload, error) {
	pidGID, _ := args["productId"].(string)
	vs, _ := args["variants"].([]any)
	if len(vs) > maxInput {
		return variantsPayload{}, tooLarge(len(vs))
	}
	_, pid, _ := parseGID(pidGID)
	p := s.productByID[pid]
	if p == nil {
		return variantsPayload{errs: []userErr{{"PRODUCT_DOES_NOT_EXIST", []string{"productId"}, "Product does not exist"}}}, nil
	}
	var errs []userErr
	type change struct {
		v   *Variant
		set func()
	}
	var changes []change
	for i, raw := range vs {
		in, _ := raw.(map[string]any)
		path := func(f string) []string { return []string{"variants", strconv.Itoa(i), f} }
		idGID, _ := in["id"].(string)
		_, vid, _ := parseGID(idGID)
		v := s.variantByID[vid]
		if v == nil || v.ProductID != pid {
			errs = append(errs, userErr{"PRODUCT_VARIANT_DOES_NOT_EXIST", path("id"), "Product variant does not exist"})
			continue
		}
		next := *v
		if pv, ok := in["price"]; ok {
			m, neg, valid := validMoney(pv)
			switch {
			case !valid:
				errs = append(errs, userErr{"INVALID", path("price"), "Price is invalid"})
			case neg:
				errs = append(errs, userErr{"GREATER_THAN_OR_EQUAL_TO", path("price"), "The price of the variant must be greater than or equal to zero."})
			default:
				next.Price = m
			}
		}
		if cv, ok := in["compareAtPrice"]; ok {
			if cv == nil {
				next.CompareAtPrice = ""
			} else if m, neg, valid := validMoney(cv); !valid || neg {
				errs = append(errs, userErr{"INVALID", path("compareAtPrice"), "Compare at price is invalid"})
			} else {
				next.CompareAtPrice = m
			}
		}
		if bv, ok := in["barcode"]; ok {
			b, _ := bv.(string)
			next.Barcode = b
		}
		if item, ok := in["inventoryItem"].(map[string]any); ok {
			if cv, ok := item["cost"]; ok {
				if cv == nil {
					next.Cost = ""
				} else if m, neg, valid := validMoney(cv); !valid || neg {
					errs = append(errs, userErr{"INVALID", []string{"variants", strconv.Itoa(i), "inventoryItem", "cost"}, "Cost is invalid"})
				} else {
					next.Cost = m
				}
			}
			if sv, ok := item["sku"].(string); ok {
				next.SKU = sv
			}
		}
		changes = append(changes, change{v, func() { *v = next }})
	}
	if len(errs) > 0 {
		return variantsPayload{product: p, errs: errs}, nil
	}
	now := s.now()
	out := make([]*Variant, 0, len(changes))
	for _, c := range changes {
		c.set()
		c.v.UpdatedAt = now
		out = append(out, c.v)
	}
	p.UpdatedAt = now
	return variantsPayload{product: p, variants: out}, nil
}

// ---- webhooks subscriptions ----

var knownTopics = []string{"APP_UNINSTALLED", "BULK_OPERATIONS_FINISH", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE",
	"FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE", "INVENTORY_ITEMS_UPDATE", "INVENTORY_LEVELS_CONNECT",
	"INVENTORY_LEVELS_DISCONNECT", "INVENTORY_LEVELS_UPDATE", "LOCATIONS_CREATE", "LOCATIONS_UPDATE",
	"ORDERS_CANCELLED", "ORDERS_CREATE", "ORDERS_FULFILLED", "ORDERS_PAID", "ORDERS_UPDATED",
	"PRODUCTS_CREATE", "PRODUCTS_DELETE", "PRODUCTS_UPDATE", "REFUNDS_CREATE", "SHOP_UPDATE"}

func (s *Shop) webhookCreate(e *executor, args map[string]any) whCreatePayload {
	topic, _ := args["topic"].(string)
	in, _ := args["webhookSubscription"].(map[string]any)
	uri, _ := in["uri"].(string)
	if uri == "" {
		uri, _ = in["callbackUrl"].(string)
	}
	format, _ := in["format"].(string)
	filter, _ := in["filter"].(string)
	var include []string
	if l, ok := in["includeFields"].([]any); ok {
		for _, x := range l {
			if xs, ok := x.(string); ok {
				include = append(include, xs)
			}
		}
	}
	bad := func(msg string) whCreatePayload {
		return whCreatePayload{errs: []userErr{{field: []string{"webhookSubscription", "uri"}, message: msg}}}
	}
	switch {
	case !slices.Contains(knownTopics, topic):
		return whCreatePayload{errs: []userErr{{field: []string{"webhookSubscriptionCreate", "webhookSubscription"}, message: "Webhook topic is invalid"}}}
	case uri == "":
		return bad("Address can't be blank")
	case !(strings.HasPrefix(uri, "https://") || strings.HasPrefix(uri, "pubsub://") || strings.HasPrefix(uri, "arn:aws:events:")):
		proto, _, _ := strings.Cut(uri, "//")
		return bad(fmt.Sprintf("Address protocol %s// is not supported", proto))
	}
	for _, w := range s.webhooks {
		if w.Topic == topic && w.URI == uri {
			return bad("Address for this topic has already been taken")
		}
	}
	now := s.now()
	s.seq++
	w := &webhookSub{ID: 1234567000000 + s.seq, Topic: topic, URI: uri, Format: cmpOr(format, "JSON"), Include: include,
		Filter: filter, Version: e.req.version, CreatedAt: now, UpdatedAt: now}
	s.webhooks = append(s.webhooks, w)
	return whCreatePayload{sub: w}
}

func (s *Shop) webhookDelete(args map[string]any) whDeletePayload {
	id, _ := args["id"].(string)
	_, num, _ := parseGID(id)
	for i, w := range s.webhooks {
		if w.ID == num {
			s.webhooks = slices.Delete(s.webhooks, i, i+1)
			return whDeletePayload{deleted: gid("WebhookSubscription", num)}
		}
	}
	return whDeletePayload{errs: []userErr{{field: []string{"id"}, message: "Webhook subscription does not exist"}}}
}

// ---- bulk operations ----

type bulkOp struct {
	id          int64
	typ         string
	query       string
	doc         *ast.QueryDocument
	createdAt   time.Time
	started     time.Time
	status      string
	completedAt time.Time
	jsonl       []byte
	objects     int
	roots       int
	base        string
}

// maxConcurrentBulk: from API 2026-01 a shop runs up to 5 bulk queries at once; before, one.
func maxConcurrentBulk(version string) int {
	if version >= "2026-01" {
		return 5
	}
	return 1
}

func (s *Shop) bulkRun(e *executor, args map[string]any) bulkRunPayload {
	q, _ := args["query"].(string)
	invalid := func(msg string) bulkRunPayload {
		return bulkRunPayload{errs: []userErr{{"INVALID", []string{"query"}, msg}}}
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		return invalid("Invalid bulk query: " + err.Error())
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Query {
		return invalid("Bulk queries must contain exactly one query operation.")
	}
	an := &analyzer{doc: doc, vars: map[string]any{}, bulk: true}
	an.operation(doc.Operations[0])
	if len(an.errs) > 0 {
		return invalid("Invalid bulk query: " + an.errs[0].Message)
	}
	hasConn := false
	for _, sel := range doc.Operations[0].SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			if k, _, _ := lookupField("QueryRoot", f.Name); k == kindConn {
				hasConn = true
			}
		}
	}
	if !hasConn {
		return invalid("Bulk queries must contain at least one connection.")
	}
	running := 0
	for _, b := range s.bulkOps {
		s.advance(b)
		if b.status == "CREATED" || b.status == "RUNNING" {
			running++
		}
	}
	if limit := maxConcurrentBulk(e.req.version); running >= limit {
		if limit == 1 {
			return bulkRunPayload{errs: []userErr{{"OPERATION_IN_PROGRESS", nil, "A bulk operation is already in progress."}}}
		}
		return bulkRunPayload{errs: []userErr{{"LIMIT_REACHED", nil, "Bulk operations limit reached. Please try again later."}}}
	}
	s.seq++
	op := &bulkOp{id: 720918000 + s.seq, typ: "QUERY", query: q, doc: doc, createdAt: s.now(), started: time.Now(),
		status: "CREATED", base: e.req.base}
	s.bulkOps = append(s.bulkOps, op)
	return bulkRunPayload{op: op}
}

// advance moves a bulk operation on; the export runs when its delay is over.
func (s *Shop) advance(b *bulkOp) {
	if b.status != "CREATED" && b.status != "RUNNING" {
		return
	}
	if el := time.Since(b.started); el < s.opts.BulkDelay {
		if el > s.opts.BulkDelay/10 {
			b.status = "RUNNING"
		}
		return
	}
	ex := &executor{s: s, doc: b.doc, vars: map[string]any{}, bulk: true, req: &request{base: b.base}}
	root, _ := ex.run(b.doc.Operations[0])
	var buf []byte
	for _, v := range root.vals {
		if c, ok := v.(*omap); ok && c.conn {
			for _, n := range c.nodes {
				buf = b.emit(buf, n, "", true)
			}
		}
	}
	b.jsonl, b.status, b.completedAt = buf, "COMPLETED", s.now()
}

// emit appends one JSONL line per node; nested connections become lines of
// their own carrying __parentId, as Shopify writes them.
func (b *bulkOp) emit(buf []byte, n *omap, parent string, root bool) []byte {
	line := &omap{}
	var children []*omap
	for i, k := range n.keys {
		if c, ok := n.vals[i].(*omap); ok && c.conn {
			children = append(children, c.nodes...)
			continue
		}
		line.set(k, n.vals[i])
	}
	if parent != "" {
		line.set("__parentId", parent)
	}
	j, _ := json.Marshal(line)
	buf = append(append(buf, j...), '\n')
	b.objects++
	if root {
		b.roots++
	}
	for _, c := range children {
		buf = b.emit(buf, c, n.gid, false)
	}
	return buf
}

func (s *Shop) bulkField(b *bulkOp, name string, req *request) (any, error) {
	s.advance(b)
	done := b.status == "COMPLETED"
	switch name {
	case "id":
		return gid("BulkOperation", b.id), nil
	case "type":
		return b.typ, nil
	case "status":
		return b.status, nil
	case "errorCode", "partialDataUrl":
		return nil, nil
	case "createdAt":
		return dt(b.createdAt), nil
	case "completedAt":
		if !done {
			return nil, nil
		}
		return dt(b.completedAt), nil
	case "objectCount":
		return strconv.Itoa(b.objects), nil
	case "rootObjectCount":
		return strconv.Itoa(b.roots), nil
	case "fileSize":
		return strconv.Itoa(len(b.jsonl)), nil
	case "url":
		if !done || len(b.jsonl) == 0 {
			return nil, nil
		}
		return fmt.Sprintf("%s%s%d.jsonl", b.base, bulkPrefix, b.id), nil
	case "query":
		return b.query, nil
	}
	return nil, nil
}

func (s *Shop) serveBulk(w http.ResponseWriter, r *http.Request) {
	idStr := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, bulkPrefix), ".jsonl")
	id, _ := strconv.ParseInt(idStr, 10, 64)
	s.mu.Lock()
	var body []byte
	found := false
	for _, b := range s.bulkOps {
		if b.id == id {
			s.advance(b)
			if b.status == "COMPLETED" {
				body, found = b.jsonl, true
			}
		}
	}
	s.mu.Unlock()
	if !found {
		http.Error(w, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
