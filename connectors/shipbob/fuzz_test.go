package shipbob_test

import (
	"net/http"
	"os"
	"testing"
	"time"
	"unicode/utf8"

	"crossdock/connectors/shipbob"
)

// FuzzWebhook: whatever arrives at the receiver — headers and body — is
// verified and read without a crash, and what is read can be stored (valid
// UTF-8 for the topic and id the receiver keeps, once cleaned).
func FuzzWebhook(f *testing.F) {
	body, err := os.ReadFile("testdata/shipbob-webhook-tracking-received.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("msg_1", "1761234909", "v1,AAAA", "order.shipped", body)
	f.Add("", "x", "", "", []byte(`{"order_id":"1e99"}`))
	f.Add("msg\x00", "-1", "v1,", "order.\xff", []byte(`[{"id":1}]`))
	k := shipbob.Kind()
	f.Fuzz(func(t *testing.T, id, ts, sig, topic string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		h.Set("x-webhook-topic", topic)
		_ = k.VerifyWebhookAt(body, h, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, time.Unix(1761234909, 0))
		evs, err := k.ReadWebhook(h, body)
		if err == nil {
			for _, ev := range evs {
				if ev.DeliveryID == "" || ev.Topic == "" {
					t.Fatalf("an event without id or topic: %+v", ev)
				}
			}
		} else if !utf8.ValidString(err.Error()) && utf8.ValidString(id+topic) {
			t.Fatalf("error not in words: %q", err)
		}
		_, _ = shipbob.DecodeShipmentEvent(body)
	})
}
