package shopify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/shopify/sandbox"
)

const testSecret = "crossdock-test-secret"

func fixtureHeaders(t *testing.T) http.Header {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(fixture(t, "orders-create.2026-04.headers.json"), &m))
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func TestVerifyHMAC(t *testing.T) {
	t.Parallel()
	body := fixture(t, "orders-create.2026-04.json")
	good := fixtureHeaders(t).Get("X-Shopify-Hmac-Sha256")
	const wrongSecretSig = "DqnXK5Kbh1giiF3vgFgl3I69EIdX9jiJEDKZzSCLJn0="
	tampered := append([]byte{}, body...)
	tampered[len(tampered)-3] ^= 1
	cases := []struct {
		name    string
		body    []byte
		header  string
		secrets []string
		want    bool
	}{
		{"signed with our secret", body, good, []string{testSecret}, true},
		{"signed with another secret", body, wrongSecretSig, []string{testSecret}, false},
		{"that other secret verifies its own signature", body, wrongSecretSig, []string{"wrong-secret"}, true},
		{"rotation: new secret first, old still accepted", body, good, []string{"new-secret", testSecret}, true},
		{"rotation: neither secret", body, good, []string{"new-secret", "older"}, false},
		{"tampered body", tampered, good, []string{testSecret}, false},
		{"empty header", body, "", []string{testSecret}, false},
		{"not base64", body, "%%%", []string{testSecret}, false},
		{"no secrets", body, good, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, VerifyHMAC(tc.body, tc.header, tc.secrets...))
		})
	}
}

func TestParseWebhookHeaders(t *testing.T) {
	t.Parallel()
	h := fixtureHeaders(t)
	m, err := ParseWebhookHeaders(h)
	require.NoError(t, err)
	require.Equal(t, "orders/create", m.Topic)
	require.Equal(t, "crossdock-test.myshopify.com", m.ShopDomain)
	require.Equal(t, "2026-04", m.APIVersion)
	require.Equal(t, "5d0c3e2a-8f6b-4b7e-9a51-0e4c2f7d9b13", m.WebhookID)
	require.Equal(t, "7c5b1b9e-3f0e-4b0a-9d43-2f6e3a9c1d55", m.EventID)
	require.Equal(t, time.Date(2026, 4, 2, 9, 20, 11, 123456789, time.UTC), m.TriggeredAt)

	lower := http.Header{}
	for k, v := range h {
		lower[strings.ToLower(k)] = v // as a proxy may pass them, non-canonical
	}
	canon := http.Header{}
	for k, v := range lower {
		canon.Set(k, v[0])
	}
	m2, err := ParseWebhookHeaders(canon)
	require.NoError(t, err)
	require.Equal(t, m, m2)

	for _, missing := range []string{HeaderTopic, HeaderWebhookID, HeaderHMAC, HeaderShopDomain, HeaderAPIVersion} {
		h2 := h.Clone()
		h2.Del(missing)
		_, err := ParseWebhookHeaders(h2)
		require.ErrorContains(t, err, missing)
	}
	h3 := h.Clone()
	h3.Set(HeaderTriggeredAt, "yesterday")
	_, err = ParseWebhookHeaders(h3)
	require.ErrorContains(t, err, HeaderTriggeredAt)
}

func TestSenderDeliversVerifiableWebhooks(t *testing.T) {
	t.Parallel()
	shop := sandbox.New(sandbox.Options{Seed: 4})
	v := shop.Variants()[0]
	o, err := shop.AddOrder(sandbox.NewOrder{Lines: []sandbox.NewLine{{VariantID: v.GID(), Quantity: 2}}})
	require.NoError(t, err)
	payload, err := shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)

	var mu sync.Mutex
	var metas []WebhookMeta
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m, err := ParseWebhookHeaders(r.Header)
		if err != nil || !VerifyHMAC(body, m.HMAC, testSecret) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		metas = append(metas, m)
		mu.Unlock()
	}))
	defer srv.Close()
	s := &sandbox.Sender{URL: srv.URL, Secret: testSecret, ShopDomain: shop.Domain(), APIVersion: "2026-04"}
	status, err := s.Send(context.Background(), "orders/create", payload, sandbox.SendOptions{Duplicate: true})
	require.NoError(t, err)
	require.Equal(t, 200, status)
	require.Len(t, metas, 2)
	require.Equal(t, metas[0].EventID, metas[1].EventID)
	require.NotEqual(t, metas[0].WebhookID, metas[1].WebhookID)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, metas[0].WebhookID)

	bad := &sandbox.Sender{URL: srv.URL, Secret: "not-the-secret", ShopDomain: shop.Domain()}
	status, err = bad.Send(context.Background(), "orders/create", payload, sandbox.SendOptions{})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, status)
}

// keysOf returns the top-level keys of a JSON object, and of its first line_items entry.
func keysOf(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	out := map[string]bool{}
	for k, v := range m {
		out[k] = true
		if l, ok := v.([]any); ok && len(l) > 0 {
			if o, ok := l[0].(map[string]any); ok {
				for k2 := range o {
					out[k+"[]."+k2] = true
				}
			}
		}
	}
	return out
}

func TestRenderedPayloadsUseDocumentedKeys(t *testing.T) {
	t.Parallel()
	shop := sandbox.New(sandbox.Options{Seed: 4})
	o := shop.Orders()[0]
	got, err := shop.OrderCreatePayload(o.GID())
	require.NoError(t, err)
	doc := keysOf(t, fixture(t, "orders-create.2026-04.json"))
	for k := range keysOf(t, got) {
		require.True(t, doc[k], "orders/create key %q is not in Shopify's documented sample", k)
	}
	v := shop.Variants()[0]
	got, err = shop.InventoryLevelUpdatePayload(v.InventoryItemGID(), shop.Locations()[0].GID())
	require.NoError(t, err)
	require.Equal(t, keysOf(t, fixture(t, "inventory_levels-update.2024-04.json")), keysOf(t, got))
}
