package connectors

import (
	"context"
)

// Hook is one webhook subscription a system holds.
type Hook struct {
	ID    string
	Topic string // in the spelling of Subscriber.WebhookTopics
	URI   string
}

// Subscriber is a client of a system that pushes changes through webhook
// subscriptions Crossdock registers.
type Subscriber interface {
	// WebhookTopics are the topics Crossdock needs.
	WebhookTopics() []string
	// Hooks lists the system's subscriptions.
	Hooks(ctx context.Context) ([]Hook, error)
	// Subscribe registers topic at callback.
	Subscribe(ctx context.Context, topic, callback string) error
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

// Subscriptions compares the system's webhook subscriptions with the topics
// Crossdock needs at callback. Shopify deletes a subscription silently after
// repeated delivery failures: a missing one shows up here.
func Subscriptions(ctx context.Context, cl Subscriber, callback string) ([]Subscription, error) {
	subs, err := cl.Hooks(ctx)
	if err != nil {
		return nil, err
	}
	topics := cl.WebhookTopics()
	out := make([]Subscription, 0, len(topics))
	for _, topic := range topics {
		st := Subscription{Topic: topic}
		for _, s := range subs {
			if s.Topic != topic {
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
func RegisterMissing(ctx context.Context, cl Subscriber, callback string) (int, error) {
	subs, err := Subscriptions(ctx, cl, callback)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range subs {
		if s.Registered {
			continue
		}
		if err := cl.Subscribe(ctx, s.Topic, callback); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
