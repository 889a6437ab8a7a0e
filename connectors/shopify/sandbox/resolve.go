package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Source values the resolvers pass down. Each maps to one schema type.
type (
	shopSrc     struct{}
	planSrc     struct{}
	appSrc      struct{}
	scopeSrc    string
	emailSrc    string
	addressSrc  struct{ c *Customer }
	apiVersion  string
	invItem     struct{ v *Variant }
	money       struct{ amount string }
	moneyBagSrc struct{ amount string }
	levelRef    struct {
		v  *Variant
		l  *Location
		lv *level
	}
	qtySrc struct {
		name string
		q    int
		at   time.Time
	}
	lineRef   struct{ li *LineItem }
	refundRef struct {
		o *Order
		r *Refund
	}
	refundLineRef struct {
		o  *Order
		rl RefundLine
	}
	fulfillRef   struct{ f *Fulfillment }
	trackRef     struct{ f *Fulfillment }
	httpEndpoint struct{ uri string }
	pageInfo     struct {
		hasNext, hasPrev     bool
		startCursor, endCurs string
	}
	edge struct {
		cursor string
		node   any
	}
	connection struct {
		items   []any
		cursors []string
		info    pageInfo
	}
)

func dt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// typeNameOf gives the concrete type of a value returned for an abstract type.
func typeNameOf(src any) string {
	switch src.(type) {
	case *Product:
		return "Product"
	case *Variant:
		return "ProductVariant"
	case *Collection:
		return "Collection"
	case invItem:
		return "InventoryItem"
	case *Location:
		return "Location"
	case *Customer:
		return "Customer"
	case *Order:
		return "Order"
	case *bulkOp:
		return "BulkOperation"
	case *webhookSub:
		return "WebhookSubscription"
	case httpEndpoint:
		return "WebhookHttpEndpoint"
	case levelRef:
		return "InventoryLevel"
	}
	return "Node"
}

// gidOf is the global id of an entity value ("" for plain objects).
func gidOf(src any) string {
	switch v := src.(type) {
	case *Product:
		return v.GID()
	case *Variant:
		return v.GID()
	case invItem:
		return v.v.InventoryItemGID()
	case *Location:
		return v.GID()
	case *Customer:
		return v.GID()
	case *Order:
		return v.GID()
	case lineRef:
		return gid("LineItem", v.li.ID)
	case levelRef:
		return levelGID(v)
	}
	return ""
}

func levelGID(r levelRef) string {
	return fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", r.l.ID, r.v.InventoryItemID)
}

type cursorJSON struct {
	LastID    int64  `json:"last_id"`
	LastValue string `json:"last_value"`
}

func encodeCursor(id int64) string {
	b, _ := json.Marshal(cursorJSON{LastID: id, LastValue: strconv.FormatInt(id, 10)})
	return base64.StdEncoding.EncodeToString(b)
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		if b, err = base64.RawURLEncoding.DecodeString(c); err != nil {
			return 0, err
		}
	}
	var cj cursorJSON
	if err := json.Unmarshal(b, &cj); err != nil {
		return 0, err
	}
	return cj.LastID, nil
}

// paginate applies first/after/last/before to items sorted by id.
func paginate[T any](e *executor, all []T, id func(T) int64, args map[string]any) (*connection, error) {
	var after, before int64 = -1, -1
	for name, p := range map[string]*int64{"after": &after, "before": &before} {
		if c, ok := args[name].(string); ok && c != "" {
			v, err := decodeCursor(c)
			if err != nil {
				return nil, &codedError{code: "BAD_REQUEST", msg: fmt.Sprintf("Invalid cursor for current pagination sort: %q", c)}
			}
			*p = v
		}
	}
	var sel []T
	for _, it := range all {
		i := id(it)
		if (after < 0 || i > after) && (before < 0 || i < before) {
			sel = append(sel, it)
		}
	}
	total := len(sel)
	c := &connection{}
	first, hasFirst := args["first"]
	last, hasLast := args["last"]
	switch {
	case hasFirst && first != nil:
		n := min(toInt(first), 250)
		if len(sel) > n {
			sel = sel[:n]
		}
		c.info.hasNext = total > len(sel)
		c.info.hasPrev = after >= 0
	case hasLast && last != nil:
		n := min(toInt(last), 250)
		if len(sel) > n {
			sel = sel[len(sel)-n:]
		}
		c.info.hasPrev = total > len(sel)
		c.info.hasNext = before >= 0
	case !e.bulk:
		return nil, &codedError{msg: "you must provide one of first or last"}
	}
	for _, it := range sel {
		c.items = append(c.items, it)
		c.cursors = append(c.cursors, encodeCursor(id(it)))
	}
	if len(c.cursors) > 0 {
		c.info.startCursor, c.info.endCurs = c.cursors[0], c.cursors[len(c.cursors)-1]
	}
	return c, nil
}

// resolve returns the value of typ.field for src.
func (s *Shop) resolve(e *executor, typ string, src any, f *ast.Field, args map[string]any) (any, error) {
	name := f.Name
	if isConnType(typ) {
		c := src.(*connection)
		switch name {
		case "nodes":
			return c.items, nil
		case "edges":
			out := make([]any, len(c.items))
			for i := range c.items {
				out[i] = edge{cursor: c.cursors[i], node: c.items[i]}
			}
			return out, nil
		case "pageInfo":
			return c.info, nil
		}
	}
	if isEdgeType(typ) {
		ed := src.(edge)
		if name == "cursor" {
			return ed.cursor, nil
		}
		return ed.node, nil
	}
	if isPaymentsType(typ) {
		return s.paymentsField(e, typ, src, name, args)
	}
	switch typ {
	case "QueryRoot":
		return s.queryRoot(e, name, args)
	case "Mutation":
		if e.injectUserError {
			return injectedPayload{}, nil
		}
		return s.mutation(e, f, args)
	case "PageInfo":
		pi := src.(pageInfo)
		switch name {
		case "hasNextPage":
			return pi.hasNext, nil
		case "hasPreviousPage":
			return pi.hasPrev, nil
		case "startCursor":
			return nullable(pi.startCursor), nil
		case "endCursor":
			return nullable(pi.endCurs), nil
		}
	case "Shop":
		switch name {
		case "id":
			return "gid://shopify/Shop/60000000001", nil
		case "name":
			return strings.TrimSuffix(s.opts.ShopDomain, ".myshopify.com"), nil
		case "email":
			return "owner@" + strings.TrimSuffix(s.opts.ShopDomain, ".myshopify.com") + ".example.com", nil
		case "myshopifyDomain":
			return s.opts.ShopDomain, nil
		case "currencyCode":
			return "USD", nil
		case "ianaTimezone":
			return "Etc/UTC", nil
		case "plan":
			return planSrc{}, nil
		}
	case "ShopPlan":
		switch name {
		case "displayName", "publicDisplayName":
			return plans[s.plan].name, nil
		case "partnerDevelopment":
			return false, nil
		case "shopifyPlus":
			return s.plan == "plus" || s.plan == "enterprise", nil
		}
	case "AppInstallation":
		switch name {
		case "id":
			return "gid://shopify/AppInstallation/1000000001", nil
		case "accessScopes":
			out := make([]any, 0, len(s.opts.Scopes))
			for _, sc := range s.opts.Scopes {
				out = append(out, scopeSrc(sc))
			}
			return out, nil
		}
	case "AccessScope":
		if name == "handle" {
			return string(src.(scopeSrc)), nil
		}
		return "Access to " + strings.ReplaceAll(string(src.(scopeSrc)), "_", " "), nil
	case "Product":
		return s.product(e, src.(*Product), name, args)
	case "Media", "MediaPreviewImage", "Image":
		return imageField(typ, src.(imageSrc), name), nil
	case "ProductVariant":
		return s.variant(src.(*Variant), name)
	case "Collection":
		return s.collection(e, src.(*Collection), name, args)
	case "InventoryItem":
		return s.inventoryItem(e, src.(invItem).v, name, args)
	case "MoneyV2":
		if name == "amount" {
			return src.(money).amount, nil
		}
		return "USD", nil
	case "MoneyBag":
		return money{amount: src.(moneyBagSrc).amount}, nil
	case "Location":
		return s.location(e, src.(*Location), name, args)
	case "InventoryLevel":
		return s.inventoryLevel(src.(levelRef), name, args)
	case "InventoryQuantity":
		q := src.(qtySrc)
		switch name {
		case "id":
			return nil, nil
		case "name":
			return q.name, nil
		case "quantity":
			return q.q, nil
		case "updatedAt":
			return dt(q.at), nil
		}
	case "Customer":
		return s.customer(src.(*Customer), name)
	case "MailingAddress":
		c := src.(addressSrc).c
		switch name {
		case "id":
			return fmt.Sprintf("gid://shopify/MailingAddress/%d?model_name=CustomerAddress", c.ID+1), nil
		case "address1":
			return nullable(c.Address1), nil
		case "city":
			return nullable(c.City), nil
		case "zip":
			return nullable(c.Zip), nil
		case "phone":
			return nullable(c.Phone), nil
		case "countryCodeV2":
			return nullable(c.Country), nil
		case "name":
			return strings.TrimSpace(c.FirstName + " " + c.LastName), nil
		}
		return nil, nil
	case "CustomerEmailAddress":
		if name == "emailAddress" {
			return string(src.(emailSrc)), nil
		}
		return "NOT_SUBSCRIBED", nil
	case "Order":
		return s.order(e, src.(*Order), name, args)
	case "LineItem":
		li := src.(lineRef).li
		switch name {
		case "id":
			return gid("LineItem", li.ID), nil
		case "sku":
			return nullable(li.SKU), nil
		case "title", "name":
			return li.Title, nil
		case "quantity", "currentQuantity":
			return li.Quantity, nil
		case "variant":
			if v := s.variantByID[li.VariantID]; v != nil {
				return v, nil
			}
			return nil, nil
		case "originalUnitPriceSet":
			return moneyBagSrc{li.Price}, nil
		}
	case "Refund":
		r := src.(refundRef)
		switch name {
		case "id":
			return gid("Refund", r.r.ID), nil
		case "createdAt":
			return dt(r.r.CreatedAt), nil
		case "note":
			return nullable(r.r.Note), nil
		case "totalRefundedSet":
			return moneyBagSrc{r.r.Amount}, nil
		case "transactions":
			return s.refundTxs(e, r.o, r.r, args)
		case "order":
			return r.o, nil
		case "refundLineItems":
			ls := make([]refundLineRef, 0, len(r.r.Lines))
			for _, l := range r.r.Lines {
				ls = append(ls, refundLineRef{o: r.o, rl: l})
			}
			return paginate(e, ls, func(l refundLineRef) int64 { return l.rl.ID }, args)
		}
	case "RefundLineItem":
		r := src.(refundLineRef)
		switch name {
		case "id":
			return gid("RefundLineItem", r.rl.ID), nil
		case "quantity":
			return r.rl.Quantity, nil
		case "restockType":
			return cmpOr(r.rl.RestockType, "RETURN"), nil
		case "location":
			return nilIfMissing(s.locationByID(r.rl.LocationID)), nil
		case "lineItem":
			for i := range r.o.LineItems {
				if r.o.LineItems[i].ID == r.rl.LineItemID {
					return lineRef{&r.o.LineItems[i]}, nil
				}
			}
			return nil, nil
		}
	case "Fulfillment":
		fu := src.(fulfillRef).f
		switch name {
		case "id":
			return gid("Fulfillment", fu.ID), nil
		case "name":
			return "#F" + strconv.FormatInt(fu.ID%1000, 10), nil
		case "status":
			return fu.Status, nil
		case "createdAt", "updatedAt":
			return dt(fu.CreatedAt), nil
		case "fulfillmentLineItems":
			return s.fulfillmentLines(e, fu, args)
		case "totalQuantity":
			n := 0
			for _, l := range fu.Lines {
				n += l.Quantity
			}
			return n, nil
		case "trackingInfo":
			if fu.Number == "" {
				return []any{}, nil
			}
			return []any{trackRef{fu}}, nil
		}
	case "FulfillmentTrackingInfo":
		fu := src.(trackRef).f
		switch name {
		case "company":
			return nullable(fu.Company), nil
		case "number":
			return nullable(fu.Number), nil
		case "url":
			return nullable(fu.URL), nil
		}
	case "BulkOperation":
		return s.bulkField(src.(*bulkOp), name, e.req)
	case "WebhookSubscription":
		return webhookField(src.(*webhookSub), name)
	case "WebhookSubscriptionEndpoint", "WebhookHttpEndpoint":
		if name == "callbackUrl" {
			return src.(httpEndpoint).uri, nil
		}
		return nil, nil
	case "WebhookEventBridgeEndpoint", "WebhookPubSubEndpoint":
		return nil, nil
	case "ApiVersion":
		switch name {
		case "handle", "displayName":
			return string(src.(apiVersion)), nil
		case "supported":
			return true, nil
		}
	case "Node":
		return gidOf(src), nil
	default:
		if v, ok, err := s.fulfillmentField(e, src, name, args); ok {
			return v, err
		}
		if p, ok := src.(refundCreateP); ok {
			return p.field(name), nil
		}
		if v, ok, err := s.moneyField(src, name); ok {
			return v, err
		}
		return s.payloadField(e, typ, src, name)
	}
	return nil, nil
}

func (s *Shop) queryRoot(e *executor, name string, args map[string]any) (any, error) {
	id, _ := args["id"].(string)
	_, num, _ := parseGID(id)
	switch name {
	case "shop":
		return shopSrc{}, nil
	case "shopifyPaymentsAccount":
		return paymentsAccountSrc{}, nil
	case "currentAppInstallation":
		return appSrc{}, nil
	case "productVariants":
		vs := filter(s.variants, args, func(v *Variant, field string) (string, time.Time) {
			switch field {
			case "sku":
				return v.SKU, time.Time{}
			case "barcode":
				return v.Barcode, time.Time{}
			case "product_id":
				return strconv.FormatInt(v.ProductID, 10), time.Time{}
			}
			return "", timeField(field, v.CreatedAt, v.UpdatedAt)
		})
		return paginate(e, vs, func(v *Variant) int64 { return v.ID }, args)
	case "productVariant":
		return nilIfMissing(s.variantByID[num]), nil
	case "products":
		ps := filter(s.products, args, func(p *Product, field string) (string, time.Time) {
			switch field {
			case "title":
				return p.Title, time.Time{}
			case "status":
				return strings.ToLower(p.Status), time.Time{}
			}
			return "", timeField(field, p.CreatedAt, p.UpdatedAt)
		})
		return paginate(e, ps, func(p *Product) int64 { return p.ID }, args)
	case "product":
		return nilIfMissing(s.productByID[num]), nil
	case "collections":
		cs := filter(s.collections, args, func(c *Collection, field string) (string, time.Time) {
			if field == "title" {
				return c.Title, time.Time{}
			}
			return "", timeField(field, c.UpdatedAt, c.UpdatedAt)
		})
		return paginate(e, cs, func(c *Collection) int64 { return c.ID }, args)
	case "collection":
		return nilIfMissing(s.collectionByID(num)), nil
	case "inventoryItem":
		if v := s.variantByItem[num]; v != nil {
			return invItem{v}, nil
		}
		return nil, nil
	case "locations":
		return paginate(e, s.locations, func(l *Location) int64 { return l.ID }, args)
	case "location":
		for _, l := range s.locations {
			if l.ID == num {
				return l, nil
			}
		}
		return nil, nil
	case "customers":
		cs := filter(s.customers, args, func(c *Customer, field string) (string, time.Time) {
			if field == "email" {
				return c.Email, time.Time{}
			}
			return "", timeField(field, c.CreatedAt, c.UpdatedAt)
		})
		return paginate(e, cs, func(c *Customer) int64 { return c.ID }, args)
	case "customer":
		return nilIfMissing(s.customerByID[num]), nil
	case "orders":
		os := filter(s.orders, args, func(o *Order, field string) (string, time.Time) {
			switch field {
			case "name":
				return o.Name, time.Time{}
			case "email":
				return o.Email, time.Time{}
			case "financial_status":
				return strings.ToLower(o.FinancialStatus), time.Time{}
			}
			return "", timeField(field, o.CreatedAt, o.UpdatedAt)
		})
		return paginate(e, os, func(o *Order) int64 { return o.ID }, args)
	case "order":
		return nilIfMissing(s.orderByID[num]), nil
	case "fulfillmentOrder":
		return s.fulfillmentOrderByID(num), nil
	case "bulkOperation":
		for _, b := range s.bulkOps {
			if b.id == num {
				return b, nil
			}
		}
		return nil, nil
	case "currentBulkOperation":
		typ, _ := args["type"].(string)
		typ = cmpOr(typ, "QUERY")
		for i := len(s.bulkOps) - 1; i >= 0; i-- {
			if s.bulkOps[i].typ == typ {
				return s.bulkOps[i], nil
			}
		}
		return nil, nil
	case "webhookSubscriptions":
		return paginate(e, s.webhooks, func(w *webhookSub) int64 { return w.ID }, args)
	case "webhookSubscription":
		for _, w := range s.webhooks {
			if w.ID == num {
				return w, nil
			}
		}
		return nil, nil
	case "node":
		return s.node(id), nil
	}
	return nil, nil
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// nilIfMissing avoids returning a typed nil pointer as a non-nil interface.
func nilIfMissing[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

func (s *Shop) node(id string) any {
	kind, num, ok := parseGID(id)
	if !ok {
		return nil
	}
	switch kind {
	case "Product":
		return nilIfMissing(s.productByID[num])
	case "Collection":
		return nilIfMissing(s.collectionByID(num))
	case "ProductVariant":
		return nilIfMissing(s.variantByID[num])
	case "InventoryItem":
		if v := s.variantByItem[num]; v != nil {
			return invItem{v}
		}
	case "Customer":
		return nilIfMissing(s.customerByID[num])
	case "Order":
		return nilIfMissing(s.orderByID[num])
	case "Location":
		for _, l := range s.locations {
			if l.ID == num {
				return l
			}
		}
	case "BulkOperation":
		for _, b := range s.bulkOps {
			if b.id == num {
				return b
			}
		}
	case "WebhookSubscription":
		for _, w := range s.webhooks {
			if w.ID == num {
				return w
			}
		}
	}
	return nil
}

func timeField(field string, created, updated time.Time) time.Time {
	switch field {
	case "created_at":
		return created
	case "updated_at":
		return updated
	}
	return time.Time{}
}

// filter applies the subset of Shopify's search syntax the sandbox knows:
// space-separated terms field:value, field:>value, field:>=value, field:<value,
// field:<=value on the fields get understands. Unknown terms match everything.
func filter[T any](all []T, args map[string]any, get func(T, string) (string, time.Time)) []T {
	q, _ := args["query"].(string)
	if strings.TrimSpace(q) == "" {
		return all
	}
	var out []T
	for _, it := range all {
		if matchAll(q, func(field string) (string, time.Time) { return get(it, field) }) {
			out = append(out, it)
		}
	}
	return out
}

func matchAll(q string, get func(string) (string, time.Time)) bool {
	for _, term := range strings.Fields(q) {
		if strings.EqualFold(term, "AND") {
			continue
		}
		field, val, ok := strings.Cut(term, ":")
		if !ok {
			continue
		}
		op := ""
		for _, o := range []string{">=", "<=", ">", "<"} {
			if v, ok := strings.CutPrefix(val, o); ok {
				op, val = o, v
				break
			}
		}
		val = strings.Trim(val, `'"`)
		sv, tv := get(field)
		if !tv.IsZero() {
			want, err := parseSearchTime(val)
			if err != nil {
				continue
			}
			var ok bool
			switch op {
			case ">":
				ok = tv.After(want)
			case ">=":
				ok = !tv.Before(want)
			case "<":
				ok = tv.Before(want)
			case "<=":
				ok = !tv.After(want)
			default:
				ok = tv.Equal(want)
			}
			if !ok {
				return false
			}
			continue
		}
		if sv == "" && op == "" {
			if _, known := map[string]bool{"sku": true, "barcode": true, "name": true, "email": true, "title": true}[field]; !known {
				continue
			}
		}
		if op == "" && !strings.EqualFold(sv, val) {
			return false
		}
	}
	return true
}

func parseSearchTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}

func (s *Shop) product(e *executor, p *Product, name string, args map[string]any) (any, error) {
	switch name {
	case "id":
		return p.GID(), nil
	case "title":
		return p.Title, nil
	case "handle":
		return p.Handle, nil
	case "status":
		return p.Status, nil
	case "vendor":
		return p.Vendor, nil
	case "productType":
		return p.ProductType, nil
	case "descriptionHtml":
		return p.BodyHTML, nil
	case "createdAt":
		return dt(p.CreatedAt), nil
	case "updatedAt":
		return dt(p.UpdatedAt), nil
	case "totalInventory":
		total := 0
		for _, vid := range p.VariantIDs {
			total += s.totalAvailable(s.variantByID[vid])
		}
		return total, nil
	case "variants":
		vs := make([]*Variant, 0, len(p.VariantIDs))
		for _, id := range p.VariantIDs {
			vs = append(vs, s.variantByID[id])
		}
		return paginate(e, vs, func(v *Variant) int64 { return v.ID }, args)
	case "featuredMedia":
		if p.ImageURL == "" {
			return nil, nil
		}
		return imageSrc{url: p.ImageURL, id: p.ID, alt: p.Title}, nil
	case "collections":
		cs := make([]*Collection, 0, len(p.CollectionIDs))
		for _, id := range p.CollectionIDs {
			cs = append(cs, s.collectionByID(id))
		}
		return paginate(e, cs, func(c *Collection) int64 { return c.ID }, args)
	}
	return nil, nil
}

func (s *Shop) collectionByID(id int64) *Collection {
	for _, c := range s.collections {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Shop) collection(e *executor, c *Collection, name string, args map[string]any) (any, error) {
	switch name {
	case "id":
		return c.GID(), nil
	case "title":
		return c.Title, nil
	case "handle":
		return c.Handle, nil
	case "updatedAt":
		return dt(c.UpdatedAt), nil
	case "products":
		var ps []*Product
		for _, p := range s.products {
			if slices.Contains(p.CollectionIDs, c.ID) {
				ps = append(ps, p)
			}
		}
		return paginate(e, ps, func(p *Product) int64 { return p.ID }, args)
	}
	return nil, nil
}

func (s *Shop) totalAvailable(v *Variant) int {
	total := 0
	for _, l := range s.locations {
		if lv := s.levels[levelKey{v.InventoryItemID, l.ID}]; lv != nil {
			total += lv.available
		}
	}
	return total
}

func (s *Shop) variant(v *Variant, name string) (any, error) {
	switch name {
	case "id":
		return v.GID(), nil
	case "title":
		return v.Title, nil
	case "displayName":
		return s.productByID[v.ProductID].Title + " - " + v.Title, nil
	case "sku":
		return v.SKU, nil
	case "barcode":
		return nullable(v.Barcode), nil
	case "price":
		return v.Price, nil
	case "compareAtPrice":
		return nullable(v.CompareAtPrice), nil
	case "inventoryQuantity":
		return s.totalAvailable(v), nil
	case "createdAt":
		return dt(v.CreatedAt), nil
	case "updatedAt":
		return dt(v.UpdatedAt), nil
	case "product":
		return s.productByID[v.ProductID], nil
	case "inventoryItem":
		return invItem{v}, nil
	case "image":
		if v.ImageURL == "" {
			return nil, nil
		}
		return imageSrc{url: v.ImageURL, id: v.ID, alt: v.Title}, nil
	}
	return nil, nil
}

// imageSrc is an image of a product or a variant, answered as its Media,
// the media's preview, or the Image itself.
type imageSrc struct {
	url, alt string
	id       int64
}

func imageField(typ string, im imageSrc, name string) any {
	switch typ + "." + name {
	case "Media.id":
		return gid("MediaImage", im.id)
	case "Image.id":
		return gid("ProductImage", im.id)
	case "Media.alt", "Image.altText":
		return im.alt
	case "Media.mediaContentType":
		return "IMAGE"
	case "Media.status", "MediaPreviewImage.status":
		return "READY"
	case "Media.preview", "MediaPreviewImage.image":
		return im
	case "Image.url":
		return im.url
	}
	return nil
}

func (s *Shop) inventoryItem(e *executor, v *Variant, name string, args map[string]any) (any, error) {
	switch name {
	case "id":
		return v.InventoryItemGID(), nil
	case "sku":
		return nullable(v.SKU), nil
	case "tracked":
		return v.Tracked, nil
	case "unitCost":
		if v.Cost == "" {
			return nil, nil
		}
		return money{v.Cost}, nil
	case "variant":
		return v, nil
	case "createdAt":
		return dt(v.CreatedAt), nil
	case "updatedAt":
		return dt(v.UpdatedAt), nil
	case "inventoryLevels":
		var refs []levelRef
		for _, l := range s.locations {
			if lv := s.levels[levelKey{v.InventoryItemID, l.ID}]; lv != nil {
				refs = append(refs, levelRef{v, l, lv})
			}
		}
		return paginate(e, refs, func(r levelRef) int64 { return r.l.ID }, args)
	case "inventoryLevel":
		locID, _ := args["locationId"].(string)
		_, num, _ := parseGID(locID)
		for _, l := range s.locations {
			if lv := s.levels[levelKey{v.InventoryItemID, l.ID}]; lv != nil && l.ID == num {
				return levelRef{v, l, lv}, nil
			}
		}
		return nil, nil
	}
	return nil, nil
}

func (s *Shop) location(e *executor, l *Location, name string, args map[string]any) (any, error) {
	switch name {
	case "id":
		return l.GID(), nil
	case "name":
		return l.Name, nil
	case "isActive":
		return l.IsActive, nil
	case "inventoryLevels":
		var refs []levelRef
		for _, v := range s.variants {
			if lv := s.levels[levelKey{v.InventoryItemID, l.ID}]; lv != nil {
				refs = append(refs, levelRef{v, l, lv})
			}
		}
		return paginate(e, refs, func(r levelRef) int64 { return r.v.InventoryItemID }, args)
	case "inventoryLevel":
		itemID, _ := args["inventoryItemId"].(string)
		_, num, _ := parseGID(itemID)
		if v := s.variantByItem[num]; v != nil {
			if lv := s.levels[levelKey{num, l.ID}]; lv != nil {
				return levelRef{v, l, lv}, nil
			}
		}
		return nil, nil
	}
	return nil, nil
}

// quantityNames are the names inventory quantities may be read by.
var quantityNames = []string{"available", "on_hand", "committed", "incoming", "reserved", "damaged", "safety_stock", "quality_control"}

func (s *Shop) inventoryLevel(r levelRef, name string, args map[string]any) (any, error) {
	switch name {
	case "id":
		return levelGID(r), nil
	case "item":
		return invItem{r.v}, nil
	case "location":
		return r.l, nil
	case "createdAt":
		return dt(r.lv.createdAt), nil
	case "updatedAt":
		return dt(r.lv.updatedAt), nil
	case "canDeactivate":
		return true, nil
	case "quantities":
		names, _ := args["names"].([]any)
		out := make([]any, 0, len(names))
		for _, n := range names {
			ns, _ := n.(string)
			if !slices.Contains(quantityNames, ns) {
				return nil, &codedError{code: "BAD_REQUEST", msg: fmt.Sprintf("Invalid quantity name: %q", ns)}
			}
			q := 0
			switch ns {
			case "available":
				q = r.lv.available
			case "on_hand":
				q = r.lv.onHand
			case "committed":
				q = r.lv.onHand - r.lv.available
			}
			out = append(out, qtySrc{name: ns, q: q, at: r.lv.updatedAt})
		}
		return out, nil
	}
	return nil, nil
}

func (s *Shop) customer(c *Customer, name string) (any, error) {
	switch name {
	case "id":
		return c.GID(), nil
	case "firstName":
		return c.FirstName, nil
	case "lastName":
		return c.LastName, nil
	case "displayName":
		return c.FirstName + " " + c.LastName, nil
	case "email":
		return c.Email, nil
	case "phone":
		if c.Phone == "" {
			return nil, nil
		}
		return c.Phone, nil
	case "defaultEmailAddress":
		return emailSrc(c.Email), nil
	case "defaultAddress":
		if c.Address1 == "" && c.City == "" && c.Zip == "" {
			return nil, nil
		}
		return addressSrc{c}, nil
	case "numberOfOrders":
		n := 0
		for _, o := range s.orders {
			if o.CustomerID == c.ID {
				n++
			}
		}
		return strconv.Itoa(n), nil
	case "state":
		return "ENABLED", nil
	case "createdAt":
		return dt(c.CreatedAt), nil
	case "updatedAt":
		return dt(c.UpdatedAt), nil
	}
	return nil, nil
}

func (s *Shop) order(e *executor, o *Order, name string, args map[string]any) (any, error) {
	switch name {
	case "id":
		return o.GID(), nil
	case "name":
		return o.Name, nil
	case "email":
		return nullable(o.Email), nil
	case "createdAt", "processedAt":
		return dt(o.CreatedAt), nil
	case "updatedAt":
		return dt(o.UpdatedAt), nil
	case "cancelledAt":
		if o.CancelledAt == nil {
			return nil, nil
		}
		return dt(*o.CancelledAt), nil
	case "closed":
		return false, nil
	case "displayFinancialStatus":
		return o.FinancialStatus, nil
	case "displayFulfillmentStatus":
		return o.fulfillmentStatus(), nil
	case "currencyCode":
		return o.Currency, nil
	case "totalPriceSet", "subtotalPriceSet":
		return moneyBagSrc{o.Total()}, nil
	case "totalRefundedSet":
		return moneyBagSrc{o.TotalRefunded()}, nil
	case "totalReceivedSet":
		return moneyBagSrc{formatCents(o.refundableCents() + o.refundedFrom(0))}, nil
	case "transactions":
		return orderTxs(o, args), nil
	case "suggestedRefund":
		return s.suggestRefund(o, args)
	case "customer":
		return nilIfMissing(s.customerByID[o.CustomerID]), nil
	case "lineItems":
		refs := make([]lineRef, 0, len(o.LineItems))
		for i := range o.LineItems {
			refs = append(refs, lineRef{&o.LineItems[i]})
		}
		return paginate(e, refs, func(l lineRef) int64 { return l.li.ID }, args)
	case "refunds":
		n := len(o.Refunds)
		if f, ok := args["first"]; ok && f != nil {
			n = min(n, toInt(f))
		}
		out := make([]any, 0, n)
		for i := range o.Refunds[:n] {
			out = append(out, refundRef{o, &o.Refunds[i]})
		}
		return out, nil
	case "fulfillmentOrders":
		return s.orderFulfillmentOrders(e, o, args)
	case "fulfillments":
		n := len(o.Fulfillments)
		if f, ok := args["first"]; ok && f != nil {
			n = min(n, toInt(f))
		}
		out := make([]any, 0, n)
		for i := range o.Fulfillments[:n] {
			out = append(out, fulfillRef{&o.Fulfillments[i]})
		}
		return out, nil
	}
	return nil, nil
}

func webhookField(w *webhookSub, name string) (any, error) {
	switch name {
	case "id":
		return gid("WebhookSubscription", w.ID), nil
	case "topic":
		return w.Topic, nil
	case "uri":
		return w.URI, nil
	case "name":
		return nil, nil
	case "format":
		return w.Format, nil
	case "includeFields":
		return append([]string{}, w.Include...), nil
	case "metafieldNamespaces":
		return []string{}, nil
	case "filter":
		return nullable(w.Filter), nil
	case "apiVersion":
		return apiVersion(w.Version), nil
	case "createdAt":
		return dt(w.CreatedAt), nil
	case "updatedAt":
		return dt(w.UpdatedAt), nil
	case "endpoint":
		return httpEndpoint{w.URI}, nil
	}
	return nil, nil
}
