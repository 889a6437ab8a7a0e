package engine_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
)

// productsFromShopify: Shopify decides product content, Odoo receives it;
// owners overrides single fields (e.g. the SKU and barcode from Odoo).
func (e *env) productsFromShopify(t testing.TB, owners map[string]int64) {
	e.rule(t, store.SourceRuleInput{Family: vocab.Products, Master: e.shopConn.ID, Receivers: []int64{e.odooConn.ID}, FieldOwners: owners})
}

func (e *env) productPayload(t testing.TB, gid string) []byte {
	t.Helper()
	b, err := e.shop.ProductPayload(gid)
	require.NoError(t, err)
	return b
}

func (e *env) odooProduct(t testing.TB, id int) odoosandbox.Product {
	t.Helper()
	for _, p := range e.odoo.Products() {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no Odoo product #%d", id)
	return odoosandbox.Product{}
}

func (e *env) odooProductsWithCode(code string) []odoosandbox.Product {
	var out []odoosandbox.Product
	for _, p := range e.odoo.Products() {
		if p.DefaultCode == code {
			out = append(out, p)
		}
	}
	return out
}

func TestProductUpdateWritesOnlyTheFieldsShopifyOwns(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	// Shopify decides content, but Odoo owns the barcode.
	e.productsFromShopify(t, map[string]int64{"barcode": e.odooConn.ID})
	e.start(t)
	v := e.shop.Variants()[0]
	op := e.productBySKU[v.SKU]
	_, err := e.shop.EditProduct(v.ProductGID(), func(p *shopsandbox.Product, vs []*shopsandbox.Variant) {
		p.Title, p.BodyHTML = "Walnut Desk", "<p>Solid walnut &amp; steel.</p>"
		vs[0].Barcode = "4006381333931"
	})
	require.NoError(t, err)
	ev := e.deliver(t, "products/update", e.productPayload(t, v.ProductGID()))
	ss := e.endedSyncs(t, ev)
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, vocab.Products, s.Family)
	require.Equal(t, v.ProductGID(), s.EntityRef)
	require.Contains(t, s.Message, "sent to Odoo")
	require.Contains(t, s.Message, "Odoo decides Barcode")

	got := e.odooProduct(t, op.ID)
	require.Equal(t, "Walnut Desk", got.Name)
	require.Equal(t, "Solid walnut & steel.", got.Description)
	require.Equal(t, op.Barcode, got.Barcode, "Odoo owns the barcode: not written")
	require.Equal(t, op.DefaultCode, got.DefaultCode)

	// The same version again, and then a redelivery after a newer edit that
	// changes nothing Odoo keeps: one write in all.
	dup := e.deliver(t, "products/update", e.productPayload(t, v.ProductGID()))
	wait(t, "the duplicate to be ignored", func() bool {
		ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, dup)
		require.NoError(t, err)
		return ev.Status == store.WebhookIgnored
	})
	_, err = e.shop.EditProduct(v.ProductGID(), func(p *shopsandbox.Product, _ []*shopsandbox.Variant) { p.Tags = "desk" })
	require.NoError(t, err)
	ss = e.endedSyncs(t, e.deliver(t, "products/update", e.productPayload(t, v.ProductGID())))
	require.Equal(t, vocab.SyncSkipped, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "already matched")
	// One write per Odoo product of the Shopify product's variants.
	_, variants, _ := e.shop.ShopProduct(v.ProductGID())
	want := map[int]bool{}
	for _, sv := range variants {
		want[e.productBySKU[sv.SKU].ID] = true
	}
	count := map[int]int{}
	for _, w := range e.odoo.Writes() {
		if w.Model == "product.product" {
			require.Equal(t, "write", w.Method)
			require.Len(t, w.IDs, 1)
			count[w.IDs[0]]++
		}
	}
	require.Len(t, count, len(want))
	for id, n := range count {
		require.True(t, want[id], "product #%d belongs to the product", id)
		require.Equal(t, 1, n, "product #%d written once", id)
	}
}

func TestProductUpdateOutOfOrderIsDropped(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.productsFromShopify(t, nil)
	e.start(t)
	v := e.shop.Variants()[0]
	op := e.productBySKU[v.SKU]
	_, err := e.shop.EditProduct(v.ProductGID(), func(p *shopsandbox.Product, _ []*shopsandbox.Variant) { p.Title = "Old title" })
	require.NoError(t, err)
	old := e.productPayload(t, v.ProductGID())
	_, err = e.shop.EditProduct(v.ProductGID(), func(p *shopsandbox.Product, _ []*shopsandbox.Variant) { p.Title = "New title" })
	require.NoError(t, err)
	ss := e.endedSyncs(t, e.deliver(t, "products/update", e.productPayload(t, v.ProductGID())))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	late := e.deliver(t, "products/update", old)
	wait(t, "the late version to be ignored", func() bool {
		ev, err := e.st.WebhookEventByID(context.Background(), e.shopConn.ID, late)
		require.NoError(t, err)
		return ev.Status == store.WebhookIgnored
	})
	require.Equal(t, "New title", e.odooProduct(t, op.ID).Name)
}

func TestProductCreatedInShopifyIsCreatedOnceWithAProposedMapping(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.productsFromShopify(t, nil)
	e.start(t)
	ctx := context.Background()
	p, vs, err := e.shop.AddProduct(shopsandbox.NewProduct{Title: "Oak Shelf", BodyHTML: "<p>Oak.</p>",
		Variants: []shopsandbox.NewVariant{{Title: "Small", SKU: "SHELF-S", Barcode: "4006381333948", Price: "49.00"}, {Title: "Large", SKU: "SHELF-L", Price: "79.00"}}})
	require.NoError(t, err)
	payload := e.productPayload(t, p.GID())
	ss := e.endedSyncs(t, e.deliver(t, "products/create", payload))
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "SHELF-S was created in Odoo as product #")
	require.Contains(t, s.Message, "waits for an admin's approval")

	small, large := e.odooProductsWithCode("SHELF-S"), e.odooProductsWithCode("SHELF-L")
	require.Len(t, small, 1)
	require.Len(t, large, 1)
	require.Equal(t, "Oak Shelf", small[0].Name)
	require.Equal(t, "4006381333948", small[0].Barcode)
	require.Equal(t, "Oak.", small[0].Description)

	// The mappings are proposed, pending, by the system; not applied.
	_, unmapped, err := e.st.ResolveRefs(ctx, e.shopConn.ID, e.odooConn.ID, "variant", []string{vs[0].GID()})
	require.NoError(t, err)
	require.Equal(t, []string{vs[0].GID()}, unmapped, "no mapping before approval")
	sets, _, err := e.st.ListChangeSets(ctx, store.ChangeSetFilter{})
	require.NoError(t, err)
	require.Len(t, sets, 2)
	for _, cs := range sets {
		require.Equal(t, store.ChangeSetPending, cs.Status)
		require.Equal(t, store.SourceEngine, cs.Source)
		require.Nil(t, cs.ProposedBy)
		require.Equal(t, 2, cs.NAdd, "the Shopify variant and the Odoo product")
	}

	// Shopify edits it again before anyone approved: found by its SKU, not
	// created twice, and no second proposal.
	_, err = e.shop.EditProduct(p.GID(), func(p *shopsandbox.Product, _ []*shopsandbox.Variant) { p.Title = "Oak Shelf II" })
	require.NoError(t, err)
	ss = e.endedSyncs(t, e.deliver(t, "products/update", e.productPayload(t, p.GID())))
	require.Equal(t, vocab.SyncSucceeded, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "found by its SKU")
	require.Len(t, e.odooProductsWithCode("SHELF-S"), 1)
	require.Equal(t, "Oak Shelf II", e.odooProductsWithCode("SHELF-S")[0].Name)
	sets, _, err = e.st.ListChangeSets(ctx, store.ChangeSetFilter{})
	require.NoError(t, err)
	require.Len(t, sets, 2)
	creates := 0
	for _, w := range e.odoo.Writes() {
		if w.Model == "product.product" && w.Method == "create" {
			creates++
		}
	}
	require.Equal(t, 2, creates, "one create per variant")
}

func TestProductChangeFromANonOwnerIsRejected(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	// Odoo decides all product content: a Shopify edit is recorded, not written.
	e.rule(t, store.SourceRuleInput{Family: vocab.Products, Master: e.odooConn.ID, Receivers: []int64{e.shopConn.ID}})
	e.start(t)
	v := e.shop.Variants()[0]
	_, err := e.shop.EditProduct(v.ProductGID(), func(p *shopsandbox.Product, _ []*shopsandbox.Variant) { p.Title = "Renamed in Shopify" })
	require.NoError(t, err)
	ss := e.endedSyncs(t, e.deliver(t, "products/update", e.productPayload(t, v.ProductGID())))
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncRejected, ss[0].Status)
	require.Equal(t, vocab.ClassOwnership, ss[0].Class())
	require.Contains(t, ss[0].Message, "Odoo decides")
	require.NotEqual(t, "Renamed in Shopify", e.odooProduct(t, e.productBySKU[v.SKU].ID).Name)
	for _, w := range e.odoo.Writes() {
		require.NotEqual(t, "product.product", w.Model)
	}
}

func TestProductBadInputAndProblemVariants(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.productsFromShopify(t, nil)
	e.start(t)
	fixture, err := os.ReadFile("testdata/products-update.2026-04.json")
	require.NoError(t, err)
	for _, tc := range []struct{ name, payload, want string }{
		{"no variants", strings.Replace(string(fixture), `"variants": [`, `"variants": [], "x": [`, 1), "has no variants"},
		{"no date", strings.Replace(string(fixture), `"updated_at": "2021-12-31T19:00:00-05:00",
  "vendor"`, `"vendor"`, 1), "has no date"},
		{"no title", strings.Replace(string(fixture), `"title": "Example T-Shirt"`, `"title": null`, 1), "has no title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NotEqual(t, string(fixture), tc.payload)
			ss := e.endedSyncs(t, e.deliver(t, "products/update", []byte(tc.payload)))
			require.Len(t, ss, 1)
			require.Equal(t, vocab.SyncFailed, ss[0].Status)
			require.Equal(t, vocab.ClassValidation, ss[0].Class())
			require.Contains(t, ss[0].Message, tc.want)
		})
	}
	// Shopify's documented sample: a new product whose variants have no
	// SKU. Nothing is created; each variant gets a failed sync saying why.
	ss := e.endedSyncs(t, e.deliver(t, "products/update", fixture))
	require.Len(t, ss, 1)
	require.Equal(t, vocab.SyncSkipped, ss[0].Status, ss[0].Message)
	require.Contains(t, ss[0].Message, "2 could not be sent")
	items, err := e.st.SyncItems(context.Background(), ss[0].ID, 10)
	require.NoError(t, err)
	require.Len(t, items, 2)
	for _, it := range items {
		require.Equal(t, vocab.SyncFailed, it.Status)
		require.Equal(t, vocab.ClassValidation, it.Class())
		require.Contains(t, it.Message, "has no SKU")
	}
	for _, w := range e.odoo.Writes() {
		require.NotEqual(t, "product.product", w.Model)
	}
	_ = strconv.Itoa
}
