package shopify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// replay serves the given fixtures verbatim, one per request (the last repeats).
func replay(t *testing.T, status int, names ...string) *Client {
	t.Helper()
	var n atomic.Int64
	bodies := make([][]byte, len(names))
	for i, name := range names {
		bodies[i] = fixture(t, name)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(bodies)-1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if i == 0 {
			w.WriteHeader(status)
		}
		_, _ = w.Write(bodies[i])
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{BaseURL: srv.URL, AccessToken: "t"})
	require.NoError(t, err)
	return c
}

func TestFixtureSuccessWithCost(t *testing.T) {
	t.Parallel()
	c := replay(t, 200, "admin-api-client.success-with-cost.response.json")
	var out struct {
		Product struct{ ID, Title, Handle string }
	}
	require.NoError(t, c.Do(context.Background(), `{ product(id: "x") { id title handle } }`, nil, &out))
	require.Equal(t, "aera-helmet", out.Product.Handle)
	b := c.Budget()
	require.Equal(t, ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 999, RestoreRate: 50}, b.ThrottleStatus)
}

func TestFixtureThrottledThenSuccess(t *testing.T) {
	t.Parallel()
	c := replay(t, 200, "throttled.response.json", "admin-api-client.success-with-cost.response.json")
	var slept []time.Duration
	c.bucket.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	require.NoError(t, c.Do(context.Background(), `{ product(id: "x") { id } }`, nil, nil))
	require.Equal(t, Stats{Calls: 2, Throttled: 1, Retries: 1}, c.Stats())
	// 502 requested, 184 available, 100 points/s: wait 3.18 s, not more, not a spin.
	require.Len(t, slept, 1)
	require.InDelta(t, 3.18, slept[0].Seconds(), 0.05)
}

// The minimal throttled form (no cost numbers) is recognised as THROTTLED:
// the client backs off its fixed second and asks again, rather than
// returning the answer as a query error.
func TestFixtureThrottledMinimalFormIsRecognised(t *testing.T) {
	t.Parallel()
	c := replay(t, 200, "throttled.library-mock.response.json", "admin-api-client.success-with-cost.response.json")
	require.NoError(t, c.Do(context.Background(), `{ shop { name } }`, nil, nil))
	require.Equal(t, Stats{Calls: 2, Throttled: 1, Retries: 1}, c.Stats())
}

func TestFixtureErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		status  int
		fixture string
		call    func(c *Client) error
		kind    ErrorKind
		code    string
		text    string
	}{
		{"auth 401", 401, "auth-401.body.json", func(c *Client) error { _, err := c.Shop(context.Background()); return err },
			KindAuth, "", "Shopify refused the access token (401): [API] Invalid API key or access token (unrecognized login or wrong password)"},
		{"query error with cost", 200, "query-error-with-cost.response.json", func(c *Client) error {
			return c.Do(context.Background(), `{ products { nodes { id } } }`, nil, nil)
		}, KindValidation, "", "you must provide one of first or last"},
		{"webhook user error", 200, "user-errors.webhookSubscriptionCreate.response.json", func(c *Client) error {
			_, err := c.CreateWebhookSubscription(context.Background(), "nope", "https://x")
			return err
		}, KindValidation, "", "Webhook topic is invalid"},
		{"bulk in progress", 200, "bulkOperationRunQuery.user-error.response.json", func(c *Client) error {
			_, err := c.RunBulkQuery(context.Background(), `{ products { edges { node { id } } } }`)
			return err
		}, KindValidation, "OPERATION_IN_PROGRESS", "A bulk operation is already in progress."},
		{"stale quantity", 200, "inventorySetQuantities.2026-04.change-from-quantity-stale.response.json", func(c *Client) error {
			_, err := c.SetInventoryQuantities(context.Background(), SetQuantitiesInput{Name: "available", Reason: "correction",
				Quantities: []QuantityInput{{InventoryItemID: "i", LocationID: "l", Quantity: 1}}}, "k")
			return err
		}, KindConflict, "CHANGE_FROM_QUANTITY_STALE", "input.quantities.0.changeFromQuantity: The changeFromQuantity value does not match persisted value."},
		{"negative price", 200, "productVariantsBulkUpdate.user-error.response.json", func(c *Client) error {
			return c.UpdateVariantPrices(context.Background(), "p", []VariantPriceUpdate{{ID: "v"}})
		}, KindValidation, "GREATER_THAN_OR_EQUAL_TO", "variants.0.price: The price of the variant must be greater than or equal to zero."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.call(replay(t, tc.status, tc.fixture))
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tc.kind, e.Kind)
			require.Equal(t, tc.code, e.Code)
			require.Contains(t, err.Error(), tc.text)
			if tc.status != 200 {
				require.Equal(t, tc.status, e.Status)
				require.NotEmpty(t, e.Body)
			}
		})
	}
}

func TestFixtureMutationsParse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	groups, err := replay(t, 200, "inventorySetQuantities.2026-04.response.json").SetInventoryQuantities(ctx, SetQuantitiesInput{
		Name: "available", Reason: "correction", Quantities: []QuantityInput{{InventoryItemID: "i", LocationID: "l", Quantity: 11}}}, "k")
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Len(t, groups[0].Changes, 4)
	require.Equal(t, -1, groups[0].Changes[0].Delta)
	require.Equal(t, "gid://shopify/InventoryItem/46123456789001", groups[0].Changes[0].Item.ID)

	require.NoError(t, replay(t, 200, "productVariantsBulkUpdate.response.json").UpdateVariantPrices(ctx, "p", []VariantPriceUpdate{{ID: "v"}}))

	sub, err := replay(t, 200, "webhookSubscriptionCreate.2026-04.response.json").CreateWebhookSubscription(ctx, "inventory_levels/update", "https://crossdock.example.com/webhooks/shopify")
	require.NoError(t, err)
	require.Equal(t, "https://crossdock.example.com/webhooks/shopify", sub.URI)

	op, err := replay(t, 200, "bulkOperationRunQuery.response.json").RunBulkQuery(ctx, "{ products { edges { node { id } } } }")
	require.NoError(t, err)
	require.Equal(t, BulkOperation{ID: "gid://shopify/BulkOperation/123", Status: "CREATED", CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, op)

	op, err = replay(t, 200, "bulkOperation.running.response.json").BulkOperation(ctx, "gid://shopify/BulkOperation/123")
	require.NoError(t, err)
	require.Equal(t, "RUNNING", op.Status)
	require.EqualValues(t, 2, op.ObjectCount)

	op, ok, err := replay(t, 200, "currentBulkOperation.completed.response.json").CurrentBulkOperation(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 57, op.ObjectCount)
	require.EqualValues(t, 358, op.FileSize)
	require.Equal(t, "https://storage.googleapis.com/shopify/dyfkl3g72empyyoenvmtidlm9o4g?<params>", op.URL)

	var out map[string]any
	require.NoError(t, replay(t, 200, "products-variants.response.json").Do(ctx, string(fixture(t, "products-variants.query.graphql")), nil, &out))
	require.Contains(t, out, "products")
}

func TestFixtureJSONLStreamed(t *testing.T) {
	t.Parallel()
	body := fixture(t, "bulk-result.products-variants.jsonl")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Empty(t, r.Header.Get("X-Shopify-Access-Token"), "the token must not leak to the storage URL")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c, err := NewClient(Config{BaseURL: srv.URL, AccessToken: "t"})
	require.NoError(t, err)
	var rows []map[string]any
	require.NoError(t, c.StreamJSONL(context.Background(), srv.URL+"/result.jsonl", func(line []byte) error {
		var m map[string]any
		rows = append(rows, m)
		return json.Unmarshal(line, &rows[len(rows)-1])
	}))
	require.Len(t, rows, 11)
	require.Equal(t, "gid://shopify/Product/1921569226808", rows[10]["__parentId"])
}
