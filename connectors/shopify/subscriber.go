package shopify

import (
	"context"
	"strings"

	"crossdock/connectors"
)

// Topics are the webhook topics Crossdock subscribes to.
var Topics = []string{
	"orders/create", "orders/updated", "orders/cancelled", "refunds/create", "fulfillments/create",
	"products/create", "products/update", "inventory_levels/update", "customers/create", "customers/update",
}

// WebhookTopics returns the topics Crossdock needs (connectors.Subscriber).
func (c *Client) WebhookTopics() []string { return append([]string(nil), Topics...) }

// Hooks lists the shop's webhook subscriptions, their topics spelled as in
// Topics (connectors.Subscriber).
func (c *Client) Hooks(ctx context.Context) ([]connectors.Hook, error) {
	subs, err := c.WebhookSubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.Hook, 0, len(subs))
	for _, s := range subs {
		h := connectors.Hook{ID: s.ID, Topic: s.Topic, URI: s.URI}
		for _, t := range Topics {
			if strings.EqualFold(s.Topic, TopicEnum(t)) {
				h.Topic = t
				break
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// Subscribe registers a webhook subscription (connectors.Subscriber).
func (c *Client) Subscribe(ctx context.Context, topic, callback string) error {
	_, err := c.CreateWebhookSubscription(ctx, topic, callback)
	return err
}
