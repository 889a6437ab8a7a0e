package shopify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReadAnswer feeds any status and body to the client's reading of an
// answer, and the cost it carries to the rate-limit bucket. Whatever Shopify
// (or a proxy) answers: no panic; a throttle, or an *Error that says what
// went wrong and keeps a bounded copy of the body, or data decoded; and a
// bucket that never waits a negative or overflowed time.
func FuzzReadAnswer(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint16(http.StatusOK), b)
	}
	f.Add(uint16(http.StatusUnauthorized), []byte(`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`))
	f.Add(uint16(http.StatusTooManyRequests), []byte(`Too Many Requests`))
	f.Add(uint16(http.StatusBadGateway), []byte("<html><body>502 Bad Gateway</body></html>"))
	f.Add(uint16(http.StatusOK), []byte(`{"data":null,"errors":{"query":"Required parameter missing or invalid"}}`))
	f.Add(uint16(http.StatusOK), []byte(`{"data":{"shop":{"name":"x"}},"extensions":{"cost":{"requestedQueryCost":1e300,"actualQueryCost":1,`+
		`"throttleStatus":{"maximumAvailable":1e300,"currentlyAvailable":-1e300,"restoreRate":1e-300}}}}`))
	f.Add(uint16(0), []byte{})

	f.Fuzz(func(t *testing.T, status uint16, raw []byte) {
		for _, out := range []any{nil, new(map[string]any), new(struct {
			ProductVariants struct {
				PageInfo PageInfo  `json:"pageInfo"`
				Nodes    []Variant `json:"nodes"`
			} `json:"productVariants"`
		}), new(struct {
			WebhookSubscriptionCreate struct {
				WebhookSubscription *WebhookSubscription `json:"webhookSubscription"`
				UserErrors          []UserError          `json:"userErrors"`
			} `json:"webhookSubscriptionCreate"`
		})} {
			ans, throttled, err := readAnswer(int(status), raw, out)
			switch {
			case throttled && err != nil:
				t.Fatalf("throttled and an error: %v", err)
			case err != nil:
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
			case !throttled && (status < 200 || status > 299):
				t.Fatalf("status %d read as a success", status)
			}
			if c := ans.Extensions.Cost; c != nil {
				checkBucket(t, c.ThrottleStatus, c.RequestedQueryCost)
			}
		}
	})
}

// checkBucket waits on a bucket told ts, recording the sleep.
func checkBucket(t *testing.T, ts ThrottleStatus, cost float64) {
	t.Helper()
	b := NewBucket()
	var slept []time.Duration
	b.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	now := time.Now()
	b.Update(ts, now)
	if a := b.Available(now); math.IsNaN(a) {
		t.Fatalf("available is NaN after %+v", ts)
	}
	if err := b.Wait(context.Background(), math.Max(cost, 1)); err != nil {
		t.Fatal(err)
	}
	for _, d := range slept {
		if d < 0 {
			t.Fatalf("a wait of %v after %+v", d, ts)
		}
	}
}

// FuzzWebhookHeaders feeds any headers and body to the webhook checks: the
// headers parse or name what is missing; only the body's own signature under
// the secret verifies.
func FuzzWebhookHeaders(f *testing.F) {
	var h map[string]string
	b, err := os.ReadFile("testdata/orders-create.2026-04.headers.json")
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		f.Fatal(err)
	}
	body, err := os.ReadFile("testdata/orders-create.2026-04.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h[HeaderTopic], h[HeaderShopDomain], h[HeaderAPIVersion], h[HeaderHMAC], h[HeaderWebhookID], h[HeaderTriggeredAt], body)
	f.Add("orders/create", "x.myshopify.com", "2026-04", "", "id", "2026-04-02T09:20:11+02:00", []byte(`{}`))
	f.Add("", "", "", "!!", "", "yesterday", []byte(nil))
	const secret = "whsec"
	f.Fuzz(func(t *testing.T, topic, shop, version, sig, id, at string, body []byte) {
		hdr := http.Header{}
		for k, v := range map[string]string{HeaderTopic: topic, HeaderShopDomain: shop, HeaderAPIVersion: version,
			HeaderHMAC: sig, HeaderWebhookID: id, HeaderTriggeredAt: at} {
			hdr.Set(k, v)
		}
		m, err := ParseWebhookHeaders(hdr)
		if err == nil && (m.Topic == "" || m.ShopDomain == "" || m.APIVersion == "" || m.HMAC == "" || m.WebhookID == "") {
			t.Fatalf("parsed without a required header: %+v", m)
		}
		if err == nil && at != "" && m.TriggeredAt.IsZero() && at != "0001-01-01T00:00:00Z" {
			t.Fatalf("X-Shopify-Triggered-At %q read as no time", at)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		good := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if !VerifyHMAC(body, good, "", secret) {
			t.Fatal("the body's own signature does not verify")
		}
		if VerifyHMAC(body, good) || VerifyHMAC(body, good, "") {
			t.Fatal("a signature verifies without a secret")
		}
		if got, err := base64.StdEncoding.DecodeString(sig); err == nil && !hmac.Equal(got, mac.Sum(nil)) && VerifyHMAC(body, sig, secret) {
			t.Fatalf("signature %q verifies", sig)
		}
	})
}
