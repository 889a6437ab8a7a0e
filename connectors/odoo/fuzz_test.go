package odoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// FuzzCall makes calls whose answer is any status and body, on both
// protocols, through a real HTTP server. Whatever Odoo (or a proxy) answers:
// no panic; an *Error in words that keeps a bounded copy of the body, or the
// result decoded.
func FuzzCall(f *testing.F) {
	for _, glob := range []string{"testdata/jsonrpc/*.response.json", "testdata/json2/*.json", "testdata/json2/*.response.http"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			status := uint16(http.StatusOK)
			if head, body, ok := bytes.Cut(b, []byte("\n\n")); ok && bytes.HasPrefix(b, []byte("HTTP/")) {
				// A recorded answer: its status line, then the body.
				if fields := bytes.Fields(head); len(fields) > 1 {
					n, _ := strconv.Atoi(string(fields[1]))
					status = uint16(n)
				}
				b = body
			}
			for call := range uint8(8) {
				f.Add(call, status, b)
			}
		}
	}
	f.Add(uint8(0), uint16(http.StatusOK), []byte(`{"jsonrpc":"2.0","id":1,"result":[{"id":1,"display_name":"Mug"}]}`))
	f.Add(uint8(1), uint16(http.StatusOK), []byte(`[{"id":1,"display_name":"Mug"}]`))
	f.Add(uint8(3), uint16(http.StatusOK), []byte(`[42]`))
	f.Add(uint8(4), uint16(http.StatusOK), []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":200,"message":"Odoo Server Error","data":null}}`))
	f.Add(uint8(5), uint16(http.StatusBadGateway), []byte("<html>502 Bad Gateway</html>"))
	f.Add(uint8(6), uint16(http.StatusOK), []byte(`{"jsonrpc":"2.0","id":1}`))
	f.Add(uint8(7), uint16(http.StatusUnauthorized), []byte(`"Invalid apikey"`))

	var (
		mu     sync.Mutex
		status int
		answer []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req rpcRequest
		if r.URL.Path == "/jsonrpc" && json.NewDecoder(r.Body).Decode(&req) == nil && req.Params.Service == "common" {
			_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":2}`))
			return
		}
		mu.Lock()
		code, b := status, answer
		mu.Unlock()
		w.WriteHeader(code)
		_, _ = w.Write(b)
	}))
	f.Cleanup(srv.Close)

	f.Fuzz(func(t *testing.T, call uint8, code uint16, body []byte) {
		if code < 200 || code > 599 {
			code = 200 + code%400 // net/http writes only real statuses
		}
		mu.Lock()
		status, answer = int(code), body
		mu.Unlock()
		proto := ProtocolJSONRPC
		if call%2 == 1 {
			proto = ProtocolJSON2
		}
		c, err := NewClient(Config{URL: srv.URL, Database: "crossdock", Username: "admin", Secret: "key", Protocol: proto})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		switch call / 2 % 4 {
		case 0:
			var out []struct {
				ID          int    `json:"id"`
				DisplayName string `json:"display_name"`
			}
			err = c.Call(ctx, "product.product", "search_read", []any{[]any{}}, map[string]any{"fields": []string{"display_name"}}, &out)
		case 1:
			var id int
			err = c.Call(ctx, "res.partner", "create", []any{map[string]any{"name": "Ann"}}, nil, &id)
		case 2:
			var n int64
			err = c.Call(ctx, "sale.order", "search_count", []any{[]any{}}, nil, &n)
		case 3:
			err = c.Call(ctx, "stock.quant", "action_apply_inventory", []any{[]int{1}}, nil, nil)
		}
		if err == nil {
			if code > 299 {
				t.Fatalf("status %d read as a success", code)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%T is not an *Error: %v", err, err)
		}
		if e.Error() == "" {
			t.Fatalf("an error without words: %#v", e)
		}
		if len(e.Body) > maxEvidence {
			t.Fatalf("evidence of %d bytes", len(e.Body))
		}
	})
}
