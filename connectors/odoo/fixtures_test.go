package odoo_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/odoo"
)

// answer is one recorded HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// jsonFixture is a body-only fixture answered with 200 (or status).
func jsonFixture(t *testing.T, name string, status int) answer {
	return answer{status: status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		body: readFixture(t, name)}
}

// httpFixture parses a recorded "HTTP/1.1 <status> …" file: status line,
// headers, blank line, body bytes as recorded.
func httpFixture(t *testing.T, name string) answer {
	t.Helper()
	raw := readFixture(t, name)
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	require.True(t, ok, "%s has no blank line after the headers", name)
	r := bufio.NewScanner(bytes.NewReader(head))
	require.True(t, r.Scan())
	fields := strings.Fields(r.Text())
	require.GreaterOrEqual(t, len(fields), 2)
	status, err := strconv.Atoi(fields[1])
	require.NoError(t, err)
	a := answer{status: status, header: http.Header{}, body: body}
	for r.Scan() {
		k, v, _ := strings.Cut(r.Text(), ":")
		a.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return a
}

// fixtureServer answers every request with the answer route picks; it keeps
// the request bodies it saw.
type fixtureServer struct {
	mu     sync.Mutex
	bodies map[string][]byte // by route key
}

func serveFixtures(t *testing.T, route func(key string) (answer, bool)) (string, *fixtureServer) {
	t.Helper()
	fs := &fixtureServer{bodies: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.Path
		if r.URL.Path == "/jsonrpc" {
			var req struct {
				Params struct {
					Service string `json:"service"`
					Method  string `json:"method"`
				} `json:"params"`
			}
			_ = json.Unmarshal(body, &req)
			key = "jsonrpc " + req.Params.Service + "." + req.Params.Method
		}
		fs.mu.Lock()
		fs.bodies[key] = body
		fs.mu.Unlock()
		a, ok := route(key)
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, vs := range a.header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, fs
}

func fixtureClient(t *testing.T, url string, proto odoo.Protocol) *odoo.Client {
	t.Helper()
	c, err := odoo.NewClient(odoo.Config{URL: url, Database: "mycompany", Username: "crossdock-bot@example.com",
		Secret: "<api-key-or-password>", Protocol: proto})
	require.NoError(t, err)
	return c
}

// shape reduces a JSON value to its key structure: objects keep their keys,
// arrays the shape of their first element, scalars nothing.
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

func keys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m))
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestClientAgainstRecordedJSONRPC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	auth := jsonFixture(t, "jsonrpc/common.authenticate.response.json", 200)

	t.Run("authenticate and search_read product.product", func(t *testing.T) {
		t.Parallel()
		url, fs := serveFixtures(t, func(key string) (answer, bool) {
			switch key {
			case "jsonrpc common.authenticate":
				return auth, true
			case "jsonrpc object.execute_kw":
				return jsonFixture(t, "jsonrpc/object.execute_kw.search_read.product_product.response.json", 200), true
			}
			return answer{}, false
		})
		c := fixtureClient(t, url, odoo.ProtocolJSONRPC)
		ps, err := c.Products(ctx, []any{[]any{"default_code", "in", []any{"CD-TEE-S", "CD-TEE-M"}}}, 0, 100)
		require.NoError(t, err)
		require.Len(t, ps, 2)
		require.Equal(t, odoo.Product{ID: 42, DefaultCode: "CD-TEE-S", Barcode: "4006381333931",
			DisplayName: "[CD-TEE-S] Crossdock Tee (S)", ListPrice: 24.99, StandardPrice: 8.5}, ps[0])
		require.Empty(t, ps[1].Barcode, "false reads as empty")

		// The requests have the envelope of Odoo's documented ones.
		require.Equal(t, shapeOf(t, readFixture(t, "jsonrpc/common.authenticate.request.json")),
			shapeOf(t, fs.bodies["jsonrpc common.authenticate"]))
		var sent, doc struct {
			Params struct {
				Args []any `json:"args"`
			} `json:"params"`
		}
		require.NoError(t, json.Unmarshal(fs.bodies["jsonrpc object.execute_kw"], &sent))
		require.NoError(t, json.Unmarshal(readFixture(t, "jsonrpc/object.execute_kw.search_read.product_product.request.json"), &doc))
		require.Len(t, sent.Params.Args, len(doc.Params.Args))
		require.Equal(t, doc.Params.Args[:5], sent.Params.Args[:5], "db, uid, secret, model, method")
		require.Equal(t, doc.Params.Args[5], sent.Params.Args[5], "the domain as positional args")
	})

	t.Run("bad credentials answer false", func(t *testing.T) {
		t.Parallel()
		url, _ := serveFixtures(t, func(key string) (answer, bool) {
			return jsonFixture(t, "jsonrpc/common.authenticate.bad-credentials.response.json", 200), true
		})
		_, err := fixtureClient(t, url, odoo.ProtocolJSONRPC).Products(ctx, nil, 0, 1)
		require.Equal(t, odoo.KindAuth, odoo.KindOf(err), "%v", err)
		require.Contains(t, err.Error(), `login "crossdock-bot@example.com"`)
	})

	errorCases := []struct {
		file    string
		kind    odoo.ErrorKind
		name    string
		message string
	}{
		{"jsonrpc/error.odoo17-18.no-such-model.response.json", odoo.KindMissing, "odoo.exceptions.UserError",
			"Object no.such.model doesn't exist"},
		{"jsonrpc/error.odoo17-18.access-denied.response.json", odoo.KindAuth, "odoo.exceptions.AccessDenied",
			"Access Denied"},
		{"jsonrpc/error.odoo19.access-error.response.json", odoo.KindAccess, "odoo.exceptions.AccessError",
			"You are not allowed to modify 'Quants' (stock.quant) records."},
	}
	for _, tt := range errorCases {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			url, _ := serveFixtures(t, func(key string) (answer, bool) {
				if key == "jsonrpc common.authenticate" {
					return auth, true
				}
				return jsonFixture(t, tt.file, 200), true
			})
			err := fixtureClient(t, url, odoo.ProtocolJSONRPC).Call(ctx, "stock.quant", "write",
				[]any{[]int{1}, map[string]any{"inventory_quantity": 1}}, nil, nil)
			var oe *odoo.Error
			require.True(t, errors.As(err, &oe), "%v", err)
			require.Equal(t, tt.kind, oe.Kind)
			require.Equal(t, tt.name, oe.Name)
			require.Contains(t, oe.Message, tt.message)
			require.Contains(t, oe.Debug, "Traceback")
			require.Equal(t, readFixture(t, tt.file), oe.Body)
			require.Contains(t, err.Error(), tt.message)
		})
	}
}

func TestClientAgainstRecordedJSON2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("search_read product.product", func(t *testing.T) {
		t.Parallel()
		url, fs := serveFixtures(t, func(key string) (answer, bool) {
			return jsonFixture(t, "json2/product.product.search_read.response.json", 200), true
		})
		c := fixtureClient(t, url, odoo.ProtocolJSON2)
		ps, err := c.Products(ctx, []any{[]any{"default_code", "in", []any{"CD-TEE-S", "CD-TEE-M"}}}, 0, 100)
		require.NoError(t, err)
		require.Len(t, ps, 2)
		require.Equal(t, "CD-TEE-S", ps[0].DefaultCode)
		require.True(t, ps[0].Active)
		require.Equal(t, "2026-04-02 09:15:31", ps[0].WriteDate.Format(odoo.DateTimeLayout))

		// Named arguments, as in Odoo's documented request.
		var doc struct {
			Body map[string]json.RawMessage `json:"body"`
		}
		require.NoError(t, json.Unmarshal(readFixture(t, "json2/product.product.search_read.request.json"), &doc))
		sent := fs.bodies["POST /json/2/product.product/search_read"]
		for _, k := range keys(t, sent) {
			require.Contains(t, doc.Body, k, "argument %q is one Odoo documents", k)
		}
		require.JSONEq(t, string(doc.Body["domain"]), string(mustField(t, sent, "domain")))
	})

	t.Run("res.partner.search_read (Odoo docs)", func(t *testing.T) {
		t.Parallel()
		url, _ := serveFixtures(t, func(key string) (answer, bool) {
			return httpFixture(t, "json2/res.partner.search_read.response.http"), true
		})
		ps, err := fixtureClient(t, url, odoo.ProtocolJSON2).Partners(ctx,
			[]any{[]any{"name", "ilike", "%deco%"}, []any{"is_company", "=", true}}, 0, 0)
		require.NoError(t, err)
		require.Equal(t, []odoo.Partner{{ID: 25, Name: "Deco Addict"}}, ps)
	})

	t.Run("web/version", func(t *testing.T) {
		t.Parallel()
		url, _ := serveFixtures(t, func(key string) (answer, bool) {
			return httpFixture(t, "json2/web-version.response.http"), key == "GET /web/version"
		})
		v, err := fixtureClient(t, url, odoo.ProtocolJSON2).Version(ctx)
		require.NoError(t, err)
		require.Equal(t, "19.0", v.Version)
		require.Equal(t, 19, v.Major)
		require.Equal(t, 0, v.Minor)
	})

	errorCases := []struct {
		name    string
		answer  func(t *testing.T) answer
		kind    odoo.ErrorKind
		exc     string
		message string
	}{
		{"401 invalid api key", func(t *testing.T) answer { return httpFixture(t, "json2/error.401.invalid-apikey.response.http") },
			odoo.KindAuth, "werkzeug.exceptions.Unauthorized", "Invalid apikey"},
		{"401 pre-19 string body", func(t *testing.T) answer {
			return httpFixture(t, "json2/error.401.pre-19.0-string-body.response.http")
		}, odoo.KindAuth, "", "Invalid apikey"},
		{"404 unknown model", func(t *testing.T) answer { return jsonFixture(t, "json2/error.404.unknown-model.body.json", 404) },
			odoo.KindMissing, "werkzeug.exceptions.NotFound", "the model 'no.such.model' does not exist"},
		{"422 validation", func(t *testing.T) answer { return jsonFixture(t, "json2/error.422.validation-error.body.json", 422) },
			odoo.KindValidation, "odoo.exceptions.ValidationError", `Barcode "4006381333931" already assigned`},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.answer(t)
			url, _ := serveFixtures(t, func(string) (answer, bool) { return a, true })
			err := fixtureClient(t, url, odoo.ProtocolJSON2).Call(ctx, "no.such.model", "search_read",
				[]any{[]any{}}, nil, nil)
			var oe *odoo.Error
			require.True(t, errors.As(err, &oe), "%v", err)
			require.Equal(t, tt.kind, oe.Kind)
			require.Equal(t, tt.exc, oe.Name)
			require.Equal(t, a.status, oe.Status)
			require.Contains(t, oe.Message, tt.message)
			require.Contains(t, err.Error(), tt.message)
			require.Equal(t, a.body, oe.Body)
		})
	}
}
