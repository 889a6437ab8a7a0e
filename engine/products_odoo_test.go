package engine_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/odoo"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/store"
	"crossdock/vocab"
)

func (e *env) odooClient(t testing.TB) *odoo.Client {
	t.Helper()
	db, _, _, key := e.odoo.Credentials()
	cl, err := odoo.NewClient(odoo.Config{URL: e.odooConn.Settings["url"], Database: db, Secret: key, Protocol: odoo.ProtocolJSON2})
	require.NoError(t, err)
	return cl
}

// settle runs the Odoo product sweep and waits until its syncs have ended;
// it returns how many it queued.
func (e *env) sweepOdooProducts(t testing.TB) int {
	t.Helper()
	ctx := context.Background()
	n, err := e.eng.SweepOdooProducts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	wait(t, "the product syncs to end", func() bool {
		got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Family: vocab.Products, Limit: 500})
		require.NoError(t, err)
		for _, s := range got {
			if s.FinishedAt == nil {
				return false
			}
		}
		return true
	})
	return n
}

// skipOdooCatalogue moves the Odoo product sweep's cursor to now, as if the
// first full pass had run: the test then sees only its own writes.
func (e *env) skipOdooCatalogue(t testing.TB) {
	t.Helper()
	now := e.clock.now()
	require.NoError(t, e.st.SaveSyncCursor(context.Background(), store.SyncCursor{ConnectionID: e.odooConn.ID,
		Name: "odoo_product_content", PositionAt: &now, PositionID: 1 << 30}))
}

func (e *env) shopWrites(op string) int {
	n := 0
	for _, w := range e.shop.Writes() {
		if w.Op == op {
			n++
		}
	}
	return n
}

func (e *env) shopVariantBySKU(sku string) (shopsandbox.Variant, bool) {
	for _, v := range e.shop.Variants() {
		if v.SKU == sku {
			return v, true
		}
	}
	return shopsandbox.Variant{}, false
}

func TestOdooProductContentReachesShopifyPerFieldOwnership(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	// Odoo decides product content, except the title: Shopify's.
	e.rule(t, store.SourceRuleInput{Family: vocab.Products, Master: e.odooConn.ID, Receivers: []int64{e.shopConn.ID},
		FieldOwners: map[string]int64{"title": e.shopConn.ID}})
	e.start(t)
	ctx := context.Background()
	e.skipOdooCatalogue(t)
	require.Zero(t, e.sweepOdooProducts(t), "nothing changed since")

	v := e.shop.Variants()[0]
	op := e.productBySKU[v.SKU]
	e.clock.add(time.Minute)
	require.NoError(t, e.odooClient(t).WriteProduct(ctx, op.ID, map[string]any{
		"name": "Renamed in Odoo", "barcode": "4006381333955", "description_sale": "Hand finished.\nOiled oak."}))
	before := len(e.shop.Writes())
	require.Equal(t, 1, e.sweepOdooProducts(t), "one product changed")

	got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Search: "4006381333955"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	s := e.sync(t, got[0].ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Equal(t, "products.odoo_shopify", s.Flow)
	require.Contains(t, s.Message, "Main store decides Title")
	p, vs, ok := e.shop.ShopProduct(v.ProductGID())
	require.True(t, ok)
	require.NotEqual(t, "Renamed in Odoo", p.Title, "Shopify owns the title")
	require.Equal(t, "<p>Hand finished.<br>Oiled oak.</p>", p.BodyHTML)
	for _, sv := range vs {
		if sv.ID == v.ID {
			require.Equal(t, "4006381333955", sv.Barcode)
			require.Equal(t, v.SKU, sv.SKU)
		}
	}
	require.Equal(t, before+2, len(e.shop.Writes()), "one productUpdate, one productVariantsBulkUpdate")

	// A price change moves write_date but not the content: no sync.
	e.clock.add(time.Minute)
	require.NoError(t, e.odooClient(t).SetProductPrices(ctx, op.ID, ptr(123.45), nil))
	require.Zero(t, e.sweepOdooProducts(t))
}

func ptr[T any](v T) *T { return &v }

func TestOdooProductCreatedInShopifyOnceWithAProposedMapping(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.rule(t, store.SourceRuleInput{Family: vocab.Products, Master: e.odooConn.ID, Receivers: []int64{e.shopConn.ID}})
	e.start(t)
	ctx := context.Background()
	e.skipOdooCatalogue(t)
	require.Zero(t, e.sweepOdooProducts(t))
	created := e.shopWrites("productCreate")

	e.clock.add(time.Minute)
	id, err := e.odooClient(t).CreateProduct(ctx, map[string]any{"name": "Birch Stool", "default_code": "STOOL-1", "barcode": "4006381333962"})
	require.NoError(t, err)
	require.Equal(t, 1, e.sweepOdooProducts(t))
	got, _, err := e.st.ListSyncs(ctx, store.SyncFilter{Search: "STOOL-1"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, vocab.SyncSucceeded, got[0].Status, got[0].Message)
	require.Contains(t, got[0].Message, "was created in Main store")
	v, ok := e.shopVariantBySKU("STOOL-1")
	require.True(t, ok)
	require.Equal(t, "4006381333962", v.Barcode)
	require.Equal(t, created+1, e.shopWrites("productCreate"))
	ref, cs, found, err := e.st.ProposedRef(ctx, e.odooConn.ID, "variant", strconv.Itoa(id), e.shopConn.ID)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, v.GID(), ref)
	set, err := e.st.ChangeSetByID(ctx, cs)
	require.NoError(t, err)
	require.Equal(t, store.ChangeSetPending, set.Status)

	// Edited again before approval: the proposal says where it went; no
	// second product.
	e.clock.add(time.Minute)
	require.NoError(t, e.odooClient(t).WriteProduct(ctx, id, map[string]any{"description_sale": "Birch, waxed"}))
	require.Equal(t, 1, e.sweepOdooProducts(t))
	got, _, err = e.st.ListSyncs(ctx, store.SyncFilter{Search: "STOOL-1"})
	require.NoError(t, err)
	require.Equal(t, vocab.SyncSucceeded, got[0].Status, got[0].Message)
	require.Contains(t, got[0].Message, "still waits for approval")
	require.Equal(t, created+1, e.shopWrites("productCreate"))
	p, _, _ := e.shop.ShopProduct(v.ProductGID())
	require.Equal(t, "<p>Birch, waxed</p>", p.BodyHTML)
}

func TestOdooProductsNotSweptWhereShopifyDecides(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.productsFromShopify(t, nil)
	e.start(t)
	n, err := e.eng.SweepOdooProducts(context.Background(), store.TriggerManual, true)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Zero(t, len(e.shop.Writes()))
}
