package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func do(t *testing.T, s *Shop, method, token, body string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest(method, "/admin/api/2026-04/graphql.json", bytes.NewBufferString(body))
	req.Header.Set("X-Shopify-Access-Token", token)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m, rec.Body.String()
}

func gql(q string, vars map[string]any) string {
	b, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	return string(b)
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := New(Options{Seed: 40}), New(Options{Seed: 40})
	require.Equal(t, a.Variants(), b.Variants())
	require.Equal(t, a.Locations(), b.Locations())
	require.Regexp(t, `^SKU-000001-[A-Z]{3}$`, a.Variants()[0].SKU)
	require.NotEqual(t, a.Variants(), New(Options{Seed: 41}).Variants())
}

func TestProjectionAndAliases(t *testing.T) {
	t.Parallel()
	s := New(Options{Seed: 3})
	v := s.Variants()[0]
	code, m, raw := do(t, s, http.MethodPost, s.AccessToken(), gql(`query($id: ID!) {
		a: productVariant(id: $id) { sku theId: id ... on ProductVariant { price } }
		node(id: $id) { __typename ... on ProductVariant { sku } }
	}`, map[string]any{"id": v.GID()}))
	require.Equal(t, 200, code, raw)
	data := m["data"].(map[string]any)
	require.Equal(t, map[string]any{"sku": v.SKU, "theId": v.GID(), "price": v.Price}, data["a"])
	require.Equal(t, map[string]any{"__typename": "ProductVariant", "sku": v.SKU}, data["node"])
}

func TestRequestedCost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		query string
		want  float64
	}{
		{"scalars only", `{ shop { name } }`, 1},
		{"connection", `{ products(first: 10) { nodes { id title } } }`, 2 + 10*1},
		{"edges and pageInfo", `{ products(first: 10) { edges { cursor node { id } } pageInfo { hasNextPage } } }`, 2 + 10*1},
		{"nested connection", `{ products(first: 2) { nodes { variants(first: 5) { nodes { id inventoryItem { id } } } } } }`, 2 + 2*(1+2+5*2)},
		{"mutation", `mutation { webhookSubscriptionDelete(id: "x") { deletedWebhookSubscriptionId userErrors { field message } } }`, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{Seed: 3})
			_, m, raw := do(t, s, http.MethodPost, s.AccessToken(), gql(tc.query, nil))
			cost := m["extensions"].(map[string]any)["cost"].(map[string]any)
			require.Equal(t, tc.want, cost["requestedQueryCost"], raw)
			require.LessOrEqual(t, cost["actualQueryCost"].(float64), tc.want)
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	cases := []struct {
		name, method, token, body string
		status                    int
	}{
		{"no token", http.MethodPost, "", gql(`{ shop { name } }`, nil), 401},
		{"GET", http.MethodGet, s.AccessToken(), "", 405},
		{"bad JSON", http.MethodPost, s.AccessToken(), "{", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, m, raw := do(t, s, tc.method, tc.token, tc.body)
			require.Equal(t, tc.status, code, raw)
			require.Contains(t, m, "errors")
		})
	}
}
