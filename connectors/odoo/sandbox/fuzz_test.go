package sandbox

import (
	"bytes"
	"encoding/json"
	gomaps "maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzDomain sends any domain and order to the searches of every model, on
// both protocols. The sandbox must answer as Odoo does — the records, or
// Odoo's error envelope with a name and a message (a ValueError for a domain
// it cannot read) — never a panic or a bare Go error.
func FuzzDomain(f *testing.F) {
	for _, d := range []string{
		`[]`,
		`[["default_code","in",["SKU-000001-BLK","SKU-000001-WHT"]]]`,
		`[["barcode","=",false]]`,
		`["|",["default_code","=ilike","sku-%"],"!",["active","=",true]]`,
		`["&",["qty_available",">",0],["product_id.default_code","like","SKU"]]`,
		`[["location_id","child_of",8],["quantity","<=",10.5]]`,
		`[["email","=ilike","%@example.com"],["write_date",">=","2026-01-01 00:00:00"]]`,
		`[["id","not in",[1,2,3]],["name","!=",null]]`,
		`[["partner_id.email","ilike","ann"]]`,
		`[["order_line.product_id","in",[1]]]`,
		`[["move_type","=","out_refund"],["state","in",["draft","posted"]]]`,
		`[["client_order_ref","=","gid://shopify/Order/1"]]`,
		`[["x","=",1]]`,
		`["|"]`,
		`[[1,2,3]]`,
		`[["name","between",[1,2]]]`,
		`[["name","=",{"a":1}]]`,
		`"not a list"`,
		`[["name","like","a%b_c\\%"]]`,
		`[["product_tmpl_id.product_variant_ids.default_code","=","SKU-000002-RED"]]`,
	} {
		for _, order := range []string{"", "id", "default_code desc, id", "name asc nulls last", "bogus"} {
			f.Add(uint8(0), uint8(0), []byte(d), order)
		}
		for m := range uint8(12) {
			f.Add(m, m%6, []byte(d), "")
		}
	}
	models := slices.Sorted(gomaps.Keys(New(Options{Seed: 1}).models))
	methods := []string{"search_read", "search", "search_count"}
	f.Fuzz(func(t *testing.T, model, method uint8, domain []byte, order string) {
		s := New(Options{Seed: 2})
		mname, meth := models[int(model)%len(models)], methods[int(method)%len(methods)]
		var dom any = json.RawMessage(domain)
		if !json.Valid(domain) {
			dom = string(domain)
		}
		kw := map[string]any{"domain": dom, "context": map[string]any{"active_test": model%2 == 0}}
		if meth != "search_count" {
			kw["order"], kw["limit"] = order, 50
		}
		if meth == "search_read" {
			kw["fields"] = []string{"id", "display_name"}
		}
		if method/3%2 == 0 {
			body, err := json.Marshal(kw)
			if err != nil {
				t.Skip()
			}
			req := httptest.NewRequest(http.MethodPost, "/json/2/"+mname+"/"+meth, bytes.NewReader(body))
			req.Header.Set("Authorization", "bearer "+s.opts.APIKey)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code == http.StatusOK {
				var v any
				if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
					t.Fatalf("200 that is not JSON: %s", rec.Body.Bytes())
				}
				return
			}
			isOdooError(t, rec, rec.Body.Bytes())
			return
		}
		body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "call", "id": 1, "params": map[string]any{
			"service": "object", "method": "execute_kw",
			"args": []any{s.opts.Database, uid, s.opts.APIKey, mname, meth, []any{dom}, without(kw, "domain")}}})
		if err != nil {
			t.Skip()
		}
		req := httptest.NewRequest(http.MethodPost, "/jsonrpc", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("JSON-RPC answered %d: %s", rec.Code, rec.Body.Bytes())
		}
		var env struct {
			Result json.RawMessage  `json:"result"`
			Error  *json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("not a JSON-RPC envelope: %s", rec.Body.Bytes())
		}
		if env.Error != nil {
			var e struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(*env.Error, &e); err != nil {
				t.Fatalf("error is not an object: %s", rec.Body.Bytes())
			}
			isOdooError(t, rec, e.Data)
		}
	})
}

// isOdooError fails unless b is Odoo's error data: a Python exception name and a message.
func isOdooError(t *testing.T, rec *httptest.ResponseRecorder, b []byte) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("status %d with content type %q: %s", rec.Code, ct, rec.Body.Bytes())
	}
	var e struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Name == "" || e.Message == "" {
		t.Fatalf("not an Odoo error (status %d): %s", rec.Code, rec.Body.Bytes())
	}
}

func without(m map[string]any, key string) map[string]any {
	out := gomaps.Clone(m)
	delete(out, key)
	return out
}
