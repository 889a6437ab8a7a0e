package shopify

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Shopify signs a webhook's body, not its topic header: a signed order body
// sent again under customers/update verifies. So the body must have the shape
// of the record its topic names before anything acts on it.

// topicShape is what a topic's body must have (every key in need, at least
// one key of each group in oneOf) and must not have (keys that belong to
// records of other topics).
type topicShape struct {
	noun    string // "an order", for sentences
	need    []string
	oneOf   [][]string
	refuse  []string
	arrays  []string // keys that must hold a JSON array
	topics  []string
	example string // what a body of this topic has, for the sentence
}

var topicShapes = []topicShape{
	{noun: "an order", topics: []string{"orders/create", "orders/updated", "orders/cancelled"},
		need: []string{"line_items"}, oneOf: [][]string{{"order_number", "name"}}, arrays: []string{"line_items"},
		refuse: []string{"order_id", "refund_line_items", "inventory_item_id", "variants"}, example: "line_items and an order_number or name"},
	{noun: "a refund", topics: []string{"refunds/create"},
		need: []string{"order_id"}, oneOf: [][]string{{"refund_line_items", "transactions"}}, arrays: []string{"refund_line_items"},
		refuse: []string{"line_items", "order_number", "inventory_item_id", "variants"}, example: "an order_id and refund_line_items or transactions"},
	{noun: "a customer", topics: []string{"customers/create", "customers/update"},
		refuse:  []string{"line_items", "order_number", "order_id", "refund_line_items", "inventory_item_id", "variants"},
		example: "no order lines, variants or stock fields"},
	{noun: "a product", topics: []string{"products/create", "products/update"},
		need: []string{"variants"}, arrays: []string{"variants"},
		refuse: []string{"line_items", "order_number", "order_id", "refund_line_items", "inventory_item_id"}, example: "variants"},
	{noun: "a stock level", topics: []string{"inventory_levels/update"},
		need:   []string{"inventory_item_id", "location_id"},
		refuse: []string{"line_items", "order_number", "order_id", "refund_line_items", "variants"}, example: "an inventory_item_id and a location_id"},
}

// CheckTopicShape says, in words for the merchant, why body is not a record
// of the kind topic names; "" when it is, when the topic is not one Crossdock
// acts on, or when body is not a JSON object at all (the topic's own reader
// then says what is wrong with it).
func CheckTopicShape(topic string, body []byte) string {
	var sh *topicShape
	for i := range topicShapes {
		for _, t := range topicShapes[i].topics {
			if t == topic {
				sh = &topicShapes[i]
			}
		}
	}
	if sh == nil {
		return ""
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return ""
	}
	has := func(k string) bool {
		v, ok := obj[k]
		return ok && string(v) != "null"
	}
	var missing, extra []string
	for _, k := range sh.need {
		if !has(k) {
			missing = append(missing, k)
		}
	}
	for _, group := range sh.oneOf {
		found := false
		for _, k := range group {
			found = found || has(k)
		}
		if !found {
			missing = append(missing, strings.Join(group, " or "))
		}
	}
	for _, k := range sh.arrays {
		if has(k) && !strings.HasPrefix(strings.TrimSpace(string(obj[k])), "[") {
			missing = append(missing, k+" as a list")
		}
	}
	for _, k := range sh.refuse {
		if has(k) {
			extra = append(extra, k)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, "it has no "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		why = append(why, "it has "+strings.Join(extra, ", ")+", which "+sh.noun+" never has")
	}
	return fmt.Sprintf("Shopify sent this as %s, but the body is not %s: %s (%s has %s). Shopify signs only the body, so a body sent under the wrong topic is not acted on; nothing was sent on.",
		topic, sh.noun, strings.Join(why, " and "), sh.noun, sh.example)
}
