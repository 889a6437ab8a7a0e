package connectors

import (
	"context"
	"net/http"
	"strings"

	"crossdock/connectors/shopify"
)

// ShopifyTopics are the webhook topics Crossdock subscribes to.
var ShopifyTopics = []string{
	"orders/create", "orders/updated", "orders/cancelled", "refunds/create", "fulfillments/create",
	"products/create", "products/update", "inventory_levels/update", "customers/create", "customers/update",
}

// Subscription is the state of one needed webhook topic.
type Subscription struct {
	Topic      string // e.g. orders/create
	Registered bool   // a subscription for the topic points at Crossdock
	ID         string
	// Elsewhere is the address a subscription for the topic points at when it
	// is not Crossdock's (another app, an old address).
	Elsewhere string
}

// Subscriptions compares the shop's webhook subscriptions with the topics
// Crossdock needs at callback. Shopify deletes a subscription silently after
// repeated delivery failures: a missing one shows up here.
func Subscriptions(ctx context.Context, cl *shopify.Client, callback string) ([]Subscription, error) {
	subs, err := cl.WebhookSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(ShopifyTopics))
	for _, topic := range ShopifyTopics {
		st := Subscription{Topic: topic}
		for _, s := range subs {
			if !strings.EqualFold(s.Topic, shopify.TopicEnum(topic)) {
				continue
			}
			if s.URI == callback {
				st.Registered, st.ID, st.Elsewhere = true, s.ID, ""
				break
			}
			st.Elsewhere = s.URI
		}
		out = append(out, st)
	}
	return out, nil
}

// RegisterMissing subscribes every needed topic that is not registered at
// callback and returns how many it created.
func RegisterMissing(ctx context.Context, cl *shopify.Client, callback string) (int, error) {
	subs, err := Subscriptions(ctx, cl, callback)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range subs {
		if s.Registered {
			continue
		}
		if _, err := cl.CreateWebhookSubscription(ctx, s.Topic, callback); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CallRecorder is told the outcome of every HTTP call a connector makes.
type CallRecorder func(ok bool, problem string)

// RecordingClient returns an HTTP client whose every call is reported to
// record: the connection page's "last successful call" and error rate.
func RecordingClient(base *http.Client, record CallRecorder) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = recordingTransport{base: rt, record: record}
	return &c
}

type recordingTransport struct {
	base   http.RoundTripper
	record CallRecorder
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	switch {
	case err != nil:
		t.record(false, "could not reach "+req.URL.Host+": "+err.Error())
	case res.StatusCode >= 500 || res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		t.record(false, req.URL.Host+" answered "+res.Status)
	default:
		t.record(true, "")
	}
	return res, err
}
