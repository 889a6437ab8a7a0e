package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
)

// mappedVariants returns n Shopify variants mapped to Odoo products.
func (e *env) mappedVariants(t testing.TB, n int) []shopsandbox.Variant {
	t.Helper()
	var out []shopsandbox.Variant
	for _, v := range e.shop.Variants() {
		if _, ok := e.productBySKU[v.SKU]; ok && len(out) < n {
			out = append(out, v)
		}
	}
	require.Len(t, out, n)
	return out
}

// orderVersion rewrites an order payload as a later version: updated at
// at, each line's current quantity set by qty (by SKU; 0 removes it), and
// lines added for variants not on it yet.
func orderVersion(t testing.TB, payload []byte, at time.Time, qty map[string]int, add ...shopsandbox.Variant) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(payload, &m))
	m["updated_at"] = at.UTC().Format(time.RFC3339)
	lines := m["line_items"].([]any)
	for _, l := range lines {
		li := l.(map[string]any)
		if q, ok := qty[li["sku"].(string)]; ok {
			li["current_quantity"] = q
		}
	}
	for i, v := range add {
		li := map[string]any{}
		for k, val := range lines[0].(map[string]any) {
			li[k] = val
		}
		li["id"], li["admin_graphql_api_id"] = 900000+i, fmt.Sprintf("gid://shopify/LineItem/%d", 900000+i)
		li["variant_id"], li["sku"], li["title"], li["price"] = v.ID, v.SKU, v.Title, "12.50"
		li["quantity"], li["current_quantity"] = qty[v.SKU], qty[v.SKU]
		lines = append(lines, li)
	}
	m["line_items"] = lines
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// odooQuantities is the quantity ordered of each product in an Odoo order.
func odooQuantities(so odoosandbox.SaleOrder) map[int]float64 {
	out := map[int]float64{}
	for _, l := range so.Lines {
		out[l.ProductID] += l.Quantity
	}
	return out
}

func (e *env) oneSaleOrder(t testing.TB, ref string) odoosandbox.SaleOrder {
	t.Helper()
	sos := e.saleOrdersWithRef(ref)
	require.Len(t, sos, 1)
	return sos[0]
}

// An order edited in Shopify (a quantity changed, a line removed, one added)
// is edited in Odoo; the same edit again writes nothing, and an older version
// arriving late is ignored.
func TestOrderEditReachesOdooOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	vs := e.mappedVariants(t, 3)
	o, created := e.order(t, shopsandbox.NewLine{VariantID: vs[0].GID(), Quantity: 2}, shopsandbox.NewLine{VariantID: vs[1].GID(), Quantity: 1})
	s := e.endedSyncs(t, e.deliver(t, "orders/create", created))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	p0, p1, p2 := e.productBySKU[vs[0].SKU].ID, e.productBySKU[vs[1].SKU].ID, e.productBySKU[vs[2].SKU].ID
	require.Equal(t, map[int]float64{p0: 2, p1: 1}, odooQuantities(e.oneSaleOrder(t, o.GID())))

	t0 := o.UpdatedAt
	edit := orderVersion(t, created, t0.Add(2*time.Minute), map[string]int{vs[0].SKU: 5, vs[1].SKU: 0, vs[2].SKU: 3}, vs[2])
	ss := e.endedSyncs(t, e.deliver(t, "orders/updated", edit))
	require.Len(t, ss, 1)
	edited := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncSucceeded, edited.Status, edited.Message)
	require.Contains(t, edited.Message, "1 line changed, 1 line added, 1 line no longer ordered")
	require.Equal(t, map[int]float64{p0: 5, p1: 0, p2: 3}, odooQuantities(e.oneSaleOrder(t, o.GID())))
	writes := e.odooWrites("sale.order")

	// The same edit applied again (a replay) changes nothing.
	replay, err := e.eng.Replay(context.Background(), store.SystemActor("test"), edited.ID)
	require.NoError(t, err)
	r := e.ended(t, replay.ID)
	require.Equal(t, vocab.SyncSkipped, r.Status, r.Message)
	require.Contains(t, r.Message, "already matches Shopify")
	require.Equal(t, writes, e.odooWrites("sale.order"), "nothing written the second time")

	// An older version delivered late is ignored by the order's watermark.
	late := orderVersion(t, created, t0.Add(time.Minute), map[string]int{vs[0].SKU: 9})
	ev := e.event(t, e.deliver(t, "orders/updated", late))
	require.Equal(t, store.WebhookIgnored, ev.Status)
	require.Contains(t, ev.Error, "Already handled")
	require.Equal(t, map[int]float64{p0: 5, p1: 0, p2: 3}, odooQuantities(e.oneSaleOrder(t, o.GID())))
	require.Len(t, e.saleOrdersWithRef(o.GID()), 1, "an edit never creates a second order")
}

// An edit that reaches Crossdock before its order did creates the order as
// it is now; the late orders/create is then ignored.
func TestOrderEditBeforeItsCreationCreatesTheOrderOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	vs := e.mappedVariants(t, 1)
	o, created := e.order(t, shopsandbox.NewLine{VariantID: vs[0].GID(), Quantity: 2})
	edit := orderVersion(t, created, o.UpdatedAt.Add(time.Minute), map[string]int{vs[0].SKU: 4})
	s := e.endedSyncs(t, e.deliver(t, "orders/updated", edit))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	ev := e.event(t, e.deliver(t, "orders/create", created))
	require.Equal(t, store.WebhookIgnored, ev.Status)
	require.Equal(t, map[int]float64{e.productBySKU[vs[0].SKU].ID: 4}, odooQuantities(e.oneSaleOrder(t, o.GID())))
}

// A cancelled order is cancelled in Odoo, once, confirmed or not.
func TestOrderCancelledReachesOdoo(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	for _, confirm := range []bool{false, true} {
		t.Run(fmt.Sprintf("confirmed %v", confirm), func(t *testing.T) {
			o, created := e.order(t)
			require.Equal(t, vocab.SyncSucceeded, e.endedSyncs(t, e.deliver(t, "orders/create", created))[0].Status)
			so := e.oneSaleOrder(t, o.GID())
			if confirm {
				require.NoError(t, e.odooClient(t).ConfirmSaleOrder(context.Background(), so.ID))
			}
			cancelled := setJSON(t, orderVersion(t, created, o.UpdatedAt.Add(time.Minute), nil), "cancelled_at", o.UpdatedAt.Add(time.Minute).Format(time.RFC3339))
			s := e.endedSyncs(t, e.deliver(t, "orders/cancelled", cancelled))[0]
			require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
			require.Contains(t, s.Message, "was cancelled in Shopify and in Odoo")
			require.Equal(t, "cancel", e.oneSaleOrder(t, o.GID()).State)

			replay, err := e.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
			require.NoError(t, err)
			r := e.ended(t, replay.ID)
			require.Equal(t, vocab.SyncSkipped, r.Status, r.Message)
			require.Contains(t, r.Message, "already cancelled")
		})
	}
}

// An order Odoo no longer lets anyone change (locked) fails with Odoo's own
// words; nothing is skipped silently and nothing is changed.
func TestOrderEditOfALockedOrderFailsWithOdoosWords(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	vs := e.mappedVariants(t, 1)
	o, created := e.order(t, shopsandbox.NewLine{VariantID: vs[0].GID(), Quantity: 2})
	require.Equal(t, vocab.SyncSucceeded, e.endedSyncs(t, e.deliver(t, "orders/create", created))[0].Status)
	so := e.oneSaleOrder(t, o.GID())
	cl := e.odooClient(t)
	require.NoError(t, cl.ConfirmSaleOrder(context.Background(), so.ID))
	require.NoError(t, cl.Write(context.Background(), "sale.order", []int{so.ID}, map[string]any{"locked": true}, nil))

	edit := orderVersion(t, created, o.UpdatedAt.Add(time.Minute), map[string]int{vs[0].SKU: 7})
	s := e.endedSyncs(t, e.deliver(t, "orders/updated", edit))[0]
	require.Equal(t, vocab.SyncFailed, s.Status, s.Message)
	require.Contains(t, s.Message, "It is forbidden to modify the following fields in a locked order")

	cancelled := setJSON(t, orderVersion(t, created, o.UpdatedAt.Add(2*time.Minute), nil), "cancelled_at", o.UpdatedAt.Add(2*time.Minute).Format(time.RFC3339))
	c := e.endedSyncs(t, e.deliver(t, "orders/cancelled", cancelled))[0]
	require.Equal(t, vocab.SyncFailed, c.Status, c.Message)
	require.Contains(t, c.Message, "You cannot cancel a locked order")

	after := e.oneSaleOrder(t, o.GID())
	require.Equal(t, "sale", after.State)
	require.Equal(t, map[int]float64{e.productBySKU[vs[0].SKU].ID: 2}, odooQuantities(after))
}

// A new delivery address in Shopify becomes the order's delivery contact in
// Odoo (a child of the customer), once.
func TestOrderEditChangesTheDeliveryAddressOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, options{start: true})
	o, created := e.order(t)
	require.Equal(t, vocab.SyncSucceeded, e.endedSyncs(t, e.deliver(t, "orders/create", created))[0].Status)
	before := e.oneSaleOrder(t, o.GID())

	moved := setJSON(t, orderVersion(t, created, o.UpdatedAt.Add(time.Minute), nil), "shipping_address", map[string]any{
		"first_name": "Ada", "last_name": "Byron", "name": "Ada Byron", "address1": "12 St James's Square", "address2": nil,
		"city": "London", "zip": "SW1Y 4JH", "country_code": "GB", "phone": "+44 20 7946 0000"})
	s := e.endedSyncs(t, e.deliver(t, "orders/updated", moved))[0]
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "It now ships to 12 St James's Square, London, SW1Y 4JH")
	after := e.oneSaleOrder(t, o.GID())
	require.NotZero(t, after.ShippingPartnerID)
	var contact odoosandbox.Partner
	for _, p := range e.odoo.Partners() {
		if p.ID == after.ShippingPartnerID {
			contact = p
		}
	}
	require.Equal(t, "12 St James's Square", contact.Street)
	require.Equal(t, "Ada Byron", contact.Name)
	require.Equal(t, odooQuantities(before), odooQuantities(after), "the lines are as they were")

	partners := len(e.odoo.Partners())
	replay, err := e.eng.Replay(context.Background(), store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r := e.ended(t, replay.ID)
	require.Equal(t, vocab.SyncSkipped, r.Status, r.Message)
	require.Len(t, e.odoo.Partners(), partners, "no second delivery contact")
}
