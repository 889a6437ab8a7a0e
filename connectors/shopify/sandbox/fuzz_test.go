package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crossdock/connectors/shopify"
)

// FuzzGraphQL sends any document, variables and operation name to the
// sandbox's GraphQL endpoint. Whatever the request, it answers as Shopify
// does: a JSON object with data or errors (each with a message), 200 for a
// request it could read, 400 for a body that is not one — never a panic.
func FuzzGraphQL(f *testing.F) {
	for _, q := range []string{shopify.ShopQuery, shopify.ProductVariantsQuery, shopify.LocationsQuery,
		shopify.InventoryLevelsQuery, shopify.CustomersQuery, shopify.OrdersQuery, shopify.OrderQuery,
		shopify.CustomersSinceQuery, shopify.ProductsSinceQuery, shopify.InventoryItemVariantQuery,
		shopify.FulfillmentOrdersQuery, shopify.BulkOperationQuery, shopify.CurrentBulkOperationQuery,
		shopify.WebhookSubscriptionsQuery, shopify.DeleteWebhookMutation} {
		f.Add(q, []byte(`{"first":5,"after":null,"id":"gid://shopify/Order/1","locationId":"gid://shopify/Location/1"}`), "")
	}
	f.Add(shopify.SetQuantitiesMutation, []byte(`{"key":"k1","input":{"name":"available","reason":"correction",`+
		`"quantities":[{"inventoryItemId":"gid://shopify/InventoryItem/1","locationId":"gid://shopify/Location/1","quantity":3,"changeFromQuantity":null}]}}`), "")
	f.Add(shopify.VariantsBulkUpdateMutation, []byte(`{"productId":"gid://shopify/Product/1","variants":[{"id":"gid://shopify/ProductVariant/1","price":"9.99"}]}`), "")
	f.Add(shopify.CreateWebhookMutation, []byte(`{"topic":"ORDERS_CREATE","webhookSubscription":{"uri":"https://example.com/hook","format":"JSON"}}`), "")
	f.Add(shopify.RunBulkQueryMutation, []byte(`{"query":"{ products { edges { node { id variants { edges { node { id sku } } } } } } }"}`), "")
	f.Add(shopify.ProductCreateMutation, []byte(`{"key":"k2","product":{"title":"Mug"}}`), "")
	f.Add(shopify.ProductUpdateMutation, []byte(`{"product":{"id":"gid://shopify/Product/1","title":"Mug"}}`), "")
	f.Add(shopify.FulfillmentCreateMutation, []byte(`{"fulfillment":{"lineItemsByFulfillmentOrder":[{"fulfillmentOrderId":"gid://shopify/FulfillmentOrder/1"}]}}`), "")
	f.Add("query A { shop { name } } query B { shop { id } }", []byte(`{}`), "B")
	f.Add("{ shop { ...F } } fragment F on Shop { name ... on Shop { id } }", []byte(`null`), "")
	f.Add("{ products(first: 300) { nodes { variants(first: 250) { nodes { id } } } } }", []byte(`{}`), "")
	f.Add("", []byte(`{"query":1}`), "") // an empty query: the body is sent as it is
	files, _ := filepath.Glob("../testdata/*.request.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var req struct {
			Query     string          `json:"query"`
			Variables json.RawMessage `json:"variables"`
		}
		if json.Unmarshal(b, &req) == nil && req.Query != "" {
			f.Add(req.Query, []byte(req.Variables), "")
		}
		f.Add("", b, "")
	}
	graphqlFiles, _ := filepath.Glob("../testdata/*.graphql")
	for _, name := range graphqlFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), []byte(`{"first":3}`), "")
	}

	f.Fuzz(func(t *testing.T, query string, vars []byte, opName string) {
		body := vars
		if query != "" {
			v := json.RawMessage(vars)
			if !json.Valid(vars) {
				v = nil
			}
			var err error
			if body, err = json.Marshal(map[string]any{"query": query, "variables": v, "operationName": opName}); err != nil {
				t.Skip() // not a request a client can send
			}
		}
		s := New(Options{Seed: 3, BucketSize: 1e9, RestoreRate: 1e9})
		req := httptest.NewRequest(http.MethodPost, "/admin/api/2026-04/graphql.json", bytes.NewReader(body))
		req.Header.Set("X-Shopify-Access-Token", s.AccessToken())
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)

		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("content type %q", ct)
		}
		var ans struct {
			Data   json.RawMessage `json:"data"`
			Errors json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			t.Fatalf("the answer is not a JSON object: %v\n%s", err, rec.Body.Bytes())
		}
		switch rec.Code {
		case http.StatusBadRequest:
			if len(ans.Errors) == 0 {
				t.Fatalf("400 without errors: %s", rec.Body.Bytes())
			}
		case http.StatusOK:
			if ans.Data == nil && ans.Errors == nil {
				t.Fatalf("neither data nor errors: %s", rec.Body.Bytes())
			}
			if ans.Errors != nil {
				var errs []struct {
					Message *string `json:"message"`
				}
				if err := json.Unmarshal(ans.Errors, &errs); err != nil {
					t.Fatalf("errors is not a list: %s", ans.Errors)
				}
				for _, e := range errs {
					if e.Message == nil || *e.Message == "" {
						t.Fatalf("an error without a message: %s", ans.Errors)
					}
				}
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	})
}
