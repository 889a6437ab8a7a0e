package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/odoo/sandbox"
)

// The recorded answers live with the client package's tests.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	require.NoError(t, err)
	// Recorded .http files: keep only the body.
	if _, body, ok := bytes.Cut(b, []byte("\n\n")); ok && bytes.HasPrefix(b, []byte("HTTP/")) {
		return body
	}
	return b
}

// shape reduces a JSON value to its key structure (arrays: first element).
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, c := range x {
			out[k] = shape(c)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shape(x[0])}
	}
	return nil
}

func shapeOf(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	return shape(v)
}

// keyOrder returns the top-level keys of a JSON object in document order.
func keyOrder(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	_, err := dec.Token()
	require.NoError(t, err)
	var out []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		out = append(out, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return out
}

func post(t *testing.T, h http.Handler, path string, body any, header map[string]string) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, out
}

func rpc(service, method string, args ...any) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "method": "call", "id": 530918223,
		"params": map[string]any{"service": service, "method": method, "args": args}}
}

// productFields are the fields the recorded search_read asked for.
var productFields = []any{"id", "default_code", "barcode", "display_name", "list_price", "standard_price",
	"qty_available", "uom_id"}

func TestSandboxAnswersHaveOdoosShape(t *testing.T) {
	t.Parallel()
	v17 := sandbox.New(sandbox.Options{Version: "17.0", Seed: 2})
	v19 := sandbox.New(sandbox.Options{Version: "19.0", Seed: 2, NoAccess: []string{"stock.quant"}})
	bearer := map[string]string{"Authorization": "bearer sandbox-api-key", "X-Odoo-Database": "crossdock"}
	tests := []struct {
		name    string
		h       http.Handler
		path    string
		body    any
		header  map[string]string
		status  int
		fixture string
		// ordered compares the order of the error data keys, which changed in 18.1.
		ordered bool
	}{
		{"authenticate", v17, "/jsonrpc", rpc("common", "authenticate", "crossdock", "admin", "admin", map[string]any{}),
			nil, 200, "jsonrpc/common.authenticate.response.json", false},
		{"authenticate refused", v17, "/jsonrpc", rpc("common", "authenticate", "crossdock", "admin", "nope", map[string]any{}),
			nil, 200, "jsonrpc/common.authenticate.bad-credentials.response.json", false},
		{"search_read json-rpc", v17, "/jsonrpc", rpc("object", "execute_kw", "crossdock", 2, "admin", "product.product",
			"search_read", []any{[]any{[]any{"default_code", "like", "SKU-"}}},
			map[string]any{"fields": productFields, "limit": 100}),
			nil, 200, "jsonrpc/object.execute_kw.search_read.product_product.response.json", false},
		{"no such model 17", v17, "/jsonrpc", rpc("object", "execute_kw", "crossdock", 2, "admin", "no.such.model",
			"search_read", []any{}), nil, 200, "jsonrpc/error.odoo17-18.no-such-model.response.json", true},
		{"access denied 17", v17, "/jsonrpc", rpc("object", "execute_kw", "crossdock", 2, "wrong", "product.product",
			"search", []any{[]any{}}), nil, 200, "jsonrpc/error.odoo17-18.access-denied.response.json", true},
		{"access error 19", v19, "/jsonrpc", rpc("object", "execute_kw", "crossdock", 2, "admin", "stock.quant",
			"write", []any{[]any{1}, map[string]any{"inventory_quantity": 1}}),
			nil, 200, "jsonrpc/error.odoo19.access-error.response.json", true},
		{"search_read json-2", v19, "/json/2/product.product/search_read", map[string]any{
			"domain": []any{[]any{"default_code", "like", "SKU-"}}, "context": map[string]any{"active_test": false},
			"fields": append(productFields, "lst_price", "active", "write_date"), "limit": 100, "order": "id"},
			bearer, 200, "json2/product.product.search_read.response.json", false},
		{"invalid api key", v19, "/json/2/product.product/search_read", map[string]any{},
			map[string]string{"Authorization": "bearer nope"}, 401, "json2/error.401.invalid-apikey.body.json", true},
		{"unknown model json-2", v19, "/json/2/no.such.model/search_read", map[string]any{}, bearer, 404,
			"json2/error.404.unknown-model.body.json", true},
		{"duplicate barcode json-2", v19, "/json/2/product.product/write", map[string]any{"ids": []any{2},
			"vals": map[string]any{"barcode": sandboxBarcode(t, v19)}}, bearer, 422,
			"json2/error.422.validation-error.body.json", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, got := post(t, tt.h, tt.path, tt.body, tt.header)
			require.Equal(t, tt.status, status, "%s", got)
			want := fixture(t, tt.fixture)
			require.Equal(t, shapeOf(t, want), shapeOf(t, got), "got %s", got)
			if tt.ordered {
				var wantEnv, gotEnv struct {
					Error struct {
						Data json.RawMessage `json:"data"`
					} `json:"error"`
				}
				_ = json.Unmarshal(want, &wantEnv)
				_ = json.Unmarshal(got, &gotEnv)
				if wantEnv.Error.Data != nil {
					want, got = wantEnv.Error.Data, gotEnv.Error.Data
				}
				require.Equal(t, keyOrder(t, want), keyOrder(t, got))
			}
		})
	}
}

func sandboxBarcode(t *testing.T, s *sandbox.Server) string {
	t.Helper()
	ps := s.Products()
	require.NotEmpty(t, ps)
	return ps[0].Barcode
}

func TestWebVersion(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "/web/version", nil)
	rec := httptest.NewRecorder()
	sandbox.New(sandbox.Options{}).ServeHTTP(rec, req)
	require.Equal(t, 200, rec.Code)
	require.JSONEq(t, string(fixture(t, "json2/web-version.response.http")), rec.Body.String())
}

func TestJSON2IsNotFoundBefore19(t *testing.T) {
	t.Parallel()
	status, body := post(t, sandbox.New(sandbox.Options{Version: "18.0"}), "/json/2/res.partner/search_read",
		map[string]any{}, map[string]string{"Authorization": "bearer sandbox-api-key"})
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, string(body), "<title>404 Not Found</title>")
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	a := sandbox.New(sandbox.Options{Seed: 3}).Products()
	b := sandbox.New(sandbox.Options{Seed: 3}).Products()
	require.Equal(t, a, b)
	require.Len(t, a, 9)
	var codes []string
	for _, p := range a[:3] {
		codes = append(codes, p.DefaultCode)
	}
	require.Equal(t, []string{"SKU-000001-BLK", "SKU-000001-WHT", "SKU-000001-RED"}, codes)
	require.Equal(t, "SKU-000123-BLK", sandbox.SKU(123, "BLK"))
}

func TestDomainOperators(t *testing.T) {
	t.Parallel()
	s := sandbox.New(sandbox.Options{Seed: 2})
	search := func(domain []any, ctx map[string]any) []any {
		status, body := post(t, s, "/jsonrpc", rpc("object", "execute_kw", "crossdock", 2, "admin", "res.partner",
			"search", []any{domain}, map[string]any{"context": ctx}), nil)
		require.Equal(t, 200, status)
		var env struct {
			Result []any           `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		require.NoError(t, json.Unmarshal(body, &env))
		require.Nil(t, env.Error, "%s", body)
		return env.Result
	}
	n := func(ids ...float64) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, id)
		}
		return out
	}
	// Seeded partners: 1 Deco Addict, 2 Azure Interior, 3 Ready Mat (companies), 4 Brandon Freeman.
	tests := []struct {
		name   string
		domain []any
		want   []any
	}{
		{"all", []any{}, n(1, 2, 3, 4)},
		{"=", []any{[]any{"name", "=", "Ready Mat"}}, n(3)},
		{"!=", []any{[]any{"is_company", "!=", true}}, n(4)},
		{"in", []any{[]any{"id", "in", []any{2, 4, 99}}}, n(2, 4)},
		{"not in", []any{[]any{"id", "not in", []any{1, 2}}}, n(3, 4)},
		{"> and <=", []any{[]any{"id", ">", 1}, []any{"id", "<=", 3}}, n(2, 3)},
		{"<", []any{[]any{"id", "<", 2}}, n(1)},
		{">=", []any{[]any{"id", ">=", 4}}, n(4)},
		{"ilike", []any{[]any{"city", "ilike", "FREMONT"}}, n(2, 4)},
		{"like is case-sensitive", []any{[]any{"city", "like", "fremont"}}, n()},
		{"=ilike escapes", []any{[]any{"email", "=ilike", `deco\_addict82@example.com`}}, n()},
		{"=ilike without wildcards ignores case", []any{[]any{"email", "=ilike", "AZURE.interior24@Example.COM"}}, n(2)},
		{"=ilike with an escaped character", []any{[]any{"email", "=ilike", `ready\.mat28@example.com`}}, n(3)},
		{"=ilike with a wildcard", []any{[]any{"email", "=ilike", "azure_interior24@example.com"}}, n(2)},
		{"=ilike and another term", []any{[]any{"email", "=ilike", "DECO.ADDICT82@example.com"}, []any{"city", "=", "Tracy"}}, n()},
		{"=? false is always true", []any{[]any{"city", "=?", false}}, n(1, 2, 3, 4)},
		{"=? value", []any{[]any{"city", "=?", "Tracy"}}, n(3)},
		{"= false matches empty", []any{[]any{"phone", "=", false}}, n(1, 2, 3, 4)},
		{"or", []any{"|", []any{"id", "=", 1}, []any{"id", "=", 4}}, n(1, 4)},
		{"not", []any{"!", []any{"is_company", "=", true}}, n(4)},
		{"nested", []any{"&", "|", []any{"id", "=", 1}, []any{"id", "=", 2}, "!", []any{"city", "=", "Fremont"}}, n(1)},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, search(tt.domain, nil), tt.name)
	}
	// Archived records are hidden unless active_test is off.
	status, _ := post(t, s, "/jsonrpc", rpc("object", "execute_kw", "crossdock", 2, "admin", "res.partner",
		"write", []any{[]any{4}, map[string]any{"active": false}}), nil)
	require.Equal(t, 200, status)
	require.Equal(t, n(1, 2, 3), search([]any{}, nil))
	require.Equal(t, n(1, 2, 3, 4), search([]any{}, map[string]any{"active_test": false}))
	require.Equal(t, n(4), search([]any{[]any{"active", "=", false}}, nil))
}

func TestCreateIsAllOrNothing(t *testing.T) {
	t.Parallel()
	s := sandbox.New(sandbox.Options{Seed: 1})
	bearer := map[string]string{"Authorization": "Bearer sandbox-api-key"}
	status, body := post(t, s, "/json/2/res.partner/create", map[string]any{"vals_list": []any{
		map[string]any{"name": "One"}, map[string]any{"email": "no-name@example.com"}}}, bearer)
	require.Equal(t, 422, status, "%s", body)
	require.Len(t, s.Partners(), 4, "the first record was rolled back")
	require.Empty(t, s.Writes())

	status, body = post(t, s, "/json/2/sale.order/create", map[string]any{"vals_list": []any{map[string]any{
		"partner_id": 1, "client_order_ref": "#9", "order_line": []any{[]any{0, 0, map[string]any{
			"product_id": 1, "product_uom_qty": 2}}}}}}, bearer)
	require.Equal(t, 200, status, "%s", body)
	require.JSONEq(t, `[1]`, string(body))
	orders := s.SaleOrders()
	require.Len(t, orders, 1)
	require.Equal(t, "S00001", orders[0].Name)
	require.Equal(t, s.Products()[0].ListPrice, orders[0].Lines[0].PriceUnit, "price defaults to the list price")
	w := s.Writes()
	require.Len(t, w, 1)
	require.Equal(t, "#9", w[0].Ref)
	require.Equal(t, []int{1}, w[0].IDs)
}

// The sandbox looks lines up by order and orders by reference through
// indexes; they must follow every write, link, delete and unlink.
func TestLookupsFollowChanges(t *testing.T) {
	t.Parallel()
	s := sandbox.New(sandbox.Options{Seed: 1})
	bearer := map[string]string{"Authorization": "Bearer sandbox-api-key"}
	call := func(model, method string, body map[string]any) string {
		t.Helper()
		status, out := post(t, s, "/json/2/"+model+"/"+method, body, bearer)
		require.Equal(t, 200, status, "%s", out)
		return string(out)
	}
	order := func(ref string, qty float64) string {
		return call("sale.order", "create", map[string]any{"vals_list": []any{map[string]any{"partner_id": 1,
			"client_order_ref": ref, "order_line": []any{[]any{0, 0, map[string]any{"product_id": 1, "product_uom_qty": qty}}}}}})
	}
	byRef := func(ref string) string {
		return call("sale.order", "search", map[string]any{"domain": []any{[]any{"client_order_ref", "=", ref}}})
	}
	lines := func(orderID int) string {
		return call("sale.order", "read", map[string]any{"ids": []any{orderID}, "fields": []any{"order_line"}})
	}
	require.JSONEq(t, `[1]`, order("#1", 1))
	require.JSONEq(t, `[2]`, order("#2", 2))
	require.JSONEq(t, `[{"id": 1, "order_line": [1]}]`, lines(1))

	call("sale.order", "write", map[string]any{"ids": []any{1}, "vals": map[string]any{"client_order_ref": "#3"}})
	require.JSONEq(t, `[]`, byRef("#1"))
	require.JSONEq(t, `[1]`, byRef("#3"))
	require.JSONEq(t, `[2]`, byRef("#2"))
	require.JSONEq(t, `[2]`, call("sale.order", "search", map[string]any{"domain": []any{
		[]any{"client_order_ref", "=", "#2"}, []any{"state", "=", "draft"}}}), "an indexed leaf and-ed with another")

	// Order 2's line moves to order 1, then order 1's own line is deleted.
	call("sale.order", "write", map[string]any{"ids": []any{1}, "vals": map[string]any{"order_line": []any{[]any{4, 2, 0}}}})
	require.JSONEq(t, `[{"id": 1, "order_line": [1, 2]}]`, lines(1))
	require.JSONEq(t, `[{"id": 2, "order_line": []}]`, lines(2))
	call("sale.order", "write", map[string]any{"ids": []any{1}, "vals": map[string]any{"order_line": []any{[]any{2, 1, 0}}}})
	require.JSONEq(t, `[{"id": 1, "order_line": [2]}]`, lines(1))
	orders := s.SaleOrders()
	require.Len(t, orders, 2)
	require.Len(t, orders[0].Lines, 1)
	require.Equal(t, 2.0, orders[0].Lines[0].Quantity)
	require.Empty(t, orders[1].Lines)

	// Unlinking an order deletes its lines and frees its reference.
	call("sale.order", "unlink", map[string]any{"ids": []any{1}})
	require.JSONEq(t, `[]`, byRef("#3"))
	require.JSONEq(t, `[]`, call("sale.order.line", "search", map[string]any{"domain": []any{}}))
	require.JSONEq(t, `[3]`, order("#3", 3))
	require.JSONEq(t, `[3]`, byRef("#3"))
	require.JSONEq(t, `[2, 3]`, call("sale.order", "search", map[string]any{"domain": []any{}}))
	require.JSONEq(t, `[{"id": 3, "order_line": [3]}]`, lines(3))
}
