package engine_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/vocab"
)

// The whole chain a merchant walks: read both catalogues, accept the SKU
// matches as a change set, have another admin approve it, and an order then
// flows through the real mapping store.
func TestCatalogueSuggestionsApprovedMappingsCarryAnOrder(t *testing.T) {
	t.Parallel()
	e := setup(t, options{noMappings: true, configure: func(c *engine.Config) { c.Resolver = nil }})
	ctx := context.Background()

	shopN, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.shopConn.ID)
	require.NoError(t, err)
	require.Equal(t, len(e.shop.Variants()), shopN.Variants)
	require.Equal(t, len(e.shop.Locations()), shopN.Locations)
	// Each variant is kept with its own title and its image (its product's
	// when it has none of its own), as the finance review shows them.
	var skus []string
	for _, v := range e.shop.Variants() {
		skus = append(skus, v.SKU)
	}
	cards, err := e.st.CardsBySKU(ctx, "variant", skus)
	require.NoError(t, err)
	images := 0
	for _, v := range e.shop.Variants() {
		p, _, _ := e.shop.ShopProduct(v.ProductGID())
		require.Equal(t, store.RecordCard{Name: p.Title, VariantTitle: v.Title, ImageURL: cmp.Or(v.ImageURL, p.ImageURL)}, cards[v.SKU], v.SKU)
		if cards[v.SKU].ImageURL != "" {
			images++
		}
	}
	require.Positive(t, images)
	odooN, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.odooConn.ID)
	require.NoError(t, err)
	require.Equal(t, len(e.odoo.Products()), odooN.Variants)

	rows, _, err := e.st.ListUnmapped(ctx, store.UnmappedFilter{From: e.shopConn.ID, To: e.odooConn.ID, EntityType: "variant", Limit: 500})
	require.NoError(t, err)
	require.Len(t, rows, len(e.shop.Variants()), "nothing is mapped yet")
	var ids []string
	for _, r := range rows {
		require.NotNil(t, r.Suggestion, "%s has a counterpart with the same SKU", r.Record.SKU)
		require.Equal(t, "sku", r.Suggestion.Rule)
		ids = append(ids, r.Record.ExternalID)
	}

	proposer := store.Actor{UserID: mustAdmin(t, e.st, "proposer@shop.test").ID, Label: "proposer@shop.test"}
	approver := store.Actor{UserID: mustAdmin(t, e.st, "approver@shop.test").ID, Label: "approver@shop.test"}
	cs, err := e.st.ChangeSetFromSuggestions(ctx, proposer, e.shopConn.ID, e.odooConn.ID, "variant", ids, "SKU matches from the catalogue")
	require.NoError(t, err)
	_, err = e.st.SubmitChangeSet(ctx, proposer, cs.ID)
	require.NoError(t, err)
	_, err = e.st.ApproveChangeSet(ctx, proposer, cs.ID, "")
	require.Error(t, err, "nobody approves their own change")
	_, err = e.st.ApproveChangeSet(ctx, approver, cs.ID, "checked")
	require.NoError(t, err)

	// The engine resolves through the store now (Resolver nil = Store).
	e.start(t)
	v := e.shop.Variants()[0]
	_, payload := e.order(t, shopsandbox.NewLine{VariantID: v.GID(), Quantity: 1})
	ev := e.deliver(t, "orders/create", payload)
	ss := e.endedSyncs(t, ev)
	require.Len(t, ss, 1)
	s := e.sync(t, ss[0].ID)
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Len(t, e.odoo.SaleOrders(), 1)

	// Nothing disappeared from the shop: a second refresh marks nothing gone.
	again, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.shopConn.ID)
	require.NoError(t, err)
	require.Zero(t, again.Gone)
}

func mustAdmin(t *testing.T, st *store.Store, email string) store.User {
	t.Helper()
	u, err := st.CreateUser(context.Background(), store.SystemActor("test"), store.NewUser{Email: email, Name: email, Role: vocab.RoleAdmin, Password: "correct horse battery"})
	require.NoError(t, err)
	return u
}

// A product title holding U+0000 used to fail the whole refresh with the
// database's error. Now its variants are kept with U+FFFD and named; a
// record the database refuses for a reason nobody checks (a barcode too
// long for its index) is left out and named; every other record is read.
func TestCatalogueRefreshSetsPoisonRecordsAside(t *testing.T) {
	t.Parallel()
	e := setup(t, options{noMappings: true})
	ctx := context.Background()
	vs := e.shop.Variants()
	nul, long := vs[0], vs[len(vs)-1]
	require.NotEqual(t, nul.ProductID, long.ProductID)
	_, err := e.shop.EditProduct(fmt.Sprintf("gid://shopify/Product/%d", nul.ProductID), func(p *shopsandbox.Product, vs []*shopsandbox.Variant) {
		p.Title = "Oak\x00 chair"
		for _, v := range vs {
			if v.ID == nul.ID {
				v.Title, v.ImageURL = "Blue\x00 / L", "data:image/png;base64,AA\x00"
			}
		}
	})
	require.NoError(t, err)
	noise := make([]byte, 4000)
	_, _ = rand.Read(noise)
	_, err = e.shop.EditProduct(fmt.Sprintf("gid://shopify/Product/%d", long.ProductID), func(_ *shopsandbox.Product, vs []*shopsandbox.Variant) {
		for _, v := range vs {
			if v.ID == long.ID {
				v.Barcode = hex.EncodeToString(noise) // 8,000 characters that do not compress
			}
		}
	})
	require.NoError(t, err)
	mended := 0
	for _, v := range vs {
		if v.ProductID == nul.ProductID {
			mended++
		}
	}

	n, err := e.eng.RefreshCatalogue(ctx, store.SystemActor("test"), e.shopConn.ID)
	require.NoError(t, err, "one odd product must not fail the refresh")
	require.Equal(t, len(vs)-1, n.Variants, "every variant but the refused one is read")
	require.Equal(t, len(e.shop.Locations()), n.Locations)
	require.Equal(t, mended, n.MendedCount)
	require.Contains(t, n.Mended[0], "Oak\ufffd chair (SKU ")
	require.Equal(t, 1, n.RefusedCount)
	require.Len(t, n.Refused, 1)
	require.True(t, strings.HasSuffix(n.Refused[0], "(SKU "+long.SKU+"): it holds a value too long to be stored"), n.Refused[0])

	var name string
	require.NoError(t, e.st.DB.GetContext(ctx, &name, `SELECT name FROM external_records WHERE connection_id = $1 AND external_id = $2`,
		e.shopConn.ID, nul.GID()))
	require.Equal(t, "Oak\ufffd chair", name)
	var look struct {
		Title string `db:"variant_title"`
		Image string `db:"image_url"`
	}
	require.NoError(t, e.st.DB.GetContext(ctx, &look, `SELECT variant_title, image_url FROM external_records WHERE connection_id = $1 AND external_id = $2`,
		e.shopConn.ID, nul.GID()))
	require.Equal(t, "Blue\ufffd / L", look.Title, "a variant title is mended like a name")
	require.Empty(t, look.Image, "an image address holding NUL is not kept")
	var refused int
	require.NoError(t, e.st.DB.GetContext(ctx, &refused, `SELECT count(*) FROM external_records WHERE connection_id = $1 AND external_id = $2`,
		e.shopConn.ID, long.GID()))
	require.Zero(t, refused)
}
