package shipbob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crossdock/connectors"
)

// Webhook headers (Standard Webhooks, plus ShipBob's topic header).
const (
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
	HeaderTopic            = "X-Webhook-Topic"
	// HeaderLegacyTopic is the topic header of subscriptions made before
	// the Standard Webhooks signing.
	HeaderLegacyTopic = "Shipbob-Topic"
)

// ReplayWindow is how far a delivery's signing time may be from now:
// Standard Webhooks' own tolerance. ShipBob signs every retry anew.
const ReplayWindow = 5 * time.Minute

// secretKey is the HMAC key of a whsec_ secret: the base64 after the prefix.
// A secret that is not base64 is used as its bytes (a twin's or a test's).
func secretKey(secret string) []byte {
	s := strings.TrimPrefix(strings.TrimSpace(secret), "whsec_")
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) > 0 {
		return k
	}
	return []byte(s)
}

// Sign is the webhook-signature header value of a delivery: "v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body" under the secret's key.
func Sign(secret, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secretKey(secret))
	m.Write(signedContent(id, strconv.FormatInt(ts.Unix(), 10), body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func signedContent(id, ts string, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(ts)+len(body)+2)
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}

// signed reads what a delivery signs: "id.timestamp.body", and when.
func signed(h http.Header, body []byte) ([]byte, time.Time, error) {
	id, ts := strings.TrimSpace(h.Get(HeaderWebhookID)), strings.TrimSpace(h.Get(HeaderWebhookTimestamp))
	if id == "" {
		return nil, time.Time{}, fmt.Errorf("no %s header", HeaderWebhookID)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("the %s header is not a time in seconds", HeaderWebhookTimestamp)
	}
	return signedContent(id, ts, body), time.Unix(sec, 0), nil
}

// verify reports whether one of the header's space-separated "v1,<b64>"
// signatures is the HMAC of content under one of secrets. Every pair is
// compared, so timing does not tell which matched.
func verify(content []byte, header string, secrets []string) bool {
	var sigs [][]byte
	for _, part := range strings.Fields(header) {
		v, b64, ok := strings.Cut(part, ",")
		if !ok || v != "v1" {
			continue
		}
		if s, err := base64.StdEncoding.DecodeString(b64); err == nil && len(s) == sha256.Size {
			sigs = append(sigs, s)
		}
	}
	ok := false
	for _, secret := range secrets {
		if strings.TrimSpace(secret) == "" {
			continue
		}
		m := hmac.New(sha256.New, secretKey(secret))
		m.Write(content)
		want := m.Sum(nil)
		for _, s := range sigs {
			if hmac.Equal(want, s) {
				ok = true
			}
		}
	}
	return ok
}

// ReadWebhook reads a verified delivery: one event, deduplicated on its
// webhook-id, its topic from x-webhook-topic (or the legacy shipbob-topic),
// its time from the body's event_time.
func ReadWebhook(h http.Header, body []byte) ([]connectors.WebhookEvent, error) {
	id := strings.TrimSpace(h.Get(HeaderWebhookID))
	topic := strings.TrimSpace(h.Get(HeaderTopic))
	if topic == "" {
		topic = strings.TrimSpace(h.Get(HeaderLegacyTopic))
	}
	var head struct {
		Topic     string    `json:"topic"`
		EventTime time.Time `json:"event_time"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %w", connectors.ErrWebhookBody, err)
		}
	}
	if topic == "" {
		topic = strings.TrimSpace(head.Topic)
	}
	switch {
	case id == "":
		return nil, fmt.Errorf("missing header %s", HeaderWebhookID)
	case topic == "":
		return nil, fmt.Errorf("missing header %s", HeaderTopic)
	}
	return []connectors.WebhookEvent{{DeliveryID: id, Topic: topic, At: head.EventTime}}, nil
}

// ShipmentEvent is what a shipment webhook says (order.shipped,
// order.shipment.*): the order, and the shipment and its tracking when the
// body carries them. The documented sample (order.shipment.tracking_received)
// names the number tracking_id; the shipment model names it
// tracking_number: both are read.
type ShipmentEvent struct {
	OrderID     int64
	ReferenceID string
	ShipmentID  int64
	Status      string
	Tracking    Tracking
	EventTime   time.Time
}

// DecodeShipmentEvent reads a shipment webhook's body.
func DecodeShipmentEvent(body []byte) (ShipmentEvent, error) {
	var r struct {
		ID          json.Number `json:"id"`
		ShipmentID  json.Number `json:"shipment_id"`
		OrderID     json.Number `json:"order_id"`
		ReferenceID string      `json:"reference_id"`
		Status      string      `json:"status"`
		EventTime   time.Time   `json:"event_time"`
		Tracking    *struct {
			Carrier        string `json:"carrier"`
			CarrierService string `json:"carrier_service"`
			TrackingID     string `json:"tracking_id"`
			TrackingNumber string `json:"tracking_number"`
			TrackingURL    string `json:"tracking_url"`
		} `json:"tracking"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return ShipmentEvent{}, err
	}
	ev := ShipmentEvent{ReferenceID: strings.TrimSpace(r.ReferenceID), Status: r.Status, EventTime: r.EventTime}
	var err error
	if r.OrderID != "" {
		if ev.OrderID, err = r.OrderID.Int64(); err != nil {
			return ev, fmt.Errorf("order_id %q is not a number", r.OrderID)
		}
	}
	sid := r.ShipmentID
	if sid == "" && ev.OrderID != 0 {
		sid = r.ID // a shipment-shaped body: id is the shipment's
	}
	if sid != "" {
		if ev.ShipmentID, err = sid.Int64(); err != nil {
			return ev, fmt.Errorf("shipment id %q is not a number", sid)
		}
	}
	if t := r.Tracking; t != nil {
		ev.Tracking = Tracking{Carrier: t.Carrier, CarrierService: t.CarrierService,
			TrackingNumber: strings.TrimSpace(cmpOr(t.TrackingNumber, t.TrackingID)), TrackingURL: t.TrackingURL}
	}
	if ev.OrderID == 0 && ev.ReferenceID == "" {
		return ev, errors.New("it names no order (no order_id or reference_id)")
	}
	return ev, nil
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
