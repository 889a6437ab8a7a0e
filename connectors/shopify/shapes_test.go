package shopify

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckTopicShape sends every documented sample body under every topic
// Crossdock acts on: each passes under its own topics only, so a captured
// signed body resent under another topic is never read as that record.
func TestCheckTopicShape(t *testing.T) {
	t.Parallel()
	bodies := map[string][]string{ // fixture → the topics it is a body of
		"orders-create.2026-04.json":           {"orders/create", "orders/updated", "orders/cancelled"},
		"refunds-create.2026-04.json":          {"refunds/create"},
		"customers-create.2026-04.json":        {"customers/create", "customers/update"},
		"products-update.2026-04.json":         {"products/create", "products/update"},
		"inventory_levels-update.2024-04.json": {"inventory_levels/update"},
		"fulfillments-create.2026-04.json":     nil, // has line_items and a name, but is no order
	}
	var topics []string
	for _, sh := range topicShapes {
		topics = append(topics, sh.topics...)
	}
	for file, own := range bodies {
		body := fixture(t, file)
		for _, topic := range topics {
			t.Run(file+" as "+topic, func(t *testing.T) {
				t.Parallel()
				problem := CheckTopicShape(topic, body)
				if slices.Contains(own, topic) {
					require.Empty(t, problem)
					return
				}
				require.NotEmpty(t, problem, "a body of another topic must not pass")
				require.Contains(t, problem, "Shopify sent this as "+topic+", but the body is not ")
			})
		}
	}
}

func TestCheckTopicShapeWords(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, topic, body, want string }{
		{"an order as a customer", "customers/update", `{"id": 1, "email": "a@b.c", "name": "#1001", "order_number": 1001, "line_items": []}`,
			"the body is not a customer: it has line_items, order_number, which a customer never has"},
		{"a customer as an order", "orders/updated", `{"id": 1, "email": "a@b.c"}`,
			"the body is not an order: it has no line_items, order_number or name"},
		{"line items that are not a list", "orders/create", `{"name": "#1", "line_items": {"a": 1}}`, "line_items as a list"},
		{"a stock level without its location", "inventory_levels/update", `{"inventory_item_id": 1, "location_id": null}`, "it has no location_id"},
		{"a topic Crossdock does not act on", "shop/update", `{"line_items": []}`, ""},
		{"not an object: the topic's reader says why", "customers/update", `[1, 2]`, ""},
		{"not JSON: the topic's reader says why", "customers/update", `{"id": `, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := CheckTopicShape(tc.topic, []byte(tc.body))
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, tc.want)
			require.False(t, strings.Contains(got, "json:"), "words, not a decoder's error")
		})
	}
}
