package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
)

type bundle struct {
	shop   *sandbox.Shop
	server *httptest.Server
}

// setup starts a sandbox shop behind an httptest server and a client for it.
func setup(t *testing.T, opts sandbox.Options) (*Client, *bundle) {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 12
	}
	c, srv := setupWith(t, sandbox.New(opts))
	return c, &bundle{shop: srv.shop, server: srv.Server}
}

type sandboxServer struct {
	*httptest.Server
	shop *sandbox.Shop
}

func setupWith(t *testing.T, shop *sandbox.Shop) (*Client, *sandboxServer) {
	t.Helper()
	srv := httptest.NewServer(shop)
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{BaseURL: srv.URL, AccessToken: shop.AccessToken(), HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	require.NoError(t, err)
	return c, &sandboxServer{Server: srv, shop: shop}
}

func kindOf(t *testing.T, err error) ErrorKind {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "want *shopify.Error, got %T: %v", err, err)
	return e.Kind
}

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{ShopDomain: "a.myshopify.com"}, "access token is empty"},
		{"bad domain", Config{ShopDomain: "acme.com", AccessToken: "x"}, "must look like your-shop.myshopify.com"},
		{"bad version", Config{ShopDomain: "a.myshopify.com", AccessToken: "x", APIVersion: "April"}, "API version"},
		{"base url without scheme", Config{BaseURL: "localhost:1", AccessToken: "x"}, "must start with http"},
		{"ok", Config{ShopDomain: "Acme-Store.myshopify.com", AccessToken: "x"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.cfg)
			if tc.want == "" {
				require.NoError(t, err)
				require.Equal(t, "https://acme-store.myshopify.com/admin/api/2026-04/graphql.json", c.Endpoint())
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSandboxReads(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Seed: 30, Plan: "advanced"})
	ctx := context.Background()

	info, err := c.Shop(ctx)
	require.NoError(t, err)
	require.Equal(t, b.shop.Domain(), info.MyshopifyDomain)
	require.Equal(t, "Advanced", info.Plan)
	require.Equal(t, "2026-04", info.APIVersion)
	require.Empty(t, MissingScopes(info.Scopes))
	require.Equal(t, []string{"write_inventory"}, MissingScopes([]string{"write_products", "read_inventory", "read_locations", "read_orders", "read_customers"}))

	var all []Variant
	after := ""
	for {
		page, err := c.ProductVariants(ctx, after, 7)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Variants), 7)
		all = append(all, page.Variants...)
		if !page.PageInfo.HasNextPage {
			break
		}
		after = page.PageInfo.EndCursor
	}
	want := b.shop.Variants()
	require.Len(t, all, len(want))
	require.Equal(t, want[0].GID(), all[0].ID)
	require.Equal(t, want[0].SKU, all[0].SKU)
	require.Equal(t, want[0].Price, all[0].Price)
	require.Equal(t, want[0].InventoryItemGID(), all[0].InventoryItem.ID)
	require.NotNil(t, all[0].InventoryItem.UnitCost)
	require.Equal(t, "USD", all[0].InventoryItem.UnitCost.CurrencyCode)
	require.NotEmpty(t, all[0].Product.Title)

	locs, err := c.Locations(ctx)
	require.NoError(t, err)
	require.Len(t, locs, len(b.shop.Locations()))
	levels, err := c.InventoryLevels(ctx, locs[0].ID, "", 50)
	require.NoError(t, err)
	require.NotEmpty(t, levels.Levels)
	l := levels.Levels[0]
	avail, onHand, ok := b.shop.InventoryLevel(l.ItemID, l.LocationID)
	require.True(t, ok)
	require.Equal(t, avail, l.Available)
	require.Equal(t, onHand, l.OnHand)

	cust, err := c.Customers(ctx, "", 5)
	require.NoError(t, err)
	require.Len(t, cust.Customers, 5)
	require.Contains(t, cust.Customers[0].Email, "@example.com")

	orders, err := c.Orders(ctx, "", "", 0)
	require.NoError(t, err)
	require.NotEmpty(t, orders.Orders)
	o := orders.Orders[0]
	require.NotEmpty(t, o.LineItems.Nodes)
	require.NotEmpty(t, o.Total().Amount)
	refunds, err := c.Refunds(ctx, o.ID)
	require.NoError(t, err)
	require.Len(t, refunds, len(b.shop.Orders()[0].Refunds))

	recent, err := c.Orders(ctx, "created_at:>2099-01-01", "", 5)
	require.NoError(t, err)
	require.Empty(t, recent.Orders)

	budget := c.Budget()
	require.Equal(t, 4000.0, budget.MaximumAvailable)
	require.Equal(t, 200.0, budget.RestoreRate)
	require.False(t, budget.SeenAt.IsZero())
	require.Greater(t, budget.EstimatedAvailable, 0.0)
}

func TestSetInventoryQuantities(t *testing.T) {
	t.Parallel()
	ptr := func(i int) *int { return &i }
	cases := []struct {
		name     string
		change   func(current int) *int
		wantKind ErrorKind
		applied  bool
	}{
		{"fresh compare-and-set", func(cur int) *int { return ptr(cur) }, 0, true},
		{"stale compare-and-set", func(cur int) *int { return ptr(cur + 3) }, KindConflict, false},
		{"opt out of the check", func(int) *int { return nil }, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{})
			v := b.shop.Variants()[0]
			loc := b.shop.Locations()[0]
			before, onHandBefore, ok := b.shop.InventoryLevel(v.InventoryItemGID(), loc.GID())
			require.True(t, ok)
			groups, err := c.SetInventoryQuantities(context.Background(), SetQuantitiesInput{
				Name: "available", Reason: "correction", ReferenceDocumentURI: "gid://crossdock/SyncJob/1",
				Quantities: []QuantityInput{{InventoryItemID: v.InventoryItemGID(), LocationID: loc.GID(), Quantity: before + 5, ChangeFromQuantity: tc.change(before)}},
			}, "key-"+tc.name)
			after, onHandAfter, _ := b.shop.InventoryLevel(v.InventoryItemGID(), loc.GID())
			if !tc.applied {
				require.Equal(t, tc.wantKind, kindOf(t, err))
				var e *Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, "CHANGE_FROM_QUANTITY_STALE", e.Code)
				require.Equal(t, before, after)
				return
			}
			require.NoError(t, err)
			require.Len(t, groups, 1)
			require.Len(t, groups[0].Changes, 2)
			require.Equal(t, 5, groups[0].Changes[0].Delta)
			require.Equal(t, before+5, after)
			require.Equal(t, onHandBefore+5, onHandAfter)
			w := b.shop.Writes()
			require.Len(t, w, 1)
			require.Equal(t, "key-"+tc.name, w[0].IdempotencyKey)
		})
	}
}

func TestIdempotentRepeat(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{})
	ctx := context.Background()
	v := b.shop.Variants()[1]
	loc := b.shop.Locations()[0]
	in := SetQuantitiesInput{Name: "available", Reason: "correction",
		Quantities: []QuantityInput{{InventoryItemID: v.InventoryItemGID(), LocationID: loc.GID(), Quantity: 40}}}
	g1, err := c.SetInventoryQuantities(ctx, in, "same-key")
	require.NoError(t, err)
	// Someone edits stock by hand; a replay of the same key must not overwrite it.
	require.NoError(t, b.shop.SetInventoryDirect(v.InventoryItemGID(), loc.GID(), 7))
	g2, err := c.SetInventoryQuantities(ctx, in, "same-key")
	require.NoError(t, err)
	require.Equal(t, g1[0].ID, g2[0].ID)
	avail, _, _ := b.shop.InventoryLevel(v.InventoryItemGID(), loc.GID())
	require.Equal(t, 7, avail)
	require.Len(t, b.shop.Writes(), 1)
	require.Equal(t, 1, b.shop.IdempotentReplays())

	in.Quantities[0].Quantity = 41
	_, err = c.SetInventoryQuantities(ctx, in, "same-key")
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "same idempotency key")
}

func TestSetInventoryQuantitiesSplitsLargeInputs(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Seed: 150, Plan: "plus"})
	var qs []QuantityInput
	for _, v := range b.shop.Variants() {
		for _, l := range b.shop.Locations()[:2] {
			qs = append(qs, QuantityInput{InventoryItemID: v.InventoryItemGID(), LocationID: l.GID(), Quantity: 3})
		}
	}
	require.Greater(t, len(qs), 250)
	groups, err := c.SetInventoryQuantities(context.Background(), SetQuantitiesInput{Name: "available", Reason: "correction", Quantities: qs}, "big")
	require.NoError(t, err)
	chunks := (len(qs) + 249) / 250
	require.Len(t, groups, chunks)
	w := b.shop.Writes()
	require.Len(t, w, chunks)
	require.Equal(t, "big-0", w[0].IdempotencyKey)
	require.Equal(t, "big-1", w[1].IdempotencyKey)
}

func TestMissingIdempotencyKeyIsRefused(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{})
	v := b.shop.Variants()[0]
	q := strings.Replace(SetQuantitiesMutation, " @idempotent(key: $key)", "", 1)
	q = strings.Replace(q, ", $key: String!", "", 1)
	err := c.Do(context.Background(), q, map[string]any{"input": map[string]any{
		"name": "available", "reason": "correction",
		"quantities": []any{map[string]any{"inventoryItemId": v.InventoryItemGID(), "locationId": b.shop.Locations()[0].GID(), "quantity": 1, "changeFromQuantity": nil}},
	}}, nil)
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "@idempotent")
	require.Empty(t, b.shop.Writes())
}

func TestUpdateVariantPrices(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{})
	ctx := context.Background()
	v := b.shop.Variants()[0]
	s := func(x string) *string { return &x }
	require.NoError(t, c.UpdateVariantPrices(ctx, v.ProductGID(), []VariantPriceUpdate{{ID: v.GID(), Price: s("19.90"), CompareAtPrice: s("24.00"), Cost: s("8.5")}}))
	got := b.shop.Variants()[0]
	require.Equal(t, "19.90", got.Price)
	require.Equal(t, "24.00", got.CompareAtPrice)
	require.Equal(t, "8.50", got.Cost)

	err := c.UpdateVariantPrices(ctx, v.ProductGID(), []VariantPriceUpdate{{ID: v.GID(), Price: s("-1.00")}})
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "variants.0.price: The price of the variant must be greater than or equal to zero.")
	require.Equal(t, "19.90", b.shop.Variants()[0].Price)

	b.shop.FailNext(1, sandbox.FailUserError)
	err = c.UpdateVariantPrices(ctx, v.ProductGID(), []VariantPriceUpdate{{ID: v.GID(), Price: s("1.00")}})
	require.Equal(t, KindValidation, kindOf(t, err))
}

func TestBulkExportStreamed(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Seed: 20, BulkDelay: 30 * time.Millisecond})
	ctx := context.Background()
	op, err := c.RunBulkQuery(ctx, `{ products { edges { node { id title variants { edges { node { id sku } } } } } } }`)
	require.NoError(t, err)
	require.Equal(t, "CREATED", op.Status)

	_, err = c.RunBulkQuery(ctx, `{ shop { name } }`)
	require.Equal(t, KindValidation, kindOf(t, err))

	done, err := c.WaitBulk(ctx, op.ID, 10*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, "COMPLETED", done.Status)
	require.NotEmpty(t, done.URL)
	cur, ok, err := c.CurrentBulkOperation(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, op.ID, cur.ID)

	var products, variants int
	err = c.StreamJSONL(ctx, done.URL, func(line []byte) error {
		var row map[string]any
		if err := json.Unmarshal(line, &row); err != nil {
			return err
		}
		if p, ok := row["__parentId"].(string); ok {
			require.True(t, strings.HasPrefix(p, "gid://shopify/Product/"))
			require.Contains(t, row, "sku")
			variants++
		} else {
			require.Contains(t, row, "title")
			products++
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 20, products)
	require.Equal(t, len(b.shop.Variants()), variants)
	require.EqualValues(t, products+variants, done.ObjectCount)
}

func TestWebhookSubscriptions(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{})
	ctx := context.Background()
	sub, err := c.CreateWebhookSubscription(ctx, "inventory_levels/update", "https://crossdock.example.com/webhooks/shopify")
	require.NoError(t, err)
	require.Equal(t, "INVENTORY_LEVELS_UPDATE", sub.Topic)
	require.Equal(t, "2026-04", sub.APIVersion.Handle)

	_, err = c.CreateWebhookSubscription(ctx, "INVENTORY_LEVELS_UPDATE", "https://crossdock.example.com/webhooks/shopify")
	require.Equal(t, KindValidation, kindOf(t, err))
	require.ErrorContains(t, err, "already been taken")
	_, err = c.CreateWebhookSubscription(ctx, "orders/create", "http://insecure.example.com/hook")
	require.ErrorContains(t, err, "not supported")

	subs, err := c.WebhookSubscriptions(ctx)
	require.NoError(t, err)
	require.Len(t, subs, 1)
	require.Equal(t, sub.ID, subs[0].ID)
	require.NoError(t, c.DeleteWebhookSubscription(ctx, sub.ID))
	require.Error(t, c.DeleteWebhookSubscription(ctx, sub.ID))
	subs, err = c.WebhookSubscriptions(ctx)
	require.NoError(t, err)
	require.Empty(t, subs)
}

func TestErrorsAreClassified(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fail   sandbox.FailMode
		token  string
		query  string
		kind   ErrorKind
		status int
		text   string
	}{
		{name: "wrong token", token: "nope", kind: KindAuth, status: 401, text: "Shopify refused the access token (401): [API] Invalid API key"},
		{name: "500", fail: sandbox.FailStatus500, kind: KindTransient, status: 500, text: "temporarily unavailable (500)"},
		{name: "503", fail: sandbox.FailStatus503, kind: KindTransient, status: 503},
		{name: "timeout", fail: sandbox.FailTimeout, kind: KindTransient, text: "could not reach Shopify"},
		{name: "unknown field", status: 200, query: `{ shop { name color } }`, kind: KindValidation, text: "Field 'color' doesn't exist on type 'Shop'"},
		{name: "unknown root field", status: 200, query: `{ widgets { id } }`, kind: KindValidation, text: "Field 'widgets' doesn't exist on type 'QueryRoot'"},
		{name: "missing first", status: 200, query: `{ products { nodes { id } } }`, kind: KindValidation, text: "you must provide one of first or last"},
		{name: "too expensive", status: 200, query: `{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }`, kind: KindValidation, text: "exceeds the single query max cost limit"},
		{name: "syntax", status: 200, query: `{ shop { name `, kind: KindValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The stall outlasts the client (the sandbox's 60 s, or until the
			// client gives up); only the timeout case has a short client
			// timeout, the others wait as long as their answer takes.
			shop := sandbox.New(sandbox.Options{Seed: 3})
			srv := httptest.NewServer(shop)
			defer srv.Close()
			hc := &http.Client{}
			if tc.fail == sandbox.FailTimeout {
				hc.Timeout = 150 * time.Millisecond
			}
			c, err := NewClient(Config{BaseURL: srv.URL, AccessToken: cmpOr(tc.token, shop.AccessToken()), HTTPClient: hc})
			require.NoError(t, err)
			if tc.fail != 0 {
				shop.FailNext(1, tc.fail)
			}
			err = c.Do(context.Background(), cmpOr(tc.query, ShopQuery), nil, nil)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.kind, e.Kind, err.Error())
			require.Equal(t, tc.status, e.Status)
			require.Contains(t, err.Error(), tc.text)
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestThrottledAnswerIsRetried(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{BucketSize: 100, RestoreRate: 1000})
	ctx := context.Background()
	b.shop.FailNext(1, sandbox.FailThrottle)
	_, err := c.ProductVariants(ctx, "", 10)
	require.NoError(t, err)
	require.Equal(t, Stats{Calls: 2, Throttled: 1, Retries: 1}, c.Stats())
}

func TestSharedBucketThrottlesAndRecovers(t *testing.T) {
	t.Parallel()
	// Two clients on one shop (two Crossdock replicas) each estimate the
	// bucket alone, so Shopify's THROTTLED answers are what keeps them honest.
	// The refill is slow (1 point a second) so that the outcome does not
	// depend on how fast this machine makes the calls.
	c1, b := setup(t, sandbox.Options{BucketSize: 120, RestoreRate: 1})
	c2, err := NewClient(Config{BaseURL: b.server.URL, AccessToken: b.shop.AccessToken()})
	require.NoError(t, err)
	ctx := context.Background()
	// The first replica spends the shared bucket below one call's cost
	// (42 points each: 120 → 36, plus a point a second)...
	for range 2 {
		_, err := c1.ProductVariants(ctx, "", 10)
		require.NoError(t, err)
	}
	require.Zero(t, c1.Stats().Throttled, "the first replica's own estimate was right")
	// ...so the second, whose estimate still says 120, is answered THROTTLED,
	// waits for the refill Shopify reports and then gets through.
	_, err = c2.ProductVariants(ctx, "", 10)
	require.NoError(t, err)
	require.Positive(t, c2.Stats().Throttled)
	require.Equal(t, 120.0, c2.Budget().MaximumAvailable)
}

func TestThrottleWaitIsBoundedByContext(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{BucketSize: 50, RestoreRate: 1})
	_, err := c.ProductVariants(context.Background(), "", 10) // 42 points: fits once
	require.NoError(t, err)
	// The deadline is the subject: it only bounds a wait that sends nothing,
	// so it races no real work however busy the machine is.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.ProductVariants(ctx, "", 10) // needs ~34 s of refill
	require.Equal(t, KindThrottled, kindOf(t, err))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, b.shop.Writes(), 0)
}

// product.collections in a bulk export: each membership is a line of its own
// whose __parentId is the product, as for the variants.
func TestBulkExportCollections(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Seed: 10, BulkDelay: 10 * time.Millisecond})
	ctx := context.Background()
	p := b.shop.Variants()[3].ProductGID()
	clearance, err := b.shop.AddToCollectionDirect(p, "Clearance")
	require.NoError(t, err)
	op, err := c.RunBulkQuery(ctx, `{ products { edges { node { id collections { edges { node { id title } } }
  variants { edges { node { id sku } } } } } } }`)
	require.NoError(t, err)
	done, err := c.WaitBulk(ctx, op.ID, 5*time.Millisecond)
	require.NoError(t, err)
	in := map[string][]string{} // collection title → product GIDs
	err = c.StreamJSONL(ctx, done.URL, func(line []byte) error {
		var row struct {
			ID     string `json:"id"`
			Title  string `json:"title"`
			Parent string `json:"__parentId"`
		}
		require.NoError(t, json.Unmarshal(line, &row))
		if strings.HasPrefix(row.ID, "gid://shopify/Collection/") {
			require.True(t, strings.HasPrefix(row.Parent, "gid://shopify/Product/"), "%s", line)
			in[row.Title] = append(in[row.Title], row.Parent)
			if row.Title == "Clearance" {
				require.Equal(t, clearance, row.ID)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{p}, in["Clearance"])
	require.Len(t, in["Home & living"], 5, "every other product of the seed")
	require.Len(t, in["Sale"], 2, "every fifth")
}
