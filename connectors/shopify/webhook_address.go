package shopify

import (
	"strconv"
	"strings"
)

// WebhookPath is where Crossdock receives Shopify's webhook deliveries; the
// connection's id follows it.
const WebhookPath = "/webhooks/shopify/"

// WebhookURL is the address Shopify must post a connection's webhooks to,
// on the console reached at baseURL. Every place that shows it, subscribes
// to it or checks the subscriptions builds it here, so they always agree.
func WebhookURL(baseURL string, connectionID int64) string {
	return strings.TrimRight(baseURL, "/") + WebhookPath + strconv.FormatInt(connectionID, 10)
}
